"""延期申请: a branch chief who cannot finish in time asks for a later deadline instead of going
overdue. Asked on one line, before its deadline, with a reason (and a photo if there is one); the
inspection side of the outlet's region approves it with a date (the line's deadline moves there, so
overdue counts from it everywhere: board, reminders, escalation, bulletins, indicators) or refuses
it with a reason. One open request per line (also in the database); none once the line is closed.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.errors import Conflict, DomainError, NotFound
from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo
from inspect_app.notifications.services import notify
from inspect_app.rectifications import services, stats
from inspect_app.rectifications.lifecycle import LINE
from inspect_app.rectifications.models import ExtensionRequest, ExtensionStatus, RectificationLine


def max_days() -> int:
    """How far from today (the outlet's) an extension may reach: ``EXTENSION_MAX_DAYS``."""
    return current_app.config.get("EXTENSION_MAX_DAYS", 30) if has_app_context() else 30


def open_request(session: Session, line: RectificationLine) -> ExtensionRequest | None:
    return session.exec(select(ExtensionRequest).where(ExtensionRequest.line_id == line.id,
                                                       ExtensionRequest.status == ExtensionStatus.open)).first()


def requests_of(session: Session, line: RectificationLine) -> list[ExtensionRequest]:
    return list(session.exec(select(ExtensionRequest).where(ExtensionRequest.line_id == line.id)
                             .order_by(ExtensionRequest.id)).all())


def _check_day(day: dt.date | None, today: dt.date) -> dt.date:
    if day is None:
        raise DomainError(_("Choose the new deadline."))
    if day < today:
        raise DomainError(_("The new deadline cannot be before today (%(today)s at the outlet).", today=today))
    if day > today + dt.timedelta(days=max_days()):
        raise DomainError(_("An extension reaches at most %(n)d days from today (until %(last)s).",
                            n=max_days(), last=today + dt.timedelta(days=max_days())))
    return day


def request_extension(session: Session, *, actor: User, line: RectificationLine, new_deadline: dt.date | None,
                      reason: str, photo: bytes | None = None, storage=None,
                      base_version: int | None = None) -> ExtensionRequest:
    """The outlet asks for ``new_deadline`` before the current deadline has passed; ``photo`` (the
    file's bytes) backs the reason. Every check comes before anything is written."""
    LINE.check(session, actor, line, "request_extension", then=lambda: services._expect_version(line, base_version))
    notice, outlet = services._context(session, line)
    now = clock.now()
    if now >= line.deadline_at:
        raise DomainError(_("The deadline (%(day)s) has passed: an extension is asked for before it.",
                            day=line.deadline_date))
    if open_request(session, line) is not None:
        raise DomainError(_("An extension request for this item is already waiting for a decision."))
    today = services.local_today(outlet, now)
    day = _check_day(new_deadline, today)
    if day <= line.deadline_date:
        raise DomainError(_("Ask for a day after the current deadline (%(day)s).", day=line.deadline_date))
    reason = services._text(reason, _("why more time is needed"))
    stored = None
    if photo:
        stored, _created = evidence.store_photo(
            session, storage, actor=actor, outlet=outlet, data=photo, client_id=None, item_code=line.item_code,
            purpose="extension", line_id=line.id,
            same_place=lambda query: query.where(Photo.line_id == line.id, Photo.purpose == "extension",
                                                 Photo.uploaded_by_id == actor.id))
    request = ExtensionRequest(line_id=line.id, requested_by_id=actor.id, requested_at=now,
                               deadline_before=line.deadline_date, requested_deadline=day, reason=reason,
                               photo_id=stored.id if stored else None, status=ExtensionStatus.open)
    session.add(request)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another device asked a moment ago
        raise Conflict(_("An extension request for this item is already waiting for a decision.")) from None
    services._event(session, line, actor, "extension_requested",
                    _("Asked until %(day)s: %(reason)s", day=day, reason=reason)[:services.MAX_TEXT])
    record(session, actor=actor, action="line.extension_requested", obj=line,
           after={"request_id": request.id, "deadline": line.deadline_date, "requested": day,
                  "photo_id": request.photo_id}, note=reason[:200])
    notify(session, user_ids=services._inspection_side(session, line), kind="extension_requested",
           params=services._params(notice, outlet, line, deadline=day.isoformat(), reason=reason[:100]),
           link=services._line_link(line))
    return request


def decide_extension(session: Session, *, actor: User, request: ExtensionRequest, approve: bool,
                     new_deadline: dt.date | None = None, reason: str = "") -> ExtensionRequest:
    """Approve (with the requested day or another one) or refuse (with a reason) an open request."""
    line = session.get(RectificationLine, request.line_id)
    LINE.check(session, actor, line, "decide_extension")
    if request.status != ExtensionStatus.open:
        raise DomainError(_("This extension request was already decided."))
    notice, outlet = services._context(session, line)
    now = clock.now()
    before = line.deadline_date
    if approve:
        day = _check_day(new_deadline or request.requested_deadline, services.local_today(outlet, now))
        if day <= before:
            raise DomainError(_("Approve a day after the current deadline (%(day)s).", day=before))
        reason = (reason or "").strip()[:services.MAX_TEXT]
        line.deadline_date, line.deadline_at = day, services.deadline_instant(day, outlet.timezone)
        line.extensions += 1
        request.status, request.approved_deadline = ExtensionStatus.approved, day
    else:
        reason = services._text(reason, _("why the extension is refused"))
        request.status = ExtensionStatus.refused
    request.decided_by_id, request.decided_at, request.decision_reason = actor.id, now, reason
    session.add(request)
    session.add(line)
    services._flush(session)
    if approve:
        # the event carries the deadline before and after: bulletins read overdue "as it was" from it
        services._event(session, line, actor, "extension_approved", reason, deadline_before=before,
                        deadline_after=line.deadline_date)
        stats.bump(session, line, outlet, extended=1)
    else:
        services._event(session, line, actor, "extension_refused", reason)
    record(session, actor=actor, action="line.extension_approved" if approve else "line.extension_refused", obj=line,
           before={"deadline": before}, after={"deadline": line.deadline_date, "request_id": request.id},
           note=reason[:200])
    notify(session, user_ids=[request.requested_by_id, line.responsible_id],
           kind="extension_approved" if approve else "extension_refused",
           params=services._params(notice, outlet, line, deadline=line.deadline_date.isoformat(), reason=reason[:100]),
           link=services._line_link(line))
    return request


def load_request_for(session: Session, user: User, request_id: int) -> ExtensionRequest:
    request = session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound(_("This page does not exist, or you cannot see it."))
    services.load_line_for(session, user, request.line_id)  # NotFound unless the user sees the line
    return request
