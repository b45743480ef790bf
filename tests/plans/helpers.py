"""Building plans through the service, as a manager's form would."""
from __future__ import annotations

import datetime as dt

from inspect_app.plans import services as plans
from inspect_app.plans.services import PlanInput

#: 00:30 on 1 December in Shanghai, still 30 November on the (UTC) host: the plan's month is December.
PINNED = "2026-11-30T16:30:00Z"
DEC_1 = dt.date(2026, 12, 1)


def plan_input(unit, **changes) -> PlanInput:
    values = dict(name="西湖区月度明察", unit_id=unit.id, checklist_code="open_inspection", starts_on=DEC_1,
                  ends_on=dt.date(2027, 5, 31))
    values.update(changes)
    return PlanInput(**values)


def make_plan(app, db, actor, unit, **changes):
    with app.test_request_context():
        plan, made = plans.create_plan(db, actor=actor, data=plan_input(unit, **changes))
    db.commit()
    return plan, made
