"""What each item says is what is true (issue 15, its small findings): answers waiting behind a
send that failed are "not sent yet", not "saving"; a photo that failed and then went through is
"saved", not "failed, retrying"."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.evidence.models import Photo
from inspect_app.visits.models import Answer
from tests.browser_helpers import answer_item, phone, photo_file, wait_saved
from tests.conftest import browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser


def status(item) -> str:
    return item.locator("[data-status]").inner_text()


def test_item_messages_follow_what_happened(browser, live_server, app, db, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    items = page.locator("article.item:not([data-rule=timer])")

    page.route("**/api/visits/*/answers", lambda route: route.abort())
    for i in range(3):
        answer_item(items.nth(i), "pass")
    page.wait_for_timeout(1500)
    assert [status(items.nth(i)) for i in range(3)] == ["尚未发送:已保存在本机,将自动重试"] * 3
    page.unroute("**/api/visits/*/answers")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_saved(page)
    assert [status(items.nth(i)) for i in range(3)] == ["已保存"] * 3
    assert len(db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()) == 3

    failing = items.nth(3)
    answer_item(failing, "fail")
    wait_saved(page)
    page.route("**/api/visits/*/photos", lambda route: route.abort())
    failing.locator("[data-photo-input]").set_input_files(photo_file("retry.jpg"))
    page.wait_for_function("(el) => el.querySelector('[data-status]').textContent.includes('上传失败')",
                           arg=failing.element_handle())
    page.unroute("**/api/visits/*/photos")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    failing.locator(".thumb.is-saved").wait_for(timeout=20_000)
    assert status(failing) == "已保存"
    assert len(db.exec(select(Photo).where(Photo.visit_id == visit.id)).all()) == 1
    context.close()
