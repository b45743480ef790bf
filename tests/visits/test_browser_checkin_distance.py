"""An inspector checks in 800 m from the outlet on a 360 px touch phone (issue 20): told how far,
gives a reason, on the check-in page and — offline — on the fill page, where the reason waits in
the outbox with the check-in and arrives with it."""
from __future__ import annotations

import re

import pytest

from inspect_app.visits import services
from inspect_app.visits.models import Visit
from tests.browser_helpers import phone
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

FAR = {"latitude": 30.26 + 800 / 111_195.0, "longitude": 120.13, "accuracy": 20}  # 800 m north of the outlet


def test_far_check_in_asks_why_online_and_offline(browser, live_server, app, db, org_tree, people):
    with app.test_request_context():
        first = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                           checklist_code="open_inspection")
        second = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu2"],
                                            checklist_code="open_inspection")
    db.commit()
    context, page = phone(browser, geolocation=FAR, permissions=["geolocation"])
    browser_login(page, live_server, "inspector")

    # the check-in page: the distance is shown as soon as the position is known, a reason is asked
    page.goto(f"{live_server}/visits/{first.id}/checkin")
    page.wait_for_selector("[data-geo-far]:not([hidden])")
    status = page.locator("[data-geo-status]").inner_text()
    assert re.search(r"约 (79\d|80\d) 米", status) and "300 米" in status
    page.screenshot(path="test-output/checkin_far_reason_prompt.png")
    page.locator("#checkin-form button[type=submit]").tap()  # without a reason: refused, nothing stored
    page.wait_for_selector(".flash-error, .flash.flash-error, [role=alert]")
    db.expire_all()
    assert db.get(Visit, first.id).checkin_at is None
    page.wait_for_selector("[data-geo-far]:not([hidden])")
    page.locator("#far_reason").fill("网点临时搬到对面商场二楼")
    page.locator("#checkin-form button[type=submit]").tap()
    page.wait_for_url(re.compile(r".*/fill$"))
    db.expire_all()
    stored = db.get(Visit, first.id)
    assert (stored.checkin_flag, stored.checkin_far_reason) == ("far", "网点临时搬到对面商场二楼")
    assert 790 < stored.checkin_distance_m < 810

    # the fill page, offline: the phone tells the distance itself and the reason waits in the outbox
    page.goto(f"{live_server}/visits/{second.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    context.set_offline(True)
    page.locator("[data-checkin-go]").tap()
    page.wait_for_selector("[data-geo-far]:not([hidden])")
    assert "米" in page.locator("[data-geo-far-text]").inner_text()
    page.screenshot(path="test-output/checkin_far_reason_prompt_offline.png")
    page.locator("[data-checkin-go]").tap()  # no reason yet: still waiting for it
    assert page.locator("[data-checkin-card]").is_visible()
    page.locator("#checkin-far-reason").fill("在马路对面停车签到")
    page.locator("[data-checkin-go]").tap()
    page.wait_for_selector("[data-checkin-card]", state="hidden")
    # the card hides at the tap, the outbox write lands a moment later: wait for it to be counted
    # (going online before it, the wait for "nothing pending" below passed at once on a busy host)
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '1'")
    db.expire_all()
    assert db.get(Visit, second.id).checkin_at is None  # still on the phone
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '0'")
    db.expire_all()
    arrived = db.get(Visit, second.id)
    assert (arrived.checkin_flag, arrived.checkin_far_reason) == ("far", "在马路对面停车签到")
    context.close()


def test_a_refused_position_is_told_in_the_pages_language(browser, live_server, app, db, org_tree, people):
    """A phone that refuses the position: the browser's own English error ("User denied
    Geolocation") is not what a Chinese inspector reads, on the check-in page or the fill page."""
    with app.test_request_context():
        first = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                           checklist_code="open_inspection")
        second = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu2"],
                                            checklist_code="open_inspection")
    db.commit()
    context, page = phone(browser)  # no geolocation permission: the position is refused
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{first.id}/checkin")
    page.wait_for_selector("[data-geo-status].warn")
    status = page.locator("[data-geo-status]").inner_text()
    assert "未允许" in status and not re.search(r"[A-Za-z]", status), status

    page.goto(f"{live_server}/visits/{second.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    page.locator("[data-checkin-go]").tap()
    page.wait_for_selector("[data-checkin-card] [data-geo-reason]:not([hidden])")
    status = page.locator("[data-checkin-card] [data-geo-status]").inner_text()
    assert "未允许" in status and not re.search(r"[A-Za-z]", status), status
    context.close()
