from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.checklists import services as checklists
from inspect_app.checklists.models import ChecklistVersion
from inspect_app.db import get_session, lock_on_write_only
from inspect_app.errors import DomainError, NotFound
from inspect_app.evidence import markup as markups
from inspect_app.evidence import services as evidence
from inspect_app.evidence import views as evidence_views
from inspect_app.evidence.storage import get_storage
from inspect_app.forms_common import flash_form_errors, record_id
from inspect_app.http import REFUSED, Payload, get_or_404, run_json, run_service, wants_json
from inspect_app.i18n import select_locale, select_timezone
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit, Window
from inspect_app.visits import onsite, photo_checks, queries, secret, services, timers
from inspect_app.visits.forms import (
    AdhocForm,
    CancelForm,
    CheckinForm,
    HandOverForm,
    ScheduleForm,
    SelfInspectionForm,
    SubmitForm,
)
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import EDITABLE, SELF_KIND, Visit, VisitStatus

bp = Blueprint("visits", __name__)


def load_visit(visit_id: int) -> Visit:
    """The visit if the user may see it; 404 otherwise, so a guessed id reveals nothing."""
    visit = get_or_404(Visit, visit_id)
    if not permissions.can_view_visit(get_session(), current_user, visit):
        abort(404)
    return visit


def checklist_choices(kinds: set[str] | None = None) -> list[tuple[str, str]]:
    locale = select_locale()
    return [(c.code, c.title(locale)) for c in checklists.available(kinds)]


# --- lists ---------------------------------------------------------------------------------------

@bp.route("/visits")
@login_required
def index():
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    filters = list_filters()
    listed = queries.list_visits(db, current_user, page=page, **filters)
    return render_template("visits/index.html", rows=listed.rows, total=listed.total, more=listed.more, page=page,
                           per_page=queries.PER_PAGE,
                           statuses=list(VisitStatus), kinds=checklists.KIND_ORDER, **filters)


def list_filters() -> dict:
    """The visit list's filters from the query string (its exports read the same ones): inspectors
    and shoppers see their own visits unless they ask for the whole area."""
    return {"status": request.args.get("status") or None, "kind": request.args.get("kind") or None,
            "q": (request.args.get("q") or "").strip(),
            "mine": current_user.role in (Role.inspector, Role.shopper) and request.args.get("all") != "1"}


# --- scheduling ----------------------------------------------------------------------------------

def _unit_picker(db, unit_id: int | None) -> list[tuple[int, str]]:
    """The schedule's unit filter as the other pickers list units (``org.picker_units``): provinces,
    cities and the counties beside and below the unit shown (the one filtered by, else the user's
    own); the nation's 2,800 counties made a select of 3,200 units no one scrolls."""
    node = db.get(Unit, unit_id or current_user.unit_id) if (unit_id or current_user.unit_id) else None
    return org.unit_choices(db, sa.and_(permissions.units_clause(db, current_user), org.picker_units(node)))


@bp.route("/schedule", methods=["GET", "POST"])
@login_required
def schedule():
    if not permissions.can_schedule(current_user):
        abort(403)
    db = get_session()
    unit_id = request.args.get("unit", type=record_id)
    q = (request.args.get("q") or "").strip()
    outlets, total = org.search_outlets(db, user=current_user, q=q, unit_id=unit_id, page=1, per_page=500)
    form = ScheduleForm()
    form.checklist.choices = checklist_choices()
    people = queries.assignable_people(db, current_user)
    form.assignee_id.choices = [(pid, name + (f" · {code_name}" if code_name else "")) for pid, name, code_name in people]
    preset = _outlet_in_scope(db, request.args.get("outlet", type=record_id))
    windows = org.windows_of(db, preset, active_only=True) if preset else []
    form.window_id.choices = [("", "—")] + [(str(w.id), _("Window %(n)s", n=w.number)) for w in windows]
    if request.method == "GET":
        today = clock.today(select_timezone())  # the acting user's today
        form.due_from.data, form.due_until.data = today, today + dt.timedelta(days=7)
        if preset:
            form.outlet_ids.data = [preset]
    if form.validate_on_submit():
        scheduled = run_service(lambda db: services.schedule_visits(
            db, actor=current_user, checklist_code=form.checklist.data, outlet_ids=form.outlet_ids.data or [],
            assignee=db.get(User, form.assignee_id.data) or _refuse(_("Choose who does the visit.")),
            due_from=form.due_from.data, due_until=form.due_until.data,
            window_id=int(form.window_id.data) if form.window_id.data else None),
            lambda visits: _("%(n)d visits scheduled.", n=len(visits)))
        if scheduled is not REFUSED:
            return redirect(url_for("visits.index", status="scheduled"))
    return render_template("visits/schedule.html", form=form, outlets=outlets, total=total, q=q, unit_id=unit_id,
                           units=_unit_picker(db, unit_id),
                           windows=windows, preset=preset)


