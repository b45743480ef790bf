"""The demo chief's daily self-inspection plan: past days done (one missed), today's to do, a line
closed with a photo, one 自查不实 found by yesterday's inspection; loaded once."""
from __future__ import annotations

from sqlmodel import Session, select

from inspect_app import demo
from inspect_app.auth.models import User
from inspect_app.plans.models import AssignMode, InspectionPlan
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits.models import Visit, VisitStatus
from tests.selfcheck.helpers import PINNED


def test_the_demo_chief_has_a_daily_self_inspection(app, clock_at, client_as):
    clock_at(PINNED, tick=True)
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as session:
        demo.load_demo(session)
        demo.load_demo_visits(session, per_city=1)
        demo.load_demo_plans(session)
        made = demo.load_demo_self_inspection(session)
        assert made > 40
        assert demo.load_demo_self_inspection(session) == 0
        session.commit()
    with Session(engine) as db:
        plan = db.exec(select(InspectionPlan).where(InspectionPlan.assign_mode == AssignMode.self)).one()
        assert (plan.period_kind, plan.checklist_code) == ("day", "daily_opening")
        chief = db.exec(select(User).where(User.username == "chief")).one()
        mine = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.assignee_id == chief.id)).all()
        assert sum(v.status == VisitStatus.released for v in mine) == 7  # four days of two outlets, one missed
        lines = db.exec(select(RectificationLine)).all()
        assert any(line.checklist_kind == "self" and line.status == LineStatus.closed for line in lines)
        assert any(line.checklist_kind == "self" and line.status == LineStatus.acknowledged for line in lines)
        flagged = [line for line in lines if line.self_check_visit_id]
        assert [line.item_code for line in flagged] == ["ENV-02"]
    page = client_as(chief).get("/home").get_data(as_text=True)
    assert "今日自查" in page and "/checkin" in page
