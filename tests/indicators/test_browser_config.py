"""The quality office publishes the shipped checklists' new content through the configuration page,
on a phone: an installation still on the November open inspection gets the December file (red
lines for 禁寄/私拆/虚假签收/投放快件箱, 普遍服务, 代理金融, counter complaint handling), sees every
added item, publishes it as version 2, and reads a new red line in full."""
from __future__ import annotations

import re
import shutil

import pytest
from sqlmodel import select

from inspect_app.checklists.models import ChecklistVersion
from inspect_app.config import PROJECT_ROOT
from tests.browser_helpers import phone
from tests.conftest import FIXTURES, browser_login

pytestmark = pytest.mark.browser


@pytest.fixture
def checklist_dir(tmp_path):
    """The checklists as shipped in November: the open inspection before its December additions, and
    no daily opening check yet (it came in December, pointing at December items such as UNI-04)."""
    folder = tmp_path / "forms"
    folder.mkdir()
    for path in [*(PROJECT_ROOT / "forms").glob("*.toml"), FIXTURES / "mini.toml"]:
        if path.name != "daily_opening.toml":
            shutil.copy(path, folder / path.name)
    shutil.copy(FIXTURES / "open_inspection_before_2026_12.toml", folder / "open_inspection.toml")
    return folder


def test_the_new_checklist_content_is_published_through_the_page(browser, live_server, db, people):
    context, page = phone(browser)
    browser_login(page, live_server, "admin")
    page.locator("a.tile:has-text('检查表与指标体系')").click()
    page.wait_for_url(re.compile(r".*/admin/config$"))
    assert "第 1 版" in page.locator("section.card").first.inner_text()
    page.screenshot(path="test-output/config_index.png", full_page=True)
    page.select_option("#kind", "checklist")
    page.set_input_files("#file", str(PROJECT_ROOT / "forms" / "open_inspection.toml"))
    page.locator("button:has-text('校验并比较')").click()
    page.wait_for_url(re.compile(r".*/admin/config/drafts/\d+$"))
    changes = page.locator("ul.changes").inner_text()
    for code in ("OPS-16", "OPS-17", "OPS-18", "OPS-19", "UNI-01", "FIN-01", "CMP-05", "CMP-06"):
        assert code in changes, code
    assert "与当前第 1 版相比" in page.content()
    page.screenshot(path="test-output/config_draft.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.fill("#note", "补充禁寄物品、私拆、虚假签收红线及普遍服务、代理金融、投诉受理项目")
    page.locator("button:has-text('发布为第 2 版')").click()
    page.wait_for_url(re.compile(r".*/admin/config/checklists/open_inspection$"))
    assert "已发布" in page.content() and "第 2 版" in page.locator("p.doc-title").inner_text()
    rows = db.exec(select(ChecklistVersion).where(ChecklistVersion.code == "open_inspection")
                   .order_by(ChecklistVersion.version)).all()
    assert [(r.version, r.source) for r in rows] == [(1, "file"), (2, "upload")]
    page.locator("a.list-link:has-text('OPS-17')").click()
    page.wait_for_url(re.compile(r".*/items/OPS-17\?version=2$"))
    assert "是：不合格则整次检查不合格" in page.content()
    page.screenshot(path="test-output/config_item.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
