"""The check-in's distance for every visit kind (issue 20): beyond the allowed distance (less the
phone's accuracy) the inspector says why; no position is allowed with a reason; both are flagged
for the managers (a page per inspector, its exports, the visit page and the visit report)."""
from __future__ import annotations

import math

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests.reports.test_exports import open_export
from tests.reports.test_reports import text_of
from tests.visit_helpers import release_mini_visit

OUTLET = (30.26, 120.13)  # every test outlet's place


def north(meters: float) -> tuple[float, float]:
    """A point this many metres north of the outlet."""
    return OUTLET[0] + meters / 111_195.0, OUTLET[1]


@pytest.mark.parametrize("meters, accuracy, far", [
    (250, 10, False), (302, 5, False), (330, 5, True), (450, 200, False), (800, 20, True),
    (2000, 5000, True),  # an accuracy of 5 km is allowed only up to the radius: still far
    (800, None, True)])
def test_the_one_rule(app, org_tree, meters, accuracy, far):
    with app.app_context():
        place = visits.checkin_place(org_tree["xihu1"], *north(meters), accuracy)
    assert place.flag == ("far" if far else "") and math.isclose(place.distance, meters, rel_tol=0.01)


def test_far_needs_a_reason_and_is_flagged(app, db, org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
        db.commit()
        with pytest.raises(visits.FarCheckin, match="约 800 米"):
            visits.check_in(db, actor=people["inspector"], visit=visit, lat=north(800)[0], lon=OUTLET[1], accuracy=20)
        db.rollback()
        visit = db.get(Visit, visit.id)
        assert visit.status == VisitStatus.scheduled and visit.checkin_at is None
        visits.check_in(db, actor=people["inspector"], visit=visit, lat=north(800)[0], lon=OUTLET[1], accuracy=20,
                        far_reason="网点临时搬到对面商场")
    db.commit()
    assert (visit.checkin_flag, round(visit.checkin_distance_m), visit.checkin_far_reason) == \
        ("far", 800, "网点临时搬到对面商场")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "visit.checked_in",
                                             AuditEvent.object_id == visit.id)).one()
    assert event.after["flag"] == "far" and event.after["far_reason"] == "网点临时搬到对面商场"


def test_near_and_no_location(app, db, org_tree, people):
    with app.test_request_context():
        near = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                        checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=near, lat=north(100)[0], lon=OUTLET[1], accuracy=15,
                        far_reason="不需要")
        indoors = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu2"],
                                           checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=indoors, lat=None, lon=None, accuracy=None,
                        no_location_reason="室内没有信号")
    assert (near.checkin_flag, near.checkin_far_reason) == ("", "")
    assert (indoors.checkin_flag, indoors.checkin_distance_m) == ("no_location", None)


def test_offline_check_in_carries_its_reason(app, db, client_as, org_tree, people, clock_at):
    clock_at("2026-03-02T01:00:00+00:00")
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    phone = client_as(people["inspector"])
    url = f"/api/visits/{visit.id}/checkin"
    lat = north(800)[0]
    sent = {"lat": lat, "lon": OUTLET[1], "accuracy": 20, "at": "2026-03-02T00:40:00+00:00", "client_id": "c-1"}
    refused = phone.post_json(url, sent)
    assert refused.status_code == 400 and "800 米" in refused.get_json()["error"]
    ok = phone.post_json(url, {**sent, "far_reason": "停车在街对面"})
    assert ok.status_code == 200
    db.expire_all()
    stored = db.get(Visit, visit.id)
    assert (stored.checkin_flag, stored.checkin_far_reason) == ("far", "停车在街对面")
    assert stored.checkin_at.isoformat().startswith("2026-03-02T00:40")


