"""Rectification rules. Every state change checks who may do it and in which state, records an
event in the line's history and an audit event, and tells the people who must act next.

Line life: issued → acknowledged (签收, per notice) → answered (description + after-photos) →
closed (verified) or returned (again); or disputed → upheld (back to the outlet) / withdrawn
(the finding falls and the visit is re-scored).
"""
from __future__ import annotations

import datetime as dt
import functools

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from inspect_app import clock, permissions, signals
from inspect_app.audit.services import record
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.checklists.definition import SEVERITY_DAYS, Checklist
from inspect_app.checklists.scoring import ScoreResult
from inspect_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from inspect_app.evidence import services as evidence
from inspect_app.evidence import signatures
from inspect_app.evidence.models import Photo, Signature
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications import stats
from inspect_app.rectifications.lifecycle import LINE, NOTICE
from inspect_app.rectifications.models import (
    LINE_STATUS_LABELS,
    OUTLET_TURN,
    RectificationEvent,
    RectificationLine,
    RectificationNotice,
)
from inspect_app.visits import photo_checks
from inspect_app.visits import services as visits
from inspect_app.visits.models import SELF_KIND, Answer, Visit

#: Signature purposes of this domain (``evidence.signatures``): the chief's 签收 of a notice, the
#: inspector's on-site 复查 of a line.
ACKNOWLEDGED = "notice_ack"
VERIFIED_ON_SITE = "line_verify"
MIN_TEXT = 4
MAX_TEXT = 2000
MAX_DEADLINE_DAYS = 180


# --- deadlines -----------------------------------------------------------------------------------

def deadline_instant(day: dt.date, zone: str) -> dt.datetime:
    """The moment a deadline day ends in the outlet's zone (local midnight after it), in UTC."""
    return clock.day_end(day, zone)


def deadline_day_of(instant: dt.datetime, zone: str) -> dt.date:
    """The deadline day an instant made by ``deadline_instant`` ends: its local date is the day
    after (the instant is the midnight that closes the day)."""
    return clock.local_date(instant, zone) - dt.timedelta(days=1)


def local_today(outlet: Outlet, now: dt.datetime | None = None) -> dt.date:
    return clock.local_date(now or clock.now(), outlet.timezone)


def default_deadline(severity: str, issued: dt.datetime, outlet: Outlet, *, secret: bool = False) -> dt.date:
    """On the spot: the day of issue; otherwise N calendar days after it, in the outlet's calendar.

    A secret visit's lines are issued on release, days after the shopper left: nobody was there
    to fix anything on the spot, so the outlet gets at least one working day (Monday to Friday)
    after the day of release: released on a Friday, "on the spot" is due on Monday."""
    today = local_today(outlet, issued)
    day = today + dt.timedelta(days=SEVERITY_DAYS[severity])
    if secret:
        working = today + dt.timedelta(days=1)
        while working.weekday() >= 5:
            working += dt.timedelta(days=1)
        day = max(day, working)
    return day


#: Severities from the lightest (most days) to the gravest (on the spot).
SEVERITY_STEPS = sorted(SEVERITY_DAYS, key=lambda severity: -SEVERITY_DAYS[severity])


def raised_severity(severity: str) -> str:
    """One step graver (minor → general → serious → urgent → on the spot); on the spot stays."""
    index = SEVERITY_STEPS.index(severity)
    return SEVERITY_STEPS[min(index + 1, len(SEVERITY_STEPS) - 1)]


def is_overdue(line: RectificationLine, now: dt.datetime | None = None) -> bool:
    return line.status in OUTLET_TURN and (now or clock.now()) >= line.deadline_at


def days_left(line: RectificationLine, outlet: Outlet, now: dt.datetime | None = None) -> int:
    """Whole days until the deadline day (0 = due today, negative = overdue by that many days)."""
    return (line.deadline_date - local_today(outlet, now)).days


def escalation_days() -> int:
    return current_app.config.get("ESCALATION_DAYS", 3) if has_app_context() else 3


def escalation_steps(line: RectificationLine, outlet: Outlet, now: dt.datetime | None = None) -> int:
    """How many units above the outlet's own a late line is shown to: one level per N days late."""
    if not is_overdue(line, now):
        return 0
    late_days = -days_left(line, outlet, now)
    return late_days // escalation_days()


def _move_deadline(line: RectificationLine, outlet: Outlet, day: dt.date | None) -> dt.date:
    """Set a new deadline day when one is given and differs (never in the past); returns the old one."""
    before = line.deadline_date
    if day is not None and day != before:
        _check_new_deadline(day, outlet)
        line.deadline_date, line.deadline_at = day, deadline_instant(day, outlet.timezone)
    return before


