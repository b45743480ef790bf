"""The rules of complaints, callbacks and accountability: plain functions, each checking its
transition table (``complaints.lifecycle``) and writing its history and audit event.

Contact details (the customer's name and phone) are written here and read back only through
``contact_of`` for complaint handlers; every other reader sees none. Text that leaves the
complaint for other readers (a rectification line, the audit log) goes through ``privacy.redact``.
"""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import Role, User
from inspect_app.complaints import privacy, settings
from inspect_app.complaints.lifecycle import ACCOUNTABILITY, COMPLAINT
from inspect_app.complaints.models import (
    AT_FAULT,
    CONCLUDED,
    OPEN_COMPLAINT,
    SATISFACTION_LABELS,
    TIER_DAYS,
    TIER_LABELS,
    VERDICT_LABELS,
    Accountability,
    AccountabilityStatus,
    Callback,
    Commendation,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    KeyCustomer,
)
from inspect_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.rectifications import services as rectifications
from inspect_app.rectifications.models import RectificationLine, RectificationNotice

MIN_TEXT = 2
MAX_TEXT = 2000
#: How far back a complaint may be dated when it is written down late (a letter read days later).
MAX_BACKDATE_DAYS = 90
#: The first-contact reminder goes out when this share of the time to first contact is left (1/4).
CONTACT_REMINDER_SHARE = 4
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


# --- small rules ------------------------------------------------------------------------------------

def _text(value: str | None, what: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and len(value) < MIN_TEXT:
        raise DomainError(_("Write a few words: %(what)s.", what=what))
    if len(value) > limit:
        raise DomainError(_("The text is longer than %(n)d characters.", n=limit))
    return value


def contact_of(user: User, complaint_or_customer) -> tuple[str, str] | None:
    """(name, phone) for complaint handlers; None for everyone else, who sees neither, not even
    masked (a surname and four digits narrow a caller down too far in a small town)."""
    if not permissions.may_read_contact(user):
        return None
    if isinstance(complaint_or_customer, Complaint):
        return complaint_or_customer.customer_name, complaint_or_customer.customer_phone
    return complaint_or_customer.contact_name, complaint_or_customer.contact_phone


def _phone(value: str | None) -> str:
    value = (value or "").strip()
    if value and not PHONE.match(value):
        raise DomainError(_("The phone number is not valid: digits, spaces and dashes only."))
    return value


def _outlet_in_scope(session: Session, actor: User, outlet: Outlet | None) -> Outlet:
    if outlet is None or not permissions.outlet_in_scope(session, actor, outlet):
        raise NotFound(_("This outlet does not exist, or it is not in your region."))
    return outlet


def _staff_of(session: Session, outlet: Outlet, staff_id: int | None) -> StaffMember | None:
    if not staff_id:
        return None
    staff = session.get(StaffMember, staff_id)
    if staff is None or staff.outlet_id != outlet.id or not staff.active:
        raise DomainError(_("This staff member does not work at %(outlet)s.", outlet=outlet.name))
    return staff


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(_("This complaint was changed by someone else a moment ago. Look at it again before acting.")) from None


def _expect_version(complaint: Complaint, base_version: int | None) -> None:
    if base_version is not None and complaint.row_version != base_version:
        raise Conflict(_("This complaint was changed by someone else a moment ago. Look at it again before acting."))


def _event(session: Session, complaint: Complaint, actor: User, action: str, text: str = "", *,
           to_user_id: int | None = None) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=complaint.id, actor_id=actor.id, action=action,
                           status_after=complaint.status, text=text, to_user_id=to_user_id)
    session.add(event)
    return event


def _audit_note(about: Complaint | KeyCustomer | None, text: str | None) -> str:
    """A note for the audit log, which administrators read: never a contact detail."""
    return privacy.redact_for(about, text or "")[:200]


def _record_note(session: Session, record_: Accountability, text: str | None) -> str:
    complaint = session.get(Complaint, record_.complaint_id) if record_.complaint_id else None
    return _audit_note(complaint, text)


def _link(complaint: Complaint) -> str:
    return f"/complaints/{complaint.id}"


def _zone(session: Session, complaint: Complaint) -> str:
    return session.get(Outlet, complaint.outlet_id).timezone


def handlers_for(session: Session, outlet: Outlet) -> list[User]:
    """The complaint handlers whose region holds the outlet, nearest unit first."""
    unit = session.get(Unit, outlet.unit_id)
    ancestor_ids = [int(x) for x in unit.path.strip("/").split("/")]
    people = session.exec(select(User).where(User.role == Role.handler, User.active.is_(True),
                                             User.unit_id.in_(ancestor_ids))).all()
    return sorted(people, key=lambda u: (-ancestor_ids.index(u.unit_id), u.display_name))