@bp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@login_required
def cancel(visit_id: int):
    visit = load_visit(visit_id)
    if not VISIT.may(get_session(), current_user, visit, "cancel"):
        abort(403)
    form = CancelForm()
    if form.validate_on_submit():
        run_service(lambda db: services.cancel_visit(db, actor=current_user, visit=visit, reason=form.reason.data),
                    _("Visit cancelled."))
    else:
        flash(_("Give a reason for cancelling."), "error")
    return redirect(url_for("visits.detail", visit_id=visit.id))


# --- starting ------------------------------------------------------------------------------------

@bp.route("/visits/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_start_adhoc(current_user):
        abort(403)
    db = get_session()
    q = (request.args.get("q") or "").strip()
    outlets, _total = org.search_outlets(db, user=current_user, q=q, page=1, per_page=200)
    form = AdhocForm()
    form.checklist.choices = checklist_choices({"open", "star", "etiquette", "fives"})
    form.outlet_id.choices = [(o.id, f"{o.name} · {o.code}") for o in outlets]
    chosen = form.outlet_id.data if request.method == "POST" else request.args.get("outlet", type=record_id)
    windows = org.windows_of(db, chosen, active_only=True) if _outlet_in_scope(db, chosen) else []
    form.window_id.choices = [("", "—")] + [(str(w.id), _("Window %(n)s", n=w.number)) for w in windows]
    chosen_outlet = db.get(Outlet, chosen) if chosen else None
    if chosen_outlet is not None and not permissions.outlet_in_scope(db, current_user, chosen_outlet):
        chosen_outlet = None  # the service answers "does not exist" for it
    planned = services.planned_visits_due(db, actor=current_user, outlet=chosen_outlet) if chosen_outlet else []
    if form.validate_on_submit():
        window = db.get(Window, int(form.window_id.data)) if form.window_id.data else None
        visit = run_service(lambda db: services.start_adhoc_visit(
            db, actor=current_user, outlet=chosen_outlet or _no_outlet(chosen), window=window,
            checklist_code=form.checklist.data, despite_planned=form.despite_planned.data == "1"))
        if visit is not REFUSED:
            return redirect(url_for("visits.checkin", visit_id=visit.id))
        planned = services.planned_visits_due(db, actor=current_user, outlet=chosen_outlet) if chosen_outlet else []
    if planned:
        form.despite_planned.data = "1"  # the page shows the planned visits: this form is the other choice
    return render_template("visits/new.html", form=form, q=q, outlets=outlets, windows=windows, chosen=chosen,
                           chosen_outlet=chosen_outlet, planned=planned)


@bp.route("/self-checks/start", methods=["POST"])
@login_required
def start_self_inspection():
    """A branch chief opens today's self-inspection of one of their outlets (the planned one, or
    an extra one); another outlet is not found."""
    if not permissions.is_outlet_side(current_user):
        abort(403)
    db = get_session()
    form = SelfInspectionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("dashboard.home"))
    outlet = db.get(Outlet, form.outlet_id.data) if form.outlet_id.data else None
    if outlet is None or not permissions.outlet_in_scope(db, current_user, outlet):
        abort(404)
    visit = run_service(lambda db: services.start_self_inspection(db, actor=current_user, outlet=outlet,
                                                                  checklist_code=form.checklist.data))
    if visit is REFUSED:
        return redirect(url_for("dashboard.home"))
    if visit.status == VisitStatus.scheduled:
        return redirect(url_for("visits.checkin", visit_id=visit.id))
    return redirect(url_for("visits.fill", visit_id=visit.id))


def _outlet_in_scope(db, outlet_id: int | None) -> int | None:
    """The id back if the user may see that outlet, else None (its windows are not listed)."""
    outlet = db.get(Outlet, outlet_id) if outlet_id else None
    return outlet.id if outlet is not None and permissions.outlet_in_scope(db, current_user, outlet) else None


