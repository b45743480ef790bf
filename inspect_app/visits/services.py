"""Visit rules: scheduling, starting, answering, submitting, releasing, star ratings.

Services flush and write audit events; views commit. Every function checks the actor again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import clock, permissions, signals
from inspect_app.audit.services import record
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import Checklist
from inspect_app.checklists.scoring import FAIL, NA, PASS, AnswerInput, ScoreResult, score
from inspect_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from inspect_app.evidence import services as evidence
from inspect_app.evidence.checks import distance_m  # the one haversine (photos' GPS use it too)
from inspect_app.evidence.models import Photo
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet, OutletBlackout, StaffMember, Window
from inspect_app.visits import timers
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import EDITABLE, SELF_KIND, Answer, StarRating, Visit, VisitStatus

MAX_NOTE = 2000
STAR_VALIDITY_MONTHS = 12
MAX_BULK = 500
#: A date window (a planned visit's, a blackout's) begins within a year and lasts at most a year:
#: a window in 9999 is a typing slip, and no plan looks further ahead.
MAX_DAYS_AHEAD = 366
MAX_WINDOW_DAYS = 366


def local_today(outlet: Outlet) -> dt.date:
    """Today at the outlet: date windows and deadlines are the outlet's calendar days."""
    return clock.today(outlet.timezone)


def local_date(moment: dt.datetime, outlet: Outlet) -> dt.date:
    return clock.local_date(moment, outlet.timezone)


# --- scheduling ------------------------------------------------------------------------------

def schedule_visits(
    session: Session,
    *,
    actor: User,
    checklist_code: str,
    outlet_ids: list[int],
    assignee: User,
    due_from: dt.date,
    due_until: dt.date,
    window_id: int | None = None,
) -> list[Visit]:
    """Plan one visit per outlet (一次排多个网点). All or nothing: one bad outlet refuses all."""
    if not permissions.can_schedule(actor):
        raise PermissionDenied(_("Only managers schedule visits."))
    checklist = checklists.registry(session).get(checklist_code)
    if checklist is None:
        raise DomainError(_("Unknown checklist."))
    if not outlet_ids:
        raise DomainError(_("Choose at least one outlet."))
    if len(outlet_ids) > MAX_BULK:
        raise DomainError(_("At most %(n)d outlets at once.", n=MAX_BULK))
    check_date_window(due_from, due_until)
    if not permissions.can_be_assigned(assignee, checklist.kind):
        raise DomainError(_("Secret visits go to mystery shoppers; other visits to inspectors.")
                          if checklist.kind == "secret" else _("This person cannot be given this visit."))
    outlets = session.exec(select(Outlet).where(Outlet.id.in_(outlet_ids))).all()
    if len(outlets) != len(set(outlet_ids)):
        raise NotFound(_("One of the outlets does not exist."))
    window = None
    if window_id is not None:
        if len(outlets) != 1:
            raise DomainError(_("A window can only be chosen when scheduling a single outlet."))
        window = session.get(Window, window_id)
        if window is None or window.outlet_id != outlets[0].id:
            raise DomainError(_("That window does not belong to the outlet."))
    visits = []
    for outlet in outlets:
        if not permissions.outlet_in_scope(session, actor, outlet):
            raise NotFound(_("One of the outlets does not exist."))
        if not outlet.active:
            raise DomainError(_("Outlet %(name)s is closed.", name=outlet.name))
        if due_until < local_today(outlet):
            raise DomainError(_("The date window is already over."))
        if due_from > local_today(outlet) + dt.timedelta(days=MAX_DAYS_AHEAD):
            raise DomainError(_("The date window may begin at most %(n)d days from today.", n=MAX_DAYS_AHEAD))
        if checklist.kind == "secret":
            check_secret_schedule(session, shopper=assignee, outlet=outlet, due_from=due_from, due_until=due_until)
        if not permissions.can_be_assigned_at(session, assignee, checklist.kind, outlet):
            raise DomainError(_("%(person)s does not cover outlet %(outlet)s.", person=assignee.display_name,
                                outlet=outlet.name))
        visit = Visit(
            checklist_version_id=checklists.current_version(session, checklist.code).id,
            checklist_code=checklist.code, kind=checklist.kind, outlet_id=outlet.id,
            window_id=window.id if window else None, assignee_id=assignee.id, created_by_id=actor.id,
            status=VisitStatus.scheduled, due_from=due_from, due_until=due_until,
        )
        session.add(visit)
        visits.append(visit)
    session.flush()
    for visit in visits:
        record(session, actor=actor, action="visit.scheduled", obj=visit,
               after={"checklist": checklist.code, "outlet_id": visit.outlet_id, "assignee_id": assignee.id,
                      "due_from": due_from, "due_until": due_until})
    return visits


# --- secret-visit scheduling: rotation and blackout -----------------------------------------------------------------------------------

def check_secret_schedule(session: Session, *, shopper: User, outlet: Outlet, due_from: dt.date,
                          due_until: dt.date, moving: int | None = None) -> None:
    """Refuse, with the reason, a shopper seen at this outlet too recently, or a blackout date.
    ``moving``: the visit being moved or reassigned, which does not count against itself."""
    blackout = session.exec(select(OutletBlackout).where(
        OutletBlackout.outlet_id == outlet.id, OutletBlackout.date_from <= due_until,
        OutletBlackout.date_until >= due_from)).first()
    if blackout is not None:
        raise DomainError(_("%(outlet)s is on the blackout list from %(start)s to %(end)s (%(reason)s).",
                            outlet=outlet.name, start=blackout.date_from, end=blackout.date_until,
                            reason=blackout.reason or "—"))
    days = current_app.config.get("ROTATION_DAYS", 60) if has_app_context() else 60
    earlier = session.exec(select(Visit).where(
        Visit.assignee_id == shopper.id, Visit.outlet_id == outlet.id, Visit.kind == "secret",
        Visit.status != VisitStatus.cancelled)).all()
    for visit in earlier:
        if moving is not None and visit.id == moving:
            continue
        moment = local_date(visit.checkin_at, outlet) if visit.checkin_at else visit.due_until or visit.due_from
        if moment is None:
            continue
        if abs((due_from - moment).days) < days or abs((due_until - moment).days) < days:
            raise DomainError(_("%(shopper)s visited or will visit %(outlet)s on %(day)s; the same shopper may "
                                "return only after %(n)d days.", shopper=shopper.code_name or shopper.display_name,
                                outlet=outlet.name, day=moment, n=days))


