"""A visit is checked in once (issue 15): a retry of the same check-in gets the stored one, any
other check-in is refused and the first one's time and place stand."""
from __future__ import annotations

from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.visits import services as visits
from inspect_app.visits.models import VisitStatus


def _events(db, visit):
    return db.exec(select(AuditEvent).where(AuditEvent.action == "visit.checked_in",
                                            AuditEvent.object_id == visit.id)).all()


def test_a_second_check_in_is_refused_and_the_first_stands(app, db, client_as, people, org_tree):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    phone = client_as(people["inspector"])
    url = f"/api/visits/{visit.id}/checkin"
    first = phone.post_json(url, {"lat": 30.26, "lon": 120.13, "accuracy": 10, "client_id": "c-1"})
    assert first.status_code == 200
    db.refresh(visit)
    checked_at = visit.checkin_at

    again = phone.post_json(url, {"lat": 30.26, "lon": 120.13, "accuracy": 10, "client_id": "c-1"})
    assert again.status_code == 200 and again.get_json()["checkin_at"] == first.get_json()["checkin_at"]

    for other in ({"lat": 31.0, "lon": 121.0, "accuracy": 5, "client_id": "c-2"}, {"reason": "定位关闭"}):
        refused = phone.post_json(url, other)
        assert refused.status_code == 409
        body = refused.get_json()
        assert "已于" in body["error"] and body["checkin_at"] == first.get_json()["checkin_at"]
    db.refresh(visit)
    assert (visit.status, visit.checkin_at, visit.checkin_lat, visit.checkin_lon) == \
        (VisitStatus.in_progress, checked_at, 30.26, 120.13)
    assert len(_events(db, visit)) == 1


def test_the_visit_state_is_for_the_assignee_only(app, db, client_as, people, org_tree):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=visit, lat=30.26, lon=120.13, accuracy=10)
        code = visits.checklist_of(db, visit).items[0].code
        visits.save_answer(db, actor=people["inspector"], visit=visit, item_code=code, result="pass")
    db.commit()
    state = client_as(people["inspector"]).get(f"/api/visits/{visit.id}/state")
    assert state.status_code == 200 and state.headers["Cache-Control"] == "private, no-store"
    data = state.get_json()
    assert data["editable"] and data["answers"][code]["version"] == 1 and data["checkin_at"]
    assert client_as(people["manager"]).get(f"/api/visits/{visit.id}/state").status_code == 404
    assert client_as(people["chief"]).get(f"/api/visits/{visit.id}/state").status_code == 404


def test_the_outbox_key_is_each_persons_own_and_stable(db, client_as, people):
    inspector, manager = client_as(people["inspector"]), client_as(people["manager"])
    first = inspector.get("/account/outbox-key")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-store"
    key = first.get_json()["key"]
    assert len(key) == 44 and inspector.get("/account/outbox-key").get_json()["key"] == key
    assert manager.get("/account/outbox-key").get_json()["key"] != key
    anonymous = inspector.c.application.test_client().get("/account/outbox-key")
    assert anonymous.status_code in (302, 401)
