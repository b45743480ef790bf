"""The inspector's whole path on a 360 px phone: a 41-item star rating with failures, a note and a
photo, the tab closed halfway, continued, submitted; then the manager sees score, red line and the
star it cost."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app.evidence.models import Photo
from inspect_app.org.models import Window
from inspect_app.visits import services
from inspect_app.visits.models import Answer, StarRating, Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, photo_file, wait_saved
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


@pytest.fixture
def earlier_star(app, db, org_tree, people):
    """Window 1 of xihu1 already holds a star from an earlier rating."""
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id, Window.number == "1")).one()
    with app.test_request_context():
        visit = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"], window=window,
                                           checklist_code="mini")
        services.check_in(db, actor=people["inspector"], visit=visit, lat=30.26, lon=120.13, accuracy=10)
        for code, kw in {"A-01": dict(result="pass"), "A-02": dict(result="pass"), "B-01": dict(scale_value=4),
                         "B-02": dict(result="pass"), "B-03": dict(result="pass")}.items():
            services.save_answer(db, actor=people["inspector"], visit=visit, item_code=code, **kw)
        services.submit_visit(db, actor=people["inspector"], visit=visit, token="earlier")
    db.commit()
    return window


def test_inspector_full_visit_on_phone(browser, live_server, people, org_tree, earlier_star, db, request):
    context, page = phone(browser, geolocation={"latitude": 30.2601, "longitude": 120.1302, "accuracy": 18},
                          permissions=["geolocation"])
    browser_login(page, live_server, "inspector")

    # start: outlet → checklist and window → check-in with the phone's position
    page.goto(f"{live_server}/visits/new?outlet={org_tree['xihu1'].id}")
    page.select_option("#checklist", "window_star")
    page.select_option("#window_id", str(earlier_star.id))
    page.locator("form.card button.btn-primary").click()
    page.wait_for_url(re.compile(r".*/checkin$"))
    page.wait_for_selector(".geo-status.ok")
    page.locator("#checkin-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/fill$"))
    visit_url = page.url
    items = page.locator("article.item")
    total = items.count()
    assert total == 42  # the window star sheet with its December red line for restricted items (OPS-14)

    # the first half: one failure with a note and a photo, the rest passed
    half = total // 2
    for i in range(half):
        item = items.nth(i)
        answer_item(item, "fail" if i == 3 else "pass")
    failing = items.nth(3)
    failing.locator("[data-note]").fill("工牌未佩戴,胸前无工号")
    failing.locator("[data-photo-input]").set_input_files(photo_file())
    page.wait_for_selector("article.item >> nth=3 >> .thumb.is-saved")
    wait_saved(page)
    assert page.locator("[data-answered]").inner_text() == str(half)
    page.screenshot(path="test-output/visit_half.png")

    # the tab is closed; a new one continues where it was
    page.close()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(visit_url)
    items = page.locator("article.item")
    assert page.locator("[data-answered]").inner_text() == str(half)
    assert items.nth(3).get_attribute("class").count("is-fail") == 1
    assert items.nth(3).locator("[data-note]").input_value() == "工牌未佩戴,胸前无工号"
    assert items.nth(3).locator(".thumb.is-saved").count() == 1

    # the second half, with one red line failed
    red_index = next(i for i in range(half, total)
                     if items.nth(i).locator(".badge-bad").count() and items.nth(i).get_attribute("data-rule") == "pass_fail")
    for i in range(half, total):
        answer_item(items.nth(i), "fail" if i == red_index else "pass")
    red_item = items.nth(red_index)
    red_item.locator("[data-note]").fill("与顾客发生争执")
    if red_item.get_attribute("data-photo-required") == "1":
        red_item.locator("[data-photo-input]").set_input_files(photo_file("red.jpg", color=(20, 20, 200)))
        page.wait_for_selector(f"article.item >> nth={red_index} >> .thumb.is-saved")
    wait_saved(page)
    assert page.locator("[data-answered]").inner_text() == str(total)
    assert page.locator("[data-redline]").is_visible()
    page.locator("[data-submit-form] button").click()
    page.wait_for_url(re.compile(r".*/visits/\d+$"))
    assert "不合格:触犯红线" in page.content()
    page.screenshot(path="test-output/visit_submitted.png", full_page=True)

    visit = db.exec(select(Visit).where(Visit.checklist_code == "window_star")).one()
    assert visit.status == VisitStatus.released and visit.red_line and visit.stars == 0
    assert len(db.exec(select(Answer).where(Answer.visit_id == visit.id)).all()) == total
    assert len(db.exec(select(Photo).where(Photo.visit_id == visit.id, Photo.deleted_at.is_(None))).all()) >= 1
    rating = db.exec(select(StarRating).where(StarRating.window_id == earlier_star.id)).one()
    assert rating.end_reason == "red_line" and rating.ended_by_visit_id == visit.id
    context.close()

    # the manager sees the score, the red line and the star it cost
    manager_context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    manager = manager_context.new_page()
    browser_login(manager, live_server, "manager")
    assert "近 30 天红线问题" in manager.content()
    manager.goto(f"{live_server}/visits/{visit.id}")
    content = manager.content()
    assert "触犯红线(一票否决)" in content and f"{visit.score:g}" in content
    manager.goto(f"{live_server}/stars")
    assert "因红线取消" in manager.content()
    manager.screenshot(path="test-output/manager_stars.png", full_page=True)
    manager_context.close()