def _check_new_deadline(day: dt.date, outlet: Outlet) -> None:
    today = local_today(outlet)
    if day < today:
        raise DomainError(_("The deadline cannot be in the past (today is %(today)s at the outlet).", today=today))
    if day > today + dt.timedelta(days=MAX_DEADLINE_DAYS):
        raise DomainError(_("The deadline cannot be more than %(n)d days away.", n=MAX_DEADLINE_DAYS))


# --- issuing -------------------------------------------------------------------------------------

def branch_chiefs_of(session: Session, outlet_id: int) -> list[User]:
    return list(session.exec(select(User).join(UserOutlet, UserOutlet.user_id == User.id).where(
        UserOutlet.outlet_id == outlet_id, User.active.is_(True), User.role == Role.branch_chief).order_by(User.id)).all())


def issue_notice(session: Session, *, actor: User, visit: Visit, checklist: Checklist,
                 result: ScoreResult, repeats: dict | None = None,
                 self_checks: dict | None = None) -> RectificationNotice | None:
    """Turn a released visit's failures into a numbered notice; nothing when nothing failed.

    ``repeats`` (item code → ``repeats.EarlierFailure``, found by ``repeats``): those items failed
    again (屡查屡犯); their line's severity is one step up, its deadline follows it.
    ``self_checks`` (item code → ``selfcheck.PassedSelfCheck``): those items passed the outlet's
    own self-inspection shortly before (自查不实); the line says so.

    A self-inspection's notice (自查) is its chief's own: they are responsible for every line, and
    it is acknowledged as it is issued (the chief wrote it; ``lifecycle`` lets them close each line)."""
    repeats = repeats or {}
    self_checks = self_checks or {}
    own = visit.kind == SELF_KIND
    if not result.failed_items:
        return None
    if session.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).first():
        return None  # released once, issued once
    outlet = session.get(Outlet, visit.outlet_id)
    now = clock.now()
    notice = RectificationNotice(visit_id=visit.id, outlet_id=outlet.id, issued_at=now, issued_by_id=actor.id)
    session.add(notice)
    session.flush()
    notice.number = f"ZG{local_today(outlet, now):%Y%m}-{notice.id:05d}"
    chiefs = branch_chiefs_of(session, outlet.id)
    responsible = visit.assignee_id if own else chiefs[0].id if chiefs else None
    if own:
        notice.acknowledged_at, notice.acknowledged_by_id = now, visit.assignee_id
    answers = {a.item_code: a for a in session.exec(select(Answer).where(Answer.visit_id == visit.id)).all()}
    for code in result.failed_items:
        item = checklist.item(code)
        answer = answers.get(code)
        note = (answer.note if answer else "") or ""
        problem = f"{item.text_zh}" + (f"\n{note}" if note else "")
        earlier = repeats.get(code)
        severity = raised_severity(item.severity) if earlier else item.severity
        deadline = default_deadline(severity, now, outlet, secret=visit.kind == "secret")
        line = RectificationLine(
            notice_id=notice.id, visit_id=visit.id, outlet_id=outlet.id, item_code=code, checklist_kind=checklist.kind,
            problem=problem[:2500], requirement=item.requirement_zh[:1000], severity=severity, red_line=item.red_line,
            deadline_date=deadline, deadline_at=deadline_instant(deadline, outlet.timezone), responsible_id=responsible,
            staff_id=answer.staff_id if answer else None, issued_at=now,
            repeat_of_id=earlier.line_id if earlier else None, repeat_since=earlier.day if earlier else None,
            self_check_visit_id=self_checks[code].visit_id if code in self_checks else None,
            self_check_day=self_checks[code].day if code in self_checks else None,
        )
        session.add(line)
        session.flush()
        if earlier:
            record(session, actor=actor, action="line.repeat", obj=line,
                   before={"severity": item.severity}, after={"severity": severity, "deadline": deadline,
                                                              "repeat_of": earlier.line_id, "since": earlier.day})
        if code in self_checks:
            record(session, actor=actor, action="line.self_check_false", obj=line,
                   after={"self_check_visit_id": self_checks[code].visit_id, "self_check_day": self_checks[code].day})
        session.add(RectificationEvent(line_id=line.id, at=now, actor_id=actor.id, action="issued",
                                       status_after=line.status, deadline_after=deadline))
        stats.bump(session, line, outlet, issued=1)
        if own:
            line.status, line.acknowledged_at = LINE["acknowledge"].target, now
            session.add(line)
            session.flush()
            session.add(RectificationEvent(line_id=line.id, at=now, actor_id=visit.assignee_id, action="acknowledged",
                                           status_after=line.status))
            stats.bump(session, line, outlet, acknowledged=1)
    session.add(notice)
    record(session, actor=actor, action="notice.issued", obj=notice,
           after={"number": notice.number, "visit_id": visit.id, "lines": len(result.failed_items),
                  **({"repeats": sorted(repeats)} if repeats else {}),
                  **({"self_check_false": sorted(self_checks)} if self_checks else {}),
                  **({"self_inspection": True} if own else {})})
    notify(session, user_ids=[c.id for c in chiefs if not (own and c.id == visit.assignee_id)], kind="notice_issued",
           params={"number": notice.number, "outlet": outlet.name, "lines": len(result.failed_items)},
           link=_notice_link(notice), unit_id=outlet.unit_id)
    session.flush()
    signals.notice_changed.send(notice.id, session=session)
    return notice


