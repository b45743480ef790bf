"""回头看 and 屡查屡犯 on a 360 px phone: the inspector opens a visit at an outlet whose last visit
failed two items, sees them marked with the last finding, filters to them (offline), fails one of
them again and submits; the notice says 屡查屡犯 with the day of the earlier failure."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.rectifications.models import RectificationLine
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import OUTPUT, browser_login
from tests.visit_helpers import checked_in_visit, released_days_ago

pytestmark = pytest.mark.browser


@pytest.fixture
def failed_before(app, db, org_tree, people):
    """xihu1's last visit, 30 days ago: A-01 (with its photo) and A-02 failed."""
    return released_days_ago(app, db, people["inspector"], org_tree["xihu1"], {
        "A-01": dict(result="fail", note="营业员未着工装"), "A-02": dict(occurrences=1, note="倚靠柜台聊天")}, days=30)


def test_inspector_sees_the_last_findings_filters_to_them_and_fails_one_again(
        browser, live_server, app, db, org_tree, people, failed_before):
    earlier_day = clock.local_date(failed_before.checkin_at, "Asia/Shanghai")
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")

    card = page.locator(".past-card")
    assert "回头看" in card.inner_text()
    marked = page.locator("article.item[data-past]")
    assert marked.count() == 2
    assert [marked.nth(i).get_attribute("data-code") for i in range(2)] == ["A-01", "A-02"]
    a01, a02 = page.locator("#item-A-01"), page.locator("#item-A-02")
    for item in (a01, a02):
        assert "上次不合格" in item.locator(".item-head").inner_text()
        assert "整改中" in item.locator(".item-head").inner_text()  # their lines are still open
        assert earlier_day.isoformat() in item.locator(".past-finding").inner_text()
    assert "营业员未着工装" in a01.locator(".past-finding").inner_text()
    assert "扣 2 分" in a02.locator(".past-finding").inner_text()
    thumb = a01.locator(".past-photos img")
    assert thumb.count() == 1
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert page.locator("#item-B-01 .past-finding").count() == 0
    page.screenshot(path=str(OUTPUT / "repeats_marked.png"), full_page=True)

    # only the marked items, without network: the marks are in the page
    context.set_offline(True)
    page.locator("[data-past-filter]").click()
    assert page.locator("[data-past-filter]").get_attribute("aria-pressed") == "true"
    visible = [page.locator("article.item").nth(i).is_visible() for i in range(page.locator("article.item").count())]
    assert visible.count(True) == 2 and not page.locator("#section-B").is_visible()
    assert page.locator("[data-past-filter]").inner_text() == "显示全部项目"
    page.screenshot(path=str(OUTPUT / "repeats_filtered.png"), full_page=True)
    context.set_offline(False)

    # A-02 fails again, A-01 is put right; then every item again, the rest passed, and submitted
    answer_item(a02, "fail")
    a02.locator("[data-note]").fill("又一次倚靠柜台")
    answer_item(a01, "pass")
    page.locator("[data-past-filter]").click()
    assert page.locator("#section-B").is_visible()
    for code in ("B-01", "B-02", "B-03"):
        answer_item(page.locator(f"#item-{code}"), "pass")
    wait_saved(page)
    page.locator("[data-submit-form] button").click()
    page.wait_for_url(re.compile(rf".*/visits/{visit.id}$"))

    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    assert line.item_code == "A-02" and line.severity == "general" and line.repeat_since == earlier_day
    page.goto(f"{live_server}/notices/{line.notice_id}")
    text = page.locator("main").inner_text() if page.locator("main").count() else page.content()
    assert "屡查屡犯" in text and f"前次不合格:{earlier_day.isoformat()}" in text
    assert "一般" in text  # 轻微, one step up
    page.screenshot(path=str(OUTPUT / "repeats_notice.png"), full_page=True)
    context.close()

    # the city's manager: told once, and the repeat on the repeats page linked from the board
    context, page = phone(browser)
    browser_login(page, live_server, "manager")
    page.goto(f"{live_server}/notifications")
    assert "屡查屡犯" in page.content() and "A-02" in page.content()
    page.goto(f"{live_server}/board")
    page.locator("a[href^='/board/repeats']").click()
    page.wait_for_url(re.compile(r".*/board/repeats.*"))
    assert "西湖区" in page.content()
    page.goto(f"{live_server}/board/repeats?unit={org_tree['xihu'].id}")
    row = page.locator("ul.list li").first
    assert "西湖区文三路邮政营业所" in row.inner_text() and "重复 1 次" in row.inner_text()
    page.screenshot(path=str(OUTPUT / "repeats_page.png"), full_page=True)
    context.close()
