"""Plan pages: the list, the form (new and edit), a plan with its visits per period, a planned
visit's move and reassignment, ending a plan; coverage by unit and the missed visits."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.checklists import services as checklists
from inspect_app.db import get_session, not_a_page
from inspect_app.forms_common import flash_form_errors, record_id
from inspect_app.http import REFUSED, get_or_404, run_service
from inspect_app.i18n import select_locale, select_timezone
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage, queries, services
from inspect_app.plans.forms import PAIR_ROWS, EndPlanForm, MoveForm, PlanEditForm, PlanForm, ReassignForm
from inspect_app.plans.models import AssignMode, InspectionPlan, OutletRule, PlanStatus
from inspect_app.plans.periods import PlanPeriod
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import Visit

bp = Blueprint("plans", __name__)


def _require_manager() -> None:
    if not permissions.can_manage_plans(current_user):
        abort(403)


def load_plan(plan_id: int) -> InspectionPlan:
    """403 off the managers; the plan if it is in the manager's units, else 404."""
    _require_manager()
    plan = get_or_404(InspectionPlan, plan_id)
    if not permissions.can_manage_plan(get_session(), current_user, plan):
        abort(404)
    return plan


def load_plan_visit(visit_id: int) -> tuple[Visit, InspectionPlan]:
    _require_manager()
    visit = get_or_404(Visit, visit_id)
    if visit.plan_id is None:
        abort(404)
    return visit, load_plan(visit.plan_id)


@bp.route("/plans")
@login_required
def index():
    _require_manager()
    db = get_session()
    return render_template("plans/index.html", rows=queries.plan_list(db, current_user),
                           today=clock.today(services.plan_zone()))


# --- the form ------------------------------------------------------------------------------------

def _shown_unit(db, form, plan: InspectionPlan | None) -> Unit | None:
    """The unit the form is about: the plan's, the one chosen (posted, or ``?unit=``), else the
    manager's own; None for the administrator before choosing (or for a unit out of scope)."""
    unit_id = plan.unit_id if plan is not None else (
        getattr(form, "unit_id", None) and form.unit_id.data or request.args.get("unit", type=record_id)
        or current_user.unit_id)
    unit = db.get(Unit, unit_id) if unit_id else None
    return unit if unit is not None and permissions.unit_in_scope(db, current_user, unit) else None


def _choices(db, form, kind: str | None, plan: InspectionPlan | None = None) -> dict:
    """The form's lists: units, checklists, outlets and people in the manager's scope. Units as the
    pickers list them (``org.picker_units``: provinces, cities and the counties beside and below the
    plan's unit), people of the plan's unit: the nation's lists were 41,000 options and 3,900 people."""
    shown = _shown_unit(db, form, plan)
    units = org.unit_tree_labels(db, sa.and_(permissions.units_clause(db, current_user), org.picker_units(shown)))
    if hasattr(form, "unit_id"):
        form.unit_id.choices = [(u.id, label) for u, label in units]
        form.checklist.choices = [(c.code, c.title(select_locale())) for c in checklists.available()]
        # cross-inspection pairs are units below the plan's
        below = [("", "—")] + [(str(u.id), label) for u, label in units
                               if shown is None or (u.path.startswith(shown.path) and u.id != shown.id)]
        for entry in [*form.pair_source, *form.pair_target]:
            entry.choices = below
    people = queries.assignable_people(db, current_user, kind, under=shown, keep=form.member_ids.data or [])
    return {"units": units, "outlets": queries.scope_outlets(db, current_user, under=shown), "people": people}


def _input(db, form: PlanEditForm, plan: InspectionPlan | None) -> services.PlanInput:
    """The form as the service's input (blackout lines are read here, refused by line)."""
    fixed = plan is not None
    return services.PlanInput(
        name=form.name.data or "", ends_on=form.ends_on.data,
        unit_id=plan.unit_id if fixed else form.unit_id.data,
        checklist_code=plan.checklist_code if fixed else form.checklist.data,
        starts_on=plan.starts_on if fixed else form.starts_on.data,
        per_period=plan.per_period if fixed else form.per_period.data,
        period_kind=plan.period_kind if fixed else form.period_kind.data,
        assign_mode=plan.assign_mode if fixed else form.assign_mode.data,
        pairings=[] if fixed else form.pairs(),
        outlet_rule=form.outlet_rule.data, outlet_ids=form.outlet_ids.data or [],
        red_line_days=form.red_line_days.data, member_ids=form.member_ids.data or [],
        max_per_person=form.max_per_person.data, blackouts=services.parse_blackouts(form.blackouts.data or ""))


