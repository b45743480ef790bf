"""延期申请 (issue 20): a branch chief asks for a later deadline before it passes; the inspection
side approves it with a date or refuses it; overdue counts from the approved date everywhere."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.notifications.models import Notification
from inspect_app.rectifications import extensions, queries, services, stats
from inspect_app.rectifications.models import (
    ExtensionRequest,
    ExtensionStatus,
    LineStats,
    RectificationEvent,
    RectificationLine,
    RectificationNotice,
)
from inspect_app.reports import bulletins
from tests.browser_helpers import photo_file
from tests.visit_helpers import release_mini_visit

# Monday 2 March 2026, 09:00 in Shanghai (01:00 UTC)
MONDAY = "2026-03-02T01:00:00+00:00"


@pytest.fixture
def line(app, db, org_tree, people, clock_at):
    clock_at(MONDAY)
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=1, note="倚靠柜台")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    found = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    assert found.deadline_date > dt.date(2026, 3, 2)
    return found


def _ask(app, db, actor, line, day, reason="配件已订购,供货需两周"):
    with app.test_request_context():
        return extensions.request_extension(db, actor=actor, line=line, new_deadline=day, reason=reason)


def _end_of(day: dt.date) -> dt.datetime:
    return clock.day_end(day, "Asia/Shanghai")


def test_approved_extension_moves_overdue_everywhere(app, db, org_tree, people, line, clock_at):
    old = line.deadline_date
    asked = old + dt.timedelta(days=5)
    request = _ask(app, db, people["chief"], line, asked)
    db.commit()
    assert request.status == ExtensionStatus.open and request.deadline_before == old
    with app.test_request_context():
        extensions.decide_extension(db, actor=people["inspector"], request=request, approve=True,
                                    new_deadline=old + dt.timedelta(days=4), reason="同意")
    db.commit()
    db.refresh(line)
    assert (line.deadline_date, line.extensions) == (old + dt.timedelta(days=4), 1)
    assert line.deadline_at == _end_of(old + dt.timedelta(days=4))
    # the day after the old deadline: not overdue on the line, the board, the reminders, the bulletin
    clock_at(_end_of(old) + dt.timedelta(hours=10))
    now = clock.now()
    assert not services.is_overdue(line, now)
    rows, total = queries.board(db, people["manager"], node=None, filters=queries.BoardFilters(), now=now)
    assert total.overdue == 0 and total.extended == 1
    with app.test_request_context():
        assert services.sweep(db, now=now)["escalated"] == 0
        db.commit()  # as the worker's sweep does
        count, _late = bulletins.overdue_at(db, people["manager"], node=org_tree["hz"], at=now)
        assert count == 0
        built = bulletins.build(db, people["manager"], node=org_tree["hz"],
                                period=bulletins.Period.around("month", dt.date(2026, 3, 2)), fresh=True)
        assert built.extensions_count == 1
    # past the approved day it is overdue again, counted from that day
    clock_at(_end_of(old + dt.timedelta(days=4)) + dt.timedelta(days=1, hours=1))
    assert services.is_overdue(line, clock.now()) and services.days_left(line, db.get(type(org_tree["xihu1"]), line.outlet_id)) == -2
    # the running totals count it, and a rebuild from the lines gives the same
    assert sum(s.extended for s in db.exec(select(LineStats)).all()) == 1
    stats.rebuild(db)
    assert sum(s.extended for s in db.exec(select(LineStats)).all()) == 1
    actions = [e.action for e in db.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)
                                         .order_by(RectificationEvent.id))]
    assert actions[-2:] == ["extension_requested", "extension_approved"]
    audited = {a.action for a in db.exec(select(AuditEvent).where(AuditEvent.object_id == line.id))}
    assert {"line.extension_requested", "line.extension_approved"} <= audited
    told = db.exec(select(Notification).where(Notification.kind == "extension_approved")).all()
    assert {n.user_id for n in told} == {people["chief"].id}


def test_without_the_extension_the_line_is_overdue_the_day_after(db, people, line, clock_at):
    clock_at(_end_of(line.deadline_date) + dt.timedelta(hours=10))
    assert services.is_overdue(line, clock.now())
    _rows, total = queries.board(db, people["manager"], node=None, filters=queries.BoardFilters())
    assert total.overdue == 1 and total.extended == 0


def test_refusals_write_nothing(app, db, org_tree, people, line, clock_at):
    today = dt.date(2026, 3, 2)
    limit = today + dt.timedelta(days=app.config["EXTENSION_MAX_DAYS"])
    cases = [(today - dt.timedelta(days=1), "不能早于今天"), (limit + dt.timedelta(days=1), "最多至今天起"),
             (line.deadline_date, "须晚于当前期限"), (None, "请选择")]
    for day, message in cases:
        with pytest.raises(DomainError, match=message):
            _ask(app, db, people["chief"], line, day)
        db.rollback()
    with pytest.raises(DomainError, match="请填写"):
        _ask(app, db, people["chief"], line, limit, reason="  ")
    db.rollback()
    with pytest.raises(PermissionDenied):
        _ask(app, db, people["inspector"], line, limit)
    db.rollback()
    with pytest.raises(PermissionDenied):
        _ask(app, db, people["other_chief"], line, limit)
    db.rollback()
    assert db.exec(select(ExtensionRequest)).all() == []
    first = _ask(app, db, people["chief"], line, limit)
    db.commit()
    with pytest.raises(DomainError, match="已有一份延期申请"):
        _ask(app, db, people["chief"], line, limit - dt.timedelta(days=1))
    db.rollback()
    # the chief cannot decide, nor can the inspection side of another city
    for who in ("chief", "other_manager"):
        with pytest.raises(PermissionDenied), app.test_request_context():
            extensions.decide_extension(db, actor=people[who], request=first, approve=True)
        db.rollback()
    with pytest.raises(DomainError, match="请填写"), app.test_request_context():
        extensions.decide_extension(db, actor=people["inspector"], request=first, approve=False, reason="")
    db.rollback()
    with app.test_request_context():
        extensions.decide_extension(db, actor=people["manager"], request=first, approve=False, reason="期限已足够")
    db.commit()
    db.refresh(line)
    assert first.status == ExtensionStatus.refused and line.extensions == 0
    with pytest.raises(DomainError, match="已审批"), app.test_request_context():
        extensions.decide_extension(db, actor=people["manager"], request=first, approve=True)
    db.rollback()
    # after the deadline: no request
    clock_at(line.deadline_at + dt.timedelta(minutes=1))
    with pytest.raises(DomainError, match="已过"):
        _ask(app, db, people["chief"], line, line.deadline_date + dt.timedelta(days=3))
    db.rollback()
    assert len(db.exec(select(ExtensionRequest)).all()) == 1


def test_none_after_closing(app, db, people, line):
    with app.test_request_context():
        notice = db.get(RectificationNotice, line.notice_id)
        services.acknowledge_notice(db, actor=people["chief"], notice=notice)
        services.stage_line_photo(db, get_storage(), actor=people["chief"], line=line,
                                  data=photo_file()["buffer"], client_id="p1")
        services.answer_line(db, actor=people["chief"], line=line, description="已调整站姿")
        services.verify_line(db, actor=people["inspector"], line=line, accept=True)
    db.commit()
    with pytest.raises(DomainError, match="不能申请延期"):
        _ask(app, db, people["chief"], line, line.deadline_date + dt.timedelta(days=2))
    db.rollback()
    assert db.exec(select(ExtensionRequest)).all() == []
