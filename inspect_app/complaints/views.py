from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import User
from inspect_app.checklists.definition import SEVERITY_LABELS
from inspect_app.complaints import queries, services, settings
from inspect_app.complaints.forms import (
    AppealDecisionForm,
    AppealForm,
    CallbackForm,
    CommendForm,
    ComplaintForm,
    ConcludeForm,
    ContactForm,
    DeactivateForm,
    DecideForm,
    DropForm,
    HandOnForm,
    KeyCustomerEditForm,
    KeyCustomerForm,
    NoteForm,
    OpenAccountabilityForm,
    RaiseForm,
)
from inspect_app.complaints.lifecycle import ACCOUNTABILITY, COMPLAINT
from inspect_app.complaints.models import (
    ACCOUNTABILITY_STATUS_LABELS,
    AT_FAULT,
    COMPLAINT_STATUS_LABELS,
    CONCLUDED,
    Accountability,
    Callback,
    Complaint,
    ComplaintEvent,
    KeyCustomer,
)
from inspect_app.db import get_session, lock_on_write_only
from inspect_app.errors import DomainError
from inspect_app.evidence import views as evidence_views
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import REFUSED, get_or_404, run_service
from inspect_app.i18n import select_timezone
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.rectifications.models import RectificationLine, RectificationNotice

bp = Blueprint("complaints", __name__)
PER_PAGE = 30
STREAKS_PER_PAGE = 50


def load_complaint(complaint_id: int) -> Complaint:
    try:
        return services.load_complaint_for(get_session(), current_user, complaint_id)
    except DomainError:
        abort(404)


def _outlet_by_code(code: str | None) -> Outlet | None:
    db = get_session()
    outlet = db.exec(select(Outlet).where(Outlet.code == (code or "").strip())).first()
    if outlet is None or not permissions.outlet_in_scope(db, current_user, outlet):
        return None
    return outlet


def _month_bounds(value: str | None, zone: str) -> tuple[dt.date, dt.datetime, dt.datetime, dt.datetime]:
    """The month asked for (``2026-11``, default this month) as UTC instants, and the month before."""
    first = clock.month_named(value) if value else None
    if first is None or len(value) != 7:  # not a month (``2026-11``): this month
        first = clock.today(zone).replace(day=1)
    start, end = clock.day_start(first, zone), clock.day_start(clock.add_months(first, 1), zone)
    return first, start, end, clock.day_start(clock.add_months(first, -1), zone)


def list_filters() -> tuple[queries.ComplaintFilters, dict]:
    """The register's filters from the query string; an unknown value is ignored, never a 500."""
    if not permissions.can_see_complaints(current_user):
        abort(403)
    args = request.args
    filters = queries.ComplaintFilters(
        status=args.get("status", "") if args.get("status", "") in ("open", "overdue", *COMPLAINT_STATUS_LABELS) else "",
        source=args.get("source", "") if args.get("source", "") in settings.SOURCE_LABELS else "",
        category=args.get("category", "") if args.get("category", "") in settings.categories() else "",
        mine=args.get("mine") == "1")
    outlet = _outlet_by_code(args.get("outlet")) if args.get("outlet") else None
    if outlet is not None:
        filters.outlet_id = outlet.id
    unit = get_session().get(Unit, args.get("unit", type=record_id)) if args.get("unit", type=record_id) else None
    if unit is not None and permissions.unit_in_scope(get_session(), current_user, unit):
        filters.unit_path = unit.path
    staff_id = args.get("staff", type=record_id)
    if staff_id:
        filters.staff_id = staff_id
    month = args.get("month", "")
    if month:
        _first, filters.since, filters.until, _before = _month_bounds(month, select_timezone())
    return filters, {k: v for k, v in args.items() if k != "page"}


