"""延期申请 on a 360 px touch phone (issue 20): the chief asks for more time on a line, the inspector
approves it, and on the day after the old deadline the line is not overdue."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.rectifications import queries, services
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from tests.browser_helpers import phone
from tests.conftest import browser_login
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser


def test_chief_asks_inspector_approves_not_overdue_on_the_old_date(browser, live_server, app, db, org_tree, people,
                                                                    clock_at):
    clock_at("2026-03-02T01:00:00Z", tick=True)  # Monday 09:00 in Shanghai
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠柜台")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    old = line.deadline_date
    asked = old + dt.timedelta(days=7)

    chief_ctx, chief = phone(browser)
    browser_login(chief, live_server, "chief")
    chief.goto(f"{live_server}/lines/{line.id}")
    chief.locator("[data-extension-ask] summary").tap()
    chief.locator("#extension-deadline").fill(asked.isoformat())
    chief.locator("#extension-reason").fill("更换的叫号机配件需厂家发货,预计下周到货")
    chief.locator("[data-extension-ask] button[type=submit]").tap()
    chief.wait_for_selector("[data-extension-history]")
    assert "待审批" in chief.locator("[data-extension-history]").inner_text()

    inspector_ctx, inspector = phone(browser)
    browser_login(inspector, live_server, "inspector")
    inspector.goto(f"{live_server}/lines/{line.id}")
    decide = inspector.locator("[data-extension-decide]")
    decide.locator("input[value=approve]").tap()
    decide.locator("textarea").fill("情况属实,同意延期")
    decide.locator("button[type=submit]").tap()
    inspector.wait_for_selector(".flash-success, .flash")
    db.expire_all()
    assert db.get(RectificationLine, line.id).deadline_date == asked

    # the day after the old deadline (10:00 in Shanghai): not overdue, on the page and the board
    clock_at(clock.day_end(old, "Asia/Shanghai") + dt.timedelta(hours=10), tick=True)
    db.expire_all()
    line = db.get(RectificationLine, line.id)
    assert not services.is_overdue(line)
    _rows, total = queries.board(db, people["manager"], node=None, filters=queries.BoardFilters())
    assert total.overdue == 0 and total.extended == 1
    browser_login(chief, live_server, "chief")  # the session ended while the clock jumped
    chief.goto(f"{live_server}/lines/{line.id}")
    state = chief.locator("section.card").first.inner_text()
    assert "逾期" not in state and str(asked) in state
    history = chief.locator("[data-extension-history]")
    assert f"批准延期至 {asked}" in history.inner_text() and "同意延期" in history.inner_text()
    chief.locator("[data-extensions]").scroll_into_view_if_needed()
    chief.screenshot(path="test-output/line_extension_history.png")  # the viewport: 360 px as the chief sees it
    inspector_ctx.close()
    chief_ctx.close()
