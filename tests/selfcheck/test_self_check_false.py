"""自查不实: an inspection failing an item that the outlet's own self-inspection passed at most
SELF_CHECK_WINDOW_DAYS before flags the line (and with it the visit, the notice and its PDF), and
the managers above hear of it. Items match only through the self checklist's ``same_as``."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app.notifications.models import Notification
from inspect_app.rectifications import selfcheck
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine
from inspect_app.visits import services as visits
from tests.secret_helpers import secret_visit
from tests.selfcheck.helpers import DEC_1, PINNED, fill, inspect, self_inspect
from tests.visit_helpers import checked_in_visit


def lines_of(db, visit):
    return {line.item_code: line for line in db.exec(select(RectificationLine)
                                                        .where(RectificationLine.visit_id == visit.id)).all()}


@pytest.mark.parametrize("days_later, flagged", [(0, True), (3, True), (7, True), (8, False), (12, False)])
def test_flagged_within_the_window_and_not_outside_it(app, db, clock_at, people, org_tree, days_later, flagged):
    clock_at(PINNED)  # the self-inspection: 00:30 on 1 December at the outlet
    own = self_inspect(app, db, people["chief"], org_tree["xihu1"])
    clock_at(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.timezone.utc) + dt.timedelta(days=days_later))  # 07:00 local
    found = inspect(app, db, people["inspector"], org_tree["xihu1"],
                    {"ENV-02": "营业时间牌缺失", "OPS-05": "未介绍资费"})
    lines = lines_of(db, found)
    if flagged:
        assert (lines["ENV-02"].self_check_visit_id, lines["ENV-02"].self_check_day) == (own.id, DEC_1)
    else:
        assert lines["ENV-02"].self_check_visit_id is None and lines["ENV-02"].self_check_day is None
    assert lines["OPS-05"].self_check_visit_id is None  # the daily opening check has no such item


def test_the_visit_the_notice_and_the_managers_above_know(app, db, client_as, clock_at, people, org_tree):
    clock_at(PINNED)
    self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-04": "叫号机卡纸"})  # failed there: not passed
    clock_at("2026-12-02T02:00:00Z")
    found = inspect(app, db, people["inspector"], org_tree["xihu1"],
                    {"ENV-02": "营业时间牌缺失", "APP-02": "两名营业员未佩戴工号牌"}, checklist="open_inspection")
    lines = lines_of(db, found)
    assert {c for c, line in lines.items() if line.self_check_visit_id} == {"ENV-02", "APP-02"}
    # the manager of 杭州市 (the unit above 西湖区) hears once
    note = db.exec(select(Notification).where(Notification.kind == "self_check_false")).one()
    assert note.user_id == people["manager"].id and "APP-02, ENV-02" in note.params["items"]
    for who in ("manager", "chief", "inspector"):
        page = client_as(people[who]).get(f"/visits/{found.id}").get_data(as_text=True)
        assert "自查不实" in page and "2026-12-01" in page, who
    notice_id = lines["ENV-02"].notice_id
    page = client_as(people["chief"]).get(f"/notices/{notice_id}").get_data(as_text=True)
    assert page.count("自查不实") >= 2
    assert "自查不实" in client_as(people["chief"]).get(f"/lines/{lines['ENV-02'].id}").get_data(as_text=True)
    pdf = client_as(people["manager"]).get(f"/notices/{notice_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_a_self_inspection_after_the_inspection_saw_the_outlet_does_not_count(app, db, clock_at, people, org_tree):
    clock_at("2026-12-01T01:00:00Z")  # 09:00 local
    started = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    clock_at("2026-12-01T02:00:00Z")
    self_inspect(app, db, people["chief"], org_tree["xihu1"])  # the chief checks after the inspector arrived
    clock_at("2026-12-01T03:00:00Z")
    with app.test_request_context():
        fill(db, people["inspector"], started, {"ENV-02": "营业时间牌缺失"})
        visits.submit_visit(db, actor=people["inspector"], visit=started, token="late")
    db.commit()
    assert lines_of(db, started)["ENV-02"].self_check_visit_id is None


def test_a_secret_visit_flags_on_release_only(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    own = self_inspect(app, db, people["chief"], org_tree["xihu1"])  # OPN-09 工装胸牌 passed
    clock_at("2026-12-02T02:00:00Z")
    visit, _none = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                outlet=org_tree["xihu1"], submit=False, fail_one=False)
    with app.test_request_context():
        visits.save_answer(db, actor=people["shopper"], visit=visit, item_code="STF-02", result="fail",
                           note="窗口营业员未佩戴工号牌")
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="secret-stf")
    db.commit()
    assert not db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).all()  # in review
    assert selfcheck.false_by_outlet(db, since=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc),
                                     until=dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)) == {}
    clock_at("2026-12-04T02:00:00Z")  # released two days later: the shopper's day is what counts
    with app.test_request_context():
        visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    assert lines_of(db, visit)["STF-02"].self_check_visit_id == own.id


def test_counted_per_outlet_and_withdrawn_findings_fall(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    self_inspect(app, db, people["chief"], org_tree["xihu1"])
    clock_at("2026-12-02T02:00:00Z")
    found = inspect(app, db, people["inspector"], org_tree["xihu1"], {"ENV-02": "缺失", "HAL-01": "地面有纸屑"})
    since, until = dt.datetime(2026, 11, 30, 16, tzinfo=dt.timezone.utc), dt.datetime(2026, 12, 31, 16, tzinfo=dt.timezone.utc)
    assert selfcheck.false_by_outlet(db, since=since, until=until) == {org_tree["xihu1"].id: 2}
    line = lines_of(db, found)["HAL-01"]
    with app.test_request_context():
        rect.dispute_line(db, actor=people["chief"], line=line, reason="检查时正在清扫，并非未清扫")
        rect.decide_dispute(db, actor=people["manager"], line=line, uphold=False, reason="录像证实正在清扫")
    db.commit()
    assert selfcheck.false_by_outlet(db, since=since, until=until) == {org_tree["xihu1"].id: 1}
