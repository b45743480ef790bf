"""Logging out on a shared phone warns with what is unsent at that moment, on any page (issue 15:
the count used to be taken once, when the page loaded, so an answer made on the visit page
afterwards went unmentioned)."""
from __future__ import annotations

import re

import pytest

from tests.browser_helpers import answer_item, phone
from tests.conftest import browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser


def test_logout_counts_what_is_unsent_now(browser, live_server, app, db, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, first = phone(browser)
    page = context.new_page()  # a page of our own: its dialogs are answered below, one by one
    page.set_default_timeout(15_000)
    first.close()
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    page.route("**/api/visits/*/answers", lambda route: route.abort())
    answer_item(page.locator("article.item:not([data-rule=timer])").nth(0), "pass")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '1'")

    said = []
    page.once("dialog", lambda d: (said.append(d.message), d.dismiss()))
    page.locator("details.menu summary").click()
    page.locator("form[data-logout] button").click()
    page.wait_for_timeout(500)
    assert len(said) == 1 and "1" in said[0] and "尚未发送" in said[0]
    assert page.url.endswith("/fill")  # kept: the inspector chose to stay

    page.once("dialog", lambda d: (said.append(d.message), d.accept()))
    if page.locator("details.menu[open]").count() == 0:
        page.locator("details.menu summary").click()
    page.locator("form[data-logout] button").click()
    page.wait_for_url(re.compile(r".*/login$"))
    assert len(said) == 2
    context.close()
