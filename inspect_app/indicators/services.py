"""The indicator tree of the running app and the composite ranking of a unit's children for a
period, as of the period's end (a period still running: as of now)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.config import PROJECT_ROOT
from inspect_app.errors import DomainError
from inspect_app.indicators import scoring, sources
from inspect_app.indicators.definition import IndicatorError, Tree, load_file
from inspect_app.org.models import Outlet, Unit

Period = sources.Period


def init_app(app: Flask, checklist_codes: set[str]) -> None:
    """Load and validate the indicator tree; a bad file stops the app from starting."""
    folder = Path(app.config.get("INDICATOR_DIR") or PROJECT_ROOT / "forms" / "indicators")
    name = app.config.get("INDICATOR_TREE", "province")
    path = folder / f"{name}.toml"
    try:
        app.extensions["indicator_tree"] = load_file(path, checklists=checklist_codes)
    except FileNotFoundError:
        raise IndicatorError(f"{path}: the indicator tree file is missing") from None


def tree() -> Tree:
    return current_app.extensions["indicator_tree"]


def loaded() -> bool:
    """Whether an app with its tree is at hand (a bulletin built in a script may have none)."""
    return has_app_context() and "indicator_tree" in current_app.extensions


def period_of(text: str | None, zone: str) -> Period:
    """The period asked for; by default the last complete month."""
    if text:
        try:
            return Period.parse(text)
        except ValueError:
            raise DomainError(_period_message()) from None
    first = clock.today(zone).replace(day=1)
    return Period.parse(f"{(first - dt.timedelta(days=1)):%Y-%m}")


def _period_message() -> str:
    from flask_babel import gettext as _
    return _("The period is a month (2026-11) or a quarter (2026-Q4).")


@dataclass
class Ranking:
    tree: Tree
    node: Unit | None
    period: Period
    units: list[scoring.UnitScore]
    as_of: dt.datetime
    sibling_count: int | None = None

    @property
    def ranked(self) -> list[scoring.UnitScore]:
        return [u for u in self.units if u.rank is not None]


def children_of(session: Session, user: User, node: Unit | None) -> list[Unit]:
    query = select(Unit).where(Unit.parent_id == node.id) if node is not None else select(Unit).where(
        Unit.parent_id.is_(None))
    return [u for u in session.exec(query.order_by(Unit.code)).all() if permissions.unit_in_scope(session, user, u)]


def _allowed_outlets(session: Session, user: User) -> set[int] | None:
    if permissions.is_admin(user):
        return None
    return set(session.exec(select(Outlet.id).where(permissions.outlets_clause(session, user))).all())


def _score(session: Session, user: User | None, units: list[Unit], period: Period, zone: str) -> list[scoring.UnitScore]:
    """Scores of sibling units; ``user`` None: over all their outlets (a rank among siblings the
    viewer may not see in detail)."""
    # as of the period's end; a period still running, as of now
    since, until = clock.day_start(period.start, zone), min(clock.day_start(period.end, zone), clock.now())
    raws = sources.raw_values(session, tree(), units, since=since, until=max(since, until), period=period,
                              allowed_outlets=_allowed_outlets(session, user) if user is not None else None)
    return scoring.composite(tree(), raws, {u.id: u.name for u in units})


def ranking(session: Session, user: User, *, node: Unit | None, period: Period, zone: str,
            with_previous: bool = True) -> Ranking:
    """The node's children ranked for the period, with their places in the period before."""
    if not permissions.can_see_indicators(user):
        from inspect_app.errors import PermissionDenied
        raise PermissionDenied("")
    units = children_of(session, user, node)
    current = _score(session, user, units, period, zone)
    previous = {u.key: u for u in _score(session, user, units, period.previous(), zone)} if with_previous else {}
    for unit in current:
        before = previous.get(unit.key)
        if before is not None:
            unit.previous_total, unit.previous_rank = before.total, before.rank
    until = clock.day_start(period.end, zone)
    return Ranking(tree(), node, period, current, min(until, clock.now()))


def unit_score(session: Session, user: User, *, unit: Unit, period: Period, zone: str,
               with_previous: bool = True) -> tuple[Ranking, scoring.UnitScore]:
    """One unit's score among its siblings (the drill-down of a ranking row; the manager's home
    asks without the period before)."""
    if not permissions.can_see_indicators(user) or not permissions.unit_in_scope(session, user, unit):
        from inspect_app.errors import NotFound
        raise NotFound("")
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    if parent is None or permissions.unit_in_scope(session, user, parent):
        result = ranking(session, user, node=parent, period=period, zone=zone, with_previous=with_previous)
        return result, next(u for u in result.units if u.key == unit.id)
    # the viewer's own unit among siblings they do not see: its rank, none of theirs
    siblings = list(session.exec(select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)).all())
    everyone = _score(session, None, siblings, period, zone)
    before = {u.key: u for u in _score(session, None, siblings, period.previous(), zone)} if with_previous else {}
    mine = next(u for u in everyone if u.key == unit.id)
    if unit.id in before:
        mine.previous_total, mine.previous_rank = before[unit.id].total, before[unit.id].rank
    result = Ranking(tree(), parent, period, [mine], min(clock.day_start(period.end, zone), clock.now()))
    result.sibling_count = len(everyone)
    return result, mine
