"""One outbox per person on a shared phone (issue 15): what is unsent at logout is sealed with a
key only that person's sessions get; the next person's page finds ciphertext in IndexedDB and no
page of the first in Cache Storage, and sends nothing of it; the first person gets it all back at
their next login on that phone, and it is sent."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app.auth.models import Role
from inspect_app.evidence.models import Photo
from inspect_app.visits.models import Answer
from tests.browser_helpers import answer_item, phone, photo_file, wait_saved
from tests.conftest import browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser

NOTE = "营业员未佩戴工号牌"

DUMP = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('inspect-outbox', 1); r.onsuccess = () => ok(r.result); r.onerror = no; });
  const rows = await new Promise(ok => { const r = db.transaction('ops').objectStore('ops').getAll(); r.onsuccess = () => ok(r.result); });
  const text = [];
  for (const row of rows) {
    const plain = {};
    for (const [k, v] of Object.entries(row)) {
      if (v instanceof ArrayBuffer) plain[k] = new TextDecoder('utf-8', {fatal: false}).decode(v);
      else if (v instanceof Blob) plain[k] = await v.text();
      else plain[k] = v;
    }
    text.push(JSON.stringify(plain));
  }
  const pages = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) {
      const res = await cache.match(req);
      pages.push({cache: name, url: req.url, body: (res.headers.get('content-type') || '').includes('html') ? await res.text() : ''});
    }
  }
  return {rows: rows.map(r => ({key: r.key, owner: r.owner, sealed: !!r.sealed, fields: Object.keys(r).sort()})), text, pages,
          local: Object.keys(localStorage)};
}"""


def _log_out(page):
    page.locator("details.menu summary").click()
    page.locator("form[data-logout] button").click()
    page.wait_for_url(re.compile(r".*/login$"))


def test_the_next_person_on_the_phone_can_neither_read_nor_send_the_last_ones_outbox(
        browser, live_server, app, db, org_tree, people, create_user):
    create_user(Role.inspector, unit=org_tree["hz"], username="inspector2")
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, page = phone(browser)
    said = []
    page.on("dialog", lambda d: said.append(d.message))
    browser_login(page, live_server, "inspector")
    fill = f"{live_server}/visits/{visit.id}/fill"
    page.goto(fill)
    page.wait_for_function("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    page.route("**/api/visits/*/answers", lambda route: route.abort())  # the network drops every write
    page.route("**/api/visits/*/photos", lambda route: route.abort())
    items = page.locator("article.item:not([data-rule=timer])")
    answer_item(items.nth(0), "fail")
    items.nth(0).locator("[data-note]").fill(NOTE)
    items.nth(0).locator("[data-photo-input]").set_input_files(files=[photo_file()])
    answer_item(items.nth(1), "pass")
    answer_item(items.nth(2), "pass")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '4'")
    codes = [items.nth(i).get_attribute("data-code") for i in range(3)]

    _log_out(page)  # the warning counts the four, then they are sealed
    assert any("4" in m and "尚未发送" in m for m in said), said
    browser_login(page, live_server, "inspector2")
    page.goto(f"{live_server}/home")
    seen = page.evaluate(DUMP)
    assert len(seen["rows"]) == 4 and all(r["sealed"] for r in seen["rows"]), seen["rows"]
    assert all("payload" not in r["fields"] and "visit" not in r["fields"] for r in seen["rows"])
    assert not any(NOTE in t or f"/visits/{visit.id}" in t or "item_code" in t for t in seen["text"])
    assert not any(f"/visits/{visit.id}" in p["url"] or NOTE in p["body"] for p in seen["pages"]), seen["pages"]
    assert not any(k.startswith("inspect-confirmed:") for k in seen["local"])
    # the second person's pages send nothing of it: not to the first one's visit, not as their own
    page.goto(fill)  # not theirs: refused, and nothing opened or sent on the way
    page.goto(f"{live_server}/home")
    page.wait_for_timeout(1500)
    db.expire_all()
    assert db.exec(select(Answer).where(Answer.visit_id == visit.id)).all() == []
    assert page.evaluate(DUMP)["rows"] == seen["rows"]
    page.screenshot(path="test-output/second_person_home.png")
    _log_out(page)

    # the first person, back on this phone: everything is opened again and sent
    page.unroute("**/api/visits/*/answers")
    page.unroute("**/api/visits/*/photos")
    browser_login(page, live_server, "inspector")
    page.goto(fill)
    wait_saved(page)
    db.expire_all()
    stored = {a.item_code: a for a in db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()}
    assert (stored[codes[0]].result, stored[codes[0]].note) == ("fail", NOTE)
    assert stored[codes[1]].result == stored[codes[2]].result == "pass"
    photos = db.exec(select(Photo).where(Photo.visit_id == visit.id)).all()
    assert len(photos) == 1 and photos[0].item_code == codes[0]
    assert page.evaluate(DUMP)["rows"] == []
    context.close()


def test_logging_out_with_no_network_says_so_and_keeps_the_session(browser, live_server, app, db, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, page = phone(browser)
    said = []
    page.on("dialog", lambda d: said.append(d.message))
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    context.set_offline(True)  # the phone lost the network
    answer_item(page.locator("article.item:not([data-rule=timer])").nth(0), "pass")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '1'")
    page.locator("details.menu summary").click()
    page.locator("form[data-logout] button").click()
    page.wait_for_timeout(1000)
    assert any("没有网络" in m for m in said), said
    assert page.url.endswith("/fill")
    rows = page.evaluate(DUMP)["rows"]
    assert len(rows) == 1 and not rows[0]["sealed"]  # still this person's, still on its way
    context.close()
