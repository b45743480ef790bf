"""Read-side queries for the plan pages and coverage (no rules, no writes)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import permissions
from inspect_app.auth.models import Role, User
from inspect_app.org.models import Outlet, Unit, UnitLevel
from inspect_app.plans import coverage
from inspect_app.plans.models import InspectionPlan
from inspect_app.visits.models import Visit, VisitStatus

DETAIL_LIMIT = 600


def plan_list(session: Session, user: User) -> list[tuple[InspectionPlan, Unit, Counter]]:
    """The plans the user manages, newest first, each with its visits counted by status (two reads)."""
    plans = session.exec(select(InspectionPlan, Unit).join(Unit, Unit.id == InspectionPlan.unit_id)
                         .where(permissions.plans_clause(session, user))
                         .order_by(InspectionPlan.status, InspectionPlan.starts_on.desc(), InspectionPlan.id.desc())
                         .limit(200)).all()
    ids = [p.id for p, _u in plans]
    counts: dict[int, Counter] = {i: Counter() for i in ids}
    if ids:
        for plan_id, status, n in session.execute(
                select(Visit.plan_id, Visit.status, sa.func.count()).where(Visit.plan_id.in_(ids))
                .group_by(Visit.plan_id, Visit.status)).all():
            counts[plan_id][status] = n
    return [(p, u, counts[p.id]) for p, u in plans]


def plan_visits(session: Session, plan: InspectionPlan, *, now: dt.datetime) -> list[tuple]:
    """The plan's visits with outlet and assignee and their coverage state, by period, window and
    outlet: (visit, outlet, assignee, state)."""
    rows = session.execute(
        select(Visit, Outlet, User).join(Outlet, Outlet.id == Visit.outlet_id).join(User, User.id == Visit.assignee_id)
        .where(Visit.plan_id == plan.id)
        .order_by(Visit.plan_period, Visit.due_from, Outlet.code, Visit.plan_seq).limit(DETAIL_LIMIT)).all()
    return [(v, o, u, "cancelled" if v.status == VisitStatus.cancelled else coverage.visit_state(v, o, now))
            for v, o, u in rows]


def assignable_people(session: Session, user: User, kind: str | None = None, *, under: Unit | None = None,
                      keep=()) -> list[User]:
    """People a manager may put into a pool: inspectors and managers of their units, shoppers.

    With ``under`` (the plan's unit) only the inspectors and managers of that unit and the units
    below it; without it (the administrator before choosing a unit) those of the provinces and
    cities: the nation's 3,900 people were a list no one scrolls. ``keep``: ids listed anyway (a
    plan's present pool, so that saving its form keeps it)."""
    roles = [Role.shopper] if kind == "secret" else [Role.inspector, Role.manager] if kind else \
        [Role.inspector, Role.manager, Role.shopper]
    near = Unit.path.startswith(under.path, autoescape=True) if under is not None else Unit.level != UnitLevel.county
    query = (select(User).join(Unit, Unit.id == User.unit_id, isouter=True)
             .where(User.active.is_(True), User.role.in_(roles),
                    sa.or_(User.role == Role.shopper, sa.and_(permissions.units_clause(session, user), near),
                           User.id.in_(sorted(set(keep)))))
             .order_by(User.role, User.display_name, User.id))
    return list(session.exec(query).all())


def scope_outlets(session: Session, user: User, limit: int = 800, *, under: Unit | None = None) -> list[tuple[Outlet, str]]:
    """Active outlets in the user's scope (under ``under``: of that unit and the units below it)
    with their unit's name, by code (the plan's outlet list). The units are read first and the
    outlets selected by their ids: with the path condition the database walked the nation's
    outlets in code order to find a county's."""
    query = (select(Outlet, Unit.name).join(Unit, Unit.id == Outlet.unit_id)
             .where(Outlet.active.is_(True), permissions.outlets_clause(session, user)))
    if under is not None:
        units = session.exec(select(Unit.id).where(Unit.path.startswith(under.path, autoescape=True))).all()
        query = query.where(Outlet.unit_id.in_(units))
    return [tuple(r) for r in session.execute(query.order_by(Outlet.code).limit(limit)).all()]