def issue_lines(session: Session, *, actor: User, outlet: Outlet, origin: str, prefix: str, problem: str,
                requirements: list[str], severity: str, staff_id: int | None = None) -> RectificationNotice:
    """A notice without a visit: what a substantiated complaint revealed, one line per requirement
    (codes ``<prefix>-1``, ``-2`` ...). The same loop as a visit's findings from here on."""
    requirements = [r.strip() for r in requirements if r and r.strip()]
    if not requirements:
        raise DomainError(_("Write at least one thing to rectify."))
    if len(requirements) > 20:
        raise DomainError(_("At most %(n)d items on one notice.", n=20))
    if severity not in SEVERITY_DAYS:
        raise DomainError(_("Choose a severity."))
    now = clock.now()
    notice = RectificationNotice(visit_id=None, outlet_id=outlet.id, origin=origin[:64], issued_at=now,
                                 issued_by_id=actor.id)
    session.add(notice)
    session.flush()
    notice.number = f"ZG{local_today(outlet, now):%Y%m}-{notice.id:05d}"
    chiefs = branch_chiefs_of(session, outlet.id)
    deadline = default_deadline(severity, now, outlet)
    for n, requirement in enumerate(requirements, start=1):
        line = RectificationLine(
            notice_id=notice.id, visit_id=None, outlet_id=outlet.id, item_code=f"{prefix}-{n}"[:32],
            checklist_kind="complaint", problem=problem[:2500], requirement=requirement[:1000], severity=severity,
            staff_id=staff_id, deadline_date=deadline, deadline_at=deadline_instant(deadline, outlet.timezone),
            responsible_id=chiefs[0].id if chiefs else None, issued_at=now)
        session.add(line)
        session.flush()
        session.add(RectificationEvent(line_id=line.id, at=now, actor_id=actor.id, action="issued",
                                       status_after=line.status, deadline_after=deadline))
        stats.bump(session, line, outlet, issued=1)
    session.add(notice)
    record(session, actor=actor, action="notice.issued", obj=notice,
           after={"number": notice.number, "origin": origin, "lines": len(requirements)})
    notify(session, user_ids=[c.id for c in chiefs], kind="notice_issued",
           params={"number": notice.number, "outlet": outlet.name, "lines": len(requirements)},
           link=_notice_link(notice), unit_id=outlet.unit_id)
    session.flush()
    signals.notice_changed.send(notice.id, session=session)
    return notice


def _notice_link(notice: RectificationNotice) -> str:
    return f"/notices/{notice.id}"


def _line_link(line: RectificationLine) -> str:
    return f"/lines/{line.id}"


# --- loading with the version the user saw ---------------------------------------------------------

def _expect_version(line: RectificationLine, base_version: int | None) -> None:
    if base_version is not None and line.row_version != base_version:
        raise Conflict(_("This item was changed by someone else a moment ago. Look at it again before acting."))


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(_("This item was changed by someone else a moment ago. Look at it again before acting.")) from None


def _event(session: Session, line: RectificationLine, actor: User, action: str, text: str = "", *,
           deadline_before: dt.date | None = None, deadline_after: dt.date | None = None,
           on_site: bool = False) -> RectificationEvent:
    event = RectificationEvent(line_id=line.id, actor_id=actor.id, action=action, status_after=line.status,
                               text=text, deadline_before=deadline_before, deadline_after=deadline_after,
                               on_site=on_site)
    session.add(event)
    session.flush()
    signals.notice_changed.send(line.notice_id, session=session)
    return event


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if len(value) < MIN_TEXT:
        raise DomainError(_("Write a few words: %(what)s.", what=what))
    if len(value) > MAX_TEXT:
        raise DomainError(_("The text is longer than %(n)d characters.", n=MAX_TEXT))
    return value


def _context(session: Session, line: RectificationLine) -> tuple[RectificationNotice, Outlet]:
    return session.get(RectificationNotice, line.notice_id), session.get(Outlet, line.outlet_id)


def _params(notice, outlet, line, **extra) -> dict:
    return {"number": notice.number, "outlet": outlet.name, "item": line.item_code, **extra}


# --- after-photos: this domain answers for them (registered with evidence in ``hooks``) ---------

