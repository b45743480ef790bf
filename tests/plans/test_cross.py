"""Cross-inspection (区域巡查互查): an inspector of 宁波 fills a plan's visit at a 杭州 outlet through
the pages, sees that outlet and visit (photos, answers API, the page copies) only while the visit
is theirs, and nothing else of 杭州; once released, the visit, its outlet and its photos are 404
to them like anything out of scope, and the findings are 杭州's."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import select

from inspect_app import permissions
from inspect_app.auth.models import Role
from inspect_app.errors import DomainError
from inspect_app.evidence.models import Photo
from inspect_app.org.models import Window
from inspect_app.plans.models import AssignMode
from inspect_app.rectifications.models import RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests.plans.helpers import PINNED, make_plan
from tests.secret_helpers import jpeg


@pytest.fixture
def cross(app, db, clock_at, people, org_tree, create_user):
    """杭州 ↔ 宁波 pairing, monthly, the 'mini' sheet (a window's rating); one 宁波 inspector."""
    clock_at(PINNED)
    nb_inspector = create_user(Role.inspector, unit=org_tree["nb"], username="inspector.nb")
    plan, _made = make_plan(app, db, people["director"], org_tree["province"], name="杭甬互查", checklist_code="mini",
                            assign_mode=AssignMode.pairing,
                            pairings=[(org_tree["nb"].id, org_tree["hz"].id), (org_tree["hz"].id, org_tree["nb"].id)])
    visit = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.outlet_id == org_tree["xihu1"].id)
                    .order_by(Visit.plan_period)).first()
    assert visit.assignee_id == nb_inspector.id
    return nb_inspector, visit


ANSWERS = {"A-01": {"result": "fail", "note": "未着工装"}, "A-02": {"result": "pass"}, "B-01": {"scale_value": 4},
           "B-02": {"result": "pass"}, "B-03": {"result": "pass"}}


def test_the_paired_inspector_fills_the_visit_and_loses_it_on_release(app, db, people, org_tree, client_as, cross,
                                                                      create_outlet, clock_at):
    nb_inspector, visit = cross
    client = client_as(nb_inspector)
    outlet, other = org_tree["xihu1"], create_outlet(org_tree["xihu"], name="西湖区转塘邮政支局")
    home = client.get("/home").get_data(as_text=True)
    assert outlet.name in home  # the visit waits on their home page (and is downloaded ahead)
    clock_at(dt.datetime.combine(visit.due_from, dt.time(4, 0), dt.timezone.utc))  # noon of the window's first day
    page = client.get(f"/outlets/{outlet.id}").get_data(as_text=True)
    assert "开始检查" not in page and f"/visits/new?outlet={outlet.id}" not in page  # no ad hoc visit there
    assert client.get(f"/outlets/{other.id}").status_code == 404  # nothing else of 杭州
    assert client.get(f"/visits/{visit.id}/checkin").status_code == 200
    window = db.exec(select(Window).where(Window.outlet_id == outlet.id)).first()
    checked = client.post(f"/visits/{visit.id}/checkin", {"lat": "30.26", "lon": "120.13", "accuracy": "15",
                                                          "window_id": str(window.id)})
    assert checked.headers["Location"].endswith(f"/visits/{visit.id}/fill")
    assert client.get(f"/visits/{visit.id}/fill", headers={"X-Inspect-Copy": "1"}).status_code == 200
    for code, payload in ANSWERS.items():
        assert client.post_json(f"/api/visits/{visit.id}/answers", payload | {"item_code": code}).status_code == 200
    upload = client.post(f"/api/visits/{visit.id}/photos", {"file": (io.BytesIO(jpeg()), "x.jpg"), "item_code": "A-01"},
                         headers={"X-CSRFToken": client.csrf_token()}, content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_data(as_text=True)
    photo = db.exec(select(Photo).where(Photo.visit_id == visit.id)).one()
    assert client.get(f"/photos/{photo.id}/thumb").status_code == 200
    listed = client.get("/visits?all=1").get_data(as_text=True)
    assert outlet.name in listed and other.name not in listed

    done = client.post(f"/visits/{visit.id}/submit", {"token": "cross-1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/home")  # not to a page now closed to them
    db.rollback()
    visit = db.get(Visit, visit.id)
    assert visit.status == VisitStatus.released
    for url in (f"/visits/{visit.id}", f"/visits/{visit.id}/fill", f"/visits/{visit.id}/checkin",
                f"/visits/{visit.id}/pdf", f"/outlets/{outlet.id}", f"/photos/{photo.id}/thumb",
                f"/api/visits/{visit.id}/state"):
        assert client.get(url, headers={"X-Inspect-Copy": "1"}).status_code == 404, url
    late = client.post_json(f"/api/visits/{visit.id}/answers", {"item_code": "A-02", "result": "fail", "note": "x"})
    assert late.status_code == 404
    # January's visit there waits in their lists (its window has not begun: the outlet stays closed)
    assert f"/visits/{visit.id}\"" not in client.get("/home").get_data(as_text=True)
    assert f"/visits/{visit.id}\"" not in client.get("/visits?all=1").get_data(as_text=True)
    again = client.post(f"/visits/{visit.id}/submit", {"token": "cross-1"})  # the phone's queued repeat
    assert again.status_code == 404

    # the findings are 杭州's: its manager and the outlet's chief see the notice, 宁波 does not
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    assert client_as(people["manager"]).get(f"/notices/{notice.id}").status_code == 200
    assert client_as(people["chief"]).get(f"/notices/{notice.id}").status_code == 200
    assert client.get(f"/notices/{notice.id}").status_code == 404
    assert client_as(people["other_manager"]).get(f"/visits/{visit.id}").status_code == 404


def test_a_cancelled_cross_visit_is_closed_to_its_inspector(app, db, people, org_tree, client_as, cross):
    nb_inspector, visit = cross
    client = client_as(nb_inspector)
    assert client.get(f"/visits/{visit.id}").status_code == 200
    with app.test_request_context():
        visits.cancel_visit(db, actor=people["manager"], visit=visit, reason="网点装修")
    db.commit()
    assert client.get(f"/visits/{visit.id}").status_code == 404
    assert client.get(f"/outlets/{org_tree['xihu1'].id}").status_code == 404


def test_an_inspector_outside_the_unit_is_assigned_only_through_a_pairing(app, db, people, org_tree, cross):
    nb_inspector, _visit = cross
    with app.test_request_context():
        assert not permissions.can_be_assigned_at(db, nb_inspector, "open", org_tree["xihu1"])
        assert permissions.can_be_assigned_at(db, nb_inspector, "open", org_tree["xihu1"], paired_unit=org_tree["nb"])
        assert not permissions.can_be_assigned_at(db, nb_inspector, "open", org_tree["xihu1"], paired_unit=org_tree["hz"])
        with pytest.raises(DomainError):  # a manager's hand scheduling keeps the unit rule
            visits.schedule_visits(db, actor=people["director"], checklist_code="open_inspection",
                                   outlet_ids=[org_tree["xihu2"].id], assignee=nb_inspector,
                                   due_from=visits.local_today(org_tree["xihu2"]),
                                   due_until=visits.local_today(org_tree["xihu2"]))
    db.rollback()
