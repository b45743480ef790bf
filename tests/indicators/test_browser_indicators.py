"""A manager on a 360 px phone goes from the rank on the home page to the indicator that cost most
and on to the rows behind it; the ranking page itself fits the phone."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from inspect_app.indicators.models import OperatingValue
from tests.browser_helpers import phone
from tests.conftest import browser_login
from tests.jobs_helpers import keep_composite
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser


def test_a_manager_drills_from_the_rank_to_the_rows(browser, live_server, app, db, org_tree, people, clock_at,
                                                    create_user):
    from inspect_app.auth.models import Role

    ningbo = create_user(Role.inspector, unit=org_tree["nb"], username="inspector.nb")
    clock_at("2026-11-12T02:00:00Z")
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                       {"A-02": dict(occurrences=2, note="倚靠"), "B-03": dict(result="fail", note="叫号机坏了")})
    release_mini_visit(app, db, ningbo, org_tree["haishu1"], {})
    db.add(OperatingValue(unit_id=org_tree["hz"].id, month=dt.date(2026, 11, 1), metric="call_answer_rate",
                          value=Decimal(88)))
    db.commit()
    clock_at("2026-12-01T16:30:00Z", tick=True)  # 00:30 on 2 December in Shanghai: November is over
    keep_composite(app)  # what the worker keeps; pages only read it
    context, page = phone(browser)
    browser_login(page, live_server, "manager")
    card = page.locator("section.card:has(h2:has-text('综合考核'))")
    assert "失分最多" in card.inner_text()
    costliest = card.locator("a.list-link").first
    costliest_name = costliest.inner_text()
    costliest.click()
    page.wait_for_load_state()
    assert "/indicators/units/" in page.url and "#ind-" in page.url
    assert page.locator("p.doc-title").inner_text().startswith("杭州市")
    page.screenshot(path="test-output/indicators_unit.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    code = page.url.split("#ind-")[1]
    item = page.locator(f"#ind-{code}")
    assert item.is_visible()
    item.locator("a.btn").click()
    page.wait_for_url(re.compile(rf".*/indicators/units/{org_tree['hz'].id}/{code}\?period=2026-11"))
    title = page.locator("p.doc-title").inner_text()
    assert title.startswith(code) and title.split(" ", 1)[1] in costliest_name
    # the rows behind the value: the two lines of the failed items, with their outlet
    table = page.locator("table.table").inner_text()
    assert "A-02" in table and "B-03" in table and org_tree["xihu1"].name in table
    page.screenshot(path="test-output/indicators_rows.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # the ranking of the province's cities as the director sees it
    director_ctx, director = phone(browser)
    browser_login(director, live_server, "director")
    director.goto(f"{live_server}/indicators?period=2026-11&unit={org_tree['province'].id}")
    ranking = director.locator("ul.list").inner_text()
    assert "杭州市" in ranking and "宁波市" in ranking
    kept = director.locator(".kept-figures")
    assert "数据计算于 12-02 00:30" in kept.inner_text()
    kept.get_by_role("button", name="重新计算").click()
    director.wait_for_load_state()
    assert "正在重新计算" in director.locator("body").inner_text()
    director.screenshot(path="test-output/indicators_ranking.png", full_page=True)
    assert director.evaluate("document.documentElement.scrollWidth") <= 360
    director_ctx.close()
    context.close()
