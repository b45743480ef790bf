"""Who may do what: every permission predicate of the app lives here.

Views call these to decide 403/404, templates to hide what cannot be used, services to refuse
again (a view is not the only caller). Predicates take the acting user first.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context
from sqlmodel import Session, select

from inspect_app.auth.models import UNIT_SCOPED_ROLES, Role, User, UserOutlet
from inspect_app.org.models import Outlet, Unit


def is_admin(user: User) -> bool:
    return user.is_authenticated and user.role == Role.admin


def can_manage_org(user: User) -> bool:
    """Unit tree, outlets, users and imports are the admin's."""
    return is_admin(user)


def can_see_org_pages(user: User) -> bool:
    """Outlet lists and details for people who work over a region."""
    return user.is_authenticated and (is_admin(user) or user.role in UNIT_SCOPED_ROLES)


def _memo(key: tuple, compute):
    """Per-request memo: scope lookups run once per request, not once per predicate call."""
    if not has_app_context():
        return compute()
    memo = g.setdefault("_permission_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def scope_path(session: Session, user: User) -> str | None:
    """Materialised path of the user's unit subtree, or None when the user has no unit scope."""
    if user.role not in UNIT_SCOPED_ROLES or user.unit_id is None:
        return None
    return _memo(("unit_path", user.unit_id),
                 lambda: session.exec(select(Unit.path).where(Unit.id == user.unit_id)).first())


def branch_outlet_ids(session: Session, user: User) -> set[int]:
    return _memo(("outlets", user.id), lambda: set(
        session.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)).all()))


def unit_in_scope(session: Session, user: User, unit: Unit) -> bool:
    if is_admin(user):
        return True
    path = scope_path(session, user)
    return path is not None and unit.path.startswith(path)


def units_clause(session: Session, user: User):
    """A WHERE clause on ``Unit`` limiting to what the user may see."""
    if is_admin(user):
        return sa.true()
    path = scope_path(session, user)
    if path is None:
        return sa.false()
    return Unit.path.startswith(path, autoescape=True)


def outlets_clause(session: Session, user: User):
    """A WHERE clause on ``Outlet`` limiting to the outlets the user may see as an organisation.

    Shoppers get nothing here: they reach an outlet only through a visit assigned to them.
    """
    if is_admin(user):
        return sa.true()
    if user.role == Role.branch_chief:
        ids = branch_outlet_ids(session, user)
        return Outlet.id.in_(ids) if ids else sa.false()
    path = scope_path(session, user)
    if path is None:
        return sa.false()
    return Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path, autoescape=True)))


def outlet_in_scope(session: Session, user: User, outlet: Outlet) -> bool:
    if is_admin(user):
        return True
    if user.role == Role.branch_chief:
        return outlet.id in branch_outlet_ids(session, user)
    path = scope_path(session, user)
    if path is None:
        return False
    unit_path = session.exec(select(Unit.path).where(Unit.id == outlet.unit_id)).one()
    return unit_path.startswith(path)
