"""Forms refused across scope or without their CSRF token, with nothing written."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.complaints import services
from inspect_app.complaints.models import Accountability, AccountabilityStatus, Callback, Complaint, ComplaintEvent
from inspect_app.rectifications.models import RectificationNotice
from tests.complaints.helpers import PINNED, concluded, register

# --- refusals --------------------------------------------------------------------------------------------

@pytest.fixture
def ningbo(app, db, org_tree, people, staff, clock_at):
    """A Ningbo complaint being handled, and one concluded with a decided accountability record."""
    clock_at(PINNED)
    nb = people["other_handler"]
    with app.test_request_context():
        open_one = services.register_complaint(
            db, actor=nb, outlet=org_tree["haishu1"], source="phone", received_at=clock.now() - dt.timedelta(hours=1),
            category="时限", account="邮件延误三天", customer_name="赵六", customer_phone="13700000000")
        services.take(db, actor=nb, complaint=open_one)
        closed = services.register_complaint(
            db, actor=nb, outlet=org_tree["haishu1"], source="phone", received_at=clock.now() - dt.timedelta(hours=2),
            category="服务态度", account="态度生硬", staff_id=staff["elsewhere"].id)
        services.take(db, actor=nb, complaint=closed)
        services.conclude(db, actor=nb, complaint=closed, verdict="substantiated", reasons="属实", grade=1)
    db.commit()
    return {"open": open_one, "closed": closed}


def _state(db) -> tuple:
    db.expire_all()
    return (len(db.exec(select(ComplaintEvent)).all()), len(db.exec(select(Callback)).all()),
            len(db.exec(select(Accountability)).all()), len(db.exec(select(RectificationNotice)).all()),
            [(c.status, c.owner_id, c.row_version) for c in db.exec(select(Complaint).order_by(Complaint.id))],
            [(r.status, r.grade) for r in db.exec(select(Accountability).order_by(Accountability.id))])


def test_a_hangzhou_handler_posting_to_a_ningbo_complaint_gets_404_and_writes_nothing(ningbo, client_as, people, db,
                                                                                      staff):
    open_one, closed = ningbo["open"], ningbo["closed"]
    before = _state(db)
    client = client_as(people["handler"])
    posts = {
        f"/complaints/{open_one.id}/take": {"version": open_one.row_version},
        f"/complaints/{open_one.id}/contact": {"contact_text": "越权联系"},
        f"/complaints/{open_one.id}/note": {"note_text": "越权记录"},
        f"/complaints/{open_one.id}/hand-on": {"to_user_id": people["handler"].id, "reason": "越权转交"},
        f"/complaints/{open_one.id}/conclude": {"verdict": "unfounded", "reasons": "越权办结"},
        f"/complaints/{closed.id}/lines": {"requirements": "越权整改", "severity": "general"},
        f"/complaints/{closed.id}/callback": {"satisfaction": "satisfied"},
        f"/complaints/{closed.id}/accountability": {"staff_id": staff["elsewhere"].id, "reason": "越权问责"},
    }
    for url, form in posts.items():
        assert client.post(url, form).status_code == 404, url
    assert client.post(f"/api/complaints/{open_one.id}/photos", {"client_id": "x"}).status_code == 404
    assert _state(db) == before
    assert "越权" not in str(db.exec(select(AuditEvent.note)).all())


def test_a_chief_acting_on_another_outlets_accountability_is_refused_and_nothing_written(app, db, org_tree, people,
                                                                                         staff, client_as, clock_at):
    clock_at(PINNED)
    with app.test_request_context():
        complaint = concluded(db, people, org_tree, staff=staff["clerk"])
        record_ = services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                               reason="服务态度差")
        services.decide_accountability(db, actor=people["manager"], record_=record_, grade=1)
    db.commit()
    before = _state(db)
    url = f"/accountability/{record_.id}"
    other = client_as(people["other_chief"])  # the chief of xihu2: not this outlet's
    for action, form in (("acknowledge", {}), ("appeal", {"reason": "越权申诉"})):
        assert other.post(f"{url}/{action}", form).status_code in (403, 404), action
    # Ningbo's manager may not decide Hangzhou's, nor drop it
    nb_manager = client_as(people["other_manager"])
    assert nb_manager.post(f"{url}/appeal-decision", {"outcome": "revoke", "reason": "越权"}).status_code == 404
    assert _state(db) == before
    # the right chief without the form's CSRF token: refused, nothing written
    chief = client_as(people["chief"])
    assert chief.post(f"{url}/acknowledge", {}, csrf=False).status_code == 400
    assert chief.post(f"{url}/appeal", {"reason": "申诉理由"}, csrf=False).status_code == 400
    assert client_as(people["manager"]).post(f"/complaints/{complaint.id}/accountability",
                                             {"staff_id": staff["courier"].id, "reason": "再问责"}, csrf=False).status_code == 400
    assert _state(db) == before
    assert chief.post(f"{url}/acknowledge", {}).status_code == 302
    db.expire_all()
    assert db.get(Accountability, record_.id).status == AccountabilityStatus.acknowledged


def test_a_complaint_out_of_scope_or_unknown_is_404_on_every_get_too(ningbo, client_as, people):
    client = client_as(people["handler"])
    for url in (f"/complaints/{ningbo['open'].id}", "/complaints/999999", "/accountability/999999",
                "/key-customers/999999/edit", "/complaints/from-notice/999999"):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("typed", ["99999999999999999999999", "-1", "abc"])
def test_a_person_named_by_a_number_past_the_databases_range_is_refused_not_a_500(app, db, org_tree, people, staff,
                                                                                   client_as, clock_at, typed):
    """The hand-on and accountability selects, tampered: a number past 64 bits went to the query as it
    was and SQLite's driver failed (a 500); now it is the select's "invalid choice", nothing written."""
    clock_at(PINNED)
    with app.test_request_context():
        complaint = concluded(db, people, org_tree, staff=staff["clerk"])
        open_one = register(db, people, org_tree)
        services.take(db, actor=people["handler"], complaint=open_one)
    db.commit()
    before = _state(db)
    handler = client_as(people["handler"])
    for url, form in ((f"/complaints/{open_one.id}/hand-on", {"to_user_id": typed, "reason": "转交"}),
                      (f"/complaints/{complaint.id}/accountability", {"staff_id": typed, "reason": "问责"})):
        response = handler.post(url, form, follow_redirects=True)
        assert response.status_code == 200, url
        assert "无效" in response.get_data(as_text=True), url
    assert _state(db) == before