def _refuse(message: str):
    """Raise the refusal inside a service call (for a form value that names nothing)."""
    raise DomainError(message)


def _no_outlet(chosen: int | None):
    if chosen:
        raise NotFound(_("This page does not exist, or you cannot see it."))
    raise DomainError(_("Choose an outlet."))


@bp.route("/visits/<int:visit_id>/checkin", methods=["GET", "POST"])
@login_required
def checkin(visit_id: int):
    visit = load_visit(visit_id)
    if not VISIT.may(get_session(), current_user, visit, "check_in"):
        abort(403)
    if visit.status != VisitStatus.scheduled:
        return redirect(url_for("visits.fill", visit_id=visit.id))
    db = get_session()
    outlet = db.get(Outlet, visit.outlet_id)
    checklist = checklists.registry().get(visit.checklist_code)
    form = CheckinForm()
    windows = org.windows_of(db, outlet.id, active_only=True)
    form.window_id.choices = [("", "—")] + [(str(w.id), _("Window %(n)s", n=w.number)) for w in windows]
    if form.validate_on_submit() and run_service(lambda db: services.check_in(
            db, actor=current_user, visit=visit, lat=form.lat.data, lon=form.lon.data, accuracy=form.accuracy.data,
            no_location_reason=form.no_location_reason.data or "", far_reason=form.far_reason.data or "",
            window_id=int(form.window_id.data) if form.window_id.data else None)) is not REFUSED:
        return redirect(url_for("visits.fill", visit_id=visit.id))
    # refused for want of a reason (or without script): the reason box shows from the server too
    posted_far = request.method == "POST" and form.lat.data is not None and form.lon.data is not None and \
        services.checkin_place(outlet, form.lat.data, form.lon.data, form.accuracy.data).flag == services.CHECKIN_FAR
    return render_template("visits/checkin.html", visit=visit, outlet=outlet, checklist=checklist, form=form,
                           radius=services.checkin_radius(), posted_far=posted_far,
                           needs_window=checklist is not None and checklist.subject == "window" and visit.window_id is None,
                           window=db.get(Window, visit.window_id) if visit.window_id else None,
                           self_inspection=visit.kind == SELF_KIND, hand_over_form=HandOverForm(),
                           colleagues=services.colleagues_for(db, actor=current_user, visit=visit))


@bp.route("/visits/<int:visit_id>/hand-over", methods=["POST"])
@login_required
def hand_over(visit_id: int):
    """A chief hands a self-inspection not yet started to another branch chief of the outlet."""
    visit = load_visit(visit_id)
    form = HandOverForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("visits.checkin", visit_id=visit.id))
    done = run_service(lambda db: services.hand_over(db, actor=current_user, visit=visit,
                                                     to=db.get(User, form.user_id.data) if form.user_id.data else None),
                       _("Handed over."))
    if done is REFUSED:
        return redirect(url_for("visits.checkin", visit_id=visit.id))
    return redirect(url_for("dashboard.home"))


# --- filling -------------------------------------------------------------------------------------

def _progress(result) -> dict:
    return {"answered": result.answered, "total": result.item_count, "score": result.total,
            "passed": result.passed, "red_lines": result.red_lines_failed, "failed": len(result.failed_items),
            "stars": result.stars}


def _answer_json(answer) -> dict:
    return {"item_code": answer.item_code, "result": answer.result, "occurrences": answer.occurrences,
            "scale_value": answer.scale_value, "note": answer.note, "staff_id": answer.staff_id,
            "version": answer.version}


