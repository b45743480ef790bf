"""A plan makes the visits of its current and next period ahead of time: spread over each period,
balanced across its pool, never on a blackout day, a shopper never back at an outlet within the
rotation period, cross-inspections by the paired unit's inspectors; twice makes nothing twice;
ending a plan cancels what has not started. The clock is pinned where UTC and Shanghai disagree."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import Role
from inspect_app.errors import DomainError, NotFound
from inspect_app.notifications.models import Notification
from inspect_app.plans import services as plans
from inspect_app.plans.models import AssignMode, OutletRule, PlanStatus
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests.plans.helpers import DEC_1, PINNED, make_plan, plan_input


@pytest.fixture
def xihu_outlets(org_tree, create_outlet):
    """Eight outlets in 西湖区 (the two of the tree and six more)."""
    return [org_tree["xihu1"], org_tree["xihu2"]] + [create_outlet(org_tree["xihu"]) for _n in range(6)]


@pytest.fixture
def pool(people, org_tree, create_user):
    return [people["inspector"], create_user(Role.inspector, unit=org_tree["hz"]),
            create_user(Role.inspector, unit=org_tree["xihu"])]


def plan_visits(db, plan):
    return db.exec(select(Visit).where(Visit.plan_id == plan.id).order_by(Visit.plan_period, Visit.outlet_id,
                                                                           Visit.plan_seq)).all()


def test_a_monthly_plan_spreads_its_visits_over_the_month_and_the_pool(app, db, clock_at, people, org_tree,
                                                                         xihu_outlets, pool):
    clock_at(PINNED)
    plan, made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[p.id for p in pool])
    found = plan_visits(db, plan)
    assert len(made.created) == len(found) == 16  # December and January, one per outlet each
    assert {v.plan_period for v in found} == {DEC_1, dt.date(2027, 1, 1)}
    for visit in found:
        period_end = dt.date(2027, 1, 1) if visit.plan_period == DEC_1 else dt.date(2027, 2, 1)
        assert visit.plan_period <= visit.due_from <= visit.due_until < period_end
        assert (visit.due_until - visit.due_from).days == 6  # a week's window
        assert visit.status == VisitStatus.scheduled and visit.kind == "open"
    december = [v for v in found if v.plan_period == DEC_1]
    assert len({v.due_from for v in december}) == 8  # staggered, not all on the first
    assert max(v.due_from for v in december) >= dt.date(2026, 12, 15)
    for month in (DEC_1, dt.date(2027, 1, 1)):
        load = Counter(v.assignee_id for v in found if v.plan_period == month)
        assert set(load) == {p.id for p in pool} and max(load.values()) - min(load.values()) <= 1
    events = db.exec(select(AuditEvent).where(AuditEvent.action.in_(["plan.created", "visit.scheduled"]))).all()
    assert Counter(e.action for e in events) == {"plan.created": 1, "visit.scheduled": 16}


def test_generating_again_makes_nothing_twice(app, db, clock_at, people, org_tree, xihu_outlets, pool):
    clock_at(PINNED)
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[p.id for p in pool])
    before = [(v.id, v.due_from, v.assignee_id) for v in plan_visits(db, plan)]
    with app.test_request_context():
        assert plans.generate(db, plan).created == []
        assert plans.sweep(db) == {"plan_visits": 0, "plan_problems": 0}
    db.commit()
    assert [(v.id, v.due_from, v.assignee_id) for v in plan_visits(db, plan)] == before
    clock_at("2026-12-31T16:30:00Z")  # 1 January in Shanghai: February is next
    with app.test_request_context():
        assert plans.sweep(db)["plan_visits"] == 8
        assert plans.sweep(db)["plan_visits"] == 0
    db.commit()
    assert {v.plan_period for v in plan_visits(db, plan)} == {DEC_1, dt.date(2027, 1, 1), dt.date(2027, 2, 1)}


def test_two_a_month_fall_in_each_half_and_never_on_a_blackout_day(app, db, clock_at, people, org_tree,
                                                                     xihu_outlets, pool):
    clock_at(PINNED)
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[p.id for p in pool],
                            per_period=2, blackouts=[(dt.date(2026, 12, 1), dt.date(2026, 12, 3), "盘点"),
                                                     (dt.date(2027, 1, 1), dt.date(2027, 1, 3), "元旦")])
    found = plan_visits(db, plan)
    assert len(found) == 32
    blocked = {dt.date(2026, 12, d) for d in (1, 2, 3)} | {dt.date(2027, 1, d) for d in (1, 2, 3)}
    for visit in found:
        window = {visit.due_from + dt.timedelta(days=n) for n in range((visit.due_until - visit.due_from).days + 1)}
        assert not window & blocked
        half = visit.plan_period.replace(day=16)
        assert (visit.due_until < half) if visit.plan_seq == 0 else (visit.due_from >= half)


def test_a_quarterly_secret_plan_keeps_the_shoppers_rotation(app, db, clock_at, people, org_tree, create_user):
    clock_at(PINNED)
    shoppers = [people["shopper"], create_user(Role.shopper), create_user(Role.shopper)]
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], checklist_code="secret_visit",
                            period_kind="month", member_ids=[s.id for s in shoppers])
    found = plan_visits(db, plan)
    assert len(found) == 4 and all(v.kind == "secret" for v in found)
    by_outlet = {}
    for visit in found:
        by_outlet.setdefault(visit.outlet_id, []).append(visit)
    for pair in by_outlet.values():
        december, january = sorted(pair, key=lambda v: v.plan_period)
        assert december.assignee_id != january.assignee_id  # within 60 days: never the same shopper


def test_a_single_shopper_cannot_keep_the_rotation_and_the_plan_is_refused_whole(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        plans.create_plan(db, actor=people["manager"], data=plan_input(
            org_tree["xihu"], checklist_code="secret_visit", member_ids=[people["shopper"].id]))
    db.rollback()
    assert "轮换期" in refused.value.message
    assert db.exec(select(Visit)).all() == []


def test_cross_inspection_sends_the_paired_units_inspectors(app, db, clock_at, people, org_tree, create_user,
                                                              create_outlet):
    clock_at(PINNED)
    nb_inspector = create_user(Role.inspector, unit=org_tree["nb"])
    plan, _made = make_plan(app, db, people["director"], org_tree["province"], name="杭甬互查",
                            checklist_code="open_inspection", period_kind="quarter", assign_mode=AssignMode.pairing,
                            pairings=[(org_tree["nb"].id, org_tree["hz"].id), (org_tree["hz"].id, org_tree["nb"].id)])
    found = plan_visits(db, plan)
    assert len(found) == 6  # three outlets, this quarter and the next
    for visit in found:
        expected = people["inspector"].id if visit.outlet_id == org_tree["haishu1"].id else nb_inspector.id
        assert visit.assignee_id == expected
    assert {v.plan_period for v in found} == {dt.date(2026, 10, 1), dt.date(2027, 1, 1)}
    assert min(v.due_from for v in found) >= DEC_1


@pytest.mark.parametrize("pairs, words", [
    (lambda t: [(t["hz"].id, t["hz"].id)], "不能检查自己"),
    (lambda t: [(t["hz"].id, t["xihu"].id)], "不能检查自己"),
    (lambda t: [(t["nb"].id, t["hz"].id), (t["province"].id, t["hz"].id)], "不能检查自己"),
])
def test_a_pairing_that_sends_a_unit_to_itself_is_refused(app, db, clock_at, people, org_tree, create_user,
                                                          pairs, words):
    clock_at(PINNED)
    create_user(Role.inspector, unit=org_tree["nb"])
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        plans.create_plan(db, actor=people["director"], data=plan_input(
            org_tree["province"], assign_mode=AssignMode.pairing, pairings=pairs(org_tree)))
    db.rollback()
    assert words in refused.value.message
    assert db.exec(select(Visit)).all() == []


def test_ending_a_plan_cancels_what_has_not_started(app, db, clock_at, people, org_tree, xihu_outlets, pool):
    clock_at(PINNED)
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[p.id for p in pool])
    started = next(v for v in plan_visits(db, plan) if v.assignee_id == people["inspector"].id)
    with app.test_request_context():
        visits.check_in(db, actor=people["inspector"], visit=started, lat=30.26, lon=120.13, accuracy=10)
        cancelled = plans.end_plan(db, actor=people["manager"], plan=plan, reason="机构调整")
    db.commit()
    assert cancelled == 15
    states = Counter(v.status for v in plan_visits(db, plan))
    assert states == {VisitStatus.cancelled: 15, VisitStatus.in_progress: 1}
    assert plan.status == PlanStatus.ended
    with app.test_request_context():
        assert plans.generate(db, plan).created == []  # an ended plan makes nothing


def test_a_manager_moves_and_reassigns_a_planned_visit_within_the_rules(app, db, clock_at, people, org_tree,
                                                                        xihu_outlets, pool):
    clock_at(PINNED)
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[p.id for p in pool[:2]],
                            blackouts=[(dt.date(2026, 12, 24), dt.date(2026, 12, 26), "检修")])
    visit = plan_visits(db, plan)[0]
    with app.test_request_context():
        with pytest.raises(DomainError):  # into a blackout
            plans.move_visit(db, actor=people["manager"], visit=visit, due_from=dt.date(2026, 12, 22),
                             due_until=dt.date(2026, 12, 25))
        with pytest.raises(DomainError):  # outside its period
            plans.move_visit(db, actor=people["manager"], visit=visit, due_from=dt.date(2026, 12, 28),
                             due_until=dt.date(2027, 1, 3))
        with pytest.raises(NotFound):  # Ningbo's manager does not manage this plan
            plans.move_visit(db, actor=people["other_manager"], visit=visit, due_from=dt.date(2026, 12, 10),
                             due_until=dt.date(2026, 12, 12))
        with pytest.raises(DomainError):  # not in the pool
            plans.reassign_visit(db, actor=people["manager"], visit=visit, assignee=pool[2])
        plans.move_visit(db, actor=people["manager"], visit=visit, due_from=dt.date(2026, 12, 10),
                         due_until=dt.date(2026, 12, 12))
        other = next(p for p in pool[:2] if p.id != visit.assignee_id)
        plans.reassign_visit(db, actor=people["manager"], visit=visit, assignee=other)
    db.commit()
    assert (visit.due_from, visit.due_until, visit.assignee_id) == (dt.date(2026, 12, 10), dt.date(2026, 12, 12), other.id)
    with app.test_request_context():
        visits.check_in(db, actor=other, visit=visit, lat=30.26, lon=120.13, accuracy=10)
        with pytest.raises(DomainError):  # started: no longer moved
            plans.move_visit(db, actor=people["manager"], visit=visit, due_from=dt.date(2026, 12, 14),
                             due_until=dt.date(2026, 12, 16))
    db.rollback()


@pytest.mark.parametrize("changes, words", [
    (dict(outlet_rule=OutletRule.listed, outlet_ids=[]), "没有网点"),
    (dict(outlet_rule=OutletRule.stars), "没有网点"),
    (dict(per_period=40), "容不下"),
    (dict(max_per_person=1), "超出人员能承担"),
    (dict(member_ids="shopper"), "不能做这类检查"),
    (dict(member_ids="nobody"), "请选择检查人员"),
])
def test_a_plan_that_cannot_be_carried_out_is_refused_and_nothing_is_kept(app, db, clock_at, people, org_tree,
                                                                           xihu_outlets, changes, words):
    clock_at(PINNED)
    members = {"shopper": [people["shopper"].id], "nobody": []}.get(changes.get("member_ids"), [people["inspector"].id])
    changes = dict(changes, member_ids=members)
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        plans.create_plan(db, actor=people["manager"], data=plan_input(org_tree["xihu"], **changes))
    db.rollback()
    assert words in refused.value.message, refused.value.message
    assert db.exec(select(Visit)).all() == []


def test_changing_a_plan_brings_its_waiting_visits_in_line(app, db, clock_at, people, org_tree, xihu_outlets, pool):
    clock_at(PINNED)
    listed = [o.id for o in xihu_outlets[:4]]
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], outlet_rule=OutletRule.listed,
                            outlet_ids=listed, member_ids=[p.id for p in pool])
    assert len(plan_visits(db, plan)) == 8
    leaving = pool[0]
    with app.test_request_context():
        plans.update_plan(db, actor=people["manager"], plan=plan, data=plan_input(
            org_tree["xihu"], name="西湖区月度明察（调整）", outlet_rule=OutletRule.listed,
            outlet_ids=listed[1:] + [xihu_outlets[5].id], member_ids=[p.id for p in pool[1:]],
            ends_on=dt.date(2027, 1, 20), blackouts=[(dt.date(2026, 12, 1), dt.date(2026, 12, 10), "盘点")]))
    db.commit()
    found = plan_visits(db, plan)
    by_state = Counter((v.outlet_id in listed[1:] + [xihu_outlets[5].id], v.status) for v in found)
    assert by_state[(False, VisitStatus.cancelled)] == 2  # the outlet taken out: both its visits
    assert by_state[(True, VisitStatus.scheduled)] == 8  # three kept and one new outlet, two months each
    for visit in found:
        if visit.status == VisitStatus.scheduled:
            assert visit.assignee_id != leaving.id
            assert visit.due_until <= dt.date(2027, 1, 20)
            assert visit.due_from > dt.date(2026, 12, 10) or visit.plan_period != DEC_1
    assert plan.name == "西湖区月度明察（调整）"
    changed = db.exec(select(AuditEvent).where(AuditEvent.action.in_(["plan.updated", "visit.replanned"]))).all()
    assert {e.action for e in changed} == {"plan.updated", "visit.replanned"}


def test_the_sweep_tells_the_plans_maker_once_what_it_cannot_place(app, db, clock_at, people, org_tree, pool):
    clock_at(PINNED)
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], member_ids=[pool[0].id])
    pool[0].active = False  # the only inspector of the pool left
    db.add(pool[0])
    db.commit()
    clock_at("2026-12-31T16:30:00Z")  # 1 January: February is to be made
    with app.test_request_context():
        first = plans.sweep(db)
        again = plans.sweep(db)
    db.commit()
    assert first == {"plan_visits": 0, "plan_problems": 2} and again["plan_problems"] == 2
    notes = db.exec(select(Notification).where(Notification.user_id == people["manager"].id,
                                               Notification.kind == "plan_problem")).all()
    assert len(notes) == 2 and all(n.link == f"/plans/{plan.id}" for n in notes)