@bp.route("/complaints")
@login_required
def index():
    filters, args = list_filters()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total = queries.complaint_page(db, current_user, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("complaints/index.html", rows=rows, total=total, page=page, per_page=PER_PAGE,
                           args=args, sources=settings.SOURCE_LABELS, categories=settings.categories(),
                           statuses=COMPLAINT_STATUS_LABELS, now=clock.now())


def _complaint_form() -> ComplaintForm:
    form = ComplaintForm()
    form.source.choices = [("", "—")] + [(k, str(v)) for k, v in settings.SOURCE_LABELS.items()]
    form.category.choices = [("", "—")] + [(c, c) for c in settings.categories()]
    return form


@bp.route("/complaints/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_register_complaints(current_user):
        abort(403)
    form = _complaint_form()
    if request.method == "GET" and not form.received_at.data:
        form.received_at.data = clock.local_now(select_timezone()).replace(second=0, microsecond=0, tzinfo=None)
        form.outlet_code.data = request.args.get("outlet", "")
    if form.validate_on_submit():
        db = get_session()
        outlet = _outlet_by_code(form.outlet_code.data)
        staff_id = None
        if form.staff_job_number.data and outlet is not None:
            staff = db.exec(select(StaffMember).where(StaffMember.job_number == form.staff_job_number.data.strip())).first()
            staff_id = staff.id if staff else -1  # an unknown number is refused by the service, by name
        received = form.received_at.data.replace(tzinfo=clock.zone(outlet.timezone)) if outlet else None
        result = run_service(lambda db: services.register_complaint(
            db, actor=current_user, outlet=outlet, source=form.source.data, received_at=received,
            category=form.category.data, account=form.account.data, customer_name=form.customer_name.data,
            customer_phone=form.customer_phone.data, reference=form.reference.data, staff_id=staff_id),
            lambda c: _("Complaint %(number)s registered.", number=c.number))
        if result is not REFUSED:
            return redirect(url_for("complaints.detail", complaint_id=result.id))
    else:
        flash_form_errors(form)
    db = get_session()
    outlets = db.execute(select(Outlet.code, Outlet.name).where(permissions.outlets_clause(db, current_user),
                                                                Outlet.active.is_(True))
                         .order_by(Outlet.code).limit(2000)).all()
    return render_template("complaints/new.html", form=form, outlets=outlets)


@bp.route("/complaints/<int:complaint_id>")
@login_required
def detail(complaint_id: int):
    complaint = load_complaint(complaint_id)
    db = get_session()
    outlet = db.get(Outlet, complaint.outlet_id)
    events = db.exec(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                     .order_by(ComplaintEvent.at, ComplaintEvent.id)).all()
    people_ids = {e.actor_id for e in events} | {e.to_user_id for e in events} | {complaint.owner_id, complaint.first_owner_id}
    people = {u.id: u for u in db.exec(select(User).where(User.id.in_({i for i in people_ids if i}))).all()}
    photos = db.exec(select(Photo).where(Photo.complaint_id == complaint.id, Photo.deleted_at.is_(None))
                     .order_by(Photo.id)).all()
    may_see_photos = permissions.may_view_complaint_photos(current_user)
    staff = db.get(StaffMember, complaint.staff_id) if complaint.staff_id else None
    outlet_staff = db.exec(select(StaffMember).where(StaffMember.outlet_id == outlet.id, StaffMember.active.is_(True))
                           .order_by(StaffMember.job_number)).all()
    actions = COMPLAINT.available(db, current_user, complaint)
    version = {"version": complaint.row_version}
    conclude_form = ConcludeForm(data=version)
    conclude_form.grade.choices = [("", "—")] + [(str(n), label) for n, label in settings.complaint_grades()]
    conclude_form.staff_id.choices = [("", "—")] + [(str(s.id), f"{s.job_number} · {s.name} · {s.post}") for s in outlet_staff]
    conclude_form.staff_id.data = str(complaint.staff_id or "")
    severities = [(k, str(v)) for k, v in SEVERITY_LABELS.items()]
    conclude_form.severity.choices = severities
    conclude_form.severity.data = "general"
    raise_form = RaiseForm()
    raise_form.severity.choices = severities
    hand_form = HandOnForm(data=version)
    hand_form.to_user_id.choices = [(u.id, u.display_name) for u in services.handlers_for(db, outlet) if u.id != current_user.id]
    open_form = OpenAccountabilityForm()
    open_form.staff_id.choices = [(s.id, f"{s.job_number} · {s.name}") for s in outlet_staff]
    if complaint.staff_id:
        open_form.staff_id.data = complaint.staff_id
    records = db.exec(select(Accountability).where(Accountability.complaint_id == complaint.id)).all()
    callbacks = db.exec(select(Callback).where(Callback.complaint_id == complaint.id).order_by(Callback.at)).all()
    notices = services.notices_of(db, complaint)
    return render_template(
        "complaints/detail.html", complaint=complaint, outlet=outlet, events=events, people=people,
        photos=photos if may_see_photos else [], hidden_photos=0 if may_see_photos else len(photos),
        staff=staff, actions=actions, contact=services.contact_of(current_user, complaint), now=clock.now(), notices=notices, records=records,
        callbacks=callbacks, staff_names={s.id: s for s in outlet_staff}, sources=settings.SOURCE_LABELS,
        contact_form=ContactForm(), note_form=NoteForm(), hand_form=hand_form, conclude_form=conclude_form, raise_form=raise_form,
        callback_form=CallbackForm(), open_form=open_form, action_form=ActionForm(data=version),
        can_open=complaint.verdict in AT_FAULT and complaint.status in CONCLUDED and bool(outlet_staff)
        and permissions.can_open_accountability(db, current_user, complaint.outlet_id),
        first_contact=services.first_contact_resolved(complaint), zone=outlet.timezone,
        contact_late=services.contact_overdue(complaint), resolve_late=services.resolve_overdue(complaint),
        late_days=services.late_days(complaint, outlet.timezone))


def _act(complaint: Complaint, action, success: str):
    run_service(action, success)
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


def _version() -> int | None:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


@bp.route("/complaints/<int:complaint_id>/take", methods=["POST"])
@login_required
def take(complaint_id: int):
    complaint = load_complaint(complaint_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _act(complaint, lambda db: services.take(db, actor=current_user, complaint=complaint,
                                                    base_version=_version()),
                _("You hold this complaint now (首问负责)."))


def _text_action(complaint_id: int, service, success: str):
    complaint = load_complaint(complaint_id)
    form = ContactForm() if service is services.record_contact else NoteForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    if service is services.record_contact:
        return _act(complaint, lambda db: service(db, actor=current_user, complaint=complaint,
                                                  note=form.contact_text.data), success)
    return _act(complaint, lambda db: service(db, actor=current_user, complaint=complaint, text=form.note_text.data),
                success)


@bp.route("/complaints/<int:complaint_id>/contact", methods=["POST"])
@login_required
def contact(complaint_id: int):
    return _text_action(complaint_id, services.record_contact, _("The contact with the customer is recorded."))


@bp.route("/complaints/<int:complaint_id>/note", methods=["POST"])
@login_required
def note(complaint_id: int):
    return _text_action(complaint_id, services.add_note, _("Note added."))


@bp.route("/complaints/<int:complaint_id>/hand-on", methods=["POST"])
@login_required
def hand_on(complaint_id: int):
    complaint = load_complaint(complaint_id)
    form = HandOnForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    db = get_session()
    to_user = db.get(User, form.to_user_id.data)
    return _act(complaint, lambda db: services.hand_on(db, actor=current_user, complaint=complaint, to_user=to_user,
                                                       reason=form.reason.data, base_version=form.base_version()),
                _("Handed on."))


def _requirements(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/complaints/<int:complaint_id>/conclude", methods=["POST"])
@login_required
def conclude(complaint_id: int):
    complaint = load_complaint(complaint_id)
    form = ConcludeForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _act(complaint, lambda db: services.conclude(
        db, actor=current_user, complaint=complaint, verdict=form.verdict.data, reasons=form.reasons.data,
        grade=_int_or_none(form.grade.data), requirements=_requirements(form.requirements.data),
        severity=form.severity.data or "general", staff_id=_int_or_none(form.staff_id.data),
        base_version=form.base_version()), _("Concluded. Call the customer back."))


@bp.route("/complaints/<int:complaint_id>/lines", methods=["POST"])
@login_required
def raise_lines(complaint_id: int):
    complaint = load_complaint(complaint_id)
    form = RaiseForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _act(complaint, lambda db: services.raise_lines(db, actor=current_user, complaint=complaint,
                                                           requirements=_requirements(form.requirements.data),
                                                           severity=form.severity.data),
                _("The rectification notice went to the outlet."))


@bp.route("/complaints/<int:complaint_id>/callback", methods=["POST"])
@login_required
def callback(complaint_id: int):
    complaint = load_complaint(complaint_id)
    form = CallbackForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _act(complaint, lambda db: services.call_back(db, actor=current_user, complaint=complaint,
                                                         satisfaction=form.satisfaction.data, note=form.note.data),
                _("Callback recorded."))


@bp.route("/api/complaints/<int:complaint_id>/photos", methods=["POST"])
@lock_on_write_only
@login_required
def photo(complaint_id: int):
    load_complaint(complaint_id)  # 404 unless the viewer may see it
    data = evidence_views.read_upload()
    if data is None:
        return jsonify(error=_("No photo was received. Try again.")), 400
    user_id = current_user.id
    return evidence_views.upload_outside_the_lock(lambda db, plan_only, prepared: services.add_photo(
        db, get_storage(), actor=db.get(User, user_id), complaint=db.get(Complaint, complaint_id), data=data,
        client_id=(request.form.get("client_id") or "")[:64] or None, plan_only=plan_only, prepared=prepared), data)


@bp.route("/complaints/from-notice/<int:notice_id>")
@login_required
def from_notice(notice_id: int):
    """The complaint a notice came from (the notice page links here: rectification knows no complaints)."""
    db = get_session()
    notice = get_or_404(RectificationNotice, notice_id)
    complaint = services.complaint_of_notice(db, notice)
    if complaint is None or not permissions.can_view_complaint(db, current_user, complaint):
        abort(404)
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


# --- what managers read ------------------------------------------------------------------------------

def hotspot_selection() -> tuple[dt.date, dt.datetime, dt.datetime, dt.datetime]:
    """The hotspots' month (``?month=2026-11``, default this month): its first day, its bounds and
    the start of the month before; the managers' side only."""
    if not permissions.can_see_complaints(current_user) or permissions.is_outlet_side(current_user):
        abort(403)
    return _month_bounds(request.args.get("month"), select_timezone())


@bp.route("/complaints/hotspots")
@login_required
def hotspots():
    first, since, until, before = hotspot_selection()
    asked = request.args.get("month")
    if asked and first.strftime("%Y-%m") != asked:  # said, not silently replaced
        flash(_("That is not a month (write it like 2026-11): this month is shown."), "warning")
    db = get_session()
    node = db.get(Unit, current_user.unit_id) if current_user.unit_id else None
    children = db.exec(select(Unit).where(Unit.parent_id == node.id).order_by(Unit.code)).all() if node else \
        db.exec(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)).all()
    now = clock.now()
    units = queries.by_child_units(db, current_user, list(children) or ([node] if node else []), since=since,
                                   until=until, now=now)
    streaks = queries.unit_streaks(db, [u.unit for u in units], now=now)
    last = queries.recent_at_fault(db, current_user, limit=15)
    by_id = {o.id: o for o in db.exec(select(Outlet).where(Outlet.id.in_(last))).all()}
    recent = [by_id[outlet_id] for outlet_id in last]
    return render_template("complaints/hotspots.html", month=first, hot=queries.hotspots(
        db, current_user, since=since, until=until, before=before), units=units, streaks=streaks,
        outlet_streaks=queries.streaks(db, current_user, outlets=recent, now=now),
        rate=queries.first_contact_rate(db, current_user, since=since, until=until),
        previous=clock.add_months(first, -1), following=clock.add_months(first, 1) if until <= now else None)


def streak_selection() -> tuple[str, str]:
    """The 零投诉 list's sort and outlet filter from the query string (managers' side only)."""
    if not permissions.can_see_complaints(current_user) or permissions.is_outlet_side(current_user):
        abort(403)
    sort = request.args.get("sort", "")
    outlet = _outlet_by_code(request.args.get("outlet")) if request.args.get("outlet") else None
    return (sort if sort in queries.STREAK_SORTS else "longest"), (outlet.code if outlet else "")


@bp.route("/complaints/streaks")
@login_required
def streaks():
    """零投诉: every outlet in scope with the days since its last substantiated complaint."""
    sort, outlet_code = streak_selection()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total, never, start = queries.streak_page(db, current_user, sort=sort, outlet_code=outlet_code,
                                                    limit=STREAKS_PER_PAGE, offset=(page - 1) * STREAKS_PER_PAGE)
    return render_template("complaints/streaks.html", rows=rows, total=total, page=page, per_page=STREAKS_PER_PAGE,
                           sort=sort, sorts=queries.STREAK_SORTS,
                           start=clock.local_date(start, select_timezone()) if start else None,
                           never=never, args=request.args)


# --- accountability ------------------------------------------------------------------------------------

def load_record(record_id: int) -> Accountability:
    db = get_session()
    record_ = get_or_404(Accountability, record_id)
    if not permissions.can_see_complaints(current_user) or not permissions.outlet_in_scope(
            db, current_user, db.get(Outlet, record_.outlet_id)):
        abort(404)
    return record_


ACCOUNTABILITY_STATUSES = ("pending", *ACCOUNTABILITY_STATUS_LABELS)


def accountability_filters() -> tuple[queries.AccountabilityFilters, dict]:
    """The accountability list's filters (status, outlet code, month opened); unknown values are
    ignored, never a 500."""
    if not permissions.can_see_complaints(current_user):
        abort(403)
    args = request.args
    filters = queries.AccountabilityFilters(status=args.get("status", "") if args.get("status", "") in
                                            ACCOUNTABILITY_STATUSES else "")
    outlet = _outlet_by_code(args.get("outlet")) if args.get("outlet") else None
    if outlet is not None:
        filters.outlet_id = outlet.id
    if _is_month(args.get("month")):  # a month that is none is no filter (not "this month")
        _first, filters.since, filters.until, _before = _month_bounds(args.get("month"), select_timezone())
    return filters, {k: v for k, v in args.items() if k != "page"}


def _is_month(value: str | None) -> bool:
    return value is not None and len(value) == 7 and clock.month_named(value) is not None


@bp.route("/accountability")
@login_required
def accountability_list():
    filters, args = accountability_filters()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    rows = queries.accountability_rows(db, current_user, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("complaints/accountability_list.html", rows=rows, page=page, per_page=PER_PAGE,
                           total=queries.accountability_count(db, current_user, filters), args=args,
                           statuses=ACCOUNTABILITY_STATUS_LABELS)


@bp.route("/accountability/<int:record_id>")
@login_required
def accountability(record_id: int):
    record_ = load_record(record_id)
    db = get_session()
    staff = db.get(StaffMember, record_.staff_id)
    outlet = db.get(Outlet, record_.outlet_id)
    complaint = db.get(Complaint, record_.complaint_id) if record_.complaint_id else None
    line = db.get(RectificationLine, record_.line_id) if record_.line_id else None
    history = db.exec(select(AuditEvent).where(AuditEvent.object_type == "accountability",
                                               AuditEvent.object_id == record_.id).order_by(AuditEvent.at, AuditEvent.id)).all()
    grades = settings.grades()
    decide_form = DecideForm(data={"grade": record_.grade})
    decide_form.grade.choices = grades
    appeal_decision = AppealDecisionForm()
    appeal_decision.grade.choices = [("", "—")] + [(str(n), label) for n, label in grades]
    names = {u.id: u.display_name for u in db.exec(select(User).where(User.id.in_(
        {e.actor_id for e in history if e.actor_id}))).all()}
    return render_template(
        "complaints/accountability.html", record=record_, staff=staff, outlet=outlet, complaint=complaint, line=line,
        line_link=bool(line and permissions.can_view_line(db, current_user, line)),
        history=history, names=names, actions=ACCOUNTABILITY.available(db, current_user, record_), decide_form=decide_form,
        drop_form=DropForm(), appeal_form=AppealForm(), appeal_decision=appeal_decision, action_form=ActionForm(),
        amounts=dict(zip([n for n, _label in grades], settings.amounts(), strict=True)))


def _open(complaint: Complaint | None, line: RectificationLine | None, back: str):
    form = OpenAccountabilityForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(back)
    db = get_session()
    staff = db.get(StaffMember, form.staff_id.data)
    result = run_service(lambda db: services.open_accountability(db, actor=current_user, staff=staff,
                                                                 reason=form.reason.data, complaint=complaint, line=line),
                         _("Accountability opened: a manager decides it."))
    if result is REFUSED:
        return redirect(back)
    return redirect(url_for("complaints.accountability", record_id=result.id))


@bp.route("/complaints/<int:complaint_id>/accountability", methods=["POST"])
@login_required
def open_for_complaint(complaint_id: int):
    complaint = load_complaint(complaint_id)
    return _open(complaint, None, url_for("complaints.detail", complaint_id=complaint.id))


@bp.route("/lines/<int:line_id>/accountability", methods=["POST"])
@login_required
def open_for_line(line_id: int):
    db = get_session()
    line = get_or_404(RectificationLine, line_id)
    if not permissions.can_view_line(db, current_user, line):
        abort(404)
    return _open(None, line, url_for("rectifications.line", line_id=line.id))


def _record_action(record_id: int, form_class, action, success: str):
    record_ = load_record(record_id)
    form = form_class()
    if form.validate_on_submit():
        run_service(lambda db: action(db, record_, form), success)
    else:
        flash_form_errors(form)
    return redirect(url_for("complaints.accountability", record_id=record_.id))


@bp.route("/accountability/<int:record_id>/decide", methods=["POST"])
@login_required
def decide(record_id: int):
    return _record_action(record_id, DecideForm, lambda db, r, f: services.decide_accountability(
        db, actor=current_user, record_=r, grade=f.grade.data, amount=f.amount.data, note=f.note.data or ""),
        _("Decided: the branch chief acknowledges or appeals."))


@bp.route("/accountability/<int:record_id>/drop", methods=["POST"])
@login_required
def drop(record_id: int):
    return _record_action(record_id, DropForm, lambda db, r, f: services.drop_accountability(
        db, actor=current_user, record_=r, reason=f.reason.data), _("Dropped."))


@bp.route("/accountability/<int:record_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(record_id: int):
    return _record_action(record_id, ActionForm, lambda db, r, f: services.acknowledge_accountability(
        db, actor=current_user, record_=r), _("Acknowledged."))


@bp.route("/accountability/<int:record_id>/appeal", methods=["POST"])
@login_required
def appeal(record_id: int):
    return _record_action(record_id, AppealForm, lambda db, r, f: services.appeal_accountability(
        db, actor=current_user, record_=r, reason=f.reason.data), _("Appeal sent."))


@bp.route("/accountability/<int:record_id>/appeal-decision", methods=["POST"])
@login_required
def appeal_decision(record_id: int):
    return _record_action(record_id, AppealDecisionForm, lambda db, r, f: services.decide_appeal(
        db, actor=current_user, record_=r, outcome=f.outcome.data, reason=f.reason.data,
        grade=_int_or_none(f.grade.data)), _("Appeal decided."))


# --- a staff member's record ------------------------------------------------------------------------------

def load_staff(staff_id: int) -> StaffMember:
    db = get_session()
    staff = get_or_404(StaffMember, staff_id)
    if not permissions.can_see_staff(current_user) or not permissions.outlet_in_scope(
            db, current_user, db.get(Outlet, staff.outlet_id)):
        abort(404)
    return staff


@bp.route("/staff/<int:staff_id>")
@login_required
def person(staff_id: int):
    staff = load_staff(staff_id)
    db = get_session()
    return render_template("complaints/person.html", rec=queries.person_record(db, current_user, staff),
                           commend_form=CommendForm(),
                           can_commend=permissions.can_commend(db, current_user, staff.outlet_id))


@bp.route("/staff/<int:staff_id>/commend", methods=["POST"])
@login_required
def commend(staff_id: int):
    staff = load_staff(staff_id)
    form = CommendForm()
    if form.validate_on_submit():
        run_service(lambda db: services.commend(db, actor=current_user, staff=staff, month=form.month.data,
                                                title=form.title.data, reason=form.reason.data),
                    _("Commendation recorded."))
    else:
        flash_form_errors(form)
    return redirect(url_for("complaints.person", staff_id=staff.id))


# --- callback plans -------------------------------------------------------------------------------------

def callback_selection() -> bool:
    """Whether the whole plan is asked for (``?all=1``) rather than what is due; managers' side only."""
    if not permissions.can_see_complaints(current_user) or permissions.is_outlet_side(current_user):
        abort(403)
    return request.args.get("all") == "1"


@bp.route("/callbacks")
@login_required
def callbacks():
    show_all = callback_selection()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    return render_template("complaints/callbacks.html", due=queries.callbacks_due(db, current_user, include_later=show_all),
                           complaints=queries.complaints_to_call_back(db, current_user),
                           log=queries.callback_log(db, current_user, limit=PER_PAGE, offset=(page - 1) * PER_PAGE),
                           log_total=queries.callback_count(db, current_user), page=page, per_page=PER_PAGE,
                           form=KeyCustomerForm(), call_form=CallbackForm(), show_all=show_all, now=clock.now())


@bp.route("/key-customers", methods=["POST"])
@login_required
def add_key_customer():
    form = KeyCustomerForm()
    if form.validate_on_submit():
        outlet = _outlet_by_code(form.outlet_code.data)
        run_service(lambda db: services.add_key_customer(
            db, actor=current_user, outlet=outlet, name=form.name.data, tier=form.tier.data,
            contact_name=form.contact_name.data, contact_phone=form.contact_phone.data, start_date=form.start_date.data,
            note=form.note.data or ""),
            _("Added to the callback plan."))
    else:
        flash_form_errors(form)
    return redirect(url_for("complaints.callbacks"))


def load_key_customer(customer_id: int) -> KeyCustomer:
    """404 out of scope (or for those who see no complaints), as for every object."""
    db = get_session()
    customer = get_or_404(KeyCustomer, customer_id)
    if not permissions.can_see_complaints(current_user) or not permissions.outlet_in_scope(
            db, current_user, db.get(Outlet, customer.outlet_id)):
        abort(404)
    return customer


@bp.route("/key-customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_key_customer(customer_id: int):
    customer = load_key_customer(customer_id)
    if not permissions.is_handler(current_user):
        abort(403)
    form = KeyCustomerEditForm(obj=customer)
    if form.validate_on_submit():
        result = run_service(lambda db: services.edit_key_customer(
            db, actor=current_user, customer=customer, tier=form.tier.data, contact_name=form.contact_name.data,
            contact_phone=form.contact_phone.data, note=form.note.data or ""), _("Saved."))
        if result is not REFUSED:
            return redirect(url_for("complaints.callbacks", all=1))
    else:
        flash_form_errors(form)
    return render_template("complaints/key_customer.html", customer=customer, form=form,
                           outlet=get_session().get(Outlet, customer.outlet_id), deactivate_form=DeactivateForm())


@bp.route("/key-customers/<int:customer_id>/deactivate", methods=["POST"])
@login_required
def deactivate_key_customer(customer_id: int):
    customer = load_key_customer(customer_id)
    if not permissions.is_handler(current_user):
        abort(403)
    form = DeactivateForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("complaints.edit_key_customer", customer_id=customer.id))
    result = run_service(lambda db: services.deactivate_key_customer(db, actor=current_user, customer=customer,
                                                                     reason=form.reason.data),
                         _("%(name)s is off the callback plan.", name=customer.name))
    if result is REFUSED:
        return redirect(url_for("complaints.edit_key_customer", customer_id=customer.id))
    return redirect(url_for("complaints.callbacks", all=1))


@bp.route("/key-customers/<int:customer_id>/callback", methods=["POST"])
@login_required
def call_key_customer(customer_id: int):
    customer = load_key_customer(customer_id)
    form = CallbackForm()
    if form.validate_on_submit():
        run_service(lambda db: services.call_key_customer(db, actor=current_user, customer=customer,
                                                          satisfaction=form.satisfaction.data, note=form.note.data),
                    _("Callback recorded."))
    else:
        flash_form_errors(form)
    return redirect(url_for("complaints.callbacks"))