@bp.route("/visits/<int:visit_id>/fill")
@login_required
def fill(visit_id: int):
    visit = load_visit(visit_id)
    db = get_session()
    not_started = visit.assignee_id == current_user.id and visit.status == VisitStatus.scheduled
    if not_started:
        checklist_file = checklists.registry().get(visit.checklist_code)
        if checklist_file is None or (checklist_file.subject == "window" and visit.window_id is None) \
                or visit.kind == SELF_KIND:  # the window is chosen online; a chief starts at their own outlet
            return redirect(url_for("visits.checkin", visit_id=visit.id))
    elif "edit" not in VISIT.available(db, current_user, visit):
        return redirect(url_for("visits.detail", visit_id=visit.id))
    checklist = services.checklist_of(db, visit)
    answers = services.answers_of(db, visit)
    by_item = services.photos_by_place(db, visit)
    result = services.score_visit(checklist, answers, visit)

    past = past_findings(db, visit, checklist)

    return render_template(
        "visits/fill.html", visit=visit, checklist=checklist, answers=answers, photos=by_item, result=result,
        past=past, past_sections={item.section for item in checklist.items if item.code in past},
        timers=timers.timer_moments(visit), timer_names=timers.TIMERS, timer_labels=timers.TIMER_LABELS,
        progress=_progress(result), outlet=db.get(Outlet, visit.outlet_id),
        window=db.get(Window, visit.window_id) if visit.window_id else None, locale=select_locale(),
        submit_form=SubmitForm(token=secrets.token_urlsafe(16)), photo_limit=evidence.MAX_PHOTOS_PER_ITEM,
        not_started=not_started, version=_version(db, visit), radius=services.checkin_radius(),
        staff=org.staff_to_name(db, visit.outlet_id, named={a.staff_id for a in answers.values() if a.staff_id}),
        confirmation=onsite.confirmation_of(db, visit) if visit.kind != "secret" else None,
        shapes={m.id: m.shapes for m in markups.current_of(db, [p for group in by_item.values() for p in group]).values()},
    )


def register_past_findings(app, provider) -> None:
    """A higher domain tells the fill page what it knows of the items' past at the outlet (回头看:
    rectification does): ``provider(session, user, visit, checklist)`` gives item code → finding.
    Rendered into the page, so the copy kept for offline use has it too."""
    app.extensions["past_findings"] = provider


def past_findings(db, visit: Visit, checklist) -> dict:
    provider = current_app.extensions.get("past_findings")
    return provider(db, current_user, visit, checklist) if provider else {}


@bp.route("/api/visits/<int:visit_id>/answers", methods=["POST"])
@login_required
def save_answer(visit_id: int):
    """One answer from the phone's outbox; a refusal carries the stored answer so the phone can show it."""
    visit = load_visit(visit_id)
    payload = Payload.from_request()
    item_code = payload.str("item_code", required=True)

    def stored(_exc):
        current = services.answers_of(get_session(), visit).get(item_code)
        return {"current": _answer_json(current) if current else None}

    return run_json(lambda db: services.save_answer(
        db, actor=current_user, visit=visit, item_code=item_code, result=payload.str("result"),
        occurrences=payload.int("occurrences"), scale_value=payload.int("scale_value"), note=payload.str("note"),
        staff_id=0 if payload.get("staff_id") == "" else payload.int("staff_id"),
        base_version=payload.int("base_version"), client_id=payload.str("client_id", limit=64) or None,
        supersedes=payload.strings("supersedes"), clear=payload.is_true("clear")),
        lambda answer: {"answer": _answer_json(answer), "progress": _visit_progress(visit)}, refused=stored)


@bp.route("/api/visits/<int:visit_id>/state")
@login_required
def visit_state(visit_id: int):
    """What the server holds of the visit, for the assignee's phone: it shows answers changed on
    another device since the page was made, and a visit checked in or submitted elsewhere."""
    visit = load_visit(visit_id)
    if visit.assignee_id != current_user.id:
        abort(404)
    db = get_session()
    response = jsonify(
        status=visit.status, editable=visit.status in EDITABLE or visit.status == VisitStatus.scheduled,
        checkin_at=visit.checkin_at.isoformat() if visit.checkin_at else None,
        answers={code: _answer_json(a) for code, a in services.answers_of(db, visit).items()},
        detail=url_for("visits.detail", visit_id=visit.id))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _visit_progress(visit: Visit) -> dict:
    db = get_session()
    return _progress(services.score_visit(services.checklist_of(db, visit), services.answers_of(db, visit), visit))


@bp.route("/api/visits/<int:visit_id>/photos", methods=["POST"])
@lock_on_write_only
@login_required
def upload_photo(visit_id: int):
    """One photo for an answer (or the receipt or the hall), sent from the phone's outbox."""
    visit = load_visit(visit_id)
    data = evidence_views.read_upload()
    if data is None:
        return jsonify(error=_("No photo was received. Try again.")), 400
    visit_id, user_id = visit.id, current_user.id
    return evidence_views.upload_outside_the_lock(lambda db, plan_only, prepared: services.add_visit_photo(
        db, get_storage(), actor=db.get(User, user_id), visit=db.get(Visit, visit_id), data=data,
        item_code=request.form.get("item_code") or None, purpose=request.form.get("purpose") or "item",
        client_id=(request.form.get("client_id") or "")[:64] or None, plan_only=plan_only, prepared=prepared), data)


