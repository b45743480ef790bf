from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.checklists.definition import SEVERITY_LABELS
from inspect_app.db import get_session, lock_on_write_only
from inspect_app.errors import DomainError
from inspect_app.evidence import signatures
from inspect_app.evidence import views as evidence_views
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import form_refused, get_or_404, run_form, run_service
from inspect_app.i18n import select_locale
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.plans import coverage as plan_coverage
from inspect_app.plans.periods import PlanPeriod
from inspect_app.rectifications import extensions, queries, repeats, selfcheck, services
from inspect_app.rectifications.forms import (
    AnswerForm,
    DeadlineForm,
    DecideForm,
    DisputeForm,
    ExtensionDecideForm,
    ExtensionRequestForm,
    ResponsibleForm,
    VerifyForm,
)
from inspect_app.rectifications.lifecycle import LINE, NOTICE
from inspect_app.rectifications.models import RectificationEvent, RectificationLine, RectificationNotice
from inspect_app.visits.models import Visit

bp = Blueprint("rectifications", __name__)


def load_notice(notice_id: int) -> RectificationNotice:
    notice = get_or_404(RectificationNotice, notice_id)
    if not permissions.can_view_notice(get_session(), current_user, notice):
        abort(404)
    return notice


def load_line(line_id: int) -> RectificationLine:
    try:
        return services.load_line_for(get_session(), current_user, line_id)
    except DomainError:
        abort(404)


@bp.route("/notices")
@login_required
def notices():
    """The notices in the viewer's reach, most urgent first: those with items in the outlet's turn
    by their earliest deadline (the overdue ones first, the longest overdue first), then those
    waiting for the inspection side (to verify, a dispute to decide) by their earliest deadline,
    then (not with ``open=1``) the settled ones, newest first. A page of 100; ``after`` (the
    link's cursor) goes on from the last notice shown."""
    if not permissions.can_see_notices(current_user):
        abort(403)
    open_only = request.args.get("open") == "1"
    after = queries.NoticeCursor.parse(request.args.get("after"))
    rows, following = queries.notice_page(get_session(), current_user, open_only=open_only, after=after)
    return render_template("rectifications/notices.html", rows=rows, now=clock.now(), open_only=open_only,
                           following=following, first_page=after is None)


def _line_bundle(db, lines):
    """History events and photos for lines, in two queries."""
    ids = [line.id for line in lines]
    events = db.exec(select(RectificationEvent).where(RectificationEvent.line_id.in_(ids))
                     .order_by(RectificationEvent.id)).all() if ids else []
    photos = db.exec(select(Photo).where(Photo.line_id.in_(ids), Photo.deleted_at.is_(None))).all() if ids else []
    by_line = {i: [] for i in ids}
    for event in events:
        by_line[event.line_id].append(event)
    photos_by_event: dict[int, list] = {}
    for photo in photos:
        if photo.response_id is not None:
            photos_by_event.setdefault(photo.response_id, []).append(photo)
    actor_ids = {e.actor_id for e in events if e.actor_id} | {line.responsible_id for line in lines if line.responsible_id}
    people = {u.id: u for u in db.exec(select(User).where(User.id.in_(actor_ids))).all()} if actor_ids else {}
    return by_line, photos_by_event, people


@bp.route("/notices/<int:notice_id>")
@login_required
def notice(notice_id: int):
    notice = load_notice(notice_id)
    db = get_session()
    lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                    .order_by(RectificationLine.red_line.desc(), RectificationLine.deadline_at, RectificationLine.id)).all()
    events, photos, people = _line_bundle(db, lines)
    visit = db.get(Visit, notice.visit_id) if notice.visit_id else None
    outlet = db.get(Outlet, notice.outlet_id)
    return render_template(
        "rectifications/notice.html", notice=notice, lines=lines, events=events, photos=photos, people=people,
        visit=visit, outlet=outlet, assignee=db.get(User, visit.assignee_id) if visit else None, now=clock.now(),
        can_ack="acknowledge" in NOTICE.available(db, current_user, notice),
        ack_due=services.ack_due_day(notice, outlet), ack_late=services.ack_late_days(notice, outlet),
        action_form=ActionForm(), acknowledged_by=db.get(User, notice.acknowledged_by_id) if notice.acknowledged_by_id else None,
        ack_signature=signatures.latest_of(db, purpose=services.ACKNOWLEDGED, notice_id=notice.id),
        signature_required=services.signature_required_on_acknowledge(),
    )


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(notice_id: int):
    """签收, with the chief's signature when one was drawn (or the form was kept offline and is
    sent now from the phone's outbox: answered in JSON)."""
    notice = load_notice(notice_id)
    done = url_for("rectifications.notice", notice_id=notice.id)
    form = ActionForm()
    if not form.validate_on_submit():
        return form_refused(form, done)
    signature = evidence_views.read_signature()
    return run_form(lambda db: services.acknowledge_notice(db, actor=current_user, notice=notice, storage=get_storage(),
                                                           signature=signature),
                    _("Notice acknowledged. Answer each item before its deadline."), done=done)


