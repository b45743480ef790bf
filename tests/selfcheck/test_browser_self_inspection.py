"""A branch chief's daily opening check on a 360 px phone: today's check from the home page, started
at the outlet, every item answered, one failed with a note and a photo, submitted (released at
once); then the finding's line answered and closed by the chief with an after-photo."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.plans import services as plans
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits.models import Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, photo_file, wait_saved
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


@pytest.fixture
def daily_plan(app, db, people, org_tree):
    today = clock.today("Asia/Shanghai")
    with app.test_request_context():
        plans.create_plan(db, actor=people["manager"], data=plans.PlanInput(
            name="每日开门自查", unit_id=org_tree["xihu"].id, checklist_code="daily_opening", starts_on=today,
            ends_on=today + dt.timedelta(days=60), period_kind="day", assign_mode="self", outlet_rule="listed",
            outlet_ids=[org_tree["xihu1"].id]))
    db.commit()
    return today


def test_a_chief_fills_todays_check_and_closes_its_finding(browser, live_server, db, org_tree, people, daily_plan):
    context, page = phone(browser, geolocation={"latitude": 30.2601, "longitude": 120.1302, "accuracy": 15},
                          permissions=["geolocation"])
    browser_login(page, live_server, "chief")
    assert "今日自查" in page.content()
    page.screenshot(path="test-output/self_check_home.png", full_page=True)
    page.locator(".self-block a.list-link").first.click()
    page.wait_for_url(re.compile(r".*/checkin$"))
    page.wait_for_selector(".geo-status.ok")
    page.locator("#checkin-form button[type=submit]").click()  # 开始自查
    page.wait_for_url(re.compile(r".*/fill$"))

    items = page.locator("article.item")
    assert items.count() == 10
    for i in range(10):
        answer_item(items.nth(i), "fail" if i == 1 else "pass")  # OPN-02 营业时间牌
    failing = items.nth(1)
    failing.locator("[data-note]").fill("营业时间牌被风吹落，暂用手写纸条")
    failing.locator("[data-photo-input]").set_input_files(photo_file("plate.jpg", color=(200, 160, 20)))
    page.wait_for_selector("article.item >> nth=1 >> .thumb.is-saved")
    wait_saved(page)
    page.screenshot(path="test-output/self_check_fill.png", full_page=True)
    page.locator("[data-submit-form] button").click()
    page.wait_for_url(re.compile(r".*/visits/\d+$"))
    assert "90" in page.locator(".score-number").inner_text()
    visit = db.exec(select(Visit).where(Visit.kind == "self", Visit.status == VisitStatus.released)).one()
    assert visit.assignee_id == people["chief"].id and visit.due_from == daily_plan

    # the finding is the chief's own: on the home page's notices, closed with an after-photo
    page.goto(live_server + "/home")
    page.locator(".home-block a.list-link[href*='/notices/']").first.click()
    page.wait_for_url(re.compile(r".*/notices/\d+$"))
    page.locator("a.list-link[href*='/lines/']").first.click()
    page.wait_for_url(re.compile(r".*/lines/\d+$"))
    assert "整改好了？拍照销项" in page.content() and "发送复查" not in page.content()
    page.fill("#description", "已重新张贴营业时间牌并加固")
    page.locator("[data-photo-input]").set_input_files(photo_file("fixed.jpg", color=(20, 140, 60)))
    page.wait_for_selector(".thumb.is-saved")
    page.locator("form:has(#description) button[type=submit]").click()
    page.wait_for_load_state()
    page.screenshot(path="test-output/self_check_closed.png", full_page=True)
    assert "已销项" in page.content() or "已关闭" in page.content()
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    assert line.status == LineStatus.closed and line.answered_by_id == people["chief"].id
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    context.close()
