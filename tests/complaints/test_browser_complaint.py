"""A hotline complaint on phones (360 px), from the call to the callback: the handler registers and
takes it, records the contact, an investigation note and a photo, concludes it as substantiated
with a grade and a rectification line; the branch chief acknowledges and answers the line and
the handler verifies it; accountability is opened, decided by the manager and acknowledged by the
chief; the customer is called back. The chief never sees the customer's phone number."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app.complaints.models import Accountability, Complaint, ComplaintStatus
from inspect_app.org.models import StaffMember
from inspect_app.rectifications.models import LineStatus, RectificationLine
from tests.browser_helpers import phone, photo_file
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def submit(page, form_selector: str) -> None:
    page.locator(f"{form_selector} button[type=submit]").click()
    page.wait_for_load_state()


def test_hotline_complaint_from_call_to_callback(browser, live_server, db, org_tree, people):
    base = live_server
    clerk = StaffMember(job_number="330106001-07", name="王小红", post="营业员", outlet_id=org_tree["xihu1"].id)
    db.add(clerk)
    db.commit()

    handler_ctx, handler = phone(browser)
    browser_login(handler, base, "handler")
    handler.goto(base + "/complaints/new")
    handler.fill("#outlet_code", "330106001")
    handler.select_option("#source", "hotline")
    handler.select_option("#category", "服务态度")
    handler.fill("#account", "营业员办理汇款时态度生硬,打断客户询问手续费。")
    handler.fill("#staff_job_number", "330106001-07")
    handler.fill("#customer_name", "张三丰")
    handler.fill("#customer_phone", "13912345678")
    handler.screenshot(path="test-output/complaint_new.png", full_page=True)
    submit(handler, "form:has(#account)")
    assert "已登记" in handler.content()
    handler.wait_for_url(re.compile(r".*/complaints/\d+$"))
    complaint_url = handler.url
    assert handler.evaluate("document.documentElement.scrollWidth") <= 360

    handler.locator("button:has-text('受理(首问负责)')").click()
    handler.wait_for_load_state()
    assert "您已受理该投诉" in handler.content()
    handler.fill("form[action$='/contact'] textarea", "已致电客户致歉,说明将调取录像核实。")
    submit(handler, "form[action$='/contact']")
    assert "与客户的联系已记录" in handler.content()
    handler.fill("form[action$='/note'] textarea", "调取柜台录像,营业员确有语气生硬、打断客户的情况。")
    submit(handler, "form[action$='/note']")
    handler.locator("[data-photo-input]").set_input_files(photo_file("video-still.jpg", color=(60, 60, 160)))
    handler.wait_for_selector(".thumb.is-saved")

    handler.locator("input[name=verdict][value=substantiated]").check()
    handler.fill("#reasons", "录像证实服务态度生硬,投诉有理。")
    handler.select_option("#grade", "1")
    handler.fill("#requirements", "营业员服务规范复训,网点每日班前会重申服务用语")
    handler.screenshot(path="test-output/complaint_conclude.png", full_page=True)
    submit(handler, "form[action$='/conclude']")
    assert "已办结,请回访客户" in handler.content()
    complaint = db.exec(select(Complaint)).one()
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == complaint.notice_id)).one()
    assert line.staff_id == clerk.id

    # the outlet's side: acknowledge and answer, with an after-photo
    chief_ctx, chief = phone(browser)
    browser_login(chief, base, "chief")
    chief.goto(f"{base}/notices/{complaint.notice_id}")
    assert f"投诉 {complaint.number}" in chief.content()
    chief.locator("button:has-text('签收本通知书')").click()
    chief.wait_for_load_state()
    chief.goto(f"{base}/lines/{line.id}")
    chief.fill("#description", "已组织全体营业员服务规范复训并签到。")
    chief.locator("[data-photo-input]").set_input_files(photo_file("training.jpg", color=(0, 150, 60)))
    chief.wait_for_selector(".thumb.is-saved")
    chief.locator("form:has(#description) button[type=submit]").click()
    chief.wait_for_load_state()
    assert "整改回复已提交" in chief.content()
    chief.goto(complaint_url)
    page = chief.content()
    assert "13912345678" not in page and "139****5678" not in page and "张三丰" not in page
    assert "仅投诉处理人员可见" in page

    # the handler verifies the line (no inspector on a complaint's notice)
    handler.goto(f"{base}/lines/{line.id}")
    handler.locator("input[name=decision][value=accept]").check()
    handler.locator("form:has(input[name=decision]) button[type=submit]").click()
    handler.wait_for_load_state()
    assert "已销项" in handler.content()
    db.expire_all()
    assert db.get(RectificationLine, line.id).status == LineStatus.closed

    # accountability: opened by the handler, decided by the manager, acknowledged by the chief
    handler.goto(complaint_url)
    handler.locator("summary:has-text('对员工提请问责')").click()
    handler.fill("form[action$='/accountability'] textarea", "服务态度生硬,有理投诉一般等级。")
    submit(handler, "form[action$='/accountability']")
    assert "已提请问责" in handler.content()
    record_url = handler.url
    manager_ctx, manager = phone(browser)
    browser_login(manager, base, "manager")
    manager.goto(record_url)
    manager.select_option("#grade", "1")
    submit(manager, "form[action$='/decide']")
    assert "已决定" in manager.content() and "600 元" in manager.content()
    chief.goto(f"{base}/home")
    assert "待确认的问责决定" in chief.content()
    chief.goto(record_url)
    chief.screenshot(path="test-output/complaint_accountability_chief.png", full_page=True)
    chief.locator("button:has-text('确认问责决定')").click()
    chief.wait_for_load_state()
    db.expire_all()
    assert db.exec(select(Accountability)).one().status == "acknowledged"

    # the callback closes it
    handler.goto(complaint_url)
    handler.locator("input[name=satisfaction][value=satisfied]").check()
    submit(handler, "form[action$='/callback']")
    assert "回访已记录" in handler.content() and "已回访结案" in handler.content()
    handler.screenshot(path="test-output/complaint_done.png", full_page=True)
    assert handler.evaluate("document.documentElement.scrollWidth") <= 360
    db.expire_all()
    assert db.get(Complaint, complaint.id).status == ComplaintStatus.called_back
    for context in (handler_ctx, chief_ctx, manager_ctx):
        context.close()