@bp.route("/lines/<int:line_id>")
@login_required
def line(line_id: int):
    line = load_line(line_id)
    db = get_session()
    events, photos, people = _line_bundle(db, [line])
    notice = db.get(RectificationNotice, line.notice_id)
    outlet = db.get(Outlet, line.outlet_id)
    actions = LINE.available(db, current_user, line)
    version = {"version": line.row_version}
    responsible_form = ResponsibleForm()
    responsible_form.user_id.choices = [(u.id, u.display_name) for u in services.branch_chiefs_of(db, line.outlet_id)]
    responsible_form.user_id.data = line.responsible_id
    requests = extensions.requests_of(db, line)
    people.update({u.id: u for u in db.exec(select(User).where(User.id.in_(
        {r.requested_by_id for r in requests} | {r.decided_by_id for r in requests if r.decided_by_id})))} if requests else {})
    return render_template(
        "rectifications/line.html", line=line, notice=notice, outlet=outlet, events=events[line.id], photos=photos,
        people=people, now=clock.now(), actions=actions,
        staged=services.staged_photos(db, actor=current_user, line=line) if "stage_photo" in actions else [],
        answer_form=AnswerForm(data=version), dispute_form=DisputeForm(data=version),
        verify_form=VerifyForm(data=version), decide_form=DecideForm(data=version),
        deadline_form=DeadlineForm(data=version), responsible_form=responsible_form,
        own_answer=line.answered_by_id == current_user.id, photo_limit=6,
        extension_requests=requests, open_extension=next((r for r in requests if r.status == "open"), None),
        extension_photos={p.id: p for p in db.exec(select(Photo).where(Photo.id.in_([r.photo_id for r in requests if r.photo_id])))}
        if any(r.photo_id for r in requests) else {},
        extension_form=ExtensionRequestForm(data=version), extension_decide_form=ExtensionDecideForm(),
        extension_max_day=services.local_today(outlet) + dt.timedelta(days=extensions.max_days()),
        signatures=signatures.by_event(db, [line.id]),
        evidence=services.answer_evidence(db, current_user, line=line, events=events[line.id], photos_by_event=photos),
        photos_by_id={p.id: p for group in photos.values() for p in group},
        named=db.get(StaffMember, line.staff_id) if line.staff_id else None,
        # a red-line finding may hold a staff member accountable (the complaint domain decides it)
        accountable_staff=db.exec(select(StaffMember).where(StaffMember.outlet_id == line.outlet_id,
                                                            StaffMember.active.is_(True)).order_by(StaffMember.job_number)).all()
        if line.red_line and permissions.can_open_accountability(db, current_user, line.outlet_id) else [],
    )


def _act(line: RectificationLine, action, success: str):
    run_service(action, success)
    return redirect(url_for("rectifications.line", line_id=line.id))