def _made(result) -> str:
    plan, made = result
    return _("Plan %(name)s saved: %(n)d visits made.", name=plan.name, n=len(made.created))


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def new():
    _require_manager()
    db = get_session()
    form = PlanForm()
    if request.method == "GET":
        if _shown_unit(db, form, None) is None:  # the administrator: which unit first, then its lists
            units = org.unit_tree_labels(db, org.picker_units(None))
            return render_template("plans/choose_unit.html", units=units)
        _defaults(db, form)
    lists = _choices(db, form, None)
    if form.validate_on_submit():
        not_a_page()  # a plan makes its visits: statements grow with its outlets
        saved = run_service(lambda db: services.create_plan(db, actor=current_user, data=_input(db, form, None)), _made)
        if saved is not REFUSED:
            return redirect(url_for("plans.detail", plan_id=saved[0].id))
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("plans/form.html", form=form, plan=None, pair_rows=PAIR_ROWS, **lists)


def _defaults(db, form: PlanForm) -> None:
    """A new plan: this month on for a year, once a month, at the manager's own unit; a
    cross-inspection offered as the rotation of that unit's children (A → B → C → A)."""
    today = clock.today(services.plan_zone())
    form.starts_on.data = today
    form.ends_on.data = dt.date(today.year, 12, 31) if today.month < 10 else dt.date(today.year + 1, 12, 31)
    form.per_period.data, form.period_kind.data = 1, "month"
    unit = _shown_unit(db, form, None)
    if unit is not None:
        form.unit_id.data = unit.id
        children = db.exec(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)).all()
        if len(children) >= 2:
            for n, child in enumerate(children[:PAIR_ROWS]):
                form.pair_source[n].data = str(child.id)
                form.pair_target[n].data = str(children[(n + 1) % min(len(children), PAIR_ROWS)].id)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def edit(plan_id: int):
    plan = load_plan(plan_id)
    db = get_session()
    if plan.status != PlanStatus.active:
        abort(404)
    form = PlanEditForm(obj=plan if request.method == "GET" else None)
    if request.method == "GET":
        form.outlet_ids.data = services.listed_outlet_ids(db, plan)
        form.member_ids.data = [p.id for p in services.members_of(db, plan)]
        form.blackouts.data = services.format_blackouts(services.blackouts_of(db, plan))
    lists = _choices(db, form, "secret" if plan.kind == "secret" else "open", plan)
    if form.validate_on_submit():
        not_a_page()
        saved = run_service(lambda db: services.update_plan(db, actor=current_user, plan=plan,
                                                            data=_input(db, form, plan)), _made)
        if saved is not REFUSED:
            return redirect(url_for("plans.detail", plan_id=plan.id))
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("plans/form.html", form=form, plan=plan, pairs=services.pairings_of(db, plan),
                           unit=db.get(Unit, plan.unit_id), **lists)


# --- a plan ----------------------------------------------------------------------------------------

@bp.route("/plans/<int:plan_id>")
@login_required
def detail(plan_id: int):
    plan = load_plan(plan_id)
    db = get_session()
    now = clock.now()
    rows = queries.plan_visits(db, plan, now=now)
    by_period: dict[dt.date, list] = {}
    for row in rows:
        by_period.setdefault(row[0].plan_period, []).append(row)
    checklist = checklists.registry(db).get(plan.checklist_code)
    return render_template(
        "plans/detail.html", plan=plan, unit=db.get(Unit, plan.unit_id), by_period=by_period,
        periods={day: PlanPeriod.around(plan.period_kind, day) for day in by_period},
        checklist_title=checklist.title(select_locale()) if checklist else plan.checklist_code,
        members=services.members_of(db, plan), pairs=services.pairings_of(db, plan),
        blackouts=services.blackouts_of(db, plan), listed=len(services.listed_outlet_ids(db, plan)),
        outlet_count=len(services.selected_outlets(db, plan)), end_form=EndPlanForm(), limit=queries.DETAIL_LIMIT,
        total=len(rows), OutletRule=OutletRule, AssignMode=AssignMode,
        creator=db.get(User, plan.created_by_id) if plan.created_by_id else None)


@bp.route("/plans/<int:plan_id>/end", methods=["POST"])
@login_required
def end(plan_id: int):
    plan = load_plan(plan_id)
    form = EndPlanForm()
    if form.validate_on_submit():
        not_a_page()
        run_service(lambda db: services.end_plan(db, actor=current_user, plan=plan, reason=form.reason.data),
                    lambda n: _("Plan ended: %(n)d visits not yet started were cancelled.", n=n))
    else:
        flash_form_errors(form)
    return redirect(url_for("plans.detail", plan_id=plan.id))