def check_date_window(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise DomainError(_("The window ends before it starts."))
    if (last - first).days >= MAX_WINDOW_DAYS:
        raise DomainError(_("A date window may last at most %(n)d days.", n=MAX_WINDOW_DAYS))


def add_blackout(session: Session, *, actor: User, outlet: Outlet, date_from: dt.date, date_until: dt.date,
                 reason: str) -> OutletBlackout:
    if not (permissions.can_schedule(actor) and permissions.outlet_in_scope(session, actor, outlet)):
        raise PermissionDenied(_("Only managers keep the blackout list."))
    check_date_window(date_from, date_until)
    if date_from > local_today(outlet) + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise DomainError(_("The date window may begin at most %(n)d days from today.", n=MAX_DAYS_AHEAD))
    covering = session.exec(select(OutletBlackout).where(
        OutletBlackout.outlet_id == outlet.id, OutletBlackout.date_from <= date_from,
        OutletBlackout.date_until >= date_until)).first()
    if covering is not None:
        # the same form sent twice (a double tap, a reload) wrote the period twice
        raise DomainError(_("%(outlet)s is already blacked out from %(first)s to %(last)s.", outlet=outlet.name,
                            first=covering.date_from, last=covering.date_until))
    blackout = OutletBlackout(outlet_id=outlet.id, date_from=date_from, date_until=date_until, reason=reason.strip()[:200])
    session.add(blackout)
    session.flush()
    record(session, actor=actor, action="blackout.added", obj=blackout,
           after={"outlet_id": outlet.id, "from": date_from, "until": date_until, "reason": blackout.reason})
    return blackout


def remove_blackout(session: Session, *, actor: User, blackout: OutletBlackout) -> None:
    outlet = session.get(Outlet, blackout.outlet_id)
    if not (permissions.can_schedule(actor) and permissions.outlet_in_scope(session, actor, outlet)):
        raise PermissionDenied(_("Only managers keep the blackout list."))
    record(session, actor=actor, action="blackout.removed", obj=blackout,
           before={"from": blackout.date_from, "until": blackout.date_until, "reason": blackout.reason})
    session.delete(blackout)


def cancel_visit(session: Session, *, actor: User, visit: Visit, reason: str) -> Visit:
    VISIT.check(session, actor, visit, "cancel")
    if not reason.strip():
        raise DomainError(_("Give a reason for cancelling."))
    before = visit.status
    visit.status = VisitStatus.cancelled
    session.add(visit)
    record(session, actor=actor, action="visit.cancelled", obj=visit, before={"status": before},
           after={"status": visit.status}, note=reason.strip())
    return visit


def window_flag(visit: Visit, outlet: Outlet) -> str | None:
    """'early' / 'late' when a scheduled visit was (or is being) done outside its date window."""
    if visit.due_from is None or visit.due_until is None:
        return None
    moment = visit.submitted_at or visit.checkin_at
    day = local_date(moment, outlet) if moment else local_today(outlet)
    if moment is None and visit.status != VisitStatus.scheduled:
        return None
    if day < visit.due_from and moment is not None:
        return "early"
    if day > visit.due_until:
        return "late"
    return None


# --- starting ----------------------------------------------------------------------------------

class PlannedVisitExists(DomainError):
    """The inspector is about to start an ad hoc visit where a planned one waits for them today."""

    status_code = 409

    def __init__(self, planned: list[Visit]):
        super().__init__(_("A visit to this outlet is already planned for you. Start the planned visit, "
                           "or confirm that you want another, unplanned one."))
        self.planned = planned


def planned_visits_due(session: Session, *, actor: User, outlet: Outlet) -> list[Visit]:
    """The actor's planned, not yet started visits at the outlet whose window covers today at the
    outlet or is already over (still to do), soonest first."""
    today = local_today(outlet)
    return list(session.exec(select(Visit).where(
        Visit.assignee_id == actor.id, Visit.outlet_id == outlet.id, Visit.status == VisitStatus.scheduled,
        Visit.due_from.is_not(None), Visit.due_from <= today).order_by(Visit.due_until, Visit.id)).all())


def start_adhoc_visit(
    session: Session, *, actor: User, outlet: Outlet, checklist_code: str, window: Window | None = None,
    despite_planned: bool = False,
) -> Visit:
    """An unplanned visit the inspector starts on the spot (secret visits are never ad hoc).

    Where a planned visit waits for them at this outlet today, they are offered that one first
    (``PlannedVisitExists``); ``despite_planned`` starts another one all the same."""
    if not permissions.can_start_adhoc(actor):
        raise PermissionDenied(_("Only inspectors start visits."))
    checklist = checklists.registry(session).get(checklist_code)
    if checklist is None:
        raise DomainError(_("Unknown checklist."))
    if checklist.kind == "secret":
        raise DomainError(_("Secret visits are scheduled by a manager, never started ad hoc."))
    if not permissions.outlet_in_scope(session, actor, outlet):
        raise NotFound(_("This page does not exist, or you cannot see it."))
    if not outlet.active:
        raise DomainError(_("Outlet %(name)s is closed.", name=outlet.name))
    if window is not None and window.outlet_id != outlet.id:
        raise DomainError(_("That window does not belong to the outlet."))
    if checklist.subject == "window" and window is None:
        raise DomainError(_("This checklist rates one window: choose the window."))
    # The same start sent twice (a lost reply, a double tap) gives the same visit, not two.
    recent = session.exec(select(Visit).where(
        Visit.assignee_id == actor.id, Visit.outlet_id == outlet.id, Visit.checklist_code == checklist.code,
        Visit.status == VisitStatus.scheduled, Visit.due_from.is_(None), Visit.created_at >= clock.now() - dt.timedelta(minutes=30),
        Visit.window_id.is_(None) if window is None else Visit.window_id == window.id)).first()
    if recent is not None:
        return recent
    if not despite_planned:
        planned = planned_visits_due(session, actor=actor, outlet=outlet)
        if planned:
            raise PlannedVisitExists(planned)
    visit = Visit(
        checklist_version_id=checklists.current_version(session, checklist.code).id, checklist_code=checklist.code,
        kind=checklist.kind, outlet_id=outlet.id, window_id=window.id if window else None, assignee_id=actor.id,
        created_by_id=actor.id, status=VisitStatus.scheduled,
    )
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.created", obj=visit,
           after={"checklist": checklist.code, "outlet_id": outlet.id, "window_id": visit.window_id})
    return visit


