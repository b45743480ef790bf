"""Rectification rules through the services: every transition, allowed and refused."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.errors import Conflict, DomainError, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.notifications.models import Notification
from inspect_app.org.models import Unit
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import LineStatus, RectificationEvent, RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit


def jpeg(color=(0, 150, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def released(ctx, db, org_tree, people):
    """A released 'mini' visit at xihu1 with two failures: A-02 (minor) and B-01 (scale 1 of 4)."""
    from inspect_app.org.models import Window

    inspector = people["inspector"]
    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    visit = visits.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu1"], window=window, checklist_code="mini")
    visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10)
    for code, kw in {"A-01": dict(result="pass"), "A-02": dict(occurrences=2, note="倚靠柜台两次"),
                     "B-01": dict(scale_value=1, note="面无笑容"), "B-02": dict(result="pass"),
                     "B-03": dict(result="pass")}.items():
        visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
    visits.submit_visit(db, actor=inspector, visit=visit, token="r")
    db.commit()
    return visit


def lines_of(db, visit):
    return {line.item_code: line for line in db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id))}


def stage_photo(db, actor, line):
    return rect.stage_line_photo(db, get_storage(), actor=actor, line=line, data=jpeg(), client_id=None)


def test_release_issues_a_numbered_notice(released, db, people, org_tree):
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == released.id)).one()
    assert notice.number.startswith("ZG") and notice.number.endswith(f"{notice.id:05d}")
    lines = lines_of(db, released)
    assert set(lines) == {"A-02", "B-01"}
    a02 = lines["A-02"]
    assert a02.severity == "minor" and "倚靠柜台两次" in a02.problem and a02.requirement == "站姿端正"
    assert a02.responsible_id == people["chief"].id  # the outlet's branch chief by default
    today = rect.local_today(org_tree["xihu1"])
    assert a02.deadline_date == today + dt.timedelta(days=15)
    # the deadline day ends at local midnight after it: 16:00 UTC in Shanghai
    assert a02.deadline_at.hour == 16 and a02.deadline_at.date() == a02.deadline_date
    assert lines["B-01"].deadline_date == today + dt.timedelta(days=15)
    note = db.exec(select(Notification).where(Notification.user_id == people["chief"].id)).one()
    assert note.kind == "notice_issued" and note.link == f"/notices/{notice.id}"


def test_no_failures_no_notice(ctx, db, org_tree, people):
    inspector = people["inspector"]
    from inspect_app.org.models import Window

    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu2"].id)).first()
    visit = visits.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu2"], window=window, checklist_code="mini")
    visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=1)
    for code, kw in {"A-01": dict(result="pass"), "A-02": dict(occurrences=0), "B-01": dict(scale_value=4),
                     "B-02": dict(result="pass"), "B-03": dict(result="na")}.items():
        visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
    visits.submit_visit(db, actor=inspector, visit=visit, token="ok")
    assert not db.exec(select(RectificationNotice)).all()


def test_the_whole_path_and_history(released, db, people):
    chief, inspector = people["chief"], people["inspector"]
    line = lines_of(db, released)["A-02"]
    with pytest.raises(DomainError, match="请先签收"):
        rect.answer_line(db, actor=chief, line=line, description="已整改")
    notice = db.get(RectificationNotice, line.notice_id)
    rect.acknowledge_notice(db, actor=chief, notice=notice)
    with pytest.raises(DomainError, match="已于"):
        rect.acknowledge_notice(db, actor=chief, notice=notice)
    with pytest.raises(DomainError, match="至少上传一张"):
        rect.answer_line(db, actor=chief, line=line, description="已组织培训,站姿规范")
    with pytest.raises(DomainError, match="请填写"):
        rect.answer_line(db, actor=chief, line=line, description="好")
    stage_photo(db, chief, line)
    rect.answer_line(db, actor=chief, line=line, description="已组织培训,站姿规范")
    assert line.status == LineStatus.answered
    with pytest.raises(DomainError, match="不能回复"):
        rect.answer_line(db, actor=chief, line=line, description="再次回复一下")
    rect.verify_line(db, actor=inspector, line=line, accept=False, reason="照片看不清站姿")
    assert line.status == LineStatus.returned
    stage_photo(db, chief, line)
    rect.answer_line(db, actor=chief, line=line, description="重新拍摄,站姿规范")
    rect.verify_line(db, actor=inspector, line=line, accept=True)
    assert line.status == LineStatus.closed and line.closed_at is not None
    with pytest.raises(DomainError, match="不能回复"):
        rect.answer_line(db, actor=chief, line=line, description="已经关闭了吧")
    db.commit()
    history = db.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id).order_by(RectificationEvent.id)).all()
    assert [e.action for e in history] == ["issued", "acknowledged", "answered", "returned", "answered", "verified"]
    from inspect_app.evidence.models import Photo

    answered = [e for e in history if e.action == "answered"]
    for event in answered:
        assert len(db.exec(select(Photo).where(Photo.response_id == event.id)).all()) == 1
    actions = {a.action for a in db.exec(select(AuditEvent).where(AuditEvent.object_type == "rectification_line"))}
    assert {"line.answered", "line.returned", "line.verified"} <= actions


def test_refusals(released, db, people):
    chief, other_chief, inspector = people["chief"], people["other_chief"], people["inspector"]
    line = lines_of(db, released)["A-02"]
    notice = db.get(RectificationNotice, line.notice_id)
    with pytest.raises(PermissionDenied):
        rect.acknowledge_notice(db, actor=other_chief, notice=notice)  # another outlet's chief
    with pytest.raises(PermissionDenied):
        rect.acknowledge_notice(db, actor=inspector, notice=notice)
    rect.acknowledge_notice(db, actor=chief, notice=notice)
    with pytest.raises(PermissionDenied):
        rect.answer_line(db, actor=other_chief, line=line, description="不是我的网点")
    with pytest.raises(PermissionDenied):
        rect.change_deadline(db, actor=chief, line=line, new_deadline=line.deadline_date + dt.timedelta(days=3),
                             reason="想多要几天")
    with pytest.raises(DomainError, match="只有已回复"):
        rect.verify_line(db, actor=inspector, line=line, accept=True)
    with pytest.raises(PermissionDenied):
        rect.verify_line(db, actor=people["other_manager"], line=line, accept=True)
    with pytest.raises(DomainError, match="不能早于今天"):
        rect.change_deadline(db, actor=inspector, line=line, new_deadline=dt.date(2020, 1, 1), reason="测试过去的日期")
    with pytest.raises(DomainError, match="退回理由"):
        stage_photo(db, chief, line)
        rect.answer_line(db, actor=chief, line=line, description="已经整改完毕")
        rect.verify_line(db, actor=inspector, line=line, accept=False, reason="")


def test_verifying_ones_own_answer_is_refused(released, db, people, create_user, org_tree):
    # an admin who is also set as branch chief cannot exist; a manager answering is impossible too —
    # so check the rule directly: the answerer id equals the verifier's
    chief, inspector = people["chief"], people["inspector"]
    line = lines_of(db, released)["B-01"]
    rect.acknowledge_notice(db, actor=chief, notice=db.get(RectificationNotice, line.notice_id))
    stage_photo(db, chief, line)
    rect.answer_line(db, actor=chief, line=line, description="已培训微笑服务")
    line.answered_by_id = inspector.id
    with pytest.raises(PermissionDenied, match="不能验证自己"):
        rect.verify_line(db, actor=inspector, line=line, accept=True)


def test_dispute_upheld_and_withdrawn_rescores(released, db, people):
    chief, reviewer = people["chief"], people["reviewer"]
    lines = lines_of(db, released)
    score_before = released.score
    rect.dispute_line(db, actor=chief, line=lines["A-02"], reason="当时员工在搬运包裹,并非倚靠")
    rect.dispute_line(db, actor=chief, line=lines["B-01"], reason="员工一直面带微笑,有监控为证")
    assert lines["A-02"].status == LineStatus.disputed
    with pytest.raises(DomainError, match="异议"):
        rect.dispute_line(db, actor=chief, line=lines["A-02"], reason="重复提出异议")
    new_day = rect.local_today(_outlet(db, released)) + dt.timedelta(days=2)
    rect.decide_dispute(db, actor=reviewer, line=lines["A-02"], uphold=True, reason="照片显示确在倚靠", new_deadline=new_day)
    assert lines["A-02"].status == LineStatus.acknowledged and lines["A-02"].deadline_date == new_day
    rect.decide_dispute(db, actor=reviewer, line=lines["B-01"], uphold=False, reason="监控核实,撤销")
    db.commit()
    assert lines["B-01"].status == LineStatus.withdrawn
    visit = db.get(Visit, released.id)
    assert visit.score > score_before  # B-01 now counts as passed
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "visit.rescored")).one()
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "answer.corrected")).one()


def _outlet(db, visit):
    from inspect_app.org.models import Outlet

    return db.get(Outlet, visit.outlet_id)


def test_two_reviewers_at_once_one_wins(released, db, people, app):
    """Two reviewers open the same answered line; each acts with the version their page showed.
    The first wins; the second is told the line changed, and nothing of theirs is written."""
    from sqlmodel import Session

    from inspect_app.db import writing

    chief = people["chief"]
    line = lines_of(db, released)["A-02"]
    rect.acknowledge_notice(db, actor=chief, notice=db.get(RectificationNotice, line.notice_id))
    stage_photo(db, chief, line)
    rect.answer_line(db, actor=chief, line=line, description="已整改完毕")
    db.commit()
    seen = db.get(RectificationLine, line.id).row_version  # both pages show this version
    line_id, inspector_id, reviewer_id = line.id, people["inspector"].id, people["reviewer"].id
    db.close()  # the test's own session holds nothing while the two requests run
    engine = app.extensions["db_engine"]
    from inspect_app.auth.models import User

    with writing(), Session(engine) as first:
        rect.verify_line(first, actor=first.get(User, inspector_id), line=first.get(RectificationLine, line_id),
                         accept=True, base_version=seen)
        first.commit()
    with writing(), Session(engine) as second:
        with pytest.raises(Conflict, match="刚被他人处理"):
            rect.verify_line(second, actor=second.get(User, reviewer_id), line=second.get(RectificationLine, line_id),
                             accept=False, reason="不够清楚", base_version=seen)
        second.rollback()
    final = db.get(RectificationLine, line.id)
    assert final.status == LineStatus.closed
    assert [e.action for e in db.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id))][-1] == "verified"


def test_stale_form_version_refused(released, db, people):
    line = lines_of(db, released)["A-02"]
    seen = line.row_version
    rect.change_deadline(db, actor=people["inspector"], line=line, new_deadline=line.deadline_date - dt.timedelta(days=5),
                         reason="问题较简单,缩短期限", base_version=seen)
    with pytest.raises(Conflict):
        rect.change_deadline(db, actor=people["manager"], line=line, new_deadline=line.deadline_date + dt.timedelta(days=1),
                             reason="另一人同时修改", base_version=seen)


def test_overdue_is_derived_and_escalates(released, db, people, org_tree, app):
    line = lines_of(db, released)["A-02"]
    outlet = org_tree["xihu1"]
    assert not rect.is_overdue(line)
    # the first hour after the deadline day: one day overdue, not yet escalated
    just_late = line.deadline_at + dt.timedelta(hours=1)
    assert rect.is_overdue(line, just_late) and rect.days_left(line, outlet, just_late) == -1
    assert rect.escalation_steps(line, outlet, just_late) == 0
    late = line.deadline_at + dt.timedelta(days=2, hours=1)  # the third day overdue
    assert rect.days_left(line, outlet, late) == -3
    assert rect.escalation_steps(line, outlet, late) == 1  # 3 days per level by default
    assert rect.escalation_steps(line, outlet, line.deadline_at + dt.timedelta(days=5, hours=1)) == 2
    # the sweep tells the city's managers after 3 days late, the province's after 6
    sent = rect.sweep(db, now=late)
    db.commit()
    assert sent["escalated"] == 2  # both lines of the notice, to the one city manager
    to_city = db.exec(select(Notification).where(Notification.kind == "escalated")).all()
    assert {n.user_id for n in to_city} == {people["manager"].id}
    assert rect.sweep(db, now=late)["escalated"] == 0  # once only
    rect.sweep(db, now=line.deadline_at + dt.timedelta(days=5, hours=1))
    db.commit()
    assert people["director"].id in {n.user_id for n in db.exec(select(Notification).where(Notification.kind == "escalated"))}
    # a closed line is never overdue
    line.status = LineStatus.closed
    assert not rect.is_overdue(line, late)


def test_due_soon_reminder(released, db, people):
    line = lines_of(db, released)["A-02"]
    almost = line.deadline_at - dt.timedelta(hours=10)
    assert rect.sweep(db, now=almost)["due_soon"] == 2  # both lines share the deadline
    assert rect.sweep(db, now=almost)["due_soon"] == 0


def test_deadlines_count_in_the_outlet_zone(ctx, db, create_unit, create_outlet):
    unit = create_unit("乌鲁木齐", code="6501")
    outlet = create_outlet(unit, code="650101001")
    outlet.timezone = "Asia/Urumqi"
    issued = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.timezone.utc)  # 23:30 in Urumqi, 01:30 next day in Shanghai
    assert rect.default_deadline("urgent", issued, outlet) == dt.date(2026, 3, 2)
    end = rect.deadline_instant(dt.date(2026, 3, 2), outlet.timezone)
    assert end == dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.timezone.utc)


def test_the_months_sums_follow_every_transition_and_a_rebuild(released, db, people):
    """``line_stats_month`` (what the board reads without a kind or severity filter) is
    ``line_stats`` summed over kinds and severities, and ``line_stats_below`` (what a large scope's
    board reads) those summed over the units below each unit, after each transition and after a
    rebuild."""
    from inspect_app.rectifications import stats
    from inspect_app.rectifications.models import LineStats, LineStatsBelow, LineStatsMonth

    def sums():
        detailed: dict = {}
        for row in db.exec(select(LineStats)).all():
            acc = detailed.setdefault((row.unit_id, row.month), dict.fromkeys(stats.COUNTERS, 0))
            for name in stats.COUNTERS:
                acc[name] += getattr(row, name)
        months = {(r.unit_id, r.month): {n: getattr(r, n) for n in stats.COUNTERS}
                  for r in db.exec(select(LineStatsMonth)).all()}
        assert months == detailed
        paths = {u.id: u.path for u in db.exec(select(Unit)).all()}
        below: dict = {}
        for (unit_id, month), figures in months.items():
            for above_id, path in paths.items():
                if paths[unit_id].startswith(path) and above_id != unit_id:
                    acc = below.setdefault((above_id, month), dict.fromkeys(stats.COUNTERS, 0))
                    for name in stats.COUNTERS:
                        acc[name] += figures[name]
        kept = {(r.unit_id, r.month): {n: getattr(r, n) for n in stats.COUNTERS}
                for r in db.exec(select(LineStatsBelow)).all()}
        assert below and kept == below
        return months

    chief, inspector = people["chief"], people["inspector"]
    lines = lines_of(db, released)
    assert sum(m["issued"] for m in sums().values()) == len(lines)
    rect.acknowledge_notice(db, actor=chief, notice=db.get(RectificationNotice, lines["A-02"].notice_id))
    stage_photo(db, chief, lines["A-02"])
    rect.answer_line(db, actor=chief, line=lines["A-02"], description="已组织培训,站姿规范")
    rect.verify_line(db, actor=inspector, line=lines["A-02"], accept=True)
    db.commit()
    after = sums()
    assert sum(m["closed"] for m in after.values()) == 1 and sum(m["acknowledged"] for m in after.values()) == len(lines)
    stats.rebuild(db)
    db.commit()
    assert sums() == after