@bp.route("/plans/visits/<int:visit_id>", methods=["GET", "POST"])
@login_required
def change_visit(visit_id: int):
    """Move a planned visit (its date window) or give it to someone else: two forms, one page."""
    visit, plan = load_plan_visit(visit_id)
    db = get_session()
    move_form, reassign_form = MoveForm(prefix="move"), ReassignForm(prefix="reassign")
    candidates = services.candidates_for(db, visit)
    reassign_form.assignee_id.choices = [(p.id, p.display_name + (f" · {p.code_name}" if p.code_name else ""))
                                         for p in candidates]
    if request.method == "GET":
        move_form.due_from.data, move_form.due_until.data = visit.due_from, visit.due_until
        reassign_form.assignee_id.data = visit.assignee_id
    done = None
    if request.method == "POST" and request.form.get("action") == "move":
        if move_form.validate():
            done = run_service(lambda db: services.move_visit(
                db, actor=current_user, visit=visit, due_from=move_form.due_from.data,
                due_until=move_form.due_until.data), _("The visit was moved."))
        else:
            flash_form_errors(move_form)
    elif request.method == "POST":
        if reassign_form.validate():
            done = run_service(lambda db: services.reassign_visit(
                db, actor=current_user, visit=visit, assignee=db.get(User, reassign_form.assignee_id.data)),
                _("The visit has a new assignee."))
        else:
            flash_form_errors(reassign_form)
    if done not in (None, REFUSED):
        return redirect(url_for("plans.detail", plan_id=plan.id))
    period = PlanPeriod.around(plan.period_kind, visit.plan_period)
    first, last = services.span(plan, period)
    return render_template("plans/visit.html", visit=visit, plan=plan, outlet=db.get(Outlet, visit.outlet_id),
                           assignee=db.get(User, visit.assignee_id), move_form=move_form, reassign_form=reassign_form,
                           first=first, last=last, period=period,
                           may_change="reschedule" in VISIT.available(db, current_user, visit),
                           blackouts=services.blackouts_of(db, plan))


# --- coverage ------------------------------------------------------------------------------------

def coverage_selection() -> tuple[Unit | None, PlanPeriod, dict]:
    """The coverage page's unit and period from the query string, after its checks (403 off the
    board's roles, 404 for a unit out of scope); the exports make the same ones."""
    if not permissions.can_see_coverage(current_user):
        abort(403)
    db = get_session()
    node_id = request.args.get("unit", type=record_id) or current_user.unit_id
    node = db.get(Unit, node_id) if node_id else None
    if node_id and (node is None or not permissions.unit_in_scope(db, current_user, node)):
        abort(404)
    today = clock.today(select_timezone())
    try:
        period = PlanPeriod.parse(request.args.get("period") or "", today)
    except ValueError:
        period = PlanPeriod.around("month", today)
    return node, period, {"period": period.label}


def coverage_rows(node: Unit | None, period: PlanPeriod):
    """The period's planned visits per outlet read first, then the scope checked for those outlets
    only: the nation's 50,000 outlets looked up for a few hundred planned ones were most of the page."""
    db = get_session()
    rows = coverage.outlet_rows(db, period.start, period.end)
    where = Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))) \
        if node is not None else None
    planned = org.few_outlets({outlet_id for outlet_id, *_counts in rows})
    if planned is not None:
        where = Outlet.id.in_(planned) if where is None else where & Outlet.id.in_(planned)
    allowed = org.outlets_in(db, current_user, where)
    return coverage.by_child_units(db, node=node, allowed=allowed, first=period.start, end=period.end, rows=rows)


@bp.route("/plans/coverage")
@login_required
def coverage_page():
    node, period, args = coverage_selection()
    db = get_session()
    rows, total = coverage_rows(node, period)
    parent = db.get(Unit, node.parent_id) if node is not None and node.parent_id else None
    if parent is not None and not permissions.unit_in_scope(db, current_user, parent):
        parent = None
    return render_template("plans/coverage.html", rows=rows, total=total, node=node, parent=parent, period=period,
                           args=args, previous=period.previous(), following=period.next())


def missed_selection() -> tuple[Unit | None, PlanPeriod, dict, list[tuple]]:
    node, period, args = coverage_selection()
    db = get_session()
    outlet_id = request.args.get("outlet", type=record_id)
    outlet = db.get(Outlet, outlet_id) if outlet_id else None
    if outlet_id and (outlet is None or not permissions.outlet_in_scope(db, current_user, outlet)):
        abort(404)
    where = permissions.outlets_clause(db, current_user)
    if node is not None:
        where = Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))) & where
    rows = coverage.planned_visits(db, first=period.start, end=period.end, where=where, state="missed",
                                   outlet_ids=[outlet.id] if outlet else None)
    people = {u.id: u for u in db.exec(select(User).where(User.id.in_({v.assignee_id for v, _o in rows}))).all()} \
        if rows else {}
    plan_names = dict(db.execute(select(InspectionPlan.id, InspectionPlan.name).where(
        InspectionPlan.id.in_({v.plan_id for v, _o in rows if v.plan_id}))).all()) if rows else {}
    return node, period, args, [(v, o, people.get(v.assignee_id), plan_names.get(v.plan_id)) for v, o in rows]


@bp.route("/plans/missed")
@login_required
def missed():
    node, period, args, rows = missed_selection()
    return render_template("plans/missed.html", rows=rows, node=node, period=period, args=args)