# --- the check-in's place ----------------------------------------------------------------------

CHECKIN_FAR = "far"
CHECKIN_NO_LOCATION = "no_location"
CHECKIN_FLAG_LABELS = {CHECKIN_FAR: _l("Far from the outlet"), CHECKIN_NO_LOCATION: _l("No location")}


def checkin_radius() -> int:
    return _config("CHECKIN_RADIUS_METERS", 300)


@dataclass(frozen=True)
class CheckinPlace:
    """Where a check-in stands against its outlet: the one definition (check-in, review, lists)."""

    distance: float | None  # metres, None without a position or without the outlet's location
    flag: str               # "", CHECKIN_FAR or CHECKIN_NO_LOCATION
    radius: int


def checkin_place(outlet: Outlet, lat: float | None, lon: float | None, accuracy: float | None) -> CheckinPlace:
    """Far means: even the nearest point the phone may have been (its position less the accuracy
    it reports, that allowance counted at most up to the radius itself, so a position known to
    5 km does not pass) lies beyond the radius (``CHECKIN_RADIUS_METERS``, 300 m by default)."""
    radius = checkin_radius()
    if lat is None or lon is None:
        return CheckinPlace(None, CHECKIN_NO_LOCATION, radius)
    if outlet.lat is None or outlet.lon is None:
        return CheckinPlace(None, "", radius)
    meters = distance_m(lat, lon, outlet.lat, outlet.lon)
    allowance = min(max(accuracy or 0.0, 0.0), float(radius))
    return CheckinPlace(round(meters, 1), CHECKIN_FAR if meters - allowance > radius else "", radius)


def _config(name: str, default: int) -> int:
    return current_app.config.get(name, default) if has_app_context() else default


def start_self_inspection(session: Session, *, actor: User, outlet: Outlet, checklist_code: str) -> Visit:
    """The branch chief's self-inspection (自查) of their own outlet with a self checklist: the one
    planned for them today (or already started), else an unplanned one (an extra check after an
    incident). Another outlet does not exist for them."""
    if not permissions.is_outlet_side(actor) or not permissions.outlet_in_scope(session, actor, outlet):
        raise NotFound(_("This page does not exist, or you cannot see it."))
    checklist = checklists.registry(session).get(checklist_code)
    if checklist is None or checklist.kind != SELF_KIND:
        raise DomainError(_("Choose a self-inspection checklist."))
    if not outlet.active:
        raise DomainError(_("Outlet %(name)s is closed.", name=outlet.name))
    today = local_today(outlet)
    mine = select(Visit).where(Visit.assignee_id == actor.id, Visit.outlet_id == outlet.id,
                               Visit.checklist_code == checklist.code)
    started = session.exec(mine.where(Visit.status == VisitStatus.in_progress).order_by(Visit.id.desc())).first()
    if started is not None:
        return started
    planned = session.exec(mine.where(Visit.status == VisitStatus.scheduled, Visit.due_from <= today,
                                      Visit.due_until >= today).order_by(Visit.due_until, Visit.id)).first()
    if planned is not None:
        return planned
    unplanned = session.exec(mine.where(Visit.status == VisitStatus.scheduled, Visit.due_from.is_(None))).first()
    if unplanned is not None:  # the same start sent twice gives the same visit
        return unplanned
    visit = Visit(checklist_version_id=checklists.current_version(session, checklist.code).id,
                  checklist_code=checklist.code, kind=checklist.kind, outlet_id=outlet.id, assignee_id=actor.id,
                  created_by_id=actor.id, status=VisitStatus.scheduled)
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.created", obj=visit,
           after={"checklist": checklist.code, "outlet_id": outlet.id, "self_inspection": True})
    return visit


def colleagues_for(session: Session, *, actor: User, visit: Visit) -> list[User]:
    """The other branch chiefs of a self-inspection's outlet, to whom its chief may hand it."""
    if visit.kind != SELF_KIND or visit.assignee_id != actor.id:
        return []
    outlet = session.get(Outlet, visit.outlet_id)
    return list(session.exec(
        select(User).join(UserOutlet, UserOutlet.user_id == User.id)
        .where(UserOutlet.outlet_id == outlet.id, User.active.is_(True), User.role == Role.branch_chief,
               User.id != actor.id).order_by(User.display_name, User.id)).all())


