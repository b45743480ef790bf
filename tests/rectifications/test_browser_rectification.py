"""Rectification on phones: released visit → chief acknowledges and answers with photos →
inspector returns one line and accepts another → chief answers again → closed. The manager's
board shows the right counts at every step; a line pushed past its deadline shows as overdue and
escalated."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.rectifications.services import deadline_instant
from tests.browser_helpers import phone, photo_file
from tests.conftest import browser_login
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser


def board_numbers(page, base):
    page.goto(base + "/board")
    stats = page.locator(".stats .stat b").all_inner_texts()
    issued, open_, overdue = (int(x) for x in stats[:3])
    row = page.locator("table.board-table tbody tr").first.locator("td").all_inner_texts()
    return {"issued": issued, "open": open_, "overdue": overdue, "ack": int(row[2]), "answered": int(row[3]),
            "closed": int(row[4])}


def answer(page, base, line_id, text, color):
    page.goto(f"{base}/lines/{line_id}")
    page.fill("#description", text)
    page.locator("[data-photo-input]").set_input_files(photo_file(f"after{line_id}.jpg", color=color))
    page.wait_for_selector(".thumb.is-saved")
    page.locator("form:has(#description) button[type=submit]").click()
    page.wait_for_load_state()
    assert "整改回复已提交" in page.content()


def test_rectification_path(browser, live_server, app, db, org_tree, people):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=2, note="倚靠柜台两次"), "A-01": dict(result="fail", note="未着工装")})
    lines = {line.item_code: line for line in db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id))}
    base = live_server

    manager_ctx, manager = phone(browser)
    browser_login(manager, base, "manager")
    assert board_numbers(manager, base) == {"issued": 2, "open": 2, "overdue": 0, "ack": 0, "answered": 0, "closed": 0}

    chief_ctx, chief = phone(browser)
    browser_login(chief, base, "chief")
    assert "待处理的整改通知书" in chief.content()
    chief.locator(".home-block a.list-link").first.click()
    chief.wait_for_url(re.compile(r".*/notices/\d+$"))
    chief.locator("button:has-text('签收本通知书')").click()
    chief.wait_for_load_state()
    assert "已签收" in chief.content()
    assert board_numbers(manager, base)["ack"] == 2

    answer(chief, base, lines["A-01"].id, "已统一换穿工装,并组织班前检查", (0, 90, 200))
    answer(chief, base, lines["A-02"].id, "已开展站姿培训,现场站姿规范", (0, 160, 60))
    chief.screenshot(path="test-output/rectification_answered.png", full_page=True)
    numbers = board_numbers(manager, base)
    assert numbers["answered"] == 2 and numbers["closed"] == 0

    inspector_ctx, inspector = phone(browser)
    browser_login(inspector, base, "inspector")
    inspector.goto(f"{base}/lines/{lines['A-01'].id}")
    inspector.locator("input[name=decision][value=return]").check()
    inspector.fill("#reason", "照片未拍到全体员工")
    inspector.locator("form:has(input[name=decision]) button[type=submit]").click()
    inspector.wait_for_load_state()
    assert "已退回网点" in inspector.content()
    inspector.goto(f"{base}/lines/{lines['A-02'].id}")
    inspector.locator("input[name=decision][value=accept]").check()
    inspector.locator("form:has(input[name=decision]) button[type=submit]").click()
    inspector.wait_for_load_state()
    assert "已销项" in inspector.content()
    numbers = board_numbers(manager, base)
    assert numbers["closed"] == 1 and numbers["open"] == 1

    # the chief sees the return in the notifications and answers again
    chief.goto(base + "/notifications")
    assert "被退回" in chief.content()
    answer(chief, base, lines["A-01"].id, "已重新拍摄全体员工着装照片", (200, 90, 0))
    inspector.goto(f"{base}/lines/{lines['A-01'].id}")
    inspector.locator("input[name=decision][value=accept]").check()
    inspector.locator("form:has(input[name=decision]) button[type=submit]").click()
    inspector.wait_for_load_state()
    history = inspector.locator(".timeline").inner_text()
    for step in ("下发", "签收", "回复整改", "退回", "验证销项"):
        assert step in history
    assert inspector.locator(".timeline img").count() == 2  # the after-photos of both answers
    numbers = board_numbers(manager, base)
    assert numbers == {"issued": 2, "open": 0, "overdue": 0, "ack": 2, "answered": 2, "closed": 2}

    # another notice, pushed past its deadline: overdue, and escalated to the city after 3 days
    late_visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                                    {"A-01": dict(result="fail", note="仍未着工装")})
    late = db.exec(select(RectificationLine).where(RectificationLine.visit_id == late_visit.id)).one()
    day = clock.today("Asia/Shanghai") - dt.timedelta(days=4)
    late.deadline_date, late.deadline_at = day, deadline_instant(day, "Asia/Shanghai")
    db.add(late)
    db.commit()
    numbers = board_numbers(manager, base)
    assert numbers["overdue"] == 1 and numbers["open"] == 1
    assert "已升级至本级" in manager.content()
    manager.screenshot(path="test-output/rectification_board.png", full_page=True)
    chief.goto(base + "/home")
    assert "1 项逾期" in chief.content()
    for ctx in (manager_ctx, chief_ctx, inspector_ctx):
        ctx.close()
    assert db.get(RectificationLine, lines["A-01"].id).status == LineStatus.closed