def load_own_visit(visit_id: int) -> Visit:
    """The visit if it is the viewer's own to fill; 404 otherwise (a colleague who may read it,
    and anyone else, learn nothing from a write to it)."""
    visit = load_visit(visit_id)
    if visit.assignee_id != current_user.id:
        abort(404)
    return visit


@bp.route("/api/visits/<int:visit_id>/markups", methods=["POST"])
@lock_on_write_only
@login_required
def mark_up_photo(visit_id: int):
    """A finding's photo marked up on the phone (the marked copy and its shapes), from the outbox;
    the photo is named by its id or, when it was marked before it was sent, by the phone's id."""
    visit = load_own_visit(visit_id)
    data = evidence_views.read_upload()
    if data is None:
        return jsonify(error=_("No marked copy was received. Try again.")), 400
    form = request.form
    photo_id = form.get("photo_id", type=record_id)  # past 64 bits: no photo (was an OverflowError)
    visit_id, user_id = visit.id, current_user.id
    return evidence_views.upload_outside_the_lock(lambda db, plan_only, prepared: onsite.mark_up_photo(
        db, get_storage(), actor=db.get(User, user_id), visit=db.get(Visit, visit_id), data=data,
        shapes=form.get("shapes"), photo_id=photo_id, photo_client_id=(form.get("photo_client_id") or "")[:64] or None,
        client_id=(form.get("client_id") or "")[:64] or None, plan_only=plan_only, prepared=prepared),
        data, to_json=evidence_views.markup_json, name="markup")


@bp.route("/api/visits/<int:visit_id>/signature", methods=["POST"])
@login_required
def confirm_findings(visit_id: int):
    """The outlet's person signs the findings on site (or refuses, with a reason), from the outbox."""
    visit = load_own_visit(visit_id)
    sig = evidence_views.read_signature()
    return run_json(lambda db: onsite.confirm_findings(db, get_storage(), actor=current_user, visit=visit, sig=sig),
                    lambda stored: {"signature": evidence_views.signature_json(stored[0]), "created": stored[1]},
                    status=lambda stored: 201 if stored[1] else 200)


@bp.route("/api/visits/<int:visit_id>/summary", methods=["POST"])
@login_required
def save_summary(visit_id: int):
    visit = load_visit(visit_id)
    summary = Payload.from_request().str("summary", required=True)
    return run_json(lambda db: services.save_summary(db, actor=current_user, visit=visit, summary=summary),
                    lambda _visit: {"ok": True})


@bp.route("/api/visits/<int:visit_id>/checkin", methods=["POST"])
@login_required
def checkin_api(visit_id: int):
    """Check-in from the fill page, possibly sent later from the outbox: a retry of the same
    check-in (its ``client_id``) is answered again; a second one is refused (409) with the first."""
    visit = load_visit(visit_id)
    payload = Payload.from_request()

    def first(_exc):
        return {"status": visit.status, "checkin_at": visit.checkin_at.isoformat() if visit.checkin_at else None}

    return run_json(lambda db: services.check_in(
        db, actor=current_user, visit=visit, lat=payload.float("lat"), lon=payload.float("lon"),
        accuracy=payload.float("accuracy"), no_location_reason=payload.str("reason") or "",
        far_reason=payload.str("far_reason") or "", at=payload.datetime("at"),
        keep_version=payload.get("checklist_version_id") == visit.checklist_version_id,
        client_id=payload.str("client_id", limit=64) or None),
        lambda checked: {"status": checked.status, "checkin_at": checked.checkin_at.isoformat()}, refused=first)


@bp.route("/api/visits/<int:visit_id>/timers", methods=["POST"])
@login_required
def set_timer(visit_id: int):
    """One tap of a secret-visit timer: the phone's time, or ``clear`` to undo the last tap."""
    visit = load_visit(visit_id)
    payload = Payload.from_request()
    name, at = payload.str("name", required=True), payload.datetime("at")
    return run_json(
        lambda db: secret.set_timer(db, actor=current_user, visit=visit, name=name, at=at, clear=bool(payload.get("clear"))),
        lambda tapped: {"timers": tapped.timers or {}, "durations": timers.durations(tapped),
                        "progress": _visit_progress(tapped)},
        refused=lambda _exc: {"timers": visit.timers or {}})