def hand_over(session: Session, *, actor: User, visit: Visit, to: User | None) -> Visit:
    """A branch chief hands a self-inspection not yet started to another branch chief of the same
    outlet (its deputy, 副所长, when the chief is away): the one a person may name to do it. Anyone
    else is refused; a manager reassigns planned visits as ever (``reassign_visit``)."""
    VISIT.check(session, actor, visit, "hand_over")
    if visit.kind != SELF_KIND:
        raise DomainError(_("Only a self-inspection can be handed to a colleague; other visits are reassigned by "
                            "a manager."))
    if to is None:
        raise DomainError(_("Choose who does the self-inspection."))
    if to.id not in {p.id for p in colleagues_for(session, actor=actor, visit=visit)}:
        raise DomainError(_("%(person)s may not take this self-inspection: it goes to a branch chief of the outlet "
                            "only.", person=to.display_name))
    before = {"assignee_id": visit.assignee_id}
    visit.assignee_id = to.id
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.handed_over", obj=visit, before=before, after={"assignee_id": to.id})
    notify(session, user_ids=[to.id], kind="self_check_handed",
           params={"from": actor.display_name, "outlet": session.get(Outlet, visit.outlet_id).name,
                   "day": str(visit.due_from or "")}, link=f"/visits/{visit.id}/checkin")
    return visit



class AlreadyCheckedIn(Conflict):
    """A second check-in for a visit that has one: the first one stands (its time and place)."""

    def __init__(self, visit: Visit, outlet: Outlet):
        local = visit.checkin_at.astimezone(clock.zone(outlet.timezone)) if visit.checkin_at else None
        super().__init__(_("This visit was already checked in at %(time)s; that check-in stands.",
                           time=local.strftime("%Y-%m-%d %H:%M") if local else "—"))
        self.visit = visit


class FarCheckin(DomainError):
    """A position beyond the allowed distance without a reason: the inspector is told and says why."""

    def __init__(self, place: CheckinPlace):
        super().__init__(_("You are about %(m)d m from the outlet (more than %(r)d m allowed): say why you check in here.",
                           m=place.distance or 0, r=place.radius))
        self.place = place


def check_in(
    session: Session,
    *,
    actor: User,
    visit: Visit,
    lat: float | None,
    lon: float | None,
    accuracy: float | None,
    no_location_reason: str = "",
    far_reason: str = "",
    window_id: int | None = None,
    at: dt.datetime | None = None,
    keep_version: bool = False,
    client_id: str | None = None,
) -> Visit:
    """Start the visit at the outlet: the time, and the phone's position or why there is none.

    Online the time is the server's. A check-in made offline arrives later with the phone's time
    (``at``), accepted when it is plausible (not ahead of the server, at most two days old); the
    server's time of receipt goes into the audit event. ``keep_version``: the phone filled the
    checklist version it downloaded, which the visit keeps even if the file changed meanwhile.

    A visit is checked in once: the same request again (``client_id``, a reply that was lost) gets
    the stored check-in; any other check-in of the assignee is refused with ``AlreadyCheckedIn``.
    """
    if visit.assignee_id == actor.id and visit.checkin_at is not None:
        if client_id and client_id == visit.checkin_client_id:
            return visit
        raise AlreadyCheckedIn(visit, session.get(Outlet, visit.outlet_id))
    VISIT.check(session, actor, visit, "check_in")
    checklist = checklists.registry(session).get(visit.checklist_code)
    if checklist is None:
        raise DomainError(_("The checklist of this visit is no longer offered."))
    if window_id is not None and visit.window_id is None:
        window = session.get(Window, window_id)
        if window is None or window.outlet_id != visit.outlet_id:
            raise DomainError(_("That window does not belong to the outlet."))
        visit.window_id = window.id
    if checklist.subject == "window" and visit.window_id is None:
        raise DomainError(_("This checklist rates one window: choose the window."))
    has_position = lat is not None and lon is not None
    if accuracy is not None and not (math.isfinite(accuracy) and accuracy >= 0):
        raise DomainError(_("The position from the phone is not valid."))
    if has_position:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise DomainError(_("The position from the phone is not valid."))
    elif visit.kind != SELF_KIND and len(no_location_reason.strip()) < 2:
        # a self-inspection is made by the outlet's own chief in their own outlet: the position is
        # kept when the phone gives it, and nobody needs to explain its absence
        raise DomainError(_("The phone gave no location: say why (for example, location is switched off)."))
    outlet = session.get(Outlet, visit.outlet_id)
    place = checkin_place(outlet, lat, lon, accuracy) if has_position else CheckinPlace(None, CHECKIN_NO_LOCATION, 0)
    if visit.kind == SELF_KIND:  # the chief in their own outlet: the distance is kept, nothing is flagged
        place = CheckinPlace(place.distance, "", place.radius)
    far_reason = (far_reason or "").strip()
    if place.flag == CHECKIN_FAR and len(far_reason) < 2:
        raise FarCheckin(place)
    now = clock.now()
    moment = now
    if at is not None:
        at = at.astimezone(dt.timezone.utc)
        if at > now + dt.timedelta(minutes=5) or at < now - dt.timedelta(days=2):
            raise DomainError(_("The check-in time from the phone is not plausible; check the phone's clock."))
        moment = min(at, now)
    # The version the visit is filled with is fixed at the start and never changes afterwards.
    if not keep_version:
        visit.checklist_version_id = checklists.current_version(session, visit.checklist_code).id
    visit.status = VisitStatus.in_progress
    visit.started_at = visit.checkin_at = moment
    visit.checkin_lat, visit.checkin_lon = (lat, lon) if has_position else (None, None)
    visit.checkin_accuracy = accuracy if has_position else None
    visit.checkin_no_location_reason = "" if has_position else no_location_reason.strip()[:300]
    visit.checkin_client_id = client_id
    visit.checkin_distance_m, visit.checkin_flag = place.distance, place.flag
    visit.checkin_far_reason = far_reason[:300] if place.flag == CHECKIN_FAR else ""
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.checked_in", obj=visit,
           after={"at": moment, "received": now, "lat": visit.checkin_lat, "lon": visit.checkin_lon, "accuracy": visit.checkin_accuracy,
                  "no_location_reason": visit.checkin_no_location_reason, "distance_m": place.distance,
                  "flag": place.flag, "far_reason": visit.checkin_far_reason})
    return visit


# --- answering ---------------------------------------------------------------------------------

