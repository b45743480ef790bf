"""Headless Chromium at a 360×740 phone viewport: log in and reach the role's home page."""
from __future__ import annotations

import pytest

from tests.conftest import browser_login

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username,expect", [
    ("inspector", "管辖范围"),
    ("chief", "我的网点"),
    ("admin", "组织架构"),
    ("shopper", "您的代号"),
    ("manager", "管辖范围"),
    ("reviewer", "管辖范围"),
])
def test_login_reaches_home_on_a_phone(live_server, phone, people, username, expect):
    browser_login(phone, live_server, username)
    assert expect in phone.content()
    # the bottom tab bar is within the viewport and the page does not scroll sideways
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    tabbar = phone.locator("nav.tabbar").bounding_box()
    assert tabbar and tabbar["y"] + tabbar["height"] <= 740 + 1


def test_wrong_password_message_on_phone(live_server, phone, people):
    phone.goto(live_server + "/login")
    phone.fill("#username", "inspector")
    phone.fill("#password", "nope-nope-1")
    phone.locator("form button.btn-primary").click()
    assert phone.locator(".flash-error").inner_text() == "用户名或密码错误。"