# --- deadlines ----------------------------------------------------------------------------------

def deadlines_for(source: str, received_at: dt.datetime, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """First contact: N hours after receipt. Resolution: the end of the local day N days after the
    day of receipt, in the outlet's zone."""
    rule = settings.deadlines()[source]
    contact = received_at + dt.timedelta(hours=rule.contact_hours)
    resolve = clock.day_end(clock.local_date(received_at, zone) + dt.timedelta(days=rule.resolve_days), zone)
    return contact, max(resolve, contact)


def contact_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    return (complaint.status in OPEN_COMPLAINT and complaint.contacted_at is None
            and (now or clock.now()) >= complaint.contact_due_at)


def resolve_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    return complaint.status in OPEN_COMPLAINT and (now or clock.now()) >= complaint.resolve_due_at


def is_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    return contact_overdue(complaint, now) or resolve_overdue(complaint, now)


def resolve_day(complaint: Complaint, zone: str) -> dt.date:
    """The last local day to resolve it (its deadline is that day's end)."""
    return clock.local_date(complaint.resolve_due_at - dt.timedelta(seconds=1), zone)


def late_days(complaint: Complaint, zone: str, now: dt.datetime | None = None) -> int:
    """Whole local days past the resolution day (0 on the day it fell due)."""
    if not resolve_overdue(complaint, now):
        return 0
    return (clock.local_date(now or clock.now(), zone) - resolve_day(complaint, zone)).days


def escalation_steps(complaint: Complaint, zone: str, now: dt.datetime | None = None) -> int:
    """Like a late rectification line: one unit up per ``ESCALATION_DAYS`` late, from the day after
    the resolution day."""
    if not resolve_overdue(complaint, now):
        return 0
    return 1 + late_days(complaint, zone, now) // rectifications.escalation_days()


# --- the register ---------------------------------------------------------------------------------

def register_complaint(session: Session, *, actor: User, outlet: Outlet | None, source: str,
                       received_at: dt.datetime, category: str, account: str, customer_name: str = "",
                       customer_phone: str = "", reference: str = "", staff_id: int | None = None) -> Complaint:
    """Write a complaint down as received; its deadlines start from ``received_at``."""
    if not permissions.can_register_complaints(actor):
        raise PermissionDenied(_("Only complaint handlers register complaints."))
    outlet = _outlet_in_scope(session, actor, outlet)
    if source not in settings.SOURCE_LABELS:
        raise DomainError(_("Choose where the complaint came from."))
    if category not in settings.categories():
        raise DomainError(_("Choose a category from the list."))
    if received_at.tzinfo is None:
        raise DomainError(_("Give the time the complaint was received."))
    now = clock.now()
    if received_at > now + dt.timedelta(minutes=5):
        raise DomainError(_("The time received is in the future."))
    if received_at < now - dt.timedelta(days=MAX_BACKDATE_DAYS):
        raise DomainError(_("The time received is more than %(n)d days ago.", n=MAX_BACKDATE_DAYS))
    staff = _staff_of(session, outlet, staff_id)
    contact_due, resolve_due = deadlines_for(source, received_at, outlet.timezone)
    complaint = Complaint(
        source=source, received_at=received_at, outlet_id=outlet.id, staff_id=staff.id if staff else None,
        category=category, account=_text(account, _("what the customer says happened")),
        customer_name=_text(customer_name, _("the customer's name"), required=False, limit=64),
        customer_phone=_phone(customer_phone), reference=_text(reference, "", required=False, limit=64),
        contact_due_at=contact_due, resolve_due_at=resolve_due, registered_by_id=actor.id, created_at=now)
    session.add(complaint)
    session.flush()
    complaint.number = f"TS{clock.local_date(received_at, outlet.timezone):%Y%m}-{complaint.id:05d}"
    _event(session, complaint, actor, "registered")
    # never the customer's name or phone in the audit trail: it is read by administrators
    record(session, actor=actor, action="complaint.registered", obj=complaint,
           after={"number": complaint.number, "source": source, "category": category, "outlet": outlet.code})
    return complaint


def take(session: Session, *, actor: User, complaint: Complaint, base_version: int | None = None) -> Complaint:
    """首问负责: whoever takes it first owns it until they hand it on."""
    COMPLAINT.check(session, actor, complaint, "take", then=lambda: _expect_version(complaint, base_version))
    complaint.status = ComplaintStatus.handling
    complaint.owner_id = actor.id
    complaint.first_owner_id = complaint.first_owner_id or actor.id
    session.add(complaint)
    _flush(session)
    _event(session, complaint, actor, "taken")
    record(session, actor=actor, action="complaint.taken", obj=complaint, after={"owner": actor.username})
    return complaint


def record_contact(session: Session, *, actor: User, complaint: Complaint, note: str) -> ComplaintEvent:
    """The owner reached the customer (the first such time stops the first-contact clock)."""
    COMPLAINT.check(session, actor, complaint, "contact")
    note = _text(note, _("what was said"))
    if complaint.contacted_at is None:
        complaint.contacted_at = clock.now()
        session.add(complaint)
        _flush(session)
    event = _event(session, complaint, actor, "contacted", note)
    record(session, actor=actor, action="complaint.contacted", obj=complaint)
    return event


def add_note(session: Session, *, actor: User, complaint: Complaint, text: str) -> ComplaintEvent:
    COMPLAINT.check(session, actor, complaint, "note")
    event = _event(session, complaint, actor, "note", _text(text, _("the investigation note")))
    record(session, actor=actor, action="complaint.note", obj=complaint)
    return event


def add_photo(session: Session, storage, *, actor: User, complaint: Complaint, data: bytes, client_id: str | None,
              plan_only: bool = False, prepared: evidence.PreparedPhoto | None = None):
    """Investigation evidence (a screenshot of the waybill, the counter, the parcel)."""
    COMPLAINT.check(session, actor, complaint, "photo")

    def same_place(query):
        return query.where(Photo.complaint_id == complaint.id, Photo.uploaded_by_id == actor.id)

    count = len(session.exec(select(Photo.id).where(Photo.complaint_id == complaint.id,
                                                    Photo.deleted_at.is_(None))).all())
    if count >= 3 * evidence.MAX_PHOTOS_PER_ITEM:
        raise DomainError(_("At most %(n)d photos per complaint.", n=3 * evidence.MAX_PHOTOS_PER_ITEM))
    outlet = session.get(Outlet, complaint.outlet_id)
    if plan_only:
        return evidence.plan_photo(session, actor=actor, outlet=outlet, data=data, client_id=client_id,
                                   same_place=same_place)
    return evidence.store_photo(session, storage, prepared=prepared, actor=actor, outlet=outlet, data=data,
                                client_id=client_id, purpose="complaint", complaint_id=complaint.id,
                                same_place=same_place)


def hand_on(session: Session, *, actor: User, complaint: Complaint, to_user: User | None, reason: str,
            base_version: int | None = None) -> Complaint:
    """The owner passes the complaint to another handler of the region, saying why."""
    COMPLAINT.check(session, actor, complaint, "hand_on", then=lambda: _expect_version(complaint, base_version))
    reason = _text(reason, _("why you hand it on"))
    if to_user is None or to_user.id == actor.id or not to_user.active or "handler" not in \
            permissions.complaint_sides(session, to_user, complaint):
        raise DomainError(_("Hand it on to another complaint handler of this outlet's region."))
    complaint.owner_id = to_user.id
    complaint.handed_on += 1
    session.add(complaint)
    _flush(session)
    _event(session, complaint, actor, "handed_on", reason, to_user_id=to_user.id)
    record(session, actor=actor, action="complaint.handed_on", obj=complaint,
           before={"owner": actor.username}, after={"owner": to_user.username}, note=_audit_note(complaint, reason))
    notify(session, user_ids=[to_user.id], kind="complaint_assigned",
           params={"number": complaint.number, "outlet": session.get(Outlet, complaint.outlet_id).name},
           link=_link(complaint))
    return complaint


def conclude(session: Session, *, actor: User, complaint: Complaint, verdict: str, reasons: str,
             grade: int | None = None, requirements: list[str] | None = None, severity: str = "general",
             staff_id: int | None = None, base_version: int | None = None) -> Complaint:
    """有理 / 部分有理 / 无理, with reasons; an at-fault verdict takes a grade and may raise
    rectification lines for the outlet at once."""
    COMPLAINT.check(session, actor, complaint, "conclude", then=lambda: _expect_version(complaint, base_version))
    if verdict not in VERDICT_LABELS:
        raise DomainError(_("Choose the conclusion: substantiated, partly substantiated or unfounded."))
    reasons = _text(reasons, _("the reasons for the conclusion"))
    outlet = session.get(Outlet, complaint.outlet_id)
    if verdict in AT_FAULT:
        if grade not in dict(settings.complaint_grades()):
            raise DomainError(_("Choose the grade of a substantiated complaint."))
    elif grade:
        raise DomainError(_("An unfounded complaint takes no grade."))
    elif any((r or "").strip() for r in requirements or []):
        raise DomainError(_("An unfounded complaint raises no rectification."))
    if staff_id:
        complaint.staff_id = _staff_of(session, outlet, staff_id).id
    now = clock.now()
    complaint.verdict, complaint.grade, complaint.conclusion = verdict, grade if verdict in AT_FAULT else None, reasons
    complaint.concluded_at, complaint.concluded_by_id = now, actor.id
    complaint.status = ComplaintStatus.closed
    session.add(complaint)
    _flush(session)
    _event(session, complaint, actor, "concluded", f"{VERDICT_LABELS[verdict]}:{reasons}")
    record(session, actor=actor, action="complaint.concluded", obj=complaint,
           after={"verdict": verdict, "grade": complaint.grade}, note=_audit_note(complaint, reasons))
    if any((r or "").strip() for r in requirements or []):
        _raise(session, actor, complaint, outlet, requirements or [], severity)
    return complaint


def raise_lines(session: Session, *, actor: User, complaint: Complaint, requirements: list[str],
                severity: str) -> Complaint:
    """Rectification after the conclusion (the practice to fix became clear later)."""
    COMPLAINT.check(session, actor, complaint, "raise_lines")
    if complaint.verdict not in AT_FAULT:
        raise DomainError(_("An unfounded complaint raises no rectification."))
    if complaint.notice_id is not None:
        raise DomainError(_("This complaint already has its rectification notice."))
    _raise(session, actor, complaint, session.get(Outlet, complaint.outlet_id), requirements, severity)
    return complaint


def notice_origin(complaint: Complaint) -> str:
    """What a notice raised from the complaint names as its origin: the way back to the complaint."""
    return f"投诉 {complaint.number}"


def notices_of(session: Session, complaint: Complaint) -> list[RectificationNotice]:
    """Every notice raised from the complaint, the first first (a reopened complaint concluded
    again may raise another; ``notice_id`` holds the latest)."""
    return list(session.exec(select(RectificationNotice).where(
        RectificationNotice.outlet_id == complaint.outlet_id, RectificationNotice.visit_id.is_(None),
        RectificationNotice.origin == notice_origin(complaint)).order_by(RectificationNotice.id)).all())


def complaint_of_notice(session: Session, notice: RectificationNotice) -> Complaint | None:
    """The complaint a notice was raised from (rectification knows no complaints: by its origin)."""
    if notice.visit_id is not None or not notice.origin.startswith("投诉 "):
        return None
    return session.exec(select(Complaint).where(Complaint.outlet_id == notice.outlet_id,
                                                Complaint.number == notice.origin.removeprefix("投诉 "))).first()


def _raise(session: Session, actor: User, complaint: Complaint, outlet: Outlet, requirements: list[str],
           severity: str) -> None:
    notice = rectifications.issue_lines(
        session, actor=actor, outlet=outlet, origin=notice_origin(complaint), prefix="TS",
        # the line is read by the outlet and the inspectors and printed on the notice: no contact details
        problem=privacy.redact_for(complaint, f"投诉({complaint.category}):{complaint.account}\n"
                                              f"调查结论:{complaint.conclusion}"),
        requirements=[privacy.redact_for(complaint, r) for r in requirements], severity=severity,
        staff_id=complaint.staff_id)
    # the latest notice; a complaint reopened and concluded again keeps its earlier ones, found
    # through their origin (``notices_of``)
    complaint.notice_id = notice.id
    session.add(complaint)
    _flush(session)
    _event(session, complaint, actor, "lines_raised", notice.number)


def call_back(session: Session, *, actor: User, complaint: Complaint, satisfaction: str, note: str = "") -> Callback:
    """回访 after closure: 不满意 sends the complaint back to its owner, with new deadlines."""
    if satisfaction not in SATISFACTION_LABELS:
        raise DomainError(_("Choose how satisfied the customer is."))
    if complaint.status in OPEN_COMPLAINT and "handler" in COMPLAINT.sides(session, actor, complaint):
        raise DomainError(_("The complaint is still open: call the customer back once it is concluded."))
    # the table has both edges: 不满意 reopens (closed → handling), anything else finishes it
    COMPLAINT.check(session, actor, complaint, "reopen" if satisfaction == "unsatisfied" else "callback")
    note = _text(note, _("what the customer said"), required=satisfaction == "unsatisfied", limit=1000)
    callback = Callback(outlet_id=complaint.outlet_id, complaint_id=complaint.id, by_id=actor.id,
                        satisfaction=satisfaction, note=note)
    session.add(callback)
    if satisfaction == "unsatisfied":
        complaint.status = ComplaintStatus.handling
        complaint.reopened += 1
        complaint.owner_id = complaint.owner_id or actor.id
        _contact, complaint.resolve_due_at = deadlines_for(complaint.source, clock.now(), _zone(session, complaint))
        action = "reopened"
    else:
        complaint.status = ComplaintStatus.called_back
        action = "called_back"
    session.add(complaint)
    _flush(session)
    _event(session, complaint, actor, action, f"{SATISFACTION_LABELS[satisfaction]}" + (f":{note}" if note else ""))
    record(session, actor=actor, action=f"complaint.{action}", obj=complaint, after={"satisfaction": satisfaction})
    if action == "reopened" and complaint.owner_id != actor.id:
        notify(session, user_ids=[complaint.owner_id], kind="complaint_assigned",
               params={"number": complaint.number, "outlet": session.get(Outlet, complaint.outlet_id).name},
               link=_link(complaint))
    return callback


def first_contact_resolved(complaint: Complaint) -> bool:
    """Resolved at first contact: concluded by the one who took it, never handed on or reopened."""
    return complaint.concluded_at is not None and complaint.handed_on == 0 and complaint.reopened == 0


def load_complaint_for(session: Session, user: User, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not permissions.can_view_complaint(session, user, complaint):
        raise NotFound(_("This page does not exist, or you cannot see it."))
    return complaint


def contact_reminder_at(complaint: Complaint) -> dt.datetime:
    """When the owner hears that the first contact is due: a quarter of its time before the deadline
    (6 hours for 24, 30 minutes for the counter's 2)."""
    return complaint.contact_due_at - (complaint.contact_due_at - complaint.received_at) / CONTACT_REMINDER_SHARE


def _managers_above(session: Session, unit: Unit, steps: int, managers: list[User], unit_paths: dict[int, str]) -> list[int]:
    """The managers of the unit ``steps`` levels above ``unit`` (the root at most)."""
    ancestors = [int(x) for x in unit.path.strip("/").split("/")]
    target_path = unit_paths.get(ancestors[max(0, len(ancestors) - 1 - steps)], "")
    return [m.id for m in managers if m.unit_id is not None and unit_paths.get(m.unit_id) == target_path]


def _sweep_first_contact(session: Session, now: dt.datetime, managers: list[User], unit_paths: dict[int, str],
                         sent: dict[str, int]) -> None:
    """首次联系: the owner (or, untaken, the region's handlers) hears before the deadline; a missed
    first contact goes to the managers of the unit above. Each once: the complaint keeps the time
    it was sent, so a complaint done with drops out of the query whatever the sweep's rhythm."""
    longest = max(rule.contact_hours for rule in settings.deadlines().values())
    rows = session.exec(select(Complaint, Outlet, Unit).join(Outlet, Outlet.id == Complaint.outlet_id)
                        .join(Unit, Unit.id == Outlet.unit_id)
                        .where(Complaint.status.in_(OPEN_COMPLAINT), Complaint.contacted_at.is_(None),
                               sa.or_(sa.and_(Complaint.contact_reminded_at.is_(None), Complaint.contact_due_at > now,
                                              Complaint.contact_due_at <= now + dt.timedelta(hours=longest)),
                                      sa.and_(Complaint.contact_escalated_at.is_(None), Complaint.contact_due_at <= now)))
                        .order_by(Complaint.id)).all()
    for complaint, outlet, unit in rows:
        params = {"number": complaint.number, "outlet": outlet.name,
                  "deadline": complaint.contact_due_at.astimezone(clock.zone(outlet.timezone)).strftime("%Y-%m-%d %H:%M")}
        if now >= complaint.contact_due_at:
            complaint.contact_escalated_at = now
            sent["complaints_contact_escalated"] += notify(
                session, user_ids=_managers_above(session, unit, 1, managers, unit_paths), kind="complaint_contact_missed",
                params=params, link=_link(complaint), dedupe_key=f"ccontact-esc:{complaint.id}")
        elif now >= contact_reminder_at(complaint):
            complaint.contact_reminded_at = now
            recipients = [complaint.owner_id] if complaint.owner_id else [u.id for u in handlers_for(session, outlet)]
            sent["complaints_contact_due"] += notify(
                session, user_ids=recipients, kind="complaint_contact_due", params=params, link=_link(complaint),
                dedupe_key=f"ccontact-due:{complaint.id}")
        else:
            continue
        session.add(complaint)
        _flush(session)


def sweep(session: Session, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Owners hear of a first contact due and of complaints due within a day; a missed first contact
    goes to the managers of the unit above, once; late ones climb to the managers of the unit
    above, one level per ``ESCALATION_DAYS``. Each message once."""
    now = now or clock.now()
    sent = {"complaints_due": 0, "complaints_escalated": 0, "complaints_contact_due": 0,
            "complaints_contact_escalated": 0}
    rows = session.exec(select(Complaint, Outlet, Unit).join(Outlet, Outlet.id == Complaint.outlet_id)
                        .join(Unit, Unit.id == Outlet.unit_id)
                        .where(Complaint.status.in_(OPEN_COMPLAINT),
                               Complaint.resolve_due_at <= now + dt.timedelta(days=1))).all()
    managers = session.exec(select(User).where(User.role == Role.manager, User.active.is_(True))).all()
    unit_paths = {u.id: u.path for u in session.exec(select(Unit)).all()}
    _sweep_first_contact(session, now, list(managers), unit_paths, sent)
    for complaint, outlet, unit in rows:
        params = {"number": complaint.number, "outlet": outlet.name,
                  "deadline": resolve_day(complaint, outlet.timezone).isoformat()}
        if now < complaint.resolve_due_at:
            recipients = [complaint.owner_id] if complaint.owner_id else [u.id for u in handlers_for(session, outlet)]
            sent["complaints_due"] += notify(session, user_ids=recipients, kind="complaint_due", params=params,
                                             link=_link(complaint), dedupe_key=f"cdue:{complaint.id}:{params['deadline']}")
            continue
        steps = escalation_steps(complaint, outlet.timezone, now)
        recipients = _managers_above(session, unit, steps, managers, unit_paths)
        sent["complaints_escalated"] += notify(
            session, user_ids=recipients, kind="complaint_escalated",
            params={**params, "days": late_days(complaint, outlet.timezone, now)}, link=_link(complaint),
            dedupe_key=f"cesc:{complaint.id}:{params['deadline']}:{steps}")
    return sent


# --- accountability ---------------------------------------------------------------------------------

def open_accountability(session: Session, *, actor: User, staff: StaffMember | None, reason: str,
                        complaint: Complaint | None = None, line: RectificationLine | None = None) -> Accountability:
    """A substantiated complaint or a red-line finding, held against a named staff member."""
    if (complaint is None) == (line is None):
        raise DomainError(_("Accountability comes from one complaint or one red-line finding."))
    outlet_id = complaint.outlet_id if complaint is not None else line.outlet_id
    if not permissions.can_open_accountability(session, actor, outlet_id):
        raise PermissionDenied(_("Only complaint handlers and the region's managers open accountability."))
    if complaint is not None and complaint.status not in CONCLUDED:
        # reopened after a callback (不满意) it is being handled again: its verdict may yet change
        raise DomainError(_("Accountability follows the conclusion: this complaint is %(status)s.",
                            status=COMPLAINT.status_label(complaint.status)))
    if complaint is not None and complaint.verdict not in AT_FAULT:
        raise DomainError(_("Only a substantiated complaint can lead to accountability."))
    if line is not None and not line.red_line:
        raise DomainError(_("Only a red-line finding can lead to accountability."))
    if staff is None or staff.outlet_id != outlet_id:
        raise DomainError(_("Name the staff member of this outlet who is held accountable."))
    source = (Accountability.complaint_id == complaint.id) if complaint is not None else (Accountability.line_id == line.id)
    if session.exec(select(Accountability.id).where(source, Accountability.staff_id == staff.id,
                                                    Accountability.status != AccountabilityStatus.revoked)).first():
        raise DomainError(_("%(name)s is already held accountable for this.", name=staff.name))
    record_ = Accountability(staff_id=staff.id, outlet_id=outlet_id, complaint_id=complaint.id if complaint else None,
                             line_id=line.id if line else None, reason=_text(reason, _("what the person is held accountable for")),
                             opened_by_id=actor.id, grade=_accountability_grade(complaint))
    session.add(record_)
    session.flush()
    record(session, actor=actor, action="accountability.opened", obj=record_,
           after={"staff": staff.job_number, "complaint_id": record_.complaint_id, "line_id": record_.line_id})
    return record_


def _accountability_grade(complaint: Complaint | None) -> int | None:
    """The complaint's grade proposed as the record's, when the money table has such a grade (the
    two gradings are configured apart); the manager decides in any case."""
    if complaint is None or not complaint.grade or complaint.grade > len(settings.amounts()):
        return None
    return complaint.grade


def _amount_for(grade: int | None, amount: int | None) -> tuple[int, int]:
    table = settings.amounts()
    if grade is None or not 1 <= grade <= len(table):
        raise DomainError(_("Choose a grade."))
    if amount is None:
        amount = table[grade - 1]
    if amount != table[grade - 1]:
        raise DomainError(_("The amount for this grade is %(amount)s yuan by the table; %(given)s is outside it.",
                            amount=f"{table[grade - 1]:,}", given=f"{amount:,}"))
    return grade, amount


def decide_accountability(session: Session, *, actor: User, record_: Accountability, grade: int | None,
                          amount: int | None = None, note: str = "") -> Accountability:
    ACCOUNTABILITY.check(session, actor, record_, "decide")
    record_.grade, record_.amount = _amount_for(grade, amount)
    record_.status, record_.decided_by_id, record_.decided_at = AccountabilityStatus.decided, actor.id, clock.now()
    session.add(record_)
    record(session, actor=actor, action="accountability.decided", obj=record_,
           after={"grade": record_.grade, "amount": record_.amount}, note=_record_note(session, record_, note))
    notify(session, user_ids=[u.id for u in rectifications.branch_chiefs_of(session, record_.outlet_id)],
           kind="accountability_decided", params={"staff": session.get(StaffMember, record_.staff_id).name,
                                                  "amount": record_.amount}, link=f"/accountability/{record_.id}")
    return record_


def drop_accountability(session: Session, *, actor: User, record_: Accountability, reason: str) -> Accountability:
    ACCOUNTABILITY.check(session, actor, record_, "drop")
    reason = _text(reason, _("why it is dropped"))
    record_.status = AccountabilityStatus.revoked
    record_.appeal_decision = reason
    session.add(record_)
    record(session, actor=actor, action="accountability.dropped", obj=record_, note=_record_note(session, record_, reason))
    return record_


def acknowledge_accountability(session: Session, *, actor: User, record_: Accountability) -> Accountability:
    ACCOUNTABILITY.check(session, actor, record_, "acknowledge")
    record_.status, record_.acknowledged_at = AccountabilityStatus.acknowledged, clock.now()
    session.add(record_)
    record(session, actor=actor, action="accountability.acknowledged", obj=record_)
    return record_


def appeal_accountability(session: Session, *, actor: User, record_: Accountability, reason: str) -> Accountability:
    """Once: a decision upheld on appeal is final."""
    if record_.appealed_at is not None and "outlet" in ACCOUNTABILITY.sides(session, actor, record_):
        zone = session.get(Outlet, record_.outlet_id).timezone
        raise DomainError(_("A decision can be appealed once only; this one was appealed on %(day)s.",
                            day=clock.local_date(record_.appealed_at, zone).isoformat()))
    ACCOUNTABILITY.check(session, actor, record_, "appeal")
    record_.appeal_reason = _text(reason, _("the grounds of the appeal"))
    record_.status, record_.appealed_at = AccountabilityStatus.appealed, clock.now()
    session.add(record_)
    record(session, actor=actor, action="accountability.appealed", obj=record_,
           note=_record_note(session, record_, record_.appeal_reason))
    notify(session, user_ids=[record_.decided_by_id], kind="accountability_appealed",
           params={"staff": session.get(StaffMember, record_.staff_id).name}, link=f"/accountability/{record_.id}")
    return record_


def decide_appeal(session: Session, *, actor: User, record_: Accountability, outcome: str, reason: str,
                  grade: int | None = None, amount: int | None = None) -> Accountability:
    """uphold (the decision stands, to acknowledge), revise (a new grade), or revoke."""
    ACCOUNTABILITY.check(session, actor, record_, "decide_appeal")
    reason = _text(reason, _("the reasons for the appeal decision"))
    before = {"grade": record_.grade, "amount": record_.amount}
    if outcome == "revoke":
        record_.status = AccountabilityStatus.revoked
    elif outcome == "revise":
        record_.grade, record_.amount = _amount_for(grade, amount)
        record_.status = AccountabilityStatus.decided
    elif outcome == "uphold":
        record_.status = AccountabilityStatus.decided
    else:
        raise DomainError(_("Choose the appeal decision."))
    record_.appeal_decision = reason
    record_.decided_by_id, record_.decided_at = actor.id, clock.now()
    session.add(record_)
    record(session, actor=actor, action=f"accountability.appeal_{outcome}", obj=record_, before=before,
           after={"grade": record_.grade, "amount": record_.amount, "status": record_.status},
           note=_record_note(session, record_, reason))
    return record_


def commend(session: Session, *, actor: User, staff: StaffMember | None, month: dt.date | None, title: str,
            reason: str) -> Commendation:
    """服务之星 of the month, or another praise, for the person's record."""
    if staff is None:
        raise NotFound(_("This page does not exist, or you cannot see it."))
    if not permissions.can_commend(session, actor, staff.outlet_id):
        raise PermissionDenied(_("Only the region's managers commend staff."))
    if month is None:
        raise DomainError(_("Give the month."))
    month = month.replace(day=1)
    zone = session.get(Outlet, staff.outlet_id).timezone
    if month > clock.today(zone):
        raise DomainError(_("The month is in the future."))
    title = _text(title or "服务之星", _("the title"), limit=32)
    if session.exec(select(Commendation.id).where(Commendation.staff_id == staff.id, Commendation.month == month,
                                                  Commendation.title == title)).first():
        raise DomainError(_("%(name)s was already commended as %(title)s for that month.", name=staff.name, title=title))
    praise = Commendation(staff_id=staff.id, title=title, month=month, reason=_text(reason, "", required=False, limit=500),
                          by_id=actor.id)
    session.add(praise)
    session.flush()
    record(session, actor=actor, action="staff.commended", obj=praise, after={"staff": staff.job_number, "title": title})
    return praise


# --- key customers and their callbacks ----------------------------------------------------------------

def add_key_customer(session: Session, *, actor: User, outlet: Outlet | None, name: str, tier: str,
                     contact_name: str = "", contact_phone: str = "", start_date: dt.date | None = None,
                     note: str = "") -> KeyCustomer:
    if not permissions.is_handler(actor):
        raise PermissionDenied(_("Only complaint handlers keep the callback plans."))
    outlet = _outlet_in_scope(session, actor, outlet)
    if tier not in TIER_LABELS:
        raise DomainError(_("Choose how often the customer is called back."))
    name = _text(name, _("the customer's name"), limit=100)
    if session.exec(select(KeyCustomer.id).where(KeyCustomer.outlet_id == outlet.id, KeyCustomer.name == name,
                                                 KeyCustomer.active.is_(True))).first():
        raise DomainError(_("%(name)s is already on this outlet's callback plan.", name=name))
    customer = KeyCustomer(outlet_id=outlet.id, name=name, tier=tier,
                           contact_name=_text(contact_name, "", required=False, limit=64),
                           contact_phone=_phone(contact_phone), note=_text(note, "", required=False, limit=500),
                           start_date=start_date or clock.today(outlet.timezone))
    session.add(customer)
    session.flush()
    record(session, actor=actor, action="key_customer.added", obj=customer, after={"name": name, "tier": tier})
    return customer


def _may_keep_plan(session: Session, actor: User, customer: KeyCustomer) -> None:
    if not permissions.is_handler(actor) or not permissions.outlet_in_scope(
            session, actor, session.get(Outlet, customer.outlet_id)):
        raise PermissionDenied(_("Only complaint handlers keep the callback plans."))


def edit_key_customer(session: Session, *, actor: User, customer: KeyCustomer, tier: str, contact_name: str = "",
                      contact_phone: str = "", note: str = "") -> KeyCustomer:
    """A new cadence, a new contact person, the handlers' note. The audit log says what changed,
    never the contact itself (administrators read it)."""
    _may_keep_plan(session, actor, customer)
    if not customer.active:
        raise DomainError(_("This customer is no longer on the callback plan."))
    if tier not in TIER_LABELS:
        raise DomainError(_("Choose how often the customer is called back."))
    contact_name = _text(contact_name, "", required=False, limit=64)
    contact_phone = _phone(contact_phone)
    note = _text(note, "", required=False, limit=500)
    changed = {"tier": customer.tier != tier, "contact": (customer.contact_name, customer.contact_phone) != (
        contact_name, contact_phone), "note": customer.note != note}
    before = {"tier": customer.tier}
    customer.tier, customer.contact_name, customer.contact_phone, customer.note = tier, contact_name, contact_phone, note
    session.add(customer)
    session.flush()
    record(session, actor=actor, action="key_customer.edited", obj=customer, before=before,
           after={"tier": tier, "changed": sorted(k for k, v in changed.items() if v)})
    return customer


def deactivate_key_customer(session: Session, *, actor: User, customer: KeyCustomer, reason: str) -> KeyCustomer:
    """停止回访: off the plan, with the reason; its callbacks stay on record."""
    _may_keep_plan(session, actor, customer)
    if not customer.active:
        raise DomainError(_("This customer is no longer on the callback plan."))
    reason = _text(reason, _("why the customer leaves the plan"), limit=500)
    customer.active = False
    session.add(customer)
    session.flush()
    record(session, actor=actor, action="key_customer.deactivated", obj=customer, before={"active": True},
           after={"active": False}, note=_audit_note(customer, reason))
    return customer


def next_due(customer: KeyCustomer, last: dt.date | None) -> dt.date:
    """The local day the next callback is due: the start day, then the tier's cadence after the
    last one (a month by the calendar)."""
    if last is None:
        return customer.start_date
    if customer.tier == "monthly":
        return clock.add_months(last, 1)
    return last + dt.timedelta(days=TIER_DAYS[customer.tier])


def call_key_customer(session: Session, *, actor: User, customer: KeyCustomer, satisfaction: str,
                      note: str = "") -> Callback:
    _may_keep_plan(session, actor, customer)
    if not customer.active:
        raise DomainError(_("This customer is no longer on the callback plan."))
    if satisfaction not in SATISFACTION_LABELS:
        raise DomainError(_("Choose how satisfied the customer is."))
    note = _text(note, _("what the customer said"), required=satisfaction == "unsatisfied", limit=1000)
    callback = Callback(outlet_id=customer.outlet_id, key_customer_id=customer.id, by_id=actor.id,
                        satisfaction=satisfaction, note=note)
    session.add(callback)
    session.flush()
    record(session, actor=actor, action="key_customer.called", obj=customer, after={"satisfaction": satisfaction})
    return callback