def checklist_of(session: Session, visit: Visit) -> Checklist:
    return checklists.definition_of_version(session, visit.checklist_version_id)


def answers_of(session: Session, visit: Visit) -> dict[str, Answer]:
    return {a.item_code: a for a in session.exec(select(Answer).where(Answer.visit_id == visit.id)).all()}


def answer_input(answer: Answer) -> AnswerInput:
    return AnswerInput(result=answer.result, occurrences=answer.occurrences, scale_value=answer.scale_value,
                       seconds=answer.seconds)


def score_visit(checklist: Checklist, answers: dict[str, Answer], visit: Visit | None = None) -> ScoreResult:
    """Score with the visit's own version; timer items take the durations the taps measured."""
    inputs = {code: answer_input(a) for code, a in answers.items()}
    if visit is not None and visit.kind == "secret":
        measured = timers.durations(visit)
        for item in checklist.items:
            if item.rule == "timer" and measured.get(item.timer) is not None:
                inputs[item.code] = AnswerInput(seconds=measured[item.timer])
    return score(checklist, inputs)


def require_editable(session: Session, actor: User, visit: Visit) -> None:
    """Answers, photos and notes change only while the assignee is filling the visit."""
    VISIT.check(session, actor, visit, "edit")


def save_answer(
    session: Session,
    *,
    actor: User,
    visit: Visit,
    item_code: str,
    result: str | None = None,
    occurrences: int | None = None,
    scale_value: int | None = None,
    note: str | None = None,
    staff_id: int | str | None = None,
    base_version: int | None = None,
    client_id: str | None = None,
    supersedes: list[str] | None = None,
    clear: bool = False,
) -> Answer:
    """Save one answer as it is made; ``clear`` takes an answer back (the item is unanswered again).

    ``staff_id`` names the staff member a finding concerns, like ``note``: None leaves it as it
    is, 0 or "" clears it; anyone else must be at work at the visit's outlet.

    ``base_version`` is the version the client last saw: a write based on an older version (the
    same item changed on another device meanwhile) is refused with Conflict, never silently
    overwritten. A repeat of the same write (same ``client_id``) returns what was stored.
    """
    require_editable(session, actor, visit)
    checklist = checklist_of(session, visit)
    item = checklist.item(item_code)
    if item is None:
        raise DomainError(_("Item %(code)s is not on this checklist.", code=item_code))
    if item.rule == "timer":
        raise DomainError(_("This item is measured by the visit timers."))
    existing = session.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == item_code)).first()
    repeat = existing is not None and client_id and existing.client_id == client_id
    # The stored version may be this same phone's earlier write whose reply was lost, replaced on
    # the phone by a newer edit before it was confirmed: that is not another device's change.
    own_earlier = existing is not None and existing.client_id is not None and existing.client_id in (supersedes or [])
    if not repeat and not own_earlier and existing is not None and base_version is not None \
            and existing.version != base_version:
        raise Conflict(_("Item %(code)s was changed on another device. Check it and answer again.", code=item_code))
    if existing is None and base_version not in (None, 0) and not supersedes:
        raise Conflict(_("Item %(code)s was changed on another device. Check it and answer again.", code=item_code))
    result, occurrences, scale_value = answer_values(item, result=result, occurrences=occurrences,
                                                     scale_value=scale_value, clear=clear, note=note)
    staff_id = named_staff(session, visit=visit, staff_id=staff_id, current=existing.staff_id if existing else None)
    if repeat:
        # The same request again (a retry after a lost reply): answer with what is stored. The same
        # id with different content is a client bug, refused rather than guessed at.
        same = ((existing.result, existing.occurrences, existing.scale_value) == (result, occurrences, scale_value)
                and (note is None or existing.note == note.strip())
                and (staff_id is None or (existing.staff_id or 0) == staff_id))
        if not same:
            raise Conflict(_("This request id was already used for a different answer."))
        return existing
    return write_answer(session, actor=actor, visit=visit, existing=existing, item_code=item_code,
                        values=(result, occurrences, scale_value), note=note, staff_id=staff_id, client_id=client_id)


def named_staff(session: Session, *, visit: Visit, staff_id: int | str | None, current: int | None) -> int | None:
    """The staff member an answer is to name: None (leave as is), 0 (nobody) or the id of someone
    at work at the visit's outlet. The one named already stays nameable after they left."""
    if staff_id is None:
        return None
    typed = str(staff_id).strip()
    if typed in ("", "0"):
        return 0
    if current is not None and typed == str(current):
        return current
    member = session.get(StaffMember, int(typed)) if typed.isdecimal() and len(typed) < 12 else None
    if member is None or member.outlet_id != visit.outlet_id or not member.active:
        raise DomainError(_("The person named is not on the staff of this outlet. Choose someone from the list."))
    return member.id


def answer_values(item, *, result: str | None, occurrences: int | None, scale_value: int | None,
                  clear: bool = False, note: str | None = None) -> tuple[str | None, int | None, int | None]:
    """(result, occurrences, scale value) as stored for this item, or the refusal of a value the
    item does not take. Shared by the assignee's answers and the reviewer's corrections."""
    result = result or None
    if result not in (None, PASS, FAIL, NA):
        raise DomainError(_("Unknown answer."))
    if clear:
        result = occurrences = scale_value = None
    elif result == NA and not item.na_allowed:
        raise DomainError(_("Item %(code)s cannot be marked not applicable.", code=item.code))
    elif item.rule == "per_occurrence" and result != NA:
        if occurrences is None:
            occurrences = 0 if result == PASS else None
        if occurrences is None or occurrences < 0 or occurrences > 99:
            raise DomainError(_("Count how often it happened (0 to 99)."))
        result = FAIL if occurrences > 0 else PASS
    elif item.rule == "scale" and result != NA:
        if scale_value is None or not 0 <= scale_value <= item.scale_max:
            raise DomainError(_("Choose a value from 0 to %(n)d.", n=item.scale_max))
        result = FAIL if scale_value < item.fail_below else PASS
    if result == NA or item.rule == "pass_fail":
        occurrences = scale_value = None
    if note is not None and len(note) > MAX_NOTE:
        raise DomainError(_("The note is longer than %(n)d characters.", n=MAX_NOTE))
    return (result, occurrences if item.rule == "per_occurrence" else None,
            scale_value if item.rule == "scale" else None)


