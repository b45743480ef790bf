"""Headless Chromium at 360 px: the first-login tour goes one step at a time, is skipped, stays
away after the next login, and comes back from the menu; the "?" opens the guide's section."""
from __future__ import annotations

import pytest

from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_tour_steps_skip_and_reopen(live_server, phone, people):
    browser_login(phone, live_server, "chief")
    steps = phone.locator(".tour-step")
    assert steps.count() == 4
    assert [steps.nth(i).is_visible() for i in range(4)] == [True, False, False, False]
    phone.get_by_role("button", name="下一步").click()
    assert steps.nth(1).is_visible() and not steps.nth(0).is_visible()
    phone.get_by_role("button", name="上一步").click()
    assert steps.nth(0).is_visible()
    for _ in range(3):
        phone.get_by_role("button", name="下一步").click()
    assert steps.nth(3).is_visible() and phone.get_by_role("button", name="知道了").is_visible()
    assert not phone.get_by_role("button", name="下一步").is_visible()
    phone.get_by_role("button", name="跳过").click()
    phone.wait_for_url(f"{live_server}/home")
    assert phone.locator("[data-tour]").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    phone.locator("details.menu summary").click()
    phone.get_by_role("link", name="新手导览").click()
    assert phone.locator(".tour-step").first.is_visible()

    phone.get_by_role("link", name="本页帮助").click()
    phone.wait_for_url(f"{live_server}/help/branch-chief#home")
    assert phone.locator("h2#home").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