@bp.route("/api/visits/<int:visit_id>/details", methods=["POST"])
@login_required
def save_details(visit_id: int):
    visit = load_visit(visit_id)
    payload = Payload.from_request()
    counter, impression = payload.str("counter_number"), payload.str("summary")
    return run_json(lambda db: secret.save_details(db, actor=current_user, visit=visit, counter_number=counter,
                                                   impression=impression), lambda _visit: {"ok": True})


@bp.route("/visits/<int:visit_id>/submit", methods=["POST"])
@login_required
def submit(visit_id: int):
    visit = load_visit(visit_id)
    db = get_session()
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    accept_warnings = form.accept_warnings.data == "1"
    incomplete = services.submit_problems(db, actor=current_user, visit=visit, accept_warnings=accept_warnings)
    if incomplete is not None and wants_json():  # a submit the phone queued offline: it says so in words
        return jsonify(error=incomplete.message or _("Not everything is answered yet. Submit again to see what."),
                       missing=len(incomplete.missing)), 422
    if incomplete is not None:  # what keeps it from being submitted, listed on its own page
        return render_template("visits/missing.html", visit=visit, missing=incomplete.missing,
                               warnings=incomplete.warnings, checklist=services.checklist_of(db, visit),
                               locale=select_locale(), message=incomplete.message, submit_form=_confirm_form()), 422
    if run_service(lambda db: services.submit_visit(db, actor=current_user, visit=visit, token=form.token.data or None,
                                                    accept_warnings=accept_warnings)) is REFUSED:
        done = _after_submit(db, visit)
        return (jsonify(redirect=done), 409) if wants_json() else redirect(done)
    if visit.status != VisitStatus.released:
        flash(_("Submitted for review."), "success")
    elif visit.red_line:
        flash(_("Submitted. Score %(score)s, but a red line failed: the visit fails.", score=f"{visit.score:g}"), "warning")
    else:
        flash(_("Submitted. Score %(score)s.", score=f"{visit.score:g}"), "success")
    done = _after_submit(db, visit)
    return jsonify(redirect=done) if wants_json() else redirect(done)


def _after_submit(db, visit: Visit) -> str:
    """The visit's page, or, for a cross-inspection just released (the visit and its outlet now
    belong to the inspected unit alone), the assignee's home."""
    if permissions.can_view_visit(db, current_user, visit):
        return url_for("visits.detail", visit_id=visit.id)
    flash(_("The findings now belong to the inspected outlet's unit; this visit is no longer yours to open."), "info")
    return url_for("dashboard.home")


# --- the result ----------------------------------------------------------------------------------

@bp.route("/visits/<int:visit_id>")
@login_required
def detail(visit_id: int):
    visit = load_visit(visit_id)
    db = get_session()
    checklist = services.checklist_of(db, visit)
    answers = services.answers_of(db, visit)
    result = services.score_visit(checklist, answers, visit)
    by_item = services.photos_by_place(db, visit)
    outlet = db.get(Outlet, visit.outlet_id)
    failed = [checklist.item(code) for code in result.failed_items]
    failed.sort(key=lambda item: (not item.red_line, item.section, item.code))
    assignee = db.get(User, visit.assignee_id)
    evidence = photo_checks.visit_checks(db, current_user, visit, [p for group in by_item.values() for p in group])
    return render_template(
        "visits/detail.html", visit=visit, checklist=checklist, answers=answers, result=result, photos=by_item,
        outlet=outlet, window=db.get(Window, visit.window_id) if visit.window_id else None, failed=failed,
        assignee=assignee, locale=select_locale(), window_flag=services.window_flag(visit, outlet),
        actions=VISIT.available(db, current_user, visit), cancel_form=CancelForm(),
        show_identity=permissions.sees_shopper_identity(current_user) or visit.assignee_id == current_user.id,
        stars=services.star_history(db, outlet_id=outlet.id, window_id=visit.window_id)[:5],
        timers=timers.timer_moments(visit), timer_labels=timers.TIMER_LABELS,
        version=_version(db, visit),
        named=org.staff_by_id(db, (answers[item.code].staff_id for item in failed if item.code in answers)),
        confirmation=onsite.confirmation_of(db, visit) if visit.kind != "secret" else None,
        evidence=evidence, place_labels={f"_{k}": v for k, v in photo_checks.PLACE_LABELS.items()},
        photos_by_id={p.id: p for group in by_item.values() for p in group},
        self_check_false=self_check_marks(db, visit) if visit.status == VisitStatus.released else {},
        notice=visit_notice(db, visit) if visit.status == VisitStatus.released else None,
    )


