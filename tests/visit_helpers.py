"""Building visits through the services, as an inspector would on the phone."""
from __future__ import annotations

import datetime as dt

from sqlmodel import select

from inspect_app.evidence.storage import get_storage
from inspect_app.org.models import Window
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit
from tests.browser_helpers import photo_file


def release_mini_visit(app, db, inspector, outlet, failures):
    window = db.exec(select(Window).where(Window.outlet_id == outlet.id)).first()
    answers = {"A-01": dict(result="pass"), "A-02": dict(occurrences=0), "B-01": dict(scale_value=4),
               "B-02": dict(result="pass"), "B-03": dict(result="pass")}
    answers.update(failures)
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=inspector, outlet=outlet, window=window, checklist_code="mini")
        visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
        for code, kw in answers.items():
            visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
            if code == "A-01" and kw.get("result") == "fail":  # this item needs a photo on failure
                visits.add_visit_photo(db, get_storage(), actor=inspector, visit=visit, item_code=code,
                                         data=photo_file()["buffer"])
        visits.submit_visit(db, actor=inspector, visit=visit, token=f"t{visit.id}")
    db.commit()
    return visit


def checked_in_visit(app, db, inspector, outlet, checklist: str = "open_inspection", *, window: bool = False):
    """An ad hoc visit the inspector has checked in to at the outlet (at its first window when the
    checklist rates one), committed."""
    at = db.exec(select(Window).where(Window.outlet_id == outlet.id)).first() if window else None
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=inspector, outlet=outlet, checklist_code=checklist, window=at)
        visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
    db.commit()
    return visit


def released_days_ago(app, db, inspector, outlet, failures, days: int):
    """A released mini visit with ``failures`` (see ``release_mini_visit``), moved ``days`` back:
    the visit, its notice and its lines, as if filled then."""
    visit = release_mini_visit(app, db, inspector, outlet, failures)
    back = dt.timedelta(days=days)
    for model, columns in ((Visit, ("created_at", "started_at", "checkin_at", "submitted_at", "released_at")),
                           (RectificationLine, ("issued_at", "deadline_at")), (RectificationNotice, ("issued_at",))):
        row_filter = model.id == visit.id if model is Visit else model.visit_id == visit.id
        for row in db.exec(select(model).where(row_filter)).all():
            for column in columns:
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - back)
            db.add(row)
    db.commit()
    return visit