def write_answer(session: Session, *, actor: User, visit: Visit, existing: Answer | None, item_code: str,
                 values: tuple[str | None, int | None, int | None], note: str | None,
                 staff_id: int | None = None, client_id: str | None = None) -> Answer:
    """Store checked values (``answer_values``, ``named_staff``) as the item's answer, one version up."""
    answer = existing or Answer(visit_id=visit.id, item_code=item_code, version=0)
    answer.result, answer.occurrences, answer.scale_value = values
    if note is not None:
        answer.note = note.strip()
    if staff_id is not None:
        answer.staff_id = staff_id or None
    answer.version += 1
    answer.client_id = client_id
    answer.updated_at = clock.now()
    answer.updated_by_id = actor.id
    session.add(answer)
    session.flush()
    return answer


MAX_SUMMARY = 4000


def save_summary(session: Session, *, actor: User, visit: Visit, summary: str) -> Visit:
    """The overall note (a secret visit's impression): the one writer of ``visit.summary``."""
    require_editable(session, actor, visit)
    if len(summary) > MAX_SUMMARY:
        raise DomainError(_("The overall note is longer than %(n)d characters.", n=MAX_SUMMARY))
    visit.summary = summary.strip()
    session.add(visit)
    session.flush()
    return visit


# --- photos ------------------------------------------------------------------------------------

PHOTO_PURPOSES = ("item", "receipt", "general")


def add_visit_photo(
    session: Session,
    storage,
    *,
    actor: User,
    visit: Visit,
    data: bytes,
    item_code: str | None,
    purpose: str = "item",
    client_id: str | None = None,
    plan_only: bool = False,
    prepared: evidence.PreparedPhoto | None = None,
) -> tuple[Photo, bool] | evidence.PhotoPlan:
    """A photo for an answer (or the visit's receipt or hall), while the visit is being filled.

    ``plan_only`` checks everything and answers the plan (reads only); ``prepared`` is the photo
    already decoded and written by ``evidence.prepare_photo`` outside the transaction."""
    require_editable(session, actor, visit)
    if purpose not in PHOTO_PURPOSES:
        raise DomainError(_("Unknown kind of photo."))
    if purpose == "item":
        checklist = checklist_of(session, visit)
        if not item_code or checklist.item(item_code) is None:
            raise DomainError(_("Item %(code)s is not on this checklist.", code=item_code or "?"))
    else:
        item_code = None

    def same_place(query):
        query = query.where(Photo.visit_id == visit.id, Photo.purpose == purpose)
        return query.where(Photo.item_code == item_code) if item_code else query.where(Photo.item_code.is_(None))

    digest = hashlib.sha256(data).hexdigest()
    already = session.exec(same_place(select(Photo)).where(Photo.deleted_at.is_(None))).all()
    is_retry = any(p.sha256 == digest for p in already) or (
        client_id and any(p.client_id == client_id for p in already))
    if not is_retry:
        if purpose == "item" and len(already) >= evidence.MAX_PHOTOS_PER_ITEM:
            raise DomainError(_("At most %(n)d photos per item.", n=evidence.MAX_PHOTOS_PER_ITEM))
        total = session.exec(select(sa.func.count()).select_from(Photo).where(
            Photo.visit_id == visit.id, Photo.deleted_at.is_(None))).one()
        if total >= evidence.MAX_PHOTOS_PER_VISIT:
            raise DomainError(_("At most %(n)d photos per visit.", n=evidence.MAX_PHOTOS_PER_VISIT))
    outlet = session.get(Outlet, visit.outlet_id)
    if plan_only:
        return evidence.plan_photo(session, actor=actor, outlet=outlet, data=data, client_id=client_id,
                                   same_place=same_place, date_only_stamp=visit.kind == "secret")
    return evidence.store_photo(session, storage, prepared=prepared, date_only_stamp=visit.kind == "secret", actor=actor, outlet=outlet, data=data, client_id=client_id,
                       visit_id=visit.id, item_code=item_code, purpose=purpose, same_place=same_place)


def _may_view_visit_photo(session: Session, user: User, photo: Photo) -> bool:
    """Whoever may see the visit, except that the outlet side sees a secret visit's photos only
    where they are the evidence of a finding shown to it: never the receipt (it can print the
    shopper's name) nor the hall and counter photos."""
    visit = session.get(Visit, photo.visit_id)
    if not permissions.can_view_visit(session, user, visit):
        return False
    if visit.kind == "secret" and permissions.is_outlet_side(user):
        if photo.purpose != "item" or not photo.item_code:
            return False
        result = score_visit(checklist_of(session, visit), answers_of(session, visit), visit)
        return photo.item_code in result.failed_items
    return True


def _check_remove_visit_photo(session: Session, actor: User, photo: Photo) -> None:
    """Before submit the inspector may take a photo back."""
    require_editable(session, actor, session.get(Visit, photo.visit_id))


#: Registered with evidence at start-up (``inspect_app.visits.init_app``).
PHOTO_OWNER = evidence.PhotoOwner(may_view=_may_view_visit_photo, check_remove=_check_remove_visit_photo)


# --- submitting --------------------------------------------------------------------------------

@dataclass
class Missing:
    """One thing that keeps a visit from being submitted."""

    item_code: str | None
    message: str


class IncompleteVisit(DomainError):
    def __init__(self, missing: list[Missing], warnings: list[Missing] | None = None):
        if missing:
            message = _("The visit is not complete yet: %(n)d things are missing.", n=len(missing))
        else:
            message = _("Check these %(n)d points; submit anyway if they cannot be helped.", n=len(warnings or []))
        super().__init__(message)
        self.missing = missing
        self.warnings = warnings or []


