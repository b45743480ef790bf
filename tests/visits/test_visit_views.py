"""Visit pages and the autosave API through the client, as each role."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app import clock
from inspect_app.evidence.models import Photo
from inspect_app.visits.models import Visit, VisitStatus


def jpeg(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def started_visit(client_as, people, org_tree, db):
    """The inspector starts an ad hoc 'mini' visit through the pages, like on the phone."""
    from inspect_app.org.models import Window

    inspector = client_as(people["inspector"])
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    response = inspector.post("/visits/new", {"outlet_id": org_tree["xihu1"].id, "checklist": "mini",
                                              "window_id": str(window.id)})
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = db.exec(select(Visit)).one()
    assert response.headers["Location"].endswith(f"/visits/{visit.id}/checkin")
    response = inspector.post(f"/visits/{visit.id}/checkin", {"lat": "30.26", "lon": "120.13", "accuracy": "15"})
    assert response.headers["Location"].endswith(f"/visits/{visit.id}/fill")
    return inspector, visit


def answer(client, visit, **payload):
    return client.post_json(f"/api/visits/{visit.id}/answers", payload)


def test_fill_page_continues_where_it_was(started_visit):
    inspector, visit = started_visit
    response = answer(inspector, visit, item_code="A-02", occurrences=2, note="倚靠柜台", base_version=0, client_id="c1")
    assert response.status_code == 200
    data = response.get_json()
    assert data["answer"]["version"] == 1 and data["answer"]["result"] == "fail"
    assert data["progress"]["answered"] == 1 and data["progress"]["total"] == 5
    page = inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    assert 'data-code="A-02"' in page and 'data-occurrences="2"' in page and "倚靠柜台" in page
    assert 'data-version="1"' in page


def test_answer_api_errors_are_clear_json(started_visit, client_as, people):
    inspector, visit = started_visit
    response = answer(inspector, visit, item_code="A-01", result="na")
    assert response.status_code == 400 and "不能标记为不适用" in response.get_json()["error"]
    answer(inspector, visit, item_code="A-01", result="pass", base_version=0)
    stale = answer(inspector, visit, item_code="A-01", result="fail", base_version=0)
    assert stale.status_code == 409
    assert stale.get_json()["current"]["result"] == "pass"
    garbage = inspector.post_json(f"/api/visits/{visit.id}/answers", ["not", "a", "dict"])
    assert garbage.status_code == 400
    no_csrf = inspector.post_json(f"/api/visits/{visit.id}/answers", {"item_code": "A-01", "result": "pass"}, csrf=False)
    assert no_csrf.status_code == 400
    # someone else's visit: the manager can see it but not answer it; the other region's manager gets 404
    assert answer(client_as(people["manager"]), visit, item_code="A-01", result="pass").status_code == 403
    assert answer(client_as(people["other_manager"]), visit, item_code="A-01", result="pass").status_code == 404


def test_submit_shows_missing_then_releases(started_visit, db, client_as, people):
    inspector, visit = started_visit
    answer(inspector, visit, item_code="A-01", result="fail")
    page = inspector.post(f"/visits/{visit.id}/submit", {"token": "t1"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "不合格项须填写问题描述" in text and "不合格项须拍照留证" in text and "B-03" in text
    for code, payload in {"A-01": {"result": "fail", "note": "未着工装"}, "A-02": {"result": "pass"},
                          "B-01": {"scale_value": 4}, "B-02": {"result": "pass"}, "B-03": {"result": "na"}}.items():
        assert answer(inspector, visit, item_code=code, **payload).status_code == 200
    upload = inspector.post(f"/api/visits/{visit.id}/photos",
                            {"file": (io.BytesIO(jpeg()), "x.jpg"), "item_code": "A-01", "client_id": "ph1"},
                            headers={"X-CSRFToken": inspector.csrf_token()}, content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_data(as_text=True)
    done = inspector.post(f"/visits/{visit.id}/submit", {"token": "t2"})
    assert done.status_code == 302
    again = inspector.post(f"/visits/{visit.id}/submit", {"token": "t2"})
    assert again.status_code == 302
    visit = db.get(Visit, visit.id)
    assert visit.status == VisitStatus.released and visit.score == round(9 / 19 * 100, 1)
    detail = inspector.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "分项得分" in detail and "未着工装" in detail and "/photos/" in detail
    # the manager of the region sees it; the branch chief of the outlet too, once released
    assert client_as(people["manager"]).get(f"/visits/{visit.id}").status_code == 200
    assert client_as(people["chief"]).get(f"/visits/{visit.id}").status_code == 200
    assert client_as(people["other_chief"]).get(f"/visits/{visit.id}").status_code == 404
    assert client_as(people["shopper"]).get(f"/visits/{visit.id}").status_code == 404
    stars = client_as(people["manager"]).get("/stars")
    assert stars.status_code == 200


def test_draft_invisible_to_branch_chief(started_visit, client_as, people):
    _inspector, visit = started_visit
    chief = client_as(people["chief"])
    assert chief.get(f"/visits/{visit.id}").status_code == 404
    assert f"/visits/{visit.id}" not in chief.get("/visits").get_data(as_text=True)


def test_red_line_listed_first(started_visit, db):
    inspector, visit = started_visit
    for code, payload in {"A-01": {"result": "pass"}, "A-02": {"occurrences": 1, "note": "倚靠"},
                          "B-01": {"scale_value": 4}, "B-02": {"result": "fail", "note": "辱骂顾客"},
                          "B-03": {"result": "pass"}}.items():
        answer(inspector, visit, item_code=code, **payload)
    inspector.post(f"/visits/{visit.id}/submit", {"token": "z"})
    page = inspector.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "触犯红线" in page
    assert page.index("辱骂顾客") < page.index("倚靠")


def test_schedule_page_and_inspector_home(client_as, people, org_tree, db):
    manager = client_as(people["manager"])
    assert manager.get("/schedule").status_code == 200
    today = clock.today("Asia/Shanghai")
    response = manager.post("/schedule", {
        "checklist": "open_inspection", "assignee_id": people["inspector"].id,
        "outlet_ids": [org_tree["xihu1"].id, org_tree["xihu2"].id],
        "due_from": today.isoformat(), "due_until": (today + dt.timedelta(days=2)).isoformat()})
    assert response.status_code == 302
    assert len(db.exec(select(Visit).where(Visit.status == VisitStatus.scheduled)).all()) == 2
    past = manager.post("/schedule", {
        "checklist": "open_inspection", "assignee_id": people["inspector"].id, "outlet_ids": [org_tree["xihu1"].id],
        "due_from": (today - dt.timedelta(days=3)).isoformat(), "due_until": (today - dt.timedelta(days=1)).isoformat()})
    assert "计划时间已经过去" in past.get_data(as_text=True)
    home = client_as(people["inspector"]).get("/home").get_data(as_text=True)
    assert "今日待检" in home and "西湖区文三路邮政营业所" in home
    assert client_as(people["inspector"]).get("/schedule").status_code == 403


def test_photo_served_only_to_viewers(started_visit, client_as, people, db):
    inspector, visit = started_visit
    answer(inspector, visit, item_code="A-01", result="fail", note="x")
    inspector.post(f"/api/visits/{visit.id}/photos", {"file": (io.BytesIO(jpeg()), "x.jpg"), "item_code": "A-01"},
                   headers={"X-CSRFToken": inspector.csrf_token()}, content_type="multipart/form-data")
    photo = db.exec(select(Photo)).one()
    response = inspector.get(f"/photos/{photo.id}/thumb")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert client_as(people["chief"]).get(f"/photos/{photo.id}/display").status_code == 404  # not released
    assert client_as(people["other_manager"]).get(f"/photos/{photo.id}/thumb").status_code == 404
    assert inspector.get(f"/photos/{photo.id}/../../etc/passwd").status_code == 404
    assert inspector.get(f"/photos/{photo.id}/secret").status_code == 404
