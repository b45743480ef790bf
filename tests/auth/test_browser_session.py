"""A session that ends on the server while the phone is filling a visit: the unsent answer stays
on the phone, the phone asks to sign in again, and after signing in it is sent exactly once."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import UserSession
from inspect_app.visits.models import Answer
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import PASSWORD, browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser


SEALED = """() => new Promise(ok => { const r = indexedDB.open('inspect-outbox', 1); r.onsuccess = () => {
  const all = r.result.transaction('ops').objectStore('ops').getAll();
  all.onsuccess = () => ok(all.result.length === 1 && all.result[0].sealed === 1 && !('payload' in all.result[0])); }; })"""


def test_ended_session_keeps_the_outbox_and_asks_to_sign_in(browser, live_server, app, db, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    items = page.locator("article.item:not([data-rule=timer])")
    answer_item(items.nth(0), "pass")
    wait_saved(page)
    # the session ends on the server (signed out from another device)
    with Session(app.extensions["db_engine"]) as s:
        s.execute(sa.update(UserSession).where(UserSession.user_id == people["inspector"].id)
                  .values(revoked_at=clock.now() - dt.timedelta(seconds=1)))
        s.commit()
    answer_item(items.nth(1), "fail")
    link = page.locator("[data-sync] a")
    link.wait_for()
    assert "重新登录后发送" in link.inner_text()
    assert page.evaluate("() => document.getElementById('visit').dataset.pending") == "1"
    second = items.nth(1).get_attribute("data-code")
    assert db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == second)).first() is None
    # the session is over: the waiting answer is sealed on the phone for this person (issue 15)
    page.wait_for_function(SEALED)
    link.click()
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.fill("#username", "inspector")
    page.fill("#password", PASSWORD)
    page.locator("form button.btn-primary").click()
    page.wait_for_url(re.compile(rf".*/visits/{visit.id}/fill$"))
    wait_saved(page)
    # "nothing pending" may still be the template's, before the page has read its outbox: wait
    # for the server to have the answer (on a busy machine the page starts late)
    for _ in range(50):
        rows = db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == second)).all()
        if rows:
            break
        page.wait_for_timeout(200)
    assert len(rows) == 1 and rows[0].result == "fail"
    context.close()