def _check_remove_line_photo(session: Session, actor: User, photo: Photo) -> None:
    """Only while staged (before the answer is sent), only by whoever took it."""
    if photo.response_id is not None or photo.purpose == "extension" or photo.uploaded_by_id != actor.id:
        raise PermissionDenied(_("This photo cannot be removed here."))


PHOTO_OWNER = evidence.PhotoOwner(may_view=permissions.can_view_response_photo, check_remove=_check_remove_line_photo)


def may_view_signature(session: Session, user: User, signature: Signature) -> bool:
    """A 签收 or 复查 signature: whoever may see the notice it belongs to."""
    if signature.notice_id is not None:
        notice = session.get(RectificationNotice, signature.notice_id)
        return notice is not None and permissions.can_view_notice(session, user, notice)
    line = session.get(RectificationLine, signature.line_id) if signature.line_id is not None else None
    return line is not None and permissions.can_view_line(session, user, line)


# --- the outlet side -------------------------------------------------------------------------------

def signature_required_on_acknowledge() -> bool:
    """``SIGNATURE_ON_ACKNOWLEDGE``: ``required`` makes the chief sign the 签收 on the phone;
    ``optional`` (the default) offers the pad without insisting."""
    return has_app_context() and current_app.config.get("SIGNATURE_ON_ACKNOWLEDGE", "optional") == "required"


def acknowledge_notice(session: Session, *, actor: User, notice: RectificationNotice, storage=None,
                       signature: signatures.SignatureInput | None = None) -> RectificationNotice:
    """签收: the outlet confirms it received the notice; its issued lines become acknowledged.

    ``signature``: the chief's handwritten signature (kept as evidence, printed on the notice and
    its 回执); required when ``SIGNATURE_ON_ACKNOWLEDGE`` says so. A retry of the same signing
    (its client id, sent again from the phone's outbox) is answered with the notice as it is."""
    if signature is not None and signatures.repeat_of(
            session, actor=actor, sig=signature,
            same_object=lambda s: s.purpose == ACKNOWLEDGED and s.notice_id == notice.id) is not None:
        return notice
    if notice.acknowledged_at is not None and "outlet" in NOTICE.sides(session, actor, notice):
        raise DomainError(_("This notice was already acknowledged on %(when)s.",
                            when=notice.acknowledged_at.astimezone(clock.zone(session.get(Outlet, notice.outlet_id).timezone))
                            .strftime("%Y-%m-%d %H:%M")))
    NOTICE.check(session, actor, notice, "acknowledge")
    signed = signature is not None and bool(signature.image)
    if not signed and signature_required_on_acknowledge():
        raise DomainError(_("Sign in the box to acknowledge this notice: a signature is required."))
    if signed:
        signature = signatures.checked(signature, allow_refusal=False)
    now = clock.now()
    notice.acknowledged_at, notice.acknowledged_by_id = now, actor.id
    session.add(notice)
    lines = session.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).all()
    outlet = session.get(Outlet, notice.outlet_id)
    for line in lines:
        if LINE.allows("acknowledge", line.status):
            line.status, line.acknowledged_at = LINE["acknowledge"].target, now
            session.add(line)
            _flush(session)
            _event(session, line, actor, "acknowledged")
            stats.bump(session, line, outlet, acknowledged=1)
    stored = signatures.store(session, storage, actor=actor, purpose=ACKNOWLEDGED, outlet_id=notice.outlet_id,
                              sig=signature, notice_id=notice.id) if signed else None
    record(session, actor=actor, action="notice.acknowledged", obj=notice,
           after={"at": now, "signature_id": stored.id if stored else None})
    signals.notice_changed.send(notice.id, session=session)
    return notice


def stage_line_photo(session: Session, storage, *, actor: User, line: RectificationLine, data: bytes,
                     client_id: str | None, plan_only: bool = False,
                     prepared: evidence.PreparedPhoto | None = None) -> tuple[Photo, bool] | evidence.PhotoPlan:
    """An after-photo taken for a line before the answer is sent (uploaded on its own, retried).
    ``plan_only`` / ``prepared``: as for ``visits.add_visit_photo``."""
    LINE.check(session, actor, line, "stage_photo")

    def same_place(query):
        return query.where(Photo.line_id == line.id, Photo.response_id.is_(None), Photo.uploaded_by_id == actor.id,
                           Photo.purpose == "rectification")

    staged = session.exec(same_place(select(Photo)).where(Photo.deleted_at.is_(None))).all()
    if len(staged) >= evidence.MAX_PHOTOS_PER_ITEM:
        raise DomainError(_("At most %(n)d photos per item.", n=evidence.MAX_PHOTOS_PER_ITEM))
    outlet = session.get(Outlet, line.outlet_id)
    if plan_only:
        return evidence.plan_photo(session, actor=actor, outlet=outlet, data=data, client_id=client_id,
                                   same_place=same_place)
    return evidence.store_photo(session, storage, prepared=prepared, actor=actor, outlet=outlet, data=data,
                                client_id=client_id,
                       item_code=line.item_code, purpose="rectification", same_place=same_place,
                       line_id=line.id)


