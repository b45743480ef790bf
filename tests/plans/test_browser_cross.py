"""On a 360 px phone: an inspector of 宁波 fills a cross-inspection visit at a 杭州 outlet that a
plan gave them (check-in, answers, submit), sees what the outlet's last visit failed marked (回头看),
and afterwards can no longer open that outlet; the
director's plan pages and the coverage page fit the same screen."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.auth.models import Role
from inspect_app.org.models import Window
from inspect_app.plans.models import AssignMode
from inspect_app.visits.models import Visit, VisitStatus
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import OUTPUT, browser_login
from tests.plans.helpers import make_plan
from tests.visit_helpers import released_days_ago

pytestmark = pytest.mark.browser


@pytest.fixture
def cross_plan(app, db, people, org_tree, create_user):
    nb_inspector = create_user(Role.inspector, unit=org_tree["nb"], username="nb.inspector")
    today = clock.today("Asia/Shanghai")
    plan, _made = make_plan(app, db, people["director"], org_tree["province"], name="杭甬互查", checklist_code="mini",
                            starts_on=today, ends_on=today.replace(year=today.year + 1),
                            assign_mode=AssignMode.pairing,
                            pairings=[(org_tree["nb"].id, org_tree["hz"].id), (org_tree["hz"].id, org_tree["nb"].id)])
    visit = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.outlet_id == org_tree["xihu1"].id)
                    .order_by(Visit.due_from)).first()
    assert visit.assignee_id == nb_inspector.id and visit.due_from <= today
    return plan, visit


def test_a_ningbo_inspector_fills_a_hangzhou_visit_then_loses_the_outlet(browser, live_server, app, db, org_tree,
                                                                          people, cross_plan):
    plan, visit = cross_plan
    # a Hangzhou inspector's visit three weeks ago failed A-01 there
    released_days_ago(app, db, people["inspector"], org_tree["xihu1"],
                      {"A-01": dict(result="fail", note="营业员未着工装")}, days=21)
    OUTPUT.mkdir(exist_ok=True)
    context, page = phone(browser, geolocation={"latitude": 30.2601, "longitude": 120.1302, "accuracy": 18},
                          permissions=["geolocation"])
    browser_login(page, live_server, "nb.inspector")
    assert "西湖区文三路邮政营业所" in page.content()  # on their home: the visit the plan gave them
    page.screenshot(path=str(OUTPUT / "cross_home.png"), full_page=True)

    page.goto(f"{live_server}/outlets/{org_tree['xihu1'].id}")
    assert "西湖区文三路邮政营业所" in page.content() and "开始检查" not in page.content()
    page.goto(f"{live_server}/visits/{visit.id}/checkin")
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    page.select_option("#window_id", str(window.id))
    page.wait_for_selector(".geo-status.ok")
    page.locator("#checkin-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/fill$"))
    items = page.locator("article.item")
    assert items.count() == 5
    marked = page.locator("article.item[data-past]")
    assert marked.count() == 1 and marked.first.get_attribute("data-code") == "A-01"
    assert "上次不合格" in page.locator("#item-A-01 .item-head").inner_text()
    assert "营业员未着工装" in page.locator("#item-A-01 .past-finding").inner_text()
    for i in range(items.count()):
        answer_item(items.nth(i), "pass")
    wait_saved(page)
    page.screenshot(path=str(OUTPUT / "cross_fill.png"), full_page=True)
    page.locator("[data-submit-form] button").click()
    page.wait_for_url(re.compile(r".*/home$"))
    assert "不能再打开" in page.content()
    page.screenshot(path=str(OUTPUT / "cross_after_submit.png"), full_page=True)

    db.rollback()
    assert db.get(Visit, visit.id).status == VisitStatus.released
    response = page.goto(f"{live_server}/outlets/{org_tree['xihu1'].id}")
    assert response.status == 404
    assert page.goto(f"{live_server}/visits/{visit.id}").status == 404
    page.screenshot(path=str(OUTPUT / "cross_outlet_closed.png"), full_page=True)
    context.close()


def test_the_plan_pages_fit_a_phone(browser, live_server, people, org_tree, cross_plan):
    plan, _visit = cross_plan
    context, page = phone(browser)
    browser_login(page, live_server, "director")
    for name, url in (("plan_detail", f"/plans/{plan.id}"), ("plan_new", "/plans/new"), ("plans", "/plans"),
                      ("plan_coverage", "/plans/coverage"), ("plan_visit", f"/plans/visits/{_visit.id}")):
        page.goto(live_server + url)
        page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name  # nothing wider than the phone
    context.close()
