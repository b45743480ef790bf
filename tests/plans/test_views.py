"""The plan pages as every role: managers make, change and end plans of their units (404 for
another unit's plan), admins anywhere; inspectors, chiefs, shoppers, reviewers and handlers are
refused (403); bad input is refused on the page in Chinese and writes nothing; every POST needs
its CSRF token."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from inspect_app.auth.models import Role
from inspect_app.plans import services as plans
from inspect_app.plans.models import InspectionPlan, PlanStatus
from inspect_app.visits.models import Visit, VisitStatus
from tests.plans.helpers import PINNED, make_plan


@pytest.fixture
def pinned(clock_at):
    clock_at(PINNED)


@pytest.fixture
def plan(app, db, pinned, people, org_tree):
    made, _result = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[people["inspector"].id])
    return made


def form(**changes):
    data = {"name": "西湖区月度明察", "unit_id": "", "checklist": "open_inspection", "starts_on": "2026-12-01",
            "ends_on": "2027-03-31", "per_period": "1", "period_kind": "month", "outlet_rule": "subtree",
            "assign_mode": "pool", "member_ids": [], "blackouts": ""}
    data.update(changes)
    return data


def reread(db, obj):
    """The row as the requests left it (the test's session may hold an older snapshot)."""
    db.rollback()
    db.refresh(obj)
    return obj


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+">(.*?)</p>', page)


def test_a_manager_makes_a_plan_on_the_page(app, db, pinned, people, org_tree, client_as):
    manager = client_as(people["manager"])
    assert manager.get("/plans/new").status_code == 200
    response = manager.post("/plans/new", form(unit_id=org_tree["xihu"].id, member_ids=[people["inspector"].id],
                                               blackouts="2026-12-24~2026-12-26 检修\n2027-01-01 元旦"))
    assert response.status_code == 302, flashes(manager.get("/plans").get_data(as_text=True))
    plan = db.exec(select(InspectionPlan)).one()
    assert response.headers["Location"].endswith(f"/plans/{plan.id}")
    page = manager.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "已保存" in page or "计划" in page
    assert "2026-12" in page and "2027-01" in page and "西湖区文三路邮政营业所" in page
    visits = db.exec(select(Visit).where(Visit.plan_id == plan.id)).all()
    assert len(visits) == 4  # two outlets, December and January
    assert "西湖区月度明察" in manager.get("/plans").get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    (dict(outlet_rule="listed"), "没有网点"),
    (dict(per_period="40"), "容不下"),
    (dict(member_ids="shopper"), "不能做这类检查"),
    (dict(max_per_person="1", per_period="2"), "超出"),
    (dict(blackouts="国庆 十月一日"), "第 1 行"),
    (dict(per_period="两次"), "不是整数"),
])
def test_bad_input_is_refused_in_chinese_and_writes_nothing(app, db, pinned, people, org_tree, client_as,
                                                            changes, message):
    manager = client_as(people["manager"])
    members = [people["shopper"].id] if changes.get("member_ids") == "shopper" else [people["inspector"].id]
    response = manager.post("/plans/new", form(unit_id=org_tree["xihu"].id, **dict(changes, member_ids=members)))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert any(message in text for text in flashes(page)), flashes(page)
    assert db.exec(select(InspectionPlan)).all() == [] and db.exec(select(Visit)).all() == []