def staged_photos(session: Session, *, actor: User, line: RectificationLine) -> list[Photo]:
    return list(session.exec(select(Photo).where(Photo.line_id == line.id, Photo.response_id.is_(None),
                                                 Photo.uploaded_by_id == actor.id, Photo.deleted_at.is_(None),
                                                 Photo.purpose == "rectification")
                             .order_by(Photo.id)).all())


def answer_line(session: Session, *, actor: User, line: RectificationLine, description: str,
                base_version: int | None = None) -> RectificationEvent:
    """The outlet says what it fixed, with the after-photos staged for this line."""
    transition = LINE.check(session, actor, line, "answer",
                            then=lambda: _expect_version(line, base_version))
    description = _text(description, _("what was done to fix it"))
    photos = staged_photos(session, actor=actor, line=line)
    if not photos:
        raise DomainError(_("Add at least one photo showing the problem fixed."))
    now = clock.now()
    first_answer = line.answered_at is None
    line.status, line.answered_at, line.answered_by_id = transition.target, now, actor.id
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "answered", description)
    if first_answer:
        stats.bump(session, line, session.get(Outlet, line.outlet_id), answered=1)
    for photo in photos:
        photo.response_id = event.id
        session.add(photo)
    notice, outlet = _context(session, line)
    record(session, actor=actor, action="line.answered", obj=line, after={"photos": [p.id for p in photos]},
           note=description[:200])
    notify(session, user_ids=_inspection_side(session, line), kind="line_answered",
           params=_params(notice, outlet, line), link=_line_link(line), unit_id=outlet.unit_id)
    return event


def close_own_line(session: Session, *, actor: User, line: RectificationLine, description: str,
                   base_version: int | None = None) -> RectificationEvent:
    """The chief closes a line of their own self-inspection (自查): what was done, with the
    after-photos staged for it as the evidence. Nobody verifies it (``lifecycle``: close_own)."""
    transition = LINE.check(session, actor, line, "close_own", then=lambda: _expect_version(line, base_version))
    description = _text(description, _("what was done to fix it"))
    photos = staged_photos(session, actor=actor, line=line)
    if not photos:
        raise DomainError(_("Add at least one photo showing the problem fixed."))
    now = clock.now()
    line.status, line.answered_at, line.answered_by_id, line.closed_at = transition.target, now, actor.id, now
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "closed_own", description)
    outlet = session.get(Outlet, line.outlet_id)
    stats.bump(session, line, outlet, answered=1, closed=1, close_seconds=(now - line.issued_at).total_seconds())
    for photo in photos:
        photo.response_id = event.id
        session.add(photo)
    record(session, actor=actor, action="line.closed_own", obj=line,
           after={"status": line.status, "photos": [p.id for p in photos]}, note=description[:200])
    return event


def dispute_line(session: Session, *, actor: User, line: RectificationLine, reason: str,
                 base_version: int | None = None) -> RectificationEvent:
    transition = LINE.check(session, actor, line, "dispute",
                            then=lambda: _expect_version(line, base_version))
    reason = _text(reason, _("why the finding is wrong"))
    line.status = transition.target
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "disputed", reason)
    notice, outlet = _context(session, line)
    record(session, actor=actor, action="line.disputed", obj=line, note=reason[:200])
    notify(session, user_ids=_inspection_side(session, line), kind="line_disputed",
           params=_params(notice, outlet, line), link=_line_link(line), unit_id=outlet.unit_id)
    return event


def _inspection_side(session: Session, line: RectificationLine) -> list[int]:
    """Who hears about answers and disputes: the visit's inspector (not a shopper) and the issuer."""
    notice = session.get(RectificationNotice, line.notice_id)
    ids = [notice.issued_by_id]
    if line.visit_id is None:
        return [i for i in ids if i]
    visit = session.get(Visit, line.visit_id)
    assignee = session.get(User, visit.assignee_id)
    if assignee is not None and assignee.role != Role.shopper:
        ids.append(assignee.id)
    return [i for i in ids if i]


# --- the inspection side ---------------------------------------------------------------------------

