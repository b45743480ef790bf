"""Two devices and two tabs of one visit (issue 15): a real conflict keeps both answers until the
inspector chooses, and is shown on both devices; two tabs never compete, the second follows the
first; a second check-in from a stale page is refused and the first one stands."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, Visit
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser


def _answer(db, visit, code):
    db.expire_all()
    return db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == code)).first()


def _open(browser, base, visit, **extra):
    context, page = phone(browser, **extra)
    browser_login(page, base, "inspector")
    page.goto(f"{base}/visits/{visit.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.role === 'writer'")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")
    return context, page


def test_a_conflict_between_devices_keeps_both_answers_and_is_shown_on_both(browser, live_server, app, db,
                                                                              org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    ctx_a, a = _open(browser, live_server, visit)
    ctx_b, b = _open(browser, live_server, visit)
    first, second = (b.locator("article.item:not([data-rule=timer])").nth(i) for i in (0, 1))
    codes = [first.get_attribute("data-code"), second.get_attribute("data-code")]

    ctx_b.set_offline(True)  # phone B goes into the basement with the page as it was
    for code in codes:
        answer_item(a.locator(f"#item-{code}"), "pass")
    wait_saved(a)
    answer_item(first, "fail")
    first.locator("[data-note]").fill("柜台无服务监督牌")
    answer_item(second, "fail")
    b.wait_for_timeout(900)
    ctx_b.set_offline(False)
    b.evaluate("() => window.dispatchEvent(new Event('online'))")
    b.wait_for_selector(f"#item-{codes[0]} [data-conflict]")
    b.wait_for_selector(f"#item-{codes[1]} [data-conflict]")
    box = b.locator(f"#item-{codes[0]} [data-conflict]")
    text = box.inner_text()
    assert "其他设备" in text and "合格" in text and "不合格" in text and "柜台无服务监督牌" in text
    assert "2 项已在其他设备上修改" in b.locator("[data-sync]").inner_text()
    b.locator(f"#item-{codes[0]}").scroll_into_view_if_needed()
    b.screenshot(path="test-output/conflict_both_values.png")
    # nothing was overwritten, nothing thrown away: the server holds A's, the phone keeps B's
    assert _answer(db, visit, codes[0]).result == "pass" and _answer(db, visit, codes[0]).version == 1

    b.reload()  # the choice survives a reload: it waits in the outbox, not in the page
    b.wait_for_selector(f"#item-{codes[0]} [data-conflict]")
    b.locator(f"#item-{codes[0]} [data-keep=mine]").click()
    b.locator(f"#item-{codes[1]} [data-keep=theirs]").click()
    wait_saved(b)
    kept = _answer(db, visit, codes[0])
    assert (kept.result, kept.note, kept.version) == ("fail", "柜台无服务监督牌", 2)
    assert _answer(db, visit, codes[1]).result == "pass" and _answer(db, visit, codes[1]).version == 1
    assert "is-pass" in b.locator(f"#item-{codes[1]}").get_attribute("class")
    assert "已采用其他设备的答案" in b.locator(f"#item-{codes[1]} [data-status]").inner_text()

    # device A is told: its answer was replaced on another device, and shows the one that stands
    a.evaluate("() => window.dispatchEvent(new Event('focus'))")
    a.wait_for_function(f"() => document.querySelector('#item-{codes[0]}').classList.contains('is-fail')")
    assert "已在其他设备上修改" in a.locator(f"#item-{codes[0]} [data-status]").inner_text()
    assert a.locator(f"#item-{codes[0]} [data-note]").input_value() == "柜台无服务监督牌"
    ctx_a.close()
    ctx_b.close()


def test_two_tabs_of_one_visit_have_one_writer(browser, live_server, app, db, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    context, one = _open(browser, live_server, visit)
    two = context.new_page()
    two.set_default_timeout(15_000)
    two.goto(f"{live_server}/visits/{visit.id}/fill")
    two.wait_for_function("() => document.getElementById('visit').dataset.role === 'follower'")
    assert two.locator("[data-follower]").is_visible()
    assert "另一个标签页" in two.locator("[data-follower]").inner_text()
    assert two.evaluate("() => document.getElementById('visit').inert")
    two.screenshot(path="test-output/second_tab_follows.png")

    items = one.locator("article.item:not([data-rule=timer])")
    codes = [items.nth(i).get_attribute("data-code") for i in range(3)]
    answer_item(items.nth(0), "fail")
    items.nth(0).locator("[data-note]").fill("地面有积水")
    wait_saved(one)
    # the follower shows what the writer did
    two.wait_for_function(f"() => document.querySelector('#item-{codes[0]}').classList.contains('is-fail')")
    assert two.locator(f"#item-{codes[0]} [data-note]").input_value() == "地面有积水"

    # the inspector moves to the second tab: it takes over, the first follows
    two.locator("[data-follower] button").click()
    two.wait_for_function("() => document.getElementById('visit').dataset.role === 'writer'")
    one.wait_for_function("() => document.getElementById('visit').dataset.role === 'follower'")
    answer_item(two.locator(f"#item-{codes[1]}"), "pass")
    wait_saved(two)
    one.wait_for_function(f"() => document.querySelector('#item-{codes[1]}').classList.contains('is-pass')")

    # the writer closes: the first tab writes again, from where things stand
    two.close()
    one.wait_for_function("() => document.getElementById('visit').dataset.role === 'writer'")
    assert not one.locator("[data-follower]").is_visible()
    answer_item(one.locator(f"#item-{codes[2]}"), "fail")
    one.locator(f"#item-{codes[2]} [data-note]").fill("宣传栏过期")
    wait_saved(one)
    stored = {code: _answer(db, visit, code) for code in codes}
    assert [(stored[c].result, stored[c].note) for c in codes] == [("fail", "地面有积水"), ("pass", ""), ("fail", "宣传栏过期")]
    assert "其他设备" not in one.locator("#visit").inner_text()
    context.close()


def test_a_second_check_in_from_a_stale_page_is_refused_and_the_first_stands(browser, live_server, app, db,
                                                                             org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    where = {"permissions": ["geolocation"]}
    ctx_a, a = _open(browser, live_server, visit, geolocation={"latitude": 30.26, "longitude": 120.13, "accuracy": 20}, **where)
    ctx_b, b = _open(browser, live_server, visit, geolocation={"latitude": 30.2612, "longitude": 120.1312, "accuracy": 30}, **where)
    a.locator("[data-checkin-go]").click()
    wait_saved(a)
    ctx_b.set_offline(True)  # B never learnt of A's check-in
    b.locator("[data-checkin-go]").click()
    b.wait_for_function("() => !document.getElementById('visit').classList.contains('not-started')")
    ctx_b.set_offline(False)
    b.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_saved(b)
    answer_item(b.locator("article.item:not([data-rule=timer])").nth(0), "pass")
    wait_saved(b)  # the refused check-in did not stop the answers behind it
    db.expire_all()
    stored = db.get(Visit, visit.id)
    assert (round(stored.checkin_lat, 2), round(stored.checkin_lon, 2)) == (30.26, 120.13)
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "visit.checked_in",
                                              AuditEvent.object_id == visit.id)).all()
    assert len(events) == 1
    ctx_a.close()
    ctx_b.close()