def test_a_cross_inspection_pairing_a_unit_with_itself_is_refused(app, db, pinned, people, org_tree, client_as,
                                                                   create_user):
    create_user(Role.inspector, unit=org_tree["nb"])
    director = client_as(people["director"])
    data = form(unit_id=org_tree["province"].id, assign_mode="pairing", **{
        "pair_source-0": org_tree["hz"].id, "pair_target-0": org_tree["hz"].id})
    page = director.post("/plans/new", data).get_data(as_text=True)
    assert any("不能检查" in text and "杭州市" in text for text in flashes(page)), flashes(page)
    assert db.exec(select(InspectionPlan)).all() == []
    ok = director.post("/plans/new", form(unit_id=org_tree["province"].id, assign_mode="pairing", **{
        "pair_source-0": org_tree["hz"].id, "pair_target-0": org_tree["nb"].id,
        "pair_source-1": org_tree["nb"].id, "pair_target-1": org_tree["hz"].id}))
    assert ok.status_code == 302


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("manager", 200), ("director", 200), ("other_manager", 404), ("inspector", 403),
    ("shopper", 403), ("reviewer", 403), ("chief", 403), ("handler", 403),
])
def test_the_plan_pages_as_every_role(app, db, people, client_as, plan, role, status):
    client = client_as(people[role])
    visit = db.exec(select(Visit).where(Visit.plan_id == plan.id)).first()
    for url in (f"/plans/{plan.id}", f"/plans/{plan.id}/edit", f"/plans/visits/{visit.id}"):
        assert client.get(url).status_code == status, (role, url)
    listed = client.get("/plans")
    assert listed.status_code == (403 if status == 403 else 200)
    if status == 200:
        assert plan.name in listed.get_data(as_text=True)
    elif role == "other_manager":
        assert plan.name not in listed.get_data(as_text=True)
    assert client.get("/plans/new").status_code == (403 if status == 403 else 200)
    ended = client.post(f"/plans/{plan.id}/end", {"reason": "试一下"})
    assert ended.status_code == (302 if status == 200 else status)
    reread(db, plan)
    assert plan.status == (PlanStatus.ended if status == 200 else PlanStatus.active)


def test_a_manager_moves_reassigns_and_ends_on_the_page(app, db, people, org_tree, client_as, create_user, plan):
    second = create_user(Role.inspector, unit=org_tree["hz"])
    manager = client_as(people["manager"])
    ok = manager.post(f"/plans/{plan.id}/edit", {"name": plan.name, "ends_on": "2027-05-31", "outlet_rule": "subtree",
                                                 "member_ids": [people["inspector"].id, second.id],
                                                 "blackouts": "2026-12-25 圣诞"})
    assert ok.status_code == 302
    visit = db.exec(select(Visit).where(Visit.plan_id == plan.id).order_by(Visit.id)).first()
    url = f"/plans/visits/{visit.id}"
    refused = manager.post(url, {"action": "move", "move-due_from": "2026-12-24", "move-due_until": "2026-12-26"})
    assert refused.status_code == 200 and any("不安排检查" in t for t in flashes(refused.get_data(as_text=True)))
    reread(db, visit)
    assert visit.due_from != dt.date(2026, 12, 24)
    moved = manager.post(url, {"action": "move", "move-due_from": "2026-12-10", "move-due_until": "2026-12-12"})
    assert moved.status_code == 302
    other = second if visit.assignee_id == people["inspector"].id else people["inspector"]
    assert manager.post(url, {"action": "reassign", "reassign-assignee_id": other.id}).status_code == 302
    outsider = create_user(Role.inspector, unit=org_tree["nb"])
    refused = manager.post(url, {"action": "reassign", "reassign-assignee_id": outsider.id})
    assert refused.status_code == 200
    reread(db, visit)
    assert (visit.due_from, visit.due_until, visit.assignee_id) == (dt.date(2026, 12, 10), dt.date(2026, 12, 12), other.id)
    assert manager.post(f"/plans/{plan.id}/end", {"reason": "年底调整"}).status_code == 302
    reread(db, visit)
    assert visit.status == VisitStatus.cancelled


@pytest.mark.parametrize("url", ["/plans/new", "/plans/{plan}/edit", "/plans/{plan}/end", "/plans/visits/{visit}"])
def test_every_plan_post_needs_its_csrf_token(app, db, people, client_as, plan, url):
    visit = db.exec(select(Visit).where(Visit.plan_id == plan.id)).first()
    manager = client_as(people["manager"])
    response = manager.post(url.format(plan=plan.id, visit=visit.id), {"reason": "x", "name": "y"}, csrf=False)
    assert response.status_code in (400, 302)
    reread(db, plan)
    assert plan.status == PlanStatus.active and plan.name == "西湖区月度明察"


