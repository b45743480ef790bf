"""Extension requests and unacknowledged notices through the pages, role by role (issue 20)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.evidence.models import Photo
from inspect_app.notifications.models import Notification
from inspect_app.rectifications import services
from inspect_app.rectifications.models import ExtensionRequest, ExtensionStatus, RectificationLine, RectificationNotice
from tests.browser_helpers import photo_file
from tests.visit_helpers import release_mini_visit

MONDAY = "2026-03-02T01:00:00+00:00"  # 09:00 in Shanghai


@pytest.fixture
def line(app, db, org_tree, people, clock_at):
    clock_at(MONDAY)
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    return db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()


def _form(line, day, reason="配件到货需要时间", **extra):
    return {"new_deadline": day.isoformat(), "reason": reason, "version": line.row_version, **extra}


def test_chief_asks_inspector_decides_and_the_line_shows_the_history(db, client_as, people, line):
    asked = line.deadline_date + dt.timedelta(days=6)
    chief = client_as(people["chief"])
    page = chief.get(f"/lines/{line.id}").get_data(as_text=True)
    assert "申请延期" in page and "data-extension-ask" in page
    sent = chief.post(f"/lines/{line.id}/extension",
                      {**_form(line, asked), "file": (io.BytesIO(photo_file()["buffer"]), "note.jpg")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert sent.status_code == 200 and "延期申请已提交" in sent.get_data(as_text=True)
    request = db.exec(select(ExtensionRequest).where(ExtensionRequest.line_id == line.id)).one()
    photo = db.get(Photo, request.photo_id)
    assert photo.purpose == "extension" and photo.line_id == line.id
    # the after-photo list of the answer form does not take the extension's photo
    with client_as(people["chief"]).application.test_request_context():
        assert services.staged_photos(db, actor=people["chief"], line=line) == []
    inspector = client_as(people["inspector"])
    shown = inspector.get(f"/lines/{line.id}").get_data(as_text=True)
    assert "data-extension-decide" in shown and "配件到货需要时间" in shown
    assert inspector.get(f"/photos/{photo.id}/thumb").status_code == 200  # the decider sees the evidence
    assert client_as(people["other_chief"]).get(f"/photos/{photo.id}/thumb").status_code == 404
    # a second request while this one is open is refused with a message
    again = chief.post(f"/lines/{line.id}/extension", _form(line, asked), follow_redirects=True)
    assert "已有一份延期申请" in again.get_data(as_text=True)
    # the chief cannot decide; a manager of another city gets nothing at all
    refused = chief.post(f"/extensions/{request.id}/decide", {"decision": "approve"}, follow_redirects=True)
    assert "检查方" in refused.get_data(as_text=True)
    assert client_as(people["other_manager"]).post(f"/extensions/{request.id}/decide",
                                                   {"decision": "approve"}).status_code == 404
    assert client_as(people["other_chief"]).post(f"/lines/{line.id}/extension", _form(line, asked)).status_code == 404
    db.expire_all()
    assert db.get(ExtensionRequest, request.id).status == ExtensionStatus.open
    done = inspector.post(f"/extensions/{request.id}/decide", {"decision": "approve", "reason": "同意"},
                          follow_redirects=True)
    assert "已批准延期" in done.get_data(as_text=True)
    db.expire_all()
    assert db.get(RectificationLine, line.id).deadline_date == asked
    history = chief.get(f"/lines/{line.id}").get_data(as_text=True)
    assert "data-extension-history" in history and f"批准延期至 {asked}" in history
    assert db.exec(select(Notification).where(Notification.kind == "extension_requested",
                                              Notification.user_id == people["inspector"].id)).first()


def test_bad_dates_are_refused_through_the_form(app, db, client_as, people, line):
    chief = client_as(people["chief"])
    too_far = clock.today("Asia/Shanghai") + dt.timedelta(days=app.config["EXTENSION_MAX_DAYS"] + 1)
    for day, message in [(too_far, "最多至今天起"), (dt.date(2026, 3, 1), "不能早于今天")]:
        page = chief.post(f"/lines/{line.id}/extension", _form(line, day), follow_redirects=True)
        assert message in page.get_data(as_text=True)
    bad = chief.post(f"/lines/{line.id}/extension", {"new_deadline": "2026-13-45", "reason": "x" * 10,
                                                     "version": line.row_version}, follow_redirects=True)
    assert bad.status_code == 200
    no_csrf = chief.post(f"/lines/{line.id}/extension", _form(line, line.deadline_date + dt.timedelta(days=1)),
                         csrf=False)
    assert no_csrf.status_code in (400, 302)
    assert db.exec(select(ExtensionRequest)).all() == []
    assert db.exec(select(Photo).where(Photo.purpose == "extension")).all() == []


def test_unacknowledged_notice_reminds_then_climbs(app, db, client_as, org_tree, people, clock_at):
    # issued on Friday 6 March 10:00 in Shanghai: two working days → due by Tuesday 10 March
    clock_at("2026-03-06T02:00:00+00:00")
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    outlet = db.get(type(org_tree["xihu1"]), notice.outlet_id)
    assert services.ack_due_day(notice, outlet) == dt.date(2026, 3, 10)

    def sweep(at: str) -> dict:
        clock_at(at)
        with app.test_request_context():
            sent = services.sweep(db)
        db.commit()
        return sent

    assert sweep("2026-03-10T15:30:00+00:00")["unacknowledged"] == 0   # Tue 23:30 local: not late yet
    first = sweep("2026-03-10T16:30:00+00:00")                          # Wed 00:30 local
    assert (first["unacknowledged"], first["ack_escalated"]) == (1, 0)
    assert sweep("2026-03-10T18:00:00+00:00")["unacknowledged"] == 0   # once
    reminded = db.exec(select(Notification).where(Notification.kind == "notice_unacknowledged")).all()
    assert [n.user_id for n in reminded] == [people["chief"].id]
    assert "data-unacknowledged" not in client_as(people["manager"]).get("/board").get_data(as_text=True)
    assert sweep("2026-03-11T16:30:00+00:00")["ack_escalated"] == 0    # Thu 12: 2 days late
    climbed = sweep("2026-03-12T16:30:00+00:00")                        # Fri 13: 3 days late → the city
    assert climbed["ack_escalated"] == 1
    escalated = db.exec(select(Notification).where(Notification.kind == "notice_escalated")).all()
    assert [n.user_id for n in escalated] == [people["manager"].id]
    manager = client_as(people["manager"])  # signed in now (the clock jumped past the idle limit)
    board = manager.get("/board").get_data(as_text=True)
    assert "data-unacknowledged" in board and notice.number in board
    assert "data-unacknowledged" not in client_as(people["other_manager"]).get("/board").get_data(as_text=True)
    client_as(people["chief"]).post(f"/notices/{notice.id}/acknowledge")
    assert "data-unacknowledged" not in manager.get("/board").get_data(as_text=True)
    later = sweep("2026-03-20T16:30:00+00:00")  # 10 days late had it stayed unacknowledged: two levels up
    assert (later["unacknowledged"], later["ack_escalated"]) == (0, 0)
