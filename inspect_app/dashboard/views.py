from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.checklists import services as checklist_services
from inspect_app.complaints import queries as complaint_queries
from inspect_app.complaints.models import Accountability, AccountabilityStatus
from inspect_app.dashboard import queries
from inspect_app.db import get_session
from inspect_app.http import get_or_404
from inspect_app.i18n import select_locale, select_timezone
from inspect_app.indicators import services as indicator_services
from inspect_app.org import services as org
from inspect_app.org.forms import WindowForm
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.rectifications import queries as rect_queries
from inspect_app.visits import queries as visit_queries
from inspect_app.visits.forms import SelfInspectionForm
from inspect_app.visits.models import SELF_KIND, StarRating, Visit
from inspect_app.visits.services import current_stars_query

bp = Blueprint("dashboard", __name__)


def _today() -> dt.date:
    """Today where the viewer works; visit windows are outlet-local dates, nearly always this zone."""
    return clock.today(select_timezone())


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("dashboard.home"))


@bp.route("/home")
@login_required
def home():
    db = get_session()
    role = Role(current_user.role)
    context = {}
    if role == Role.admin:
        context["counts"] = {
            "units": db.exec(select(sa.func.count()).select_from(Unit)).one(),
            "outlets": db.exec(select(sa.func.count()).select_from(Outlet)).one(),
            "users": db.exec(select(sa.func.count()).select_from(User).where(User.active.is_(True))).one(),
        }
    if role in (Role.manager, Role.inspector, Role.reviewer, Role.admin, Role.handler):
        context["scope_unit"] = db.get(Unit, current_user.unit_id) if current_user.unit_id else None
        context["outlet_count"] = context["counts"]["outlets"] if role == Role.admin else db.exec(
            select(sa.func.count()).select_from(Outlet).where(permissions.outlets_clause(db, current_user))
        ).one()  # an administrator's scope is every outlet, just counted
    if role in (Role.inspector, Role.shopper):
        context.update(queries.inspector_home(db, current_user, today=_today()))
    if role in (Role.manager, Role.admin, Role.reviewer):
        context["summary"] = queries.manager_summary(db, current_user, today=_today(),
                                                     since=clock.now() - dt.timedelta(days=30))
    if role in (Role.manager, Role.admin, Role.reviewer, Role.handler):
        context["complaints"] = _complaint_summary(db)
    if role == Role.manager and current_user.unit_id:
        unit = db.get(Unit, current_user.unit_id)
        period = indicator_services.period_of(None, clock.default_zone())
        context["composite"] = indicator_services.unit_score(db, current_user, unit=unit, period=period,
                                                             zone=clock.default_zone(), with_previous=False)
    if role == Role.handler:
        mine = complaint_queries.ComplaintFilters(status="open", mine=True)
        context["my_complaints"] = complaint_queries.complaint_rows(db, current_user, mine, limit=30)
        context["untaken"] = complaint_queries.complaint_rows(
            db, current_user, complaint_queries.ComplaintFilters(status="registered"), limit=30)
        context["callbacks_due"] = complaint_queries.callbacks_due(db, current_user)
        context["to_call_back"] = complaint_queries.complaints_to_call_back(db, current_user, limit=10)
        context["now"] = clock.now()
    if role == Role.branch_chief:
        context["complaints_open"] = complaint_queries.complaint_rows(
            db, current_user, complaint_queries.ComplaintFilters(status="open"), limit=10)
        context["to_acknowledge"] = db.execute(
            select(Accountability, StaffMember, Outlet).join(StaffMember, StaffMember.id == Accountability.staff_id)
            .join(Outlet, Outlet.id == Accountability.outlet_id)
            .where(permissions.accountability_clause(db, current_user), Accountability.status == AccountabilityStatus.decided)
            .order_by(Accountability.decided_at)).all()
        context["notices"] = rect_queries.notices_for(db, current_user, open_only=True, limit=30)
        context["due"] = rect_queries.line_rows(db, current_user, filters=rect_queries.BoardFilters(), state="due_soon")
        context["now"] = clock.now()
        context["my_outlets"] = db.exec(
            select(Outlet).where(permissions.outlets_clause(db, current_user)).order_by(Outlet.code)
        ).all()
        context.update(queries.chief_self_inspections(db, current_user, context["now"]))
        form = SelfInspectionForm()
        form.outlet_id.choices = [(o.id, o.name) for o in context["my_outlets"]]
        form.checklist.choices = [(c.code, c.title(select_locale())) for c in checklist_services.available({SELF_KIND})]
        context["self_form"] = form
    return render_template(f"dashboard/home_{role.value}.html", **context)


def _complaint_summary(db):
    """This month's complaints over the viewer's whole scope, and the 零投诉 streak."""
    zone = clock.default_zone()
    first = clock.today(zone).replace(day=1)
    since, until = clock.day_start(first, zone), clock.day_start(clock.add_months(first, 1), zone)
    unit = db.get(Unit, current_user.unit_id) if current_user.unit_id else None
    roots = [unit] if unit else db.exec(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)).all()
    totals = complaint_queries.scope_totals(db, current_user, list(roots), since=since, until=until)
    # the whole scope's 零投诉 streak: the shortest of its units', i.e. since the last one in any
    return {"totals": totals, "streak": complaint_queries.unit_streak(db, list(roots)), "month": first}


@bp.route("/outlets/<int:outlet_id>")
@login_required
def outlet(outlet_id: int):
    """An outlet's page: its windows with their stars, and its latest visits the viewer may see.
    An inspector on a cross-inspection sees an outlet outside their unit while they hold a visit
    there (``permissions.can_view_outlet``), and nothing of it but that visit."""
    db = get_session()
    outlet = get_or_404(Outlet, outlet_id)
    if not permissions.can_view_outlet(db, current_user, outlet):
        abort(404)
    in_scope = permissions.outlet_in_scope(db, current_user, outlet)
    recent = visit_queries.visit_rows(db, select(Visit).where(
        Visit.outlet_id == outlet.id, permissions.visits_clause(db, current_user)).order_by(Visit.id.desc()).limit(10))
    stars = {r.window_id: r for r in db.exec(current_stars_query().where(StarRating.outlet_id == outlet.id)).all()}
    streak = complaint_queries.streaks(db, current_user, outlets=[outlet])[0] \
        if in_scope and permissions.can_see_complaints(current_user) else None
    return render_template("dashboard/outlet.html", outlet=outlet, unit=db.get(Unit, outlet.unit_id),
                           windows=org.windows_of(db, outlet.id), window_form=WindowForm(), recent=recent,
                           stars=stars, streak=streak, in_scope=in_scope)
