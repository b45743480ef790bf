"""Every (status, action) pair of every transition table, through the real services: an action
the table allows goes through and lands where the table says; every other one is refused with the
status named, and nothing changes."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.auth.models import Role
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.org.models import Window
from inspect_app.plans import services as plans
from inspect_app.rectifications import extensions
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.lifecycle import LINE, NOTICE
from inspect_app.rectifications.models import ExtensionRequest, LineStatus, RectificationLine, RectificationNotice
from inspect_app.visits import secret
from inspect_app.visits import services as visits
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import VisitStatus
from tests.secret_helpers import jpeg
from tests.secret_helpers import secret_visit as make_secret_visit
from tests.selfcheck.helpers import fill


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def test_the_tables_name_known_statuses_only():
    for table, statuses in ((VISIT, set(VisitStatus)), (LINE, set(LineStatus)), (NOTICE, {"issued", "acknowledged"})):
        for transition in table.transitions.values():
            assert transition.sources <= statuses, transition.action
            assert transition.target is None or transition.target in statuses, transition.action


#: The lives as DESIGN.md tells them, written out independently of the tables they pin down.
VISIT_LIFE = {
    "check_in": ({"scheduled"}, "in_progress"),
    "edit": ({"in_progress", "returned"}, None),
    "submit": ({"in_progress"}, "released"),
    "submit_secret": ({"in_progress", "returned"}, "in_review"),
    "correct": ({"in_review"}, None),
    "return": ({"in_review"}, "returned"),
    "release": ({"in_review"}, "released"),
    "reschedule": ({"scheduled"}, None),
    "hand_over": ({"scheduled"}, None),
    "cancel": ({"scheduled", "in_progress"}, "cancelled"),
}
LINE_LIFE = {
    "acknowledge": ({"issued"}, "acknowledged"),
    "stage_photo": ({"acknowledged", "returned"}, None),
    "answer": ({"acknowledged", "returned"}, "answered"),
    "close_own": ({"acknowledged"}, "closed"),
    "dispute": ({"issued", "acknowledged", "returned"}, "disputed"),
    "verify": ({"answered"}, "closed"),
    "return": ({"answered"}, "returned"),
    "uphold": ({"disputed"}, "acknowledged"),
    "withdraw": ({"disputed"}, "withdrawn"),
    "change_deadline": ({"issued", "acknowledged", "answered", "returned", "disputed"}, None),
    "assign": ({"issued", "acknowledged", "answered", "returned", "disputed"}, None),
    # 延期申请: asked while the deadline runs against the outlet, decided while the line is open
    "request_extension": ({"issued", "acknowledged", "returned"}, None),
    "decide_extension": ({"issued", "acknowledged", "answered", "returned", "disputed"}, None),
}


@pytest.mark.parametrize("table, life", [(VISIT, VISIT_LIFE), (LINE, LINE_LIFE)])
def test_the_tables_say_what_the_design_says(table, life):
    assert {a: (set(t.sources), t.target) for a, t in table.transitions.items()} == life


def walk(table, action: str, status: str, obj, act) -> None:
    """The service either does what the table allows, landing on its target, or refuses with the
    status (never a permission refusal: the right side acts) and changes nothing."""
    if table.allows(action, status):
        act()
        assert obj.status == (table[action].target or status)
    else:
        with pytest.raises(DomainError) as refused:
            act()
        assert not isinstance(refused.value, PermissionDenied)
        assert obj.status == status


# --- visits --------------------------------------------------------------------------------------

def _open_visit(db, org_tree, people):
    """A star rating of xihu1's first window, checked in and fully answered."""
    inspector = people["inspector"]
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    visit = visits.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu1"], window=window, checklist_code="mini",
                                     despite_planned=True)
    visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
    for code, kw in {"A-01": dict(result="pass"), "A-02": dict(occurrences=0), "B-01": dict(scale_value=4),
                     "B-02": dict(result="pass"), "B-03": dict(result="pass")}.items():
        visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
    return visit