@bp.route("/lines/<int:line_id>/answer", methods=["POST"])
@login_required
def answer(line_id: int):
    line = load_line(line_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    return _act(line, lambda db: services.answer_line(db, actor=current_user, line=line, description=form.description.data,
                                                      base_version=form.base_version()),
                _("Answer sent for verification."))


@bp.route("/lines/<int:line_id>/close", methods=["POST"])
@login_required
def close_own(line_id: int):
    """The chief closes a line of their own self-inspection, with what was done and its photo."""
    line = load_line(line_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    return _act(line, lambda db: services.close_own_line(db, actor=current_user, line=line,
                                                         description=form.description.data,
                                                         base_version=form.base_version()),
                _("Closed."))


@bp.route("/lines/<int:line_id>/dispute", methods=["POST"])
@login_required
def dispute(line_id: int):
    line = load_line(line_id)
    form = DisputeForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    return _act(line, lambda db: services.dispute_line(db, actor=current_user, line=line, reason=form.reason.data,
                                                       base_version=form.base_version()),
                _("Dispute sent for a decision."))


@bp.route("/lines/<int:line_id>/verify", methods=["POST"])
@login_required
def verify(line_id: int):
    """复查; on site with the inspector's signature (a form kept offline comes as JSON)."""
    line = load_line(line_id)
    done = url_for("rectifications.line", line_id=line.id)
    form = VerifyForm()
    if not form.validate_on_submit():
        return form_refused(form, done)
    accept = form.decision.data == "accept"
    signature = evidence_views.read_signature()
    return run_form(lambda db: services.verify_line(
        db, actor=current_user, line=line, accept=accept, reason=form.reason.data or "",
        new_deadline=form.new_deadline.data, base_version=form.base_version(), on_site=form.on_site.data,
        storage=get_storage(), signature=signature),
        _("Closed.") if accept else _("Returned to the outlet."), done=done)


@bp.route("/lines/<int:line_id>/decide", methods=["POST"])
@login_required
def decide(line_id: int):
    line = load_line(line_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    uphold = form.decision.data == "uphold"
    return _act(line, lambda db: services.decide_dispute(
        db, actor=current_user, line=line, uphold=uphold, reason=form.reason.data, new_deadline=form.new_deadline.data,
        base_version=form.base_version()),
        _("Finding upheld; the outlet must rectify it.") if uphold else _("Finding withdrawn; the visit was re-scored."))


@bp.route("/lines/<int:line_id>/deadline", methods=["POST"])
@login_required
def deadline(line_id: int):
    line = load_line(line_id)
    form = DeadlineForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    return _act(line, lambda db: services.change_deadline(
        db, actor=current_user, line=line, new_deadline=form.new_deadline.data, reason=form.reason.data,
        base_version=form.base_version()), _("Deadline changed."))


@bp.route("/lines/<int:line_id>/extension", methods=["POST"])
@login_required
def request_extension(line_id: int):
    """延期申请 from the outlet: a later day, the reason, optionally a photo (the form's file)."""
    line = load_line(line_id)
    form = ExtensionRequestForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=line.id))
    photo = evidence_views.read_upload() or None
    return _act(line, lambda db: extensions.request_extension(
        db, actor=current_user, line=line, new_deadline=form.new_deadline.data, reason=form.reason.data,
        photo=photo, storage=get_storage() if photo else None, base_version=form.base_version()),
        _("Extension requested. The inspection side decides it."))


@bp.route("/extensions/<int:request_id>/decide", methods=["POST"])
@login_required
def decide_extension(request_id: int):
    try:
        request_row = extensions.load_request_for(get_session(), current_user, request_id)
    except DomainError:
        abort(404)
    form = ExtensionDecideForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rectifications.line", line_id=request_row.line_id))
    approve = form.decision.data == "approve"
    run_service(lambda db: extensions.decide_extension(
        db, actor=current_user, request=request_row, approve=approve, new_deadline=form.new_deadline.data,
        reason=form.reason.data or ""), _("Extension approved.") if approve else _("Extension refused."))
    return redirect(url_for("rectifications.line", line_id=request_row.line_id))


@bp.route("/lines/<int:line_id>/responsible", methods=["POST"])
@login_required
def responsible(line_id: int):
    line = load_line(line_id)
    form = ResponsibleForm()
    db = get_session()
    person = db.get(User, form.user_id.data) if form.validate_on_submit() and form.user_id.data else None
    if person is None:
        flash(_("Choose a person."), "error")
        return redirect(url_for("rectifications.line", line_id=line.id))
    return _act(line, lambda db: services.assign_responsible(db, actor=current_user, line=line, user=person), _("Saved."))


@bp.route("/api/lines/<int:line_id>/photos", methods=["POST"])
@lock_on_write_only
@login_required
def line_photo(line_id: int):
    load_line(line_id)  # 404 unless the viewer may see it
    data = evidence_views.read_upload()
    if data is None:
        return jsonify(error=_("No photo was received. Try again.")), 400
    user_id = current_user.id
    return evidence_views.upload_outside_the_lock(lambda db, plan_only, prepared: services.stage_line_photo(
        db, get_storage(), actor=db.get(User, user_id), line=db.get(RectificationLine, line_id), data=data,
        client_id=(request.form.get("client_id") or "")[:64] or None, plan_only=plan_only, prepared=prepared), data)


# --- managers ------------------------------------------------------------------------------------

def _filters() -> tuple[queries.BoardFilters, dict]:
    """Period filters by month (``2026-11``; a full date counts as its month), kind, severity. A
    value the board does not know filters nothing and is not echoed back (an unknown severity
    showed 0 lines under 全部等级)."""
    args = {k: request.args.get(k) or "" for k in ("from", "to", "kind", "severity")}
    if args["kind"] not in queries.BOARD_KINDS:
        args["kind"] = ""
    if args["severity"] not in SEVERITY_LABELS:
        args["severity"] = ""

    start, end = clock.month_named(args["from"]), clock.month_named(args["to"])
    args["from"], args["to"] = (args[k] if month else "" for k, month in (("from", start), ("to", end)))
    if end is not None:
        end = (end + dt.timedelta(days=32)).replace(day=1)
    # a month starts at midnight where the network is (Shanghai), not in UTC: a line issued at
    # 03:00 on the 1st belongs to that month on the board, in its lists and in its kept totals
    as_moment = (lambda d: clock.day_start(d, clock.default_zone()) if d else None)
    return queries.BoardFilters(since=as_moment(start), until=as_moment(end), kind=args["kind"] or None,
                                severity=args["severity"] or None), args


def board_selection() -> tuple[Unit | None, queries.BoardFilters, dict]:
    """The board's unit and filters from the query string, after its checks (403 off the board's
    roles, 404 for a unit out of scope); the board's exports make the same ones."""
    if not permissions.can_see_board(current_user):
        abort(403)
    db = get_session()
    node = _unit_or_404(db, request.args.get("unit", type=record_id) or current_user.unit_id)
    filters, args = _filters()
    return node, filters, args


def line_selection() -> tuple[queries.BoardFilters, dict, Unit | None, Outlet | None, str | None]:
    """The line list's filters, unit, outlet and state from the query string, after its checks
    (403 off the list's roles, 404 for a unit or outlet out of scope); shared with its exports."""
    if not permissions.can_see_line_lists(current_user):
        abort(403)
    db = get_session()
    filters, args = _filters()
    node = _unit_or_404(db, request.args.get("unit", type=record_id))
    outlet_id = request.args.get("outlet", type=record_id)
    outlet = db.get(Outlet, outlet_id) if outlet_id else None
    if outlet_id and (outlet is None or not permissions.outlet_in_scope(db, current_user, outlet)):
        abort(404)  # never name an outlet the viewer may not see
    state = request.args.get("state") or None
    # a state the list does not know lists every state, as no state does (never echoed back)
    return filters, args, node, outlet, state if state in queries.LINE_STATES else None


def _unit_or_404(db, node_id: int | None) -> Unit | None:
    """The unit asked for (None when none is): 404 when it is not there or out of the viewer's
    scope, alike (a unit that was not there showed the board of 全部单位)."""
    node = db.get(Unit, node_id) if node_id else None
    if node_id and (node is None or not permissions.unit_in_scope(db, current_user, node)):
        abort(404)
    return node


@bp.route("/board")
@login_required
def board():
    node, filters, args = board_selection()
    db = get_session()
    escalation_days = current_app.config.get("ESCALATION_DAYS", 3)
    # the scope's late lines read once: the board's late counts, the escalated ones
    late = queries.late_lines(db, current_user, node, filters, escalation_days=escalation_days)
    rows, total = queries.board(db, current_user, node=node, filters=filters, late=late)
    escalated_count, escalated = queries.escalated_to(db, current_user, node, filters=filters,
                                                      escalation_days=escalation_days, late=late)
    parent = db.get(Unit, node.parent_id) if node is not None and node.parent_id else None
    if parent is not None and not permissions.unit_in_scope(db, current_user, parent):
        parent = None
    panels = [panel(db, current_user, node, filters) for panel in current_app.extensions.get("board_panels", [])]
    return render_template("rectifications/board.html", rows=rows, total=total, node=node, parent=parent,
                           escalated=escalated, escalated_count=escalated_count, args=args, now=clock.now(),
                           unacknowledged=queries.unacknowledged_escalated_to(db, current_user, node),
                           panels=[p for p in panels if p is not None], missed=_missed_this_month(db, node))


def _missed_this_month(db, node: Unit | None) -> tuple[int, PlanPeriod]:
    """Planned visits of this month already missed in the board's unit: a count that links to them."""
    month = PlanPeriod.around("month", clock.today(clock.default_zone()))
    where = permissions.outlets_clause(db, current_user)
    if node is not None:
        where = sa.and_(where, Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))))
    return plan_coverage.missed_count(db, where=where, first=month.start, end=month.end), month


