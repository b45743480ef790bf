"""Secret visits (暗访): blind scheduling, one-tap timers, proof of visit, review before release.

Nothing here is ever shown to the outlet side before release; the permission predicates and the
visits clause keep it that way, and a crawl test checks every route.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.errors import DomainError
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet
from inspect_app.visits import photo_checks, timers
from inspect_app.visits import services as visits
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import Answer, Visit, VisitStatus

CLOCK_SKEW = dt.timedelta(minutes=5)


def _config(name: str, default: int) -> int:
    return current_app.config.get(name, default) if has_app_context() else default


# --- timers ---------------------------------------------------------------------------------------

def set_timer(session: Session, *, actor: User, visit: Visit, name: str, at: dt.datetime | None,
              clear: bool = False) -> Visit:
    """Record one tap (the phone's time, to the second) or clear the last one.

    Times must run in order (entry ≤ queue start ≤ service start ≤ service end ≤ exit), lie after
    the check-in and not in the future: a wrong tap is undone and tapped again.
    """
    visits.require_editable(session, actor, visit)
    if visit.kind != "secret":
        raise DomainError(_("Timers belong to secret visits."))
    if name not in timers.TIMERS:
        raise DomainError(_("Unknown timer."))
    taps = dict(visit.timers or {})
    if clear:
        later = [t for t in timers.TIMERS[timers.TIMERS.index(name) + 1:] if t in taps]
        if later:
            raise DomainError(_("Clear the later times first."))
        taps.pop(name, None)
    else:
        now = clock.now()
        at = (at or now).astimezone(dt.timezone.utc).replace(microsecond=0)
        if at > now + CLOCK_SKEW:
            raise DomainError(_("That time lies in the future; check the phone's clock."))
        if visit.checkin_at and at < visit.checkin_at - dt.timedelta(minutes=30):
            raise DomainError(_("That time lies before the check-in."))
        moments = timers.timer_moments(visit)
        index = timers.TIMERS.index(name)
        for before in timers.TIMERS[:index]:
            if before in moments and at < moments[before]:
                raise DomainError(_("%(this)s cannot come before %(that)s.", this=timers.TIMER_LABELS[name], that=timers.TIMER_LABELS[before]))
        for after in timers.TIMERS[index + 1:]:
            if after in moments and at > moments[after]:
                raise DomainError(_("%(this)s cannot come after %(that)s.", this=timers.TIMER_LABELS[name], that=timers.TIMER_LABELS[after]))
        taps[name] = {"at": at.isoformat(), "received": now.isoformat()}
    visit.timers = taps
    session.add(visit)
    session.flush()
    return visit


def save_details(session: Session, *, actor: User, visit: Visit, counter_number: str | None = None,
                 impression: str | None = None) -> Visit:
    """The counter number and the overall impression (the visit's summary, one writer for both kinds)."""
    visits.require_editable(session, actor, visit)
    if counter_number is not None:
        visit.counter_number = counter_number.strip()[:16]
        session.add(visit)
    if impression is not None:
        visits.save_summary(session, actor=actor, visit=visit, summary=impression)
    session.flush()
    return visit


# --- proof and flags ------------------------------------------------------------------------------

@dataclass
class Flag:
    code: str
    message: str
    item_code: str | None = None
    photo_id: int | None = None


def checkin_flag(visit: Visit, outlet: Outlet) -> Flag | None:
    """The check-in's place as a flag (the rule is ``visits.checkin_place``, the one for every kind)."""
    if visit.checkin_at is None:
        return None
    place = visits.checkin_place(outlet, visit.checkin_lat, visit.checkin_lon, visit.checkin_accuracy)
    if place.flag == visits.CHECKIN_NO_LOCATION:
        return Flag("no_location", _("No check-in location: %(reason)s", reason=visit.checkin_no_location_reason or "—"))
    if place.flag == visits.CHECKIN_FAR:
        return Flag("far_checkin", _("Checked in %(m)d m from the outlet (more than %(r)d m).", m=place.distance,
                                     r=place.radius)
                    + (" " + _("Reason: %(reason)s", reason=visit.checkin_far_reason) if visit.checkin_far_reason else ""))
    return None


def review_flags(session: Session, visit: Visit, viewer: User | None = None) -> list[Flag]:
    """What a reviewer should look at before releasing (warnings, not blocks). Another visit holding
    the same picture is named for ``viewer`` where they may open it."""
    checklist = visits.checklist_of(session, visit)
    outlet = session.get(Outlet, visit.outlet_id)
    photos = visits.photos_of(session, visit)
    flags: list[Flag] = []
    if checklist.receipt_photo and not any(p.purpose == "receipt" for p in photos):
        flags.append(Flag("no_receipt", _("No receipt photo.")))
    flag = checkin_flag(visit, outlet)
    if flag is not None:
        flags.append(flag)
    # the evidence checks of every visit kind, one definition (``photo_checks``)
    flags.extend(photo_checks.visit_checks(session, viewer, visit, photos).flags)
    answers = visits.answers_of(session, visit)
    result = visits.score_visit(checklist, answers, visit)
    for code in result.failed_items:
        if checklist.item(code).rule != "timer" and not (answers.get(code) and answers[code].note.strip()):
            flags.append(Flag("no_note", _("Failed without a note."), code))
    if checklist.impression_min_chars and len(visit.summary) < checklist.impression_min_chars:
        flags.append(Flag("short_impression", _("The overall impression has %(n)d characters; %(min)d are required.",
                                                n=len(visit.summary), min=checklist.impression_min_chars)))
    if checklist.min_photos and len(photos) < checklist.min_photos:
        flags.append(Flag("few_photos", _("%(n)d photos; the checklist asks for %(min)d.", n=len(photos), min=checklist.min_photos)))
    moments = timers.timer_moments(visit)
    if len(moments) < len(timers.TIMERS):
        flags.append(Flag("timers", _("Not every time was recorded.")))
    if visit.submitted_at and visit.checkin_at:
        if visits.local_date(visit.submitted_at, outlet) != visits.local_date(visit.checkin_at, outlet):
            flags.append(Flag("late_completion", _("Completed on a later day than the visit.")))
    return flags


# --- review ---------------------------------------------------------------------------------------

def correct_answer(session: Session, *, actor: User, visit: Visit, item_code: str, reason: str, **values) -> Answer:
    """A reviewer changes an answer before release; the old and new values and the reason are audited.
    The values are checked as the shopper's are (``answer_values``)."""
    VISIT.check(session, actor, visit, "correct")
    if len((reason or "").strip()) < 4:
        raise DomainError(_("Write a few words: %(what)s.", what=_("why the answer changes")))
    checklist = visits.checklist_of(session, visit)
    item = checklist.item(item_code)
    if item is None or item.rule == "timer":
        raise DomainError(_("Item %(code)s is not on this checklist.", code=item_code))
    answer = session.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == item_code)).first()
    before = visits._answer_values(answer) if answer else None
    checked = visits.answer_values(item, result=values.get("result"), occurrences=values.get("occurrences"),
                                   scale_value=values.get("scale_value"), note=values.get("note"))
    answer = visits.write_answer(session, actor=actor, visit=visit, existing=answer, item_code=item_code,
                                 values=checked, note=values.get("note"))
    record(session, actor=actor, action="answer.corrected", obj=answer, before=before,
           after=visits._answer_values(answer), note=reason.strip()[:300])
    return answer


def return_visit(session: Session, *, actor: User, visit: Visit, comment: str) -> Visit:
    VISIT.check(session, actor, visit, "return")
    comment = (comment or "").strip()
    if len(comment) < 4:
        raise DomainError(_("Write a few words: %(what)s.", what=_("what the shopper should correct")))
    visit.status, visit.review_comment, visit.submit_token = VISIT["return"].target, comment[:2000], None
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.returned", obj=visit, before={"status": VisitStatus.in_review},
           after={"status": visit.status}, note=comment[:300])
    outlet = session.get(Outlet, visit.outlet_id)
    notify(session, user_ids=[visit.assignee_id], kind="visit_returned",
           params={"outlet": outlet.name, "reason": comment[:100]}, link=f"/visits/{visit.id}/fill")
    return visit


def review_queue(session: Session, user: User) -> list[Visit]:
    return list(session.exec(select(Visit).where(permissions.visits_clause(session, user), Visit.kind == "secret",
                                                 Visit.status == VisitStatus.in_review)
                             .order_by(Visit.submitted_at)).all())
