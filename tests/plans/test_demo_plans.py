"""The demo's plans: 杭州市's monthly open inspection and the province's quarterly cross-inspection
of its three cities, made once however often the demo is loaded."""
from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from inspect_app import demo
from inspect_app.auth.models import User
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans.models import InspectionPlan
from inspect_app.visits.models import Visit
from tests.plans.helpers import PINNED


def test_the_demo_plans_are_made_once(app, clock_at):
    clock_at(PINNED, tick=True)
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as session:
        demo.load_demo(session)
        demo.load_demo_visits(session, per_city=2)
        made = demo.load_demo_plans(session)
        assert made > 60
        assert demo.load_demo_plans(session) == 0
        session.commit()
    with Session(engine) as db:
        plans = {p.name: p for p in db.exec(select(InspectionPlan)).all()}
        assert set(plans) == {"杭州市网点月度明察", "浙江省区域巡查互查"}
        visits = db.exec(select(Visit).where(Visit.plan_id.is_not(None))).all()
        assert len(visits) == made
        cities = {u.id: u.code[:4] for u in db.exec(select(Unit)).all()}
        outlet_city = {o.id: cities[o.unit_id] for o in db.exec(select(Outlet)).all()}
        people = {u.id: u.username for u in db.exec(select(User)).all()}
        cross = Counter((outlet_city[v.outlet_id], people[v.assignee_id]) for v in visits
                        if v.plan_id == plans["浙江省区域巡查互查"].id)
        assert set(cross) == {("3302", "inspector"), ("3303", "inspector.nb"), ("3301", "inspector.wz")}
        monthly = {people[v.assignee_id] for v in visits if v.plan_id == plans["杭州市网点月度明察"].id}
        assert monthly == {"inspector"}