def photos_of(session: Session, visit: Visit) -> list[Photo]:
    return list(session.exec(select(Photo).where(Photo.visit_id == visit.id, Photo.deleted_at.is_(None))
                             .order_by(Photo.id)).all())


def photos_by_place(session: Session, visit: Visit) -> dict[str, list[Photo]]:
    """The visit's photos keyed by item code, or ``_receipt`` / ``_general`` for visit-wide ones."""
    by_place: dict[str, list[Photo]] = {}
    for photo in photos_of(session, visit):
        by_place.setdefault(photo.item_code or f"_{photo.purpose}", []).append(photo)
    return by_place


def missing_for_submit(checklist: Checklist, visit: Visit, answers: dict[str, Answer],
                       photos: list[Photo]) -> tuple[list[Missing], list[Missing]]:
    """(blockers, warnings). Open inspections need everything. A mystery shopper cannot always
    take a photo or get a receipt without being noticed: those become warnings they confirm, and
    flags for the reviewer."""
    result = score_visit(checklist, answers, visit)
    photo_items = {p.item_code for p in photos if p.item_code}
    secret = visit.kind == "secret"
    blockers, warnings = [], []
    soft = warnings if secret else blockers
    for item in checklist.items:
        item_score = result.items[item.code]
        if item.rule == "timer":
            if not item_score.answered:
                blockers.append(Missing(item.code, _("Record the times with the timer buttons.")))
            continue
        if not item_score.answered:
            blockers.append(Missing(item.code, _("Not answered yet.")))
            continue
        if item_score.failed:
            if not (answers[item.code].note or "").strip():
                soft.append(Missing(item.code, _("A failed item needs a note saying what was wrong.")))
            if item.photo_on_fail and item.code not in photo_items:
                soft.append(Missing(item.code, _("A failed item needs a photo.")))
    if checklist.min_photos and len(photos) < checklist.min_photos:
        soft.append(Missing(None, _("At least %(n)d photos are needed for this visit; %(have)d taken.",
                                    n=checklist.min_photos, have=len(photos))))
    if checklist.receipt_photo and not any(p.purpose == "receipt" for p in photos):
        soft.append(Missing(None, _("No receipt photo.")))
    if checklist.impression_min_chars and len(visit.summary) < checklist.impression_min_chars:
        soft.append(Missing(None, _("The overall impression needs at least %(n)d characters; it has %(have)d.",
                                    n=checklist.impression_min_chars, have=len(visit.summary))))
    return blockers, warnings


def submit_problems(session: Session, *, actor: User, visit: Visit,
                    accept_warnings: bool = False) -> IncompleteVisit | None:
    """What keeps the assignee's visit from being submitted now (None: nothing, or not theirs to
    submit, which ``submit_visit`` refuses in its own words)."""
    if visit.assignee_id != actor.id or visit.status not in EDITABLE:
        return None
    missing, warnings = missing_for_submit(checklist_of(session, visit), visit, answers_of(session, visit),
                                           photos_of(session, visit))
    if missing or (warnings and not accept_warnings):
        return IncompleteVisit(missing, warnings)
    return None


def submit_visit(session: Session, *, actor: User, visit: Visit, token: str | None,
                 accept_warnings: bool = False) -> Visit:
    """Lock the visit and score it. A repeat with the same token does nothing twice."""
    if visit.assignee_id == actor.id and visit.status not in EDITABLE and token and visit.submit_token == token:
        return visit
    transition = VISIT.check(session, actor, visit, "submit_secret" if visit.kind == "secret" else "submit")
    checklist = checklist_of(session, visit)
    answers = answers_of(session, visit)
    missing, warnings = missing_for_submit(checklist, visit, answers, photos_of(session, visit))
    if missing or (warnings and not accept_warnings):
        raise IncompleteVisit(missing, warnings)
    result = score_visit(checklist, answers, visit)
    before = visit.status
    visit.submitted_at = clock.now()
    visit.submit_token = token
    store_score(visit, result)
    visit.status = transition.target
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.submitted", obj=visit, before={"status": before},
           after={"status": visit.status, "score": visit.score, "passed": visit.passed, "stars": visit.stars})
    if visit.status == VisitStatus.released:
        _on_release(session, actor=actor, visit=visit, checklist=checklist, result=result)
    elif visit.status == VisitStatus.in_review:
        tell_reviewers(session, visit=visit)
    return visit


def tell_reviewers(session: Session, *, visit: Visit) -> int:
    """A secret visit waits for review: the reviewers whose region holds the outlet hear of it, and
    nobody else (not the managers who may stand in, never anyone on the outlet side)."""
    outlet = session.get(Outlet, visit.outlet_id)
    reviewers = session.exec(select(User).where(User.role == Role.reviewer, User.active.is_(True))).all()
    recipients = [u.id for u in reviewers if permissions.outlet_in_scope(session, u, outlet)]
    return notify(session, user_ids=recipients, kind="visit_review", params={"outlet": outlet.name},
                  link=f"/review/{visit.id}")


def store_score(visit: Visit, result: ScoreResult) -> None:
    visit.score, visit.earned, visit.applicable = result.total, result.earned, result.applicable
    visit.passed, visit.stars, visit.red_line = result.passed, result.stars, bool(result.red_lines_failed)
    visit.section_scores = {s.code: s.percent for s in result.sections if s.percent is not None}


def release_visit(session: Session, *, actor: User, visit: Visit) -> Visit:
    """Make a reviewed secret visit's findings visible to the outlet side."""
    VISIT.check(session, actor, visit, "release")
    checklist = checklist_of(session, visit)
    result = score_visit(checklist, answers_of(session, visit), visit)
    store_score(visit, result)
    visit.status = VISIT["release"].target
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.released", obj=visit, before={"status": VisitStatus.in_review},
           after={"status": visit.status, "score": visit.score})
    _on_release(session, actor=actor, visit=visit, checklist=checklist, result=result)
    return visit