def register_board_panel(app, panel) -> None:
    """A higher domain adds a section to the board (complaints): ``panel(session, user, node,
    filters)`` gives ``(template, context)`` or None; rectification knows none of them."""
    app.extensions.setdefault("board_panels", []).append(panel)


def repeat_selection() -> tuple[Unit | None, queries.BoardFilters, dict, str | None]:
    """The repeats page's unit, filters and item code from the query string, after the board's
    checks (403 off its roles, 404 for a unit out of scope); its exports make the same ones."""
    node, filters, args = board_selection()
    item = (request.args.get("item") or "").strip().upper()[:32] or None
    args["item"] = item or ""
    return node, filters, args, item


@bp.route("/board/repeats")
@login_required
def repeats_page():
    """屡查屡犯: items that failed again at an outlet, per unit and per outlet."""
    node, filters, args, item = repeat_selection()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    groups, total = repeats.repeat_groups(db, current_user, node=node, filters=filters, item=item)
    rows = repeats.repeat_rows(db, current_user, node=node, filters=filters, item=item,
                               limit=repeats.PER_PAGE, offset=(page - 1) * repeats.PER_PAGE)
    count = repeats.repeat_row_count(db, current_user, node=node, filters=filters, item=item)
    parent = db.get(Unit, node.parent_id) if node is not None and node.parent_id else None
    if parent is not None and not permissions.unit_in_scope(db, current_user, parent):
        parent = None
    return render_template("rectifications/repeats.html", groups=groups, total=total, rows=rows, count=count,
                           page=page, per_page=repeats.PER_PAGE, node=node, parent=parent, args=args,
                           window=repeats.repeat_window_days(), texts=repeats.item_texts(rows, select_locale()))