VISIT_ACTIONS = {
    "check_in": lambda db, v, p: visits.check_in(db, actor=p["assignee"], visit=v, lat=30.26, lon=120.13, accuracy=9),
    "edit": lambda db, v, p: visits.save_summary(db, actor=p["assignee"], visit=v, summary="补充说明"),
    "submit": lambda db, v, p: visits.submit_visit(db, actor=p["assignee"], visit=v, token=f"walk-{v.id}",
                                                   accept_warnings=True),
    "submit_secret": lambda db, v, p: visits.submit_visit(db, actor=p["assignee"], visit=v, token=f"walk-{v.id}",
                                                          accept_warnings=True),
    "correct": lambda db, v, p: secret.correct_answer(db, actor=p["reviewer"], visit=v, item_code=p["item"],
                                                      reason="复核录像后更正", result="pass"),
    "return": lambda db, v, p: secret.return_visit(db, actor=p["reviewer"], visit=v, comment="请补充小票照片"),
    "release": lambda db, v, p: visits.release_visit(db, actor=p["reviewer"], visit=v),
    "reschedule": lambda db, v, p: plans.move_visit(db, actor=p["manager"], visit=v, due_from=v.due_from,
                                                    due_until=v.due_until),
    "hand_over": lambda db, v, p: visits.hand_over(db, actor=p["assignee"], visit=v, to=p["deputy"]),
    "cancel": lambda db, v, p: visits.cancel_visit(db, actor=p["manager"], visit=v, reason="网点临时停业"),
}


def _self_visit(db, org_tree, people, deputy):
    """A self-inspection of xihu1 started by its chief (who may hand it to the deputy chief)."""
    visit = visits.start_self_inspection(db, actor=people["chief"], outlet=org_tree["xihu1"],
                                         checklist_code="daily_opening")
    return visit, {"assignee": people["chief"], "deputy": deputy, "manager": people["manager"]}


def _plan_visit(db, org_tree, people):
    """The first visit a monthly plan of 西湖区 made for the inspector."""
    plan, made = plans.create_plan(db, actor=people["manager"], data=plans.PlanInput(
        name="走查", unit_id=org_tree["xihu"].id, checklist_code="open_inspection",
        starts_on=clock.today("Asia/Shanghai"), ends_on=clock.today("Asia/Shanghai") + dt.timedelta(days=90),
        member_ids=[people["inspector"].id]))
    return made.created[0]


@pytest.mark.parametrize("status, action", list(itertools.product(list(VisitStatus), VISIT_ACTIONS)))
def test_every_visit_status_and_action(app, ctx, db, org_tree, people, create_user, status, action):
    if action == "hand_over":
        deputy = create_user(Role.branch_chief, outlets=[org_tree["xihu1"]], username="deputy")
        visit, actors = _self_visit(db, org_tree, people, deputy)
        visit.status = status
        db.add(visit)
        db.flush()
        walk(VISIT, action, status, visit, lambda: VISIT_ACTIONS[action](db, visit, actors))
        db.rollback()
        return
    secret_kind = action in ("submit_secret", "correct", "return", "release") or (
        action in ("edit", "cancel", "check_in") and status in (VisitStatus.in_review, VisitStatus.returned))
    if secret_kind:
        visit, failed = make_secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                          outlet=org_tree["xihu2"], submit=False)
        actors = {"assignee": people["shopper"], "reviewer": people["reviewer"], "manager": people["manager"],
                  "item": failed}
    else:
        visit = _plan_visit(db, org_tree, people) if action == "reschedule" else _open_visit(db, org_tree, people)
        actors = {"assignee": people["inspector"], "reviewer": people["reviewer"], "manager": people["manager"]}
    if action == "submit" and secret_kind:
        pytest.skip("open visits only")
    visit.status = status
    if status == VisitStatus.scheduled:
        visit.checkin_at = visit.started_at = None
    db.add(visit)
    db.flush()
    walk(VISIT, action, status, visit, lambda: VISIT_ACTIONS[action](db, visit, actors))
    db.rollback()


def test_a_visit_action_by_the_wrong_side_is_forbidden(app, ctx, db, org_tree, people):
    visit = _open_visit(db, org_tree, people)
    with pytest.raises(PermissionDenied):
        visits.submit_visit(db, actor=people["manager"], visit=visit, token="x")
    with pytest.raises(PermissionDenied):
        visits.cancel_visit(db, actor=people["inspector"], visit=visit, reason="不想做了")
    shopper_visit, _failed = make_secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                               outlet=org_tree["xihu2"])
    with pytest.raises(PermissionDenied):  # the outlet side never reviews
        visits.release_visit(db, actor=people["chief"], visit=shopper_visit)
    assert VISIT.available(db, people["reviewer"], shopper_visit) == {"correct", "return", "release"}
    assert VISIT.available(db, people["chief"], shopper_visit) == set()


# --- rectification lines -------------------------------------------------------------------------

def _line(db, org_tree, people):
    inspector = people["inspector"]
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    visit = visits.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu1"], window=window, checklist_code="mini",
                                     despite_planned=True)
    visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
    for code, kw in {"A-01": dict(result="pass"), "A-02": dict(occurrences=2, note="倚靠柜台两次"),
                     "B-01": dict(scale_value=4), "B-02": dict(result="pass"), "B-03": dict(result="pass")}.items():
        visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
    visits.submit_visit(db, actor=inspector, visit=visit, token=f"line-{visit.id}")
    return db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()