def verify_line(session: Session, *, actor: User, line: RectificationLine, accept: bool, reason: str = "",
                new_deadline: dt.date | None = None, base_version: int | None = None,
                on_site: bool = False, storage=None,
                signature: signatures.SignatureInput | None = None) -> RectificationEvent:
    """Accept an answer (closing the line) or return it with a reason (deadline kept or reset).

    On site (现场复查) the inspector signs on the phone: the signature is bound to the event and
    printed on the notice. A retry of the same signing (its client id) is answered with the event
    it signed, nothing done twice."""
    if on_site and signature is not None:
        earlier = signatures.repeat_of(session, actor=actor, sig=signature,
                                       same_object=lambda s: s.purpose == VERIFIED_ON_SITE and s.line_id == line.id)
        if earlier is not None:
            return session.get(RectificationEvent, earlier.event_id)
    transition = LINE.check(session, actor, line, "verify" if accept else "return",
                            then=lambda: _expect_version(line, base_version))
    if line.answered_by_id == actor.id:
        raise PermissionDenied(_("You cannot verify your own answer."))
    if on_site:
        if signature is None or not signature.image:
            raise DomainError(_("A re-check on site is signed by the inspector: sign in the box."))
        signature = signatures.checked(signature, allow_refusal=False)
    notice, outlet = _context(session, line)
    event = _verify(session, actor=actor, line=line, transition=transition, accept=accept, reason=reason,
                    new_deadline=new_deadline, on_site=on_site, notice=notice, outlet=outlet)
    if on_site:
        signatures.store(session, storage, actor=actor, purpose=VERIFIED_ON_SITE, outlet_id=line.outlet_id,
                         sig=signature, line_id=line.id, event_id=event.id)
    return event


def _verify(session: Session, *, actor: User, line: RectificationLine, transition, accept: bool, reason: str,
            new_deadline: dt.date | None, on_site: bool, notice: RectificationNotice, outlet: Outlet) -> RectificationEvent:
    if accept:
        line.status, line.closed_at = transition.target, clock.now()
        session.add(line)
        _flush(session)
        event = _event(session, line, actor, "verified", (reason or "").strip()[:MAX_TEXT], on_site=on_site)
        stats.bump(session, line, outlet, closed=1, close_seconds=(line.closed_at - line.issued_at).total_seconds())
        record(session, actor=actor, action="line.verified", obj=line, after={"status": line.status, "on_site": on_site})
        notify(session, user_ids=[line.responsible_id, line.answered_by_id], kind="line_closed",
               params=_params(notice, outlet, line), link=_line_link(line), unit_id=outlet.unit_id)
        return event
    reason = _text(reason, _("why the answer is not enough"))
    before = _move_deadline(line, outlet, new_deadline)
    line.status = transition.target
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "returned", reason, deadline_before=before,
                   deadline_after=line.deadline_date if line.deadline_date != before else None, on_site=on_site)
    record(session, actor=actor, action="line.returned", obj=line,
           before={"deadline": before}, after={"deadline": line.deadline_date}, note=reason[:200])
    notify(session, user_ids=[line.responsible_id, line.answered_by_id], kind="line_returned",
           params=_params(notice, outlet, line, reason=reason[:100]), link=_line_link(line), unit_id=outlet.unit_id)
    return event


def decide_dispute(session: Session, *, actor: User, line: RectificationLine, uphold: bool, reason: str,
                   new_deadline: dt.date | None = None, base_version: int | None = None) -> RectificationEvent:
    """Uphold the finding (back to the outlet) or withdraw it (the visit is re-scored)."""
    transition = LINE.check(session, actor, line, "uphold" if uphold else "withdraw",
                            then=lambda: _expect_version(line, base_version))
    reason = _text(reason, _("the reason for the decision"))
    notice, outlet = _context(session, line)
    if uphold:
        before = _move_deadline(line, outlet, new_deadline)
        line.status = transition.target
        session.add(line)
        _flush(session)
        event = _event(session, line, actor, "upheld", reason, deadline_before=before,
                       deadline_after=line.deadline_date if line.deadline_date != before else None)
        record(session, actor=actor, action="line.dispute_upheld", obj=line, note=reason[:200])
        notify(session, user_ids=[line.responsible_id], kind="dispute_upheld",
               params=_params(notice, outlet, line, reason=reason[:100]), link=_line_link(line), unit_id=outlet.unit_id)
        return event
    line.status, line.closed_at = transition.target, clock.now()
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "withdrawn", reason)
    stats.bump(session, line, outlet, withdrawn=1)
    if line.visit_id is not None:  # a complaint's line has no score to correct
        visits.withdraw_finding(session, actor=actor, visit=session.get(Visit, line.visit_id),
                                item_code=line.item_code, reason=reason)
    notify(session, user_ids=[line.responsible_id], kind="dispute_withdrawn",
           params=_params(notice, outlet, line, reason=reason[:100]), link=_line_link(line), unit_id=outlet.unit_id)
    return event


