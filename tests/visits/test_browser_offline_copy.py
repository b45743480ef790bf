"""The visit reopened offline is the visit as the phone left it, and an edit of an item saved
online earlier is no conflict (issue 15, its first two findings).

The page is kept by the service worker for offline use when it is opened, before check-in and
before any answer. Check in on the page and answer five items online, go offline, close the tab and
open the visit again: the copy must show the check-in done and the five answers, and changing one
of them must reach the server as a change, not as "changed on another device"."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_a_visit_reopened_offline_is_the_one_left_and_an_edit_is_no_conflict(app, browser, live_server, db,
                                                                              org_tree, people):
    outlet = org_tree["xihu1"]
    today = clock.today(outlet.timezone)
    with app.test_request_context():
        visit = visits.schedule_visits(db, actor=people["manager"], checklist_code="fives", outlet_ids=[outlet.id],
                                       assignee=people["inspector"], due_from=today, due_until=today)[0]
    db.commit()
    base = live_server
    context, page = phone(browser, geolocation={"latitude": 30.26, "longitude": 120.13, "accuracy": 20},
                          permissions=["geolocation"])
    browser_login(page, base, "inspector")
    fill_url = f"{base}/visits/{visit.id}/fill"
    page.goto(fill_url)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()  # under the service worker now: this copy (check-in card, no answers) is kept
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    assert page.locator("[data-checkin-card]").is_visible()

    page.locator("[data-checkin-go]").click()
    page.wait_for_function("() => !document.getElementById('visit').classList.contains('not-started')")
    items = page.locator("article.item")
    for i in range(5):
        answer_item(items.nth(i), "pass")
    wait_saved(page)
    page.wait_for_timeout(2500)  # the copy is refreshed a moment after the last confirmation
    codes = [items.nth(i).get_attribute("data-code") for i in range(5)]
    db.expire_all()
    assert db.get(Visit, visit.id).status == VisitStatus.in_progress

    context.set_offline(True)
    page.close()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(fill_url)  # from the phone
    items = page.locator("article.item")
    assert not page.locator("[data-checkin-card]").is_visible()
    assert "not-started" not in (page.locator("#visit").get_attribute("class") or "")
    for i in range(5):
        assert "is-pass" in items.nth(i).get_attribute("class"), f"item {i} came back blank"
    page.screenshot(path="test-output/offline_reopened.png", full_page=True)

    answer_item(items.nth(0), "fail")  # saved online as a pass, changed offline
    items.nth(0).locator("[data-note]").fill("地面有纸屑")
    page.wait_for_timeout(1200)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_saved(page)
    assert "其他设备" not in page.locator("#visit").inner_text()
    db.expire_all()
    changed = db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == codes[0])).one()
    assert changed.result == "fail" and changed.note == "地面有纸屑" and changed.version >= 2
    assert len(db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()) == 5

    # what the phone remembered of this person's answers goes at logout, with the kept pages
    remembered = "() => Object.keys(localStorage).filter(k => k.startsWith('inspect-confirmed:'))"
    assert page.evaluate(remembered)
    page.goto(f"{base}/home")
    page.locator("details.menu summary").click()
    page.locator("form[data-logout] button").click()
    page.wait_for_url("**/login")
    assert page.evaluate(remembered) == []
    context.close()
