"""A manager on a 360 px phone goes from the rank on the home page to the indicator that cost most
and on to the rows behind it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inspect_app.indicators.models import OperatingValue
from tests.browser_helpers import phone
from tests.conftest import browser_login
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser


def test_a_manager_drills_from_the_rank_to_the_rows(browser, live_server, app, db, org_tree, people):
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=2, note="倚靠")})
    db.add(OperatingValue(unit_id=org_tree["hz"].id, month=dt.date(2026, 11, 1), metric="call_answer_rate",
                          value=Decimal(88)))
    db.commit()
    context, page = phone(browser)
    browser_login(page, live_server, "manager")
    card = page.locator("section.card:has(h2:has-text('综合考核'))")
    assert card.is_visible()
    assert "失分最多" in card.inner_text()
    card.locator("a.list-link").first.click()
    page.wait_for_load_state()
    assert "/indicators/units/" in page.url and "#ind-" in page.url
    assert page.locator("p.doc-title").inner_text().startswith("杭州市")
    page.screenshot(path="test-output/indicators_unit.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    target = page.url.split("#")[1]
    item = page.locator(f"#{target}")
    assert item.is_visible()
    rows = item.locator("a.btn")
    if rows.count():
        rows.first.click()
        page.wait_for_load_state()
        assert page.url.split("?")[0].rsplit("/", 1)[-1] in ("visits", "lines", "complaints")
    else:  # an imported figure: its import is named in place
        assert "导入" in item.inner_text()
    context.close()
