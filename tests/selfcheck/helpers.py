"""Self-inspections (自查) through the services, as a chief and an inspector would on the phone."""
from __future__ import annotations

import datetime as dt

from inspect_app.evidence.storage import get_storage
from inspect_app.plans import services as plans
from inspect_app.visits import services as visits
from tests.secret_helpers import jpeg

#: 00:30 on Tuesday 1 December in Shanghai, still Monday 30 November on the (UTC) host.
PINNED = "2026-11-30T16:30:00Z"
DEC_1 = dt.date(2026, 12, 1)


def self_plan(app, db, manager, unit, outlets, **changes):
    """A daily opening check (每日开门检查) of the listed outlets by their own chiefs, from 1 December."""
    values = dict(name="每日开门自查", unit_id=unit.id, checklist_code="daily_opening", starts_on=DEC_1,
                  ends_on=dt.date(2027, 3, 31), period_kind="day", assign_mode="self", outlet_rule="listed",
                  outlet_ids=[o.id for o in outlets])
    values.update(changes)
    with app.test_request_context():
        plan, made = plans.create_plan(db, actor=manager, data=plans.PlanInput(**values))
    db.commit()
    return plan, made


def fill(db, actor, visit, fails: dict[str, str] | None = None, *, seed: int = 0) -> None:
    """Answer every item (pass, or fail with a note and a photo for the codes in ``fails``)."""
    fails = fails or {}
    for n, item in enumerate(visits.checklist_of(db, visit).items):
        failed = item.code in fails
        note = fails.get(item.code)
        if item.rule == "per_occurrence":
            visits.save_answer(db, actor=actor, visit=visit, item_code=item.code, occurrences=1 if failed else 0, note=note)
        elif item.rule == "scale":
            visits.save_answer(db, actor=actor, visit=visit, item_code=item.code,
                               scale_value=0 if failed else item.scale_max, note=note)
        else:
            visits.save_answer(db, actor=actor, visit=visit, item_code=item.code, result="fail" if failed else "pass",
                               note=note)
        if failed and item.photo_on_fail:
            visits.add_visit_photo(db, get_storage(), actor=actor, visit=visit, item_code=item.code,
                                   data=jpeg((20 + n * 3 % 200, 90 + seed % 100, 40)))


def self_inspect(app, db, chief, outlet, fails: dict[str, str] | None = None, *, visit=None):
    """The chief's self-inspection of the outlet today (the planned one if there is one), submitted."""
    with app.test_request_context():
        visit = visit or visits.start_self_inspection(db, actor=chief, outlet=outlet, checklist_code="daily_opening")
        visits.check_in(db, actor=chief, visit=visit, lat=None, lon=None, accuracy=None)
        fill(db, chief, visit, fails)
        visits.submit_visit(db, actor=chief, visit=visit, token=f"self-{visit.id}")
    db.commit()
    return visit


def inspect(app, db, inspector, outlet, fails: dict[str, str], checklist: str = "open_inspection"):
    """An open inspection of the outlet now, failing ``fails``, released on submit."""
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=inspector, outlet=outlet, checklist_code=checklist,
                                         despite_planned=True)
        visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
        fill(db, inspector, visit, fails, seed=visit.id)
        visits.submit_visit(db, actor=inspector, visit=visit, token=f"insp-{visit.id}")
    db.commit()
    return visit