def statements(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return int(response.headers["X-Query-Count"])


def test_the_plan_pages_run_a_fixed_number_of_statements(app, db, people, org_tree, client_as, create_outlet, plan):
    director = client_as(people["director"])
    urls = ["/plans", f"/plans/{plan.id}", "/plans/coverage?period=2026-12", "/plans/missed?period=2026-12",
            f"/plans/{plan.id}/edit", "/board"]
    small = {url: statements(director, url) for url in urls}
    for _n in range(5):
        create_outlet(org_tree["xihu"])
    with app.test_request_context():
        plans.generate(db, plan)  # the new outlets' visits
    db.commit()
    assert len(db.exec(select(Visit).where(Visit.plan_id == plan.id)).all()) == 14
    assert {url: statements(director, url) for url in urls} == small


@pytest.mark.parametrize("period", ["9999-11", "2026-13", "2026-Q5", "0000", "x", "9999", "2026-Q4", "2027"])
def test_a_period_typed_wrong_shows_this_month_never_an_error(app, db, people, client_as, plan, period):
    manager = client_as(people["manager"])
    assert manager.get(f"/plans/coverage?period={period}").status_code == 200
    assert manager.get(f"/plans/missed?period={period}").status_code == 200
    assert manager.get(f"/plans/coverage/export.csv?period={period}").status_code == 200


def test_the_form_lists_what_its_unit_holds(app, db, pinned, people, org_tree, client_as, create_user):
    """The administrator (the whole nation) chooses the plan's unit first; the form then lists that
    unit's outlets and people (shoppers always) and, for cross-inspection, the units below it.
    A manager's form starts at their own unit; an edited plan keeps its pool listed."""
    t = org_tree
    nb_inspector = create_user(Role.inspector, unit=t["nb"], username="inspector.nb")
    admin = client_as(people["admin"])
    step = admin.get("/plans/new").get_data(as_text=True)
    assert 'name="unit"' in step and 'name="member_ids"' not in step
    assert f'<option value="{t["hz"].id}"' in step and f'<option value="{t["xihu"].id}"' not in step  # no counties
    page = admin.get(f"/plans/new?unit={t['hz'].id}").get_data(as_text=True)
    members = re.findall(r'name="member_ids" value="(\d+)"', page)
    assert str(people["inspector"].id) in members and str(people["shopper"].id) in members
    assert str(nb_inspector.id) not in members
    assert "西湖区文三路邮政营业所" in page and "海曙区鼓楼邮政营业所" not in page
    pairs = re.search(r'<select name="pair_source-0".*?</select>', page, re.S).group(0)
    assert f'value="{t["xihu"].id}"' in pairs and f'value="{t["hz"].id}"' not in pairs and f'value="{t["nb"].id}"' not in pairs
    director = client_as(people["director"])  # 浙江省: his own unit without a first step
    page = director.get("/plans/new").get_data(as_text=True)
    assert str(nb_inspector.id) in re.findall(r'name="member_ids" value="(\d+)"', page)
    manager = client_as(people["manager"])
    made, _result = make_plan(app, db, people["manager"], t["xihu"], member_ids=[people["inspector"].id])
    page = manager.get(f"/plans/{made.id}/edit").get_data(as_text=True)
    assert re.search(rf'name="member_ids" value="{people["inspector"].id}" checked', page)


def test_a_new_plan_starts_once_a_month(app, db, pinned, people, org_tree, client_as):
    """The form's defaults say what the docstring promised: once per outlet each month."""
    page = client_as(people["manager"]).get("/plans/new").get_data(as_text=True)
    assert re.search(r'<option selected value="month">|<option value="month" selected>', page), \
        re.findall(r'<option[^>]*value="(?:day|month)"[^>]*>', page)