def _on_release(session: Session, *, actor: User, visit: Visit, checklist: Checklist, result: ScoreResult) -> None:
    """What release means: the outlet side sees the findings, stars change, and whoever acts on
    released findings is told (rectification issues the notice)."""
    visit.released_at = clock.now()
    visit.released_by_id = actor.id
    session.add(visit)
    if visit.kind != SELF_KIND:  # the outlet's own check neither awards nor ends a star
        settle_stars(session, visit=visit, checklist=checklist, result=result)
    signals.visit_released.send(visit, session=session, actor=actor, checklist=checklist, result=result)


def rescore(session: Session, *, actor: User, visit: Visit, reason: str) -> ScoreResult:
    """Score a released visit again from its answers (after a finding was withdrawn): the score,
    its stars and any star its red line took away follow."""
    checklist = checklist_of(session, visit)
    before = {"score": visit.score, "passed": visit.passed, "stars": visit.stars}
    result = score_visit(checklist, answers_of(session, visit), visit)
    store_score(visit, result)
    session.add(visit)
    if visit.kind != SELF_KIND:
        settle_stars(session, visit=visit, checklist=checklist, result=result)
    record(session, actor=actor, action="visit.rescored", obj=visit, before=before,
           after={"score": visit.score, "passed": visit.passed, "stars": visit.stars}, note=reason[:200])
    return result


def withdraw_finding(session: Session, *, actor: User, visit: Visit, item_code: str, reason: str) -> ScoreResult:
    """A finding the reviewer withdrew counts as passed: the answer changes (audited) and the visit
    is re-scored."""
    item = checklist_of(session, visit).item(item_code)
    answer = session.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == item_code)).first()
    if answer is not None and item is not None:
        before = _answer_values(answer)
        if item.rule == "per_occurrence":
            answer.occurrences, answer.result = 0, PASS
        elif item.rule == "scale":
            answer.scale_value, answer.result = item.scale_max, PASS
        elif answer.result == FAIL:
            answer.result = PASS
        answer.version += 1
        answer.updated_at, answer.updated_by_id = clock.now(), actor.id
        session.add(answer)
        record(session, actor=actor, action="answer.corrected", obj=answer, before=before,
               after=_answer_values(answer), note=reason[:200])
    return rescore(session, actor=actor, visit=visit, reason=reason)


def _answer_values(answer: Answer) -> dict:
    return {"result": answer.result, "occurrences": answer.occurrences, "scale_value": answer.scale_value,
            "note": answer.note}


# --- star ratings ------------------------------------------------------------------------------

def star_valid_until(awarded_at: dt.datetime, zone: str) -> dt.datetime:
    """A star holds for 12 months in the outlet's calendar: through the day before the same date a
    year later (awarded 2026-03-15: through 2027-03-14; awarded 2028-02-29: through 2029-02-28)."""
    day = clock.add_months(clock.local_date(awarded_at, zone), STAR_VALIDITY_MONTHS)
    return clock.day_start(day, zone)


def star_last_day(rating: StarRating, zone: str) -> dt.date:
    """The last local day a star holds (``valid_until`` is the instant it ends)."""
    return clock.local_date(rating.valid_until - dt.timedelta(microseconds=1), zone)


def current_stars_query(now: dt.datetime | None = None):
    now = now or clock.now()
    return select(StarRating).where(StarRating.ended_at.is_(None), StarRating.valid_until > now)


def settle_stars(session: Session, *, visit: Visit, checklist: Checklist, result: ScoreResult) -> None:
    """The one place stars change, on release and again on a re-score.

    A red line failed: the stars it touches end (the window's, or every one of the outlet for an
    outlet visit); no red line (any more): the stars this visit's red line ended come back. A star
    rating sets its window's level: older ratings are replaced, a newer one is never overridden.
    """
    now = clock.now()
    current = session.exec(current_stars_query(now).where(StarRating.outlet_id == visit.outlet_id)).all()
    if result.red_lines_failed:
        for rating in current:
            if visit.window_id is None or rating.window_id in (None, visit.window_id):
                rating.ended_at, rating.end_reason, rating.ended_by_visit_id = now, "red_line", visit.id
                session.add(rating)
    else:
        for rating in session.exec(select(StarRating).where(StarRating.ended_by_visit_id == visit.id,
                                                            StarRating.end_reason == "red_line")).all():
            rating.ended_at = rating.end_reason = rating.ended_by_visit_id = None
            session.add(rating)
    if checklist.kind != "star":
        session.flush()
        return
    released = visit.released_at or now
    own = session.exec(select(StarRating).where(StarRating.visit_id == visit.id)).first()
    if own is not None:
        own.stars, own.score = result.stars, result.total
        session.add(own)
    else:
        newer = False
        for rating in session.exec(current_stars_query(now).where(StarRating.outlet_id == visit.outlet_id)).all():
            if rating.window_id != visit.window_id or rating.ended_at is not None:
                continue
            if rating.awarded_at > released:
                newer = True  # a later rating of this window holds; this one does not come back over it
            else:
                rating.ended_at, rating.end_reason, rating.ended_by_visit_id = now, "replaced", visit.id
                session.add(rating)
        if result.stars > 0 and not newer:
            zone = session.get(Outlet, visit.outlet_id).timezone
            session.add(StarRating(outlet_id=visit.outlet_id, window_id=visit.window_id, visit_id=visit.id,
                                   stars=result.stars, score=result.total, awarded_at=released,
                                   valid_until=star_valid_until(released, zone)))
    session.flush()


def star_history(session: Session, *, outlet_id: int, window_id: int | None) -> list[StarRating]:
    query = select(StarRating).where(StarRating.outlet_id == outlet_id)
    query = query.where(StarRating.window_id.is_(None) if window_id is None else StarRating.window_id == window_id)
    return list(session.exec(query.order_by(StarRating.awarded_at.desc())).all())