def change_deadline(session: Session, *, actor: User, line: RectificationLine, new_deadline: dt.date, reason: str,
                    base_version: int | None = None) -> RectificationEvent:
    """The issuer shortens or lengthens a deadline, with a reason; never into the past."""
    LINE.check(session, actor, line, "change_deadline",
                            then=lambda: _expect_version(line, base_version))
    reason = _text(reason, _("why the deadline changes"))
    notice, outlet = _context(session, line)
    if new_deadline == line.deadline_date:
        raise DomainError(_("That is already the deadline."))
    before = _move_deadline(line, outlet, new_deadline)
    session.add(line)
    _flush(session)
    event = _event(session, line, actor, "deadline_changed", reason, deadline_before=before, deadline_after=new_deadline)
    record(session, actor=actor, action="line.deadline_changed", obj=line, before={"deadline": before},
           after={"deadline": new_deadline}, note=reason[:200])
    notify(session, user_ids=[line.responsible_id], kind="deadline_changed",
           params=_params(notice, outlet, line, deadline=new_deadline.isoformat(), reason=reason[:100]),
           link=_line_link(line), unit_id=outlet.unit_id)
    return event


def assign_responsible(session: Session, *, actor: User, line: RectificationLine, user: User) -> RectificationLine:
    LINE.check(session, actor, line, "assign")
    if user.role != Role.branch_chief or line.outlet_id not in permissions.branch_outlet_ids(session, user):
        raise DomainError(_("The responsible person must be a branch chief of this outlet."))
    before = line.responsible_id
    line.responsible_id = user.id
    session.add(line)
    _flush(session)
    _event(session, line, actor, "assigned", user.display_name)
    record(session, actor=actor, action="line.assigned", obj=line, before={"responsible_id": before},
           after={"responsible_id": user.id})
    return line


# --- reminders and escalation --------------------------------------------------------------------

def sweep(session: Session, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Reminders for lines due within a day, escalation notices for late ones; the same for notices
    not acknowledged in time (``_sweep_unacknowledged``).

    Safe to run often and from several processes: each notification is sent once (dedupe key).
    """
    now = now or clock.now()
    sent = {"due_soon": 0, "overdue": 0, "escalated": 0, "unacknowledged": 0, "ack_escalated": 0}
    open_lines = session.execute(
        select(RectificationLine, RectificationNotice, Outlet, Unit)
        .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
        .join(Outlet, Outlet.id == RectificationLine.outlet_id)
        .join(Unit, Unit.id == Outlet.unit_id)
        .where(RectificationLine.status.in_(OUTLET_TURN),
               RectificationLine.deadline_at <= now + dt.timedelta(days=1))
    ).all()
    managers = session.exec(select(User).where(User.role == Role.manager, User.active.is_(True))).all()
    for line, notice, outlet, unit in open_lines:
        params = _params(notice, outlet, line, deadline=line.deadline_date.isoformat())
        if now < line.deadline_at:
            sent["due_soon"] += notify(session, user_ids=[line.responsible_id], kind="due_soon", params=params,
                                       link=_line_link(line), dedupe_key=f"due:{line.id}:{line.deadline_date}",
                                       unit_id=outlet.unit_id)
            continue
        steps = escalation_steps(line, outlet, now)
        if steps <= 0:
            # late, not yet climbing: the one responsible hears it once (an escalated line needs no
            # second word; a sweep that starts after the first escalation sends none)
            sent["overdue"] += notify(session, user_ids=[line.responsible_id], kind="line_overdue", params=params,
                                      link=_line_link(line), dedupe_key=f"overdue:{line.id}:{line.deadline_date}",
                                      unit_id=outlet.unit_id)
            continue
        target = unit_above(unit.path, steps)
        # the managers whose own unit is the target level (not those already below it)
        recipients = [m.id for m in managers if m.unit_id == target]
        sent["escalated"] += notify(
            session, user_ids=recipients, kind="escalated", params={**params, "days": -days_left(line, outlet, now)},
            link=_line_link(line), dedupe_key=f"esc:{line.id}:{line.deadline_date}:{steps}", unit_id=target)
    _sweep_unacknowledged(session, now, managers, sent)
    return sent


def ack_working_days() -> int:
    return current_app.config.get("NOTICE_ACK_WORKING_DAYS", 2) if has_app_context() else 2


def ack_due_day(notice: RectificationNotice, outlet: Outlet, *, working_days: int | None = None) -> dt.date:
    """The last day to acknowledge (签收) a notice: N working days (Monday to Friday) after the
    day it was issued, in the outlet's calendar (``NOTICE_ACK_WORKING_DAYS``, 2 by default;
    ``working_days`` when the caller read it once for many notices)."""
    return _working_days_after(local_today(outlet, notice.issued_at), working_days or ack_working_days())


@functools.lru_cache(maxsize=4096)
def _working_days_after(day: dt.date, left: int) -> dt.date:
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def ack_late_days(notice: RectificationNotice, outlet: Outlet, now: dt.datetime | None = None, *,
                  today: dt.date | None = None, working_days: int | None = None) -> int:
    """Whole local days since the acknowledgement was due (0 while it is not late; 1 the day after);
    ``today`` the outlet's day at ``now`` when the caller knows it (a list of many notices)."""
    if notice.acknowledged_at is not None:
        return 0
    return max(0, ((today or local_today(outlet, now)) - ack_due_day(notice, outlet, working_days=working_days)).days)


