"""Submitting with no network is queued, said so, and sent once every earlier write is through
(issue 15, its fourth finding); other pages and forms offline get the app's words, not the
browser's error page."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app.visits.models import Answer, Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import browser_login
from tests.visit_helpers import checked_in_visit


def fill_mini(page, base, visit_id: int, *, offline_from: int, context):
    """Answer every item of the mini checklist; those from ``offline_from`` on with no network."""
    page.goto(f"{base}/visits/{visit_id}/fill")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    items = page.locator("article.item:not([data-rule=timer])")
    for i in range(items.count()):
        if i == offline_from:
            wait_saved(page)
            context.set_offline(True)
        answer_item(items.nth(i), "pass")


pytestmark = pytest.mark.browser


@pytest.mark.parametrize("pending", [True, False], ids=["with-unsent-answers", "nothing-unsent"])
def test_a_visit_submitted_offline_goes_when_the_network_is_back(browser, live_server, app, db, org_tree, people,
                                                                 pending):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], checklist="mini", window=True)
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    total = 5
    fill_mini(page, live_server, visit.id, offline_from=3 if pending else total, context=context)
    if not pending:
        wait_saved(page)
        context.set_offline(True)
    page.locator("[data-submit-form] button").click()  # the confirm dialog is accepted by phone()
    page.wait_for_function("() => document.getElementById('visit').dataset.submitQueued === '1'")
    page.wait_for_function("() => document.querySelector('[data-sync]').textContent.includes('已离线提交，联网后自动发送')")
    assert page.locator("[data-submit-form] button").is_disabled()
    assert page.url.endswith("/fill")  # still the visit, not an error page
    page.screenshot(path=f"test-output/offline_submit_{'pending' if pending else 'clean'}.png")
    db.expire_all()
    assert db.get(Visit, visit.id).status == VisitStatus.in_progress

    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_url(re.compile(rf".*/visits/{visit.id}$"), timeout=30_000)
    assert "已提交" in page.locator("main").inner_text()  # the server's own message, on the visit page
    db.expire_all()
    assert db.get(Visit, visit.id).status == VisitStatus.released  # an open inspection is released at once
    assert len(db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()) == total
    context.close()


def test_pages_and_forms_offline_get_the_apps_words(browser, live_server, people):
    context, page = phone(browser)
    browser_login(page, live_server, "manager")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.goto(f"{live_server}/board", wait_until="commit")
    page.wait_for_selector("text=没有网络")
    assert "此页面尚未保存到本机" in page.content()
    context.close()