def register_self_check_marks(app, provider) -> None:
    """A higher domain tells the visit page which of its failed items the outlet's self-inspection
    had passed shortly before (自查不实: rectification decides it at issue): ``provider(session,
    visit)`` gives item code → the self-inspection's local day."""
    app.extensions["self_check_marks"] = provider


def self_check_marks(db, visit: Visit) -> dict:
    provider = current_app.extensions.get("self_check_marks")
    return provider(db, visit) if provider else {}


def register_visit_notice(app, provider) -> None:
    """A higher domain tells the visit page the notice its failures became (rectification issues
    it on release): ``provider(session, user, visit)`` gives the notice the viewer may open, or None."""
    app.extensions["visit_notice"] = provider


def visit_notice(db, visit: Visit):
    provider = current_app.extensions.get("visit_notice")
    return provider(db, current_user, visit) if provider else None


def _version(db, visit: Visit):
    """The version number and date of the checklist a visit is filled with (never its row id)."""
    return db.exec(select(ChecklistVersion.version, ChecklistVersion.created_at)
                   .where(ChecklistVersion.id == visit.checklist_version_id)).one()


@bp.route("/stars")
@login_required
def stars():
    level = star_filter()
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    now = clock.now()
    scope = queries.star_scope(db, current_user)
    found = queries.star_counts(db, current_user, now=now, scope=scope)
    counts = {n: found.get(n, 0) for n in range(5, 0, -1)}
    per_page = queries.STAR_PAGE
    rows = queries.star_board(db, current_user, stars=level, now=now, limit=per_page, offset=(page - 1) * per_page,
                              scope=scope, counts=found)
    changes = queries.star_changes(db, current_user, since=now - dt.timedelta(days=90), scope=scope)
    total = counts.get(level, 0) if level else sum(counts.values())
    return render_template("visits/stars.html", rows=rows, counts=counts, level=level, changes=changes, now=now,
                           page=page, total=total, per_page=per_page)


def star_filter() -> int | None:
    """403 unless the viewer may see the star board; the level asked for (its exports share it)."""
    if not permissions.can_see_star_board(current_user):
        abort(403)
    return request.args.get("stars", type=int)


def _confirm_form() -> SubmitForm:
    """The "submit anyway" form: a fresh token (it is a new submit) and the warnings accepted.
    Set after construction, because a form built during a POST takes the posted values."""
    form = SubmitForm()
    form.token.data = secrets.token_urlsafe(16)
    form.accept_warnings.data = "1"
    return form


# --- check-ins flagged for the managers -----------------------------------------------------------

def checkin_flag_selection() -> dict:
    """The flagged check-ins page's selection (its export reads the same): the viewer's local days
    ``from`` – ``to`` (the last 30 days by default) and one person; 403 for the outlet side."""
    if not permissions.can_see_board(current_user):
        abort(403)
    zone = select_timezone()
    today = clock.today(zone)

    def day(name: str, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(request.args.get(name) or "") if request.args.get(name) else default
        except ValueError:
            flash(_("Not a date: %(value)s", value=request.args.get(name, "")[:20]), "error")
            return default

    first, last = day("from", today - dt.timedelta(days=30)), day("to", today)
    if last < first:
        first, last = last, first
    return {"since": clock.day_start(first, zone), "until": clock.day_start(last + dt.timedelta(days=1), zone),
            "first": first, "last": last, "assignee_id": request.args.get("person", type=record_id)}


@bp.route("/visits/checkin-flags")
@login_required
def checkin_flags():
    """Visits whose check-in was far from the outlet or without a location, per inspector."""
    selection = checkin_flag_selection()
    page = max(1, request.args.get("page", 1, type=record_id))
    flagged = queries.flagged_checkins_page(get_session(), current_user, since=selection["since"],
                                            until=selection["until"], assignee_id=selection["assignee_id"], page=page)
    return render_template("visits/checkin_flags.html", people=flagged.people, rows=flagged.rows, total=flagged.total,
                           page=page,
                           per_page=queries.PER_PAGE, selection=selection, flag_labels=services.CHECKIN_FLAG_LABELS,
                           radius=services.checkin_radius())
