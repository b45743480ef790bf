"""A long checklist one-handed: "all pass in this section" with undo, and "next unanswered"."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer
from tests.browser_helpers import phone, wait_saved
from tests.conftest import browser_login
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser


@pytest.fixture
def draft(app, db, org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=visit, lat=30.26, lon=120.13, accuracy=10)
    db.commit()
    return visit


def stored(db, visit) -> dict[str, Answer]:
    return {a.item_code: a for a in db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()}


def test_all_pass_per_section_never_overwrites_and_undoes(browser, live_server, db, draft):
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{draft.id}/fill")
    section = page.locator("[data-section]").first
    items = section.locator("article.item:not([data-rule=timer])")
    n = items.count()
    assert n >= 3
    # the inspector already failed the second item of the section
    second = items.nth(1)
    code = second.get_attribute("data-code")
    rule = second.get_attribute("data-rule")
    if rule == "scale":
        second.locator("[data-scale-value]").first.click()
    elif rule == "per_occurrence":
        second.locator("[data-step='1']").click()
    else:
        second.locator("[data-set=fail]").click()
    wait_saved(page)
    section.locator("[data-section-pass]").click()
    wait_saved(page)
    assert f"已将 {n - 1} 个未答项标为合格" in section.locator("[data-section-undo]").inner_text()
    answers = stored(db, draft)
    section_codes = items.evaluate_all("els => els.map(e => e.dataset.code)")
    assert set(section_codes) <= set(answers)
    checklist = visits.checklist_of(db, draft)
    result = visits.score_visit(checklist, answers, draft)
    assert result.items[code].failed  # the answer given before was not touched
    assert all(not result.items[c].failed for c in section_codes if c != code)
    assert page.locator("[data-answered]").inner_text() == str(n)
    # undo takes back exactly what the button set
    section.locator("[data-undo]").click()
    wait_saved(page)
    answers = stored(db, draft)
    result = visits.score_visit(checklist, answers, draft)
    assert result.items[code].failed
    assert [c for c in section_codes if result.items[c].answered] == [code]
    assert page.locator("[data-answered]").inner_text() == "1"
    assert section.locator("[data-section-undo]").is_hidden()
    context.close()


def test_next_unanswered_jumps_and_focuses(browser, live_server, db, draft):
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{draft.id}/fill")
    items = page.locator("article.item:not([data-rule=timer])")
    first, second = items.nth(0).get_attribute("data-code"), items.nth(1).get_attribute("data-code")
    page.locator("[data-next]").click()
    focused = page.evaluate("() => document.activeElement.closest('article.item').dataset.code")
    assert focused == first
    page.keyboard.press("Enter")  # the focused choice answers the item (pass, or the first value)
    wait_saved(page)
    page.locator("[data-next]").click()
    assert page.evaluate("() => document.activeElement.closest('article.item').dataset.code") == second
    box = items.nth(1).bounding_box()
    assert 0 <= box["y"] < 740  # scrolled into view
    assert first in stored(db, draft)
    context.close()


def test_after_photo_button_label_is_not_clipped(browser, live_server, app, db, org_tree, people):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    with app.test_request_context():
        rect.acknowledge_notice(db, actor=people["chief"], notice=db.get(RectificationNotice, line.notice_id))
    db.commit()
    context, page = phone(browser)
    browser_login(page, live_server, "chief")
    page.goto(f"{live_server}/lines/{line.id}")
    label = page.locator(".photo-add span")
    assert label.inner_text() == "整改照片"
    fits = label.evaluate("""s => { const b = s.getBoundingClientRect(), p = s.parentElement.getBoundingClientRect();
        return s.scrollWidth <= s.clientWidth + 1 && b.left >= p.left && b.right <= p.right && b.bottom <= p.bottom; }""")
    assert fits
    context.close()