@pytest.fixture
def flagged(app, db, org_tree, people, create_user):
    """A far check-in released at the chief's outlet, one without a location in 宁波, one at the outlet."""
    far = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠")})
    nb_inspector = create_user("inspector", unit=org_tree["nb"], username="inspector.nb")
    with app.test_request_context():
        far = db.get(Visit, far.id)
        far.checkin_lat, far.checkin_distance_m, far.checkin_flag = north(800)[0], 800.0, "far"
        far.checkin_far_reason = "网点临时搬迁"
        db.add(far)
        other = visits.start_adhoc_visit(db, actor=nb_inspector, outlet=org_tree["haishu1"], checklist_code="open_inspection")
        visits.check_in(db, actor=nb_inspector, visit=other, lat=None, lon=None, accuracy=None,
                        no_location_reason="手机拒绝定位")
    db.commit()
    return far, other


def test_managers_see_flagged_check_ins_per_inspector(db, client_as, people, flagged):
    far, other = flagged
    page = client_as(people["manager"]).get("/visits/checkin-flags")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "网点临时搬迁" in text and "手机拒绝定位" not in text  # 杭州 only
    assert people["inspector"].display_name in text
    director = client_as(people["director"]).get("/visits/checkin-flags").get_data(as_text=True)
    assert "网点临时搬迁" in director and "手机拒绝定位" in director
    only_nb = client_as(people["director"]).get(f"/visits/checkin-flags?person={other.assignee_id}").get_data(as_text=True)
    assert "手机拒绝定位" in only_nb and "网点临时搬迁" not in only_nb
    for role in ("chief", "inspector", "shopper", "handler"):
        assert client_as(people[role]).get("/visits/checkin-flags").status_code == 403, role
        assert client_as(people[role]).get("/visits/checkin-flags/export.csv").status_code == 403, role
    bad = client_as(people["manager"]).get("/visits/checkin-flags?from=2026-99-99")
    assert bad.status_code == 200 and "不是有效日期" in bad.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_flagged_check_ins_export(db, client_as, people, flagged, fmt):
    header, *rows = open_export(client_as(people["manager"]).get(f"/visits/checkin-flags/export.{fmt}"), fmt)
    assert len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert row["原因"] == "网点临时搬迁" and str(row["距离(米)"]).startswith("800")
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "export.checkin_flags")).first()


def test_visit_page_and_report_flag_it_for_the_managing_side(client_as, people, flagged):
    far, _other = flagged
    detail = client_as(people["manager"]).get(f"/visits/{far.id}").get_data(as_text=True)
    assert "data-checkin-flag" in detail and "网点临时搬迁" in detail
    chief_view = client_as(people["chief"]).get(f"/visits/{far.id}").get_data(as_text=True)
    assert "data-checkin-flag" not in chief_view and "网点临时搬迁" not in chief_view
    report = text_of(client_as(people["manager"]).get(f"/visits/{far.id}/pdf").data)
    assert "距网点约 800 米" in report and "网点临时搬迁" in report
    chief_report = text_of(client_as(people["chief"]).get(f"/visits/{far.id}/pdf").data)
    assert "网点临时搬迁" not in chief_report


def test_check_in_form_asks_why_and_refuses_others(app, db, client_as, org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    url = f"/visits/{visit.id}/checkin"
    form = {"lat": north(800)[0], "lon": OUTLET[1], "accuracy": 20}
    inspector = client_as(people["inspector"])
    refused = inspector.post(url, form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "800 米" in text and "<div data-geo-far>" in text  # shown without script
    db.expire_all()
    assert db.get(Visit, visit.id).checkin_at is None
    for role in ("other_manager", "chief", "shopper"):
        assert client_as(people[role]).post(url, {**form, "far_reason": "替他签到"}).status_code in (403, 404), role
    assert inspector.post(url, {**form, "far_reason": "网点搬迁"}, csrf=False).status_code == 400
    done = inspector.post(url, {**form, "far_reason": "网点搬迁"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/visits/{visit.id}/fill")
    db.expire_all()
    assert db.get(Visit, visit.id).checkin_far_reason == "网点搬迁"