def ack_escalation_steps(notice: RectificationNotice, outlet: Outlet, now: dt.datetime | None = None) -> int:
    """How many units above the outlet's own an unacknowledged notice is shown to: as a late line,
    one level per ``ESCALATION_DAYS`` days late."""
    return ack_steps(ack_late_days(notice, outlet, now))


def ack_steps(late_days: int, *, step: int | None = None) -> int:
    """The levels a notice ``late_days`` late (``ack_late_days``) has climbed (one per ``step``
    days, ``ESCALATION_DAYS`` unless the caller read it once for many notices)."""
    return late_days // (step or escalation_days())


def _sweep_unacknowledged(session: Session, now: dt.datetime, managers: list[User], sent: dict[str, int]) -> None:
    """Notices nobody acknowledged in time: the branch chiefs are reminded once the day after it was
    due, then the managers of the unit above as the notice climbs (once per level)."""
    # N working days are at least N calendar days: only notices at least that old can be late
    candidates = session.execute(
        select(RectificationNotice, Outlet, Unit)
        .join(Outlet, Outlet.id == RectificationNotice.outlet_id)
        .join(Unit, Unit.id == Outlet.unit_id)
        .where(RectificationNotice.acknowledged_at.is_(None),
               RectificationNotice.issued_at <= now - dt.timedelta(days=ack_working_days()))
    ).all()
    for notice, outlet, unit in candidates:
        late = ack_late_days(notice, outlet, now)
        if late <= 0:
            continue
        due = ack_due_day(notice, outlet)
        params = {"number": notice.number, "outlet": outlet.name, "deadline": due.isoformat(), "days": late}
        sent["unacknowledged"] += notify(
            session, user_ids=[c.id for c in branch_chiefs_of(session, outlet.id)], kind="notice_unacknowledged",
            params=params, link=_notice_link(notice), dedupe_key=f"ack:{notice.id}")
        steps = ack_escalation_steps(notice, outlet, now)
        if steps <= 0:
            continue
        target = unit_above(unit.path, steps)
        sent["ack_escalated"] += notify(
            session, user_ids=[m.id for m in managers if m.unit_id == target], kind="notice_escalated", params=params,
            link=_notice_link(notice), dedupe_key=f"ackesc:{notice.id}:{steps}", unit_id=target)


def unit_above(path: str, steps: int) -> int:
    """The unit ``steps`` levels above the last one of a unit path (the root at most): where a late
    line's escalation, and the news of a repeated problem, go."""
    ancestors = [int(x) for x in path.strip("/").split("/")]
    return ancestors[max(0, len(ancestors) - 1 - steps)]


def managers_of_unit(session: Session, unit_id: int) -> list[int]:
    """The active managers whose own unit is this one (not those below it)."""
    return list(session.exec(select(User.id).where(User.role == Role.manager, User.active.is_(True),
                                                   User.unit_id == unit_id).order_by(User.id)).all())


def status_label(status: str) -> str:
    return str(LINE_STATUS_LABELS.get(status, status))


def load_line_for(session: Session, user: User, line_id: int) -> RectificationLine:
    """The line if the user may see its notice; NotFound otherwise (never a hint that it exists)."""
    line = session.get(RectificationLine, line_id)
    if line is None or not permissions.can_view_line(session, user, line):
        raise NotFound(_("This page does not exist, or you cannot see it."))
    return line


def answer_evidence(session: Session, viewer, *, line: RectificationLine, events: list[RectificationEvent],
                    photos_by_event: dict[int, list[Photo]]) -> photo_checks.EvidenceReview:
    """The evidence checks of a line's after-photos (a fake fix reuses an old photo too), for those
    who judge them: never taken before the problem was found (the visit's check-in; a complaint's
    line: its issue), nor after they arrived; at the outlet; no picture sent before."""
    photos, labels = [], {}
    for event in events:
        for photo in photos_by_event.get(event.id, []):
            photos.append(photo)
            labels[photo.id] = f"{_('After-photo')} #{len(photos)}"
    visit = session.get(Visit, line.visit_id) if line.visit_id else None
    found_at = (visit.checkin_at or visit.started_at) if visit else line.issued_at
    return photo_checks.answer_checks(session, viewer, photos=photos, outlet=session.get(Outlet, line.outlet_id),
                                      found_at=found_at, labels=labels)
