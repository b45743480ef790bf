"""Bodies no phone of ours sends, but a broken or hostile client might: each is a 4xx in the app's
JSON shape, nothing is written, and never a 500."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, VisitStatus


@pytest.fixture
def started(app, db, org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    return visit


def _raw(client, url, body: str):
    return client.c.post(url, data=body, content_type="application/json",
                         headers={"X-CSRFToken": client.csrf_token(), "Accept": "application/json"})


def _item(db, visit):
    return visits.checklist_of(db, visit).items[0].code


@pytest.mark.parametrize("body", [
    '{"item_code": "%s", "result": "pass", "base_version": 1e999}',
    '{"item_code": "%s", "result": "pass", "occurrences": "nan"}',
    '{"item_code": "%s", "result": "fail", "note": "\\ud800 broken"}',
    '{"item_code": "%s", "result": "fail", "note": "nul \\u0000 inside"}',
    '{"item_code": "\\ud800", "result": "pass"}',
    "[" * 100_000 + "]" * 100_000,
    '{"item_code": "%s", "result": ["pass"]}',
    "not json at all",
])
def test_malformed_answers_are_refused_plainly(app, db, client_as, people, started, body):
    inspector = client_as(people["inspector"])
    inspector.post_json(f"/api/visits/{started.id}/checkin", {"lat": 30.26, "lon": 120.13, "accuracy": 10})
    text = body % _item(db, started) if "%s" in body else body
    response = _raw(inspector, f"/api/visits/{started.id}/answers", text)
    assert 400 <= response.status_code < 500, response.status_code
    assert isinstance(response.get_json()["error"], str)
    assert db.exec(select(Answer).where(Answer.visit_id == started.id)).all() == []


@pytest.mark.parametrize("extra", [
    {"at": "9999-12-31T23:59:59-14:00"}, {"at": "0001-01-01T00:00:00+14:00"}, {"at": "2026-12-01T10:00:00"},
    {"accuracy": "nan"}, {"accuracy": "inf"}, {"lat": 1e999}, {"reason": "\ud800"},
])
def test_malformed_check_ins_are_refused_plainly(db, client_as, people, started, extra):
    inspector = client_as(people["inspector"])
    response = inspector.post_json(f"/api/visits/{started.id}/checkin",
                                   {"lat": 30.26, "lon": 120.13, "accuracy": 10, **extra})
    assert 400 <= response.status_code < 500 and "error" in response.get_json()
    db.refresh(started)
    assert started.status == VisitStatus.scheduled


def test_a_nul_in_a_form_is_a_bad_request(client_as, people):
    manager = client_as(people["manager"])
    response = manager.post("/admin/units", {"code": "X\x00", "name": "坏\x00单位"})
    assert response.status_code == 400
