"""The secret-visit path on phones: the manager schedules → the shopper taps the timers, photographs
the receipt, submits → the reviewer sees the flags, returns once, then releases → the branch chief
sees the notice under the code name only."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app.visits.models import Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, photo_file, wait_saved
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_secret_visit_path(browser, live_server, db, org_tree, people):
    base = live_server
    outlet = org_tree["xihu1"]

    # the manager schedules, on a phone
    manager_ctx, manager = phone(browser)
    browser_login(manager, base, "manager")
    manager.goto(f"{base}/schedule?q={outlet.code}")
    manager.select_option("#checklist", "secret_visit")
    manager.select_option("#assignee_id", str(people["shopper"].id))
    manager.locator(f"input[name=outlet_ids][value='{outlet.id}']").check()
    manager.locator("form.card button.btn-primary").click()
    manager.wait_for_url(re.compile(r".*/visits\?status=scheduled"))
    visit = db.exec(select(Visit).where(Visit.kind == "secret")).one()

    # the shopper: check in, tap the timers, answer, receipt and hall photos, impression
    shopper_ctx, shopper = phone(browser, geolocation={"latitude": outlet.lat + 0.0004, "longitude": outlet.lon,
                                                       "accuracy": 30}, permissions=["geolocation"])
    browser_login(shopper, base, "shopper")
    shopper.locator(f"a[href='/visits/{visit.id}']").first.click()
    shopper.locator("a:has-text('签到并开始检查')").click()
    shopper.wait_for_selector(".geo-status.ok")
    shopper.locator("#checkin-form button[type=submit]").click()
    shopper.wait_for_url(re.compile(r".*/fill$"))
    assert "plain" in shopper.locator("body").get_attribute("class")
    for name in ("entry", "queue_start", "service_start"):
        shopper.locator(f"[data-timer={name}]").click()
        shopper.wait_for_timeout(1100)  # seconds matter
    items = shopper.locator("article.item")
    for i in range(items.count()):
        answer_item(items.nth(i), "fail" if i == 1 else "pass")
    items.nth(1).locator("[data-note]").fill("工作人员没有主动问好")
    shopper.locator("[data-timer=service_end]").click()
    shopper.wait_for_timeout(1100)
    shopper.locator("[data-timer=exit]").click()
    shopper.fill("#counter_number", "2")
    shopper.locator("[data-purpose=receipt] [data-photo-input]").set_input_files(photo_file("receipt.jpg", color=(245, 245, 235)))
    shopper.locator("[data-purpose=general] [data-photo-input]").set_input_files(photo_file("hall.jpg", color=(40, 90, 40)))
    shopper.fill("#summary", "进店后排队约一分钟,工作人员没有主动问好,但办理寄件时询问了物品内容,查验身份证并登记,"
                             "唱收唱付清楚,离开时说了再见,大厅干净整洁,叫号屏正常,宣传资料摆放整齐,等候区座椅充足。")
    shopper.wait_for_function("() => document.querySelectorAll('.thumb.is-saved').length >= 2")
    wait_saved(shopper)
    assert shopper.locator("[data-timer-row=exit].is-set").count() == 1
    shopper.screenshot(path="test-output/secret_fill.png", full_page=True)
    shopper.locator("[data-submit-form] button").click()
    shopper.wait_for_selector("button:has-text('仍然提交')")
    assert "至少需要 4 张照片" in shopper.content()  # a warning, not a block
    shopper.locator("button:has-text('仍然提交')").click()
    shopper.wait_for_selector("text=已提交,等待审核")
    db.expire_all()
    assert db.get(Visit, visit.id).status == VisitStatus.in_review

    # the reviewer sees the flags and returns the visit once
    reviewer_ctx, reviewer = phone(browser)
    browser_login(reviewer, base, "reviewer")
    reviewer.goto(base + "/review")
    reviewer.locator(f"a[href='/review/{visit.id}']").click()
    flags = reviewer.locator("section.card-error").inner_text()
    assert "照片 2 张" in flags
    reviewer.fill("#comment", "请补拍门头和柜台照片")
    reviewer.locator("button:has-text('退回暗访员')").click()
    reviewer.wait_for_url(re.compile(r".*/review$"))

    # the shopper adds photos later the same day; the times are still there
    shopper.goto(f"{base}/visits/{visit.id}/fill")
    assert "请补拍门头和柜台照片" in shopper.content()
    assert shopper.locator("[data-timer-row].is-set").count() == 5
    shopper.locator("[data-purpose=general] [data-photo-input]").set_input_files(
        [photo_file("front.jpg", color=(200, 30, 30)), photo_file("counter.jpg", color=(30, 30, 200))])
    shopper.wait_for_function("() => document.querySelectorAll('.thumb.is-saved').length >= 4")
    shopper.locator("[data-submit-form] button").click()
    shopper.wait_for_selector("button:has-text('仍然提交')")  # the photo of EXT-02 is still missing: a warning
    shopper.locator("button:has-text('仍然提交')").click()
    shopper.wait_for_selector("text=已提交,等待审核")

    reviewer.goto(f"{base}/review/{visit.id}")
    reviewer.locator("button:has-text('发布给网点')").click()
    reviewer.wait_for_url(re.compile(r".*/review$"))
    assert "已发布" in reviewer.content()

    # the branch chief: the notice, the code name, never the shopper
    chief_ctx, chief = phone(browser)
    browser_login(chief, base, "chief")
    chief.locator(".home-block a.list-link").first.click()
    content = chief.content()
    assert "暗访员A07" in content and people["shopper"].display_name not in content
    assert "暗访" in content
    chief.screenshot(path="test-output/secret_notice_chief.png", full_page=True)
    for ctx in (manager_ctx, shopper_ctx, reviewer_ctx, chief_ctx):
        ctx.close()