def _stage(db, chief, line):
    rect.stage_line_photo(db, get_storage(), actor=chief, line=line, data=jpeg((0, 120, 0)), client_id=None)


def _self_line(db, org_tree, people):
    """The line of a daily opening check in which the chief failed the call-ticket machine."""
    chief = people["chief"]
    visit = visits.start_self_inspection(db, actor=chief, outlet=org_tree["xihu1"], checklist_code="daily_opening")
    visits.check_in(db, actor=chief, visit=visit, lat=None, lon=None, accuracy=None)
    fill(db, chief, visit, {"OPN-04": "叫号机不出纸"})
    visits.submit_visit(db, actor=chief, visit=visit, token=f"self-{visit.id}")
    return db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()


LINE_ACTIONS = {
    "stage_photo": lambda db, line, p: _stage(db, p["chief"], line),
    "answer": lambda db, line, p: rect.answer_line(db, actor=p["chief"], line=line, description="已更换工装并拍照"),
    "close_own": lambda db, line, p: rect.close_own_line(db, actor=p["chief"], line=line, description="已修好叫号机"),
    "dispute": lambda db, line, p: rect.dispute_line(db, actor=p["chief"], line=line, reason="当天录像显示并未倚靠"),
    "verify": lambda db, line, p: rect.verify_line(db, actor=p["inspector"], line=line, accept=True),
    "return": lambda db, line, p: rect.verify_line(db, actor=p["inspector"], line=line, accept=False,
                                                   reason="照片看不清"),
    "uphold": lambda db, line, p: rect.decide_dispute(db, actor=p["manager"], line=line, uphold=True, reason="录像不全"),
    "withdraw": lambda db, line, p: rect.decide_dispute(db, actor=p["manager"], line=line, uphold=False,
                                                        reason="录像证实无此情况"),
    "change_deadline": lambda db, line, p: rect.change_deadline(
        db, actor=p["manager"], line=line, new_deadline=clock.today("Asia/Shanghai") + dt.timedelta(days=20),
        reason="需要订购新设备"),
    "assign": lambda db, line, p: rect.assign_responsible(db, actor=p["manager"], line=line, user=p["chief"]),
    "request_extension": lambda db, line, p: extensions.request_extension(
        db, actor=p["chief"], line=line, new_deadline=line.deadline_date + dt.timedelta(days=1), reason="配件未到货"),
    "decide_extension": lambda db, line, p: extensions.decide_extension(
        db, actor=p["inspector"], request=_open_request(db, line, p["chief"]), approve=True),
}


def _open_request(db, line, chief) -> ExtensionRequest:
    """An extension request asked earlier (while the line was still the outlet's to act on)."""
    request = ExtensionRequest(line_id=line.id, requested_by_id=chief.id, deadline_before=line.deadline_date,
                               requested_deadline=line.deadline_date + dt.timedelta(days=1), reason="配件未到货")
    db.add(request)
    db.flush()
    return request


@pytest.mark.parametrize("status, action", list(itertools.product(list(LineStatus), LINE_ACTIONS)))
def test_every_line_status_and_action(ctx, db, org_tree, people, status, action):
    line = _self_line(db, org_tree, people) if action == "close_own" else _line(db, org_tree, people)
    actors = {"chief": people["chief"], "inspector": people["inspector"], "manager": people["manager"]}
    line.status = status
    line.answered_by_id = people["chief"].id if status == LineStatus.answered else None
    db.add(line)
    db.flush()
    if action in ("answer", "close_own") and status in (LineStatus.acknowledged, LineStatus.returned):
        _stage(db, people["chief"], line)  # an answer needs its after-photo
    walk(LINE, action, status, line, lambda: LINE_ACTIONS[action](db, line, actors))
    db.rollback()


@pytest.mark.parametrize("acknowledged", [False, True])
def test_every_notice_status_and_action(ctx, db, org_tree, people, acknowledged):
    line = _line(db, org_tree, people)
    notice = db.get(RectificationNotice, line.notice_id)
    if acknowledged:
        rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
        with pytest.raises(DomainError, match="已于"):
            rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
    else:
        with pytest.raises(PermissionDenied):
            rect.acknowledge_notice(db, actor=people["other_chief"], notice=notice)
        rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
        assert notice.acknowledged_at is not None and line.status == LineStatus.acknowledged
    db.rollback()