@bp.route("/board/self-checks")
@login_required
def self_checks_page():
    """自查: the outlets' self-inspections of a month (planned, done on their day, missed) and the
    自查不实 found by inspections, per unit (per outlet below a county), with the lines themselves."""
    node, _filters_unused, _args = board_selection()
    db = get_session()
    today = clock.today(clock.default_zone())
    try:
        month = PlanPeriod.parse(request.args.get("month") or "", today)
    except ValueError:
        month = PlanPeriod.around("month", today)
    if month.kind != "month":
        month = PlanPeriod.around("month", month.start)
    where = Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))) \
        if node is not None else None
    # every outlet (an administrator's country): their units come with the rows counted, not as
    # a map of the 50,000 read first
    allowed = None if node is None and permissions.is_admin(current_user) else org.outlets_in(db, current_user, where)
    zone = clock.default_zone()
    rows, total = selfcheck.by_child_units(db, node=node, allowed=allowed, first=month.start, end=month.end, zone=zone)
    lines = selfcheck.false_lines(db, current_user, node=node, since=clock.day_start(month.start, zone),
                                  until=clock.day_start(month.end, zone))
    parent = db.get(Unit, node.parent_id) if node is not None and node.parent_id else None
    if parent is not None and not permissions.unit_in_scope(db, current_user, parent):
        parent = None
    return render_template("rectifications/self_checks.html", rows=rows, total=total, lines=lines, node=node,
                           parent=parent, month=month, previous=month.previous(), following=month.next(),
                           window=selfcheck.window_days(), now=clock.now())


@bp.route("/board/lines")
@login_required
def board_lines():
    """The lines of a unit, an outlet or a state, by deadline, 100 a page up to ``LINE_PAGES``
    pages (each page reads every range up to its end: a page number past them would read the
    country's lines; the export has them all)."""
    filters, args, node, outlet, state = line_selection()
    page = min(max(1, request.args.get("page", 1, type=record_id)), LINE_PAGES)
    rows = queries.line_rows(get_session(), current_user, filters=filters, node=node,
                             outlet_id=outlet.id if outlet else None, state=state, limit=101, offset=(page - 1) * 100)
    return render_template("rectifications/lines.html", rows=rows[:100], more=len(rows) > 100 and page < LINE_PAGES,
                           page=page, args=args, state=state, node=node, outlet=outlet, now=clock.now())


#: Pages of a line list (of 100 lines).
LINE_PAGES = 50


@bp.route("/reminders")
@login_required
def reminders():
    """Lines due within a day (and the ones already late) in the user's reach: the first
    ``REMINDERS_SHOWN`` of each by deadline, and a link to the whole list (paged) when there are
    more (a province's 200 and 200 took half a second to show and were too many to read)."""
    if not permissions.can_see_notices(current_user):
        abort(403)
    db = get_session()
    filters = queries.BoardFilters()
    due = queries.line_rows(db, current_user, filters=filters, state="due_soon", limit=REMINDERS_SHOWN + 1)
    late = queries.line_rows(db, current_user, filters=filters, state="overdue", limit=REMINDERS_SHOWN + 1)
    return render_template("rectifications/reminders.html", due=due[:REMINDERS_SHOWN], late=late[:REMINDERS_SHOWN],
                           more_due=len(due) > REMINDERS_SHOWN, more_late=len(late) > REMINDERS_SHOWN,
                           lists=permissions.can_see_line_lists(current_user), now=clock.now())


#: Lines of each kind the reminders show (the rest in the line lists, by page).
REMINDERS_SHOWN = 50
