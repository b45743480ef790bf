"""Self-inspection (自查): a plan gives each outlet's daily opening check to its own branch chief,
who fills it on the phone, owns its findings and closes them with a photo. The clock is pinned
where UTC and Shanghai disagree (00:30 on 1 December in Shanghai, 30 November in UTC)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import Role
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.plans import services as plans
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.lifecycle import LINE
from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import StarRating, Visit, VisitStatus
from tests.secret_helpers import jpeg
from tests.selfcheck.helpers import DEC_1, PINNED, self_inspect, self_plan


def plan_visits(db, plan):
    return db.exec(select(Visit).where(Visit.plan_id == plan.id).order_by(Visit.due_from, Visit.outlet_id)).all()


def test_a_daily_plan_gives_each_outlet_its_own_chief_every_day(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    plan, made = self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"], org_tree["xihu2"]])
    found = plan_visits(db, plan)
    # today (Tuesday 1 December at the outlets) to the end of next week: 13 days, two outlets
    assert len(made.created) == len(found) == 26
    assert {v.due_from for v in found} == {DEC_1 + dt.timedelta(days=n) for n in range(13)}
    for visit in found:
        assert visit.due_from == visit.due_until == visit.plan_period and visit.kind == "self"
        chief = people["chief"] if visit.outlet_id == org_tree["xihu1"].id else people["other_chief"]
        assert visit.assignee_id == chief.id
    with app.test_request_context():
        assert plans.generate(db, plan).created == []  # nothing twice
    clock_at("2026-12-02T16:30:00Z")  # Thursday 3 December: the week after next is reached on Monday
    with app.test_request_context():
        assert plans.sweep(db)["plan_visits"] == 0
    clock_at("2026-12-06T16:30:00Z")  # Monday 7 December
    with app.test_request_context():
        assert plans.sweep(db)["plan_visits"] == 14  # 14–20 December for both outlets


def test_a_weekly_self_check_takes_the_whole_week(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    plan, made = self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"]],
                           checklist_code="weekly_6s", period_kind="week")
    first, second = plan_visits(db, plan)
    assert (first.due_from, first.due_until) == (DEC_1, dt.date(2026, 12, 6))  # the plan starts on a Tuesday
    assert (second.due_from, second.due_until) == (dt.date(2026, 12, 7), dt.date(2026, 12, 13))


def test_an_outlet_without_a_chief_refuses_the_plan_with_its_name(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    with pytest.raises(DomainError, match="海曙区鼓楼邮政营业所 has no branch chief|海曙区鼓楼邮政营业所没有"):
        self_plan(app, db, people["director"], org_tree["province"], [org_tree["xihu1"], org_tree["haishu1"]])
    db.rollback()
    assert not db.exec(select(Visit).where(Visit.kind == "self")).all()


@pytest.mark.parametrize("changes", [dict(assign_mode="pool"), dict(checklist_code="open_inspection")])
def test_self_checklists_and_chiefs_go_together(app, db, clock_at, people, org_tree, changes):
    clock_at(PINNED)
    changes.setdefault("member_ids", [people["inspector"].id])
    with pytest.raises(DomainError, match="self-inspection|自查"):
        self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"]], **changes)


def test_nobody_but_a_chief_of_the_outlet_takes_a_self_inspection(app, db, clock_at, people, org_tree, create_user):
    clock_at(PINNED)
    deputy = create_user(Role.branch_chief, outlets=[org_tree["xihu1"]], username="deputy")
    plan, _made = self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"]])
    visit = [v for v in plan_visits(db, plan) if v.assignee_id == people["chief"].id][0]
    with app.test_request_context():
        for person in (people["inspector"], people["other_chief"]):
            with pytest.raises(DomainError, match=person.display_name):  # a non-chief, another outlet's chief
                plans.reassign_visit(db, actor=people["manager"], visit=visit, assignee=person)
            with pytest.raises(DomainError, match=person.display_name):
                visits.hand_over(db, actor=people["chief"], visit=visit, to=person)
        with pytest.raises(DomainError):  # scheduled by hand to an inspector
            visits.schedule_visits(db, actor=people["manager"], checklist_code="daily_opening",
                                   outlet_ids=[org_tree["xihu1"].id], assignee=people["inspector"],
                                   due_from=DEC_1, due_until=DEC_1)
        with pytest.raises(PermissionDenied):  # only its chief hands it over
            visits.hand_over(db, actor=deputy, visit=visit, to=deputy)
        assert [p.id for p in visits.colleagues_for(db, actor=people["chief"], visit=visit)] == [deputy.id]
        visits.hand_over(db, actor=people["chief"], visit=visit, to=deputy)
        assert visit.assignee_id == deputy.id
    db.commit()
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "visit.handed_over")).one().actor_id == people["chief"].id


def test_the_chief_starts_todays_planned_check_and_never_another_outlets(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    plan, _made = self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"], org_tree["xihu2"]])
    today = [v for v in plan_visits(db, plan) if v.outlet_id == org_tree["xihu1"].id and v.due_from == DEC_1][0]
    with app.test_request_context():
        started = visits.start_self_inspection(db, actor=people["chief"], outlet=org_tree["xihu1"],
                                               checklist_code="daily_opening")
        assert started.id == today.id
        with pytest.raises(NotFound):
            visits.start_self_inspection(db, actor=people["chief"], outlet=org_tree["xihu2"],
                                         checklist_code="daily_opening")
        with pytest.raises(NotFound):  # an inspector does not self-inspect
            visits.start_self_inspection(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="daily_opening")
        with pytest.raises(DomainError, match="self-inspection checklist|自查"):
            visits.start_self_inspection(db, actor=people["chief"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
        # checked in without a position and without a reason: the chief is at their own outlet
        visits.check_in(db, actor=people["chief"], visit=today, lat=None, lon=None, accuracy=None)
        assert today.status == VisitStatus.in_progress and today.checkin_no_location_reason == ""
        assert visits.start_self_inspection(db, actor=people["chief"], outlet=org_tree["xihu1"],
                                            checklist_code="daily_opening").id == today.id


def test_its_findings_are_the_chiefs_to_close_with_a_photo(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"]])
    visit = self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-02": "营业时间牌被雨水打湿脱落"})
    assert visit.status == VisitStatus.released and visit.score == 90
    assert not db.exec(select(StarRating)).all()
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    # the chief wrote it: acknowledged as issued, and the chief is responsible
    assert notice.acknowledged_by_id == people["chief"].id
    assert (line.status, line.responsible_id, line.checklist_kind) == (LineStatus.acknowledged, people["chief"].id, "self")
    assert line.repeat_of_id is None and line.self_check_visit_id is None
    with app.test_request_context():
        assert LINE.available(db, people["chief"], line) == {"stage_photo", "close_own"}
        # deciding an extension is the inspection side's too, but none is ever asked on a self line
        # (asking is the "outlet" side's, and its chief is the "owner" here)
        assert LINE.available(db, people["manager"], line) == {"change_deadline", "assign", "decide_extension"}
        with pytest.raises(NotFound):
            rect.load_line_for(db, people["other_chief"], line.id)
        with pytest.raises(PermissionDenied):
            rect.answer_line(db, actor=people["chief"], line=line, description="已重新张贴")
        with pytest.raises(PermissionDenied):
            rect.close_own_line(db, actor=people["manager"], line=line, description="已重新张贴")
        with pytest.raises(DomainError, match="photo|照片"):
            rect.close_own_line(db, actor=people["chief"], line=line, description="已重新张贴营业时间牌")
        rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=line, data=jpeg((10, 160, 10)),
                              client_id="after-1")
        rect.close_own_line(db, actor=people["chief"], line=line, description="已重新张贴营业时间牌", base_version=None)
    db.commit()
    assert line.status == LineStatus.closed and line.answered_by_id == people["chief"].id and line.closed_at
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "line.closed_own")).one().actor_id == people["chief"].id


def test_a_self_inspections_repeat_is_not_made_graver(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-04": "叫号机无法出纸"})
    clock_at("2026-12-01T16:30:00Z")
    again = self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-04": "叫号机又坏了"})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == again.id)).one()
    assert line.repeat_of_id is None and line.severity == "urgent"
