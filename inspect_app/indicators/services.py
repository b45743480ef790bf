"""The indicator tree of the running app and the composite ranking of a unit's children for a
period, as of the period's end (a period still running: as of now)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import get_engine, wants_write_lock, writing
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.indicators import scoring, sources
from inspect_app.indicators.definition import IndicatorError, Tree, load_file
from inspect_app.indicators.models import IndicatorSnapshot
from inspect_app.org.models import Unit

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
            raise DomainError(_("The period is a month (2026-11) or a quarter (2026-Q4).")) from None
    first = clock.today(zone).replace(day=1)
    return Period.parse(f"{(first - dt.timedelta(days=1)):%Y-%m}")


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


def _decode(raws: dict) -> dict[int, dict[str, Decimal | None]]:
    return {int(unit): {code: None if v is None else Decimal(v) for code, v in values.items()}
            for unit, values in raws.items()}


def snapshot_of(session: Session, node: Unit | None, period: Period) -> IndicatorSnapshot | None:
    return session.exec(select(IndicatorSnapshot).where(
        IndicatorSnapshot.tree_sha == tree().sha256, IndicatorSnapshot.node_id == (node.id if node else 0),
        IndicatorSnapshot.period == period.label)).first()


def _raws(session: Session, node: Unit | None, units: list[Unit], period: Period, zone: str, *,
          keep: bool = False, recompute: bool = False) -> dict[int, dict[str, Decimal | None]]:
    """The children's raw values for the period, over all their outlets (whoever may see a unit
    sees its whole subtree). A finished period is read from its snapshot when one is kept (frozen,
    or computed after the period ended); ``keep`` stores what was computed. A running period is
    always computed: its figures change with every visit."""
    now = clock.now()
    since, period_end = clock.day_start(period.start, zone), clock.day_start(period.end, zone)
    snapshot = snapshot_of(session, node, period) if period_end <= now else None
    wanted = {u.id for u in units}
    if snapshot is not None and (snapshot.frozen_at is not None or not recompute):
        raws = _decode(snapshot.raws)
        if wanted <= set(raws):
            return {k: v for k, v in raws.items() if k in wanted}
    raws = sources.raw_values(session, tree(), units, since=since, until=max(since, min(period_end, now)), period=period)
    if keep and period_end <= now:
        _keep(session, node, period, raws, now)
    return raws


def _keep(session: Session, node: Unit | None, period: Period, raws: dict, now: dt.datetime) -> None:
    """Store the snapshot: in its own short write from a page (a GET's session never takes the
    write lock), in the request's own transaction from a form that holds it already."""
    encoded = {str(unit): {code: None if v is None else str(v) for code, v in values.items()}
               for unit, values in raws.items()}

    def upsert(target: Session) -> None:
        row = snapshot_of(target, node, period)
        if row is not None and row.frozen_at is not None:
            return
        if row is None:
            row = IndicatorSnapshot(tree_sha=tree().sha256, node_id=node.id if node else 0, period=period.label,
                                    raws=encoded, computed_at=now)
        else:
            row.raws, row.computed_at = encoded, now
        target.add(row)

    if wants_write_lock():
        upsert(session)
        session.flush()
        return
    with writing(), Session(get_engine()) as write:
        upsert(write)
        try:
            write.commit()
        except IntegrityError:
            write.rollback()  # another process kept the same snapshot a moment before


def _score(session: Session, node: Unit | None, units: list[Unit], period: Period, zone: str,
           keep: bool = False) -> list[scoring.UnitScore]:
    raws = _raws(session, node, units, period, zone, keep=keep)
    return scoring.composite(tree(), raws, {u.id: u.name for u in units})


def freeze(session: Session, actor: User, *, node: Unit | None, period: Period, zone: str) -> IndicatorSnapshot:
    """发布: the month's figures are kept as they are now and never recomputed."""
    if not (permissions.is_admin(actor) or (actor.role == "manager" and node is not None
                                           and permissions.unit_in_scope(session, actor, node))):
        raise PermissionDenied(_("Only a manager of this unit publishes its ranking."))
    if clock.day_start(period.end, zone) > clock.now():
        raise DomainError(_("This period is not over yet: its ranking is published once it has ended."))
    units = children_of(session, actor, node)
    _raws(session, node, units, period, zone, keep=True, recompute=True)
    session.expire_all()
    snapshot = snapshot_of(session, node, period)
    if snapshot.frozen_at is None:
        snapshot.frozen_at, snapshot.frozen_by_id = clock.now(), actor.id
        session.add(snapshot)
        record(session, actor=actor, action="indicators.published", obj=snapshot,
               after={"period": period.label, "node": node.code if node else None})
    return snapshot


def ranking(session: Session, user: User, *, node: Unit | None, period: Period, zone: str,
            with_previous: bool = True, keep: bool = False) -> Ranking:
    """The node's children ranked for the period, with their places in the period before."""
    if not permissions.can_see_indicators(user):
        raise PermissionDenied("")
    units = children_of(session, user, node)
    current = _score(session, node, units, period, zone, keep=keep)
    previous = {u.key: u for u in _score(session, node, units, period.previous(), zone, keep=keep)} if with_previous else {}
    for unit in current:
        before = previous.get(unit.key)
        if before is not None:
            unit.previous_total, unit.previous_rank = before.total, before.rank
    until = clock.day_start(period.end, zone)
    return Ranking(tree(), node, period, current, min(until, clock.now()))


def unit_score(session: Session, user: User, *, unit: Unit, period: Period, zone: str,
               with_previous: bool = True, keep: bool = False) -> tuple[Ranking, scoring.UnitScore]:
    """One unit's score among its siblings (the drill-down of a ranking row; the manager's home
    asks without the period before)."""
    if not permissions.can_see_indicators(user) or not permissions.unit_in_scope(session, user, unit):
        raise NotFound("")
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    if parent is None or permissions.unit_in_scope(session, user, parent):
        result = ranking(session, user, node=parent, period=period, zone=zone, with_previous=with_previous, keep=keep)
        return result, next(u for u in result.units if u.key == unit.id)
    # the viewer's own unit among siblings they do not see: its rank, none of theirs
    siblings = list(session.exec(select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)).all())
    everyone = _score(session, parent, siblings, period, zone, keep=keep)
    before = {u.key: u for u in _score(session, parent, siblings, period.previous(), zone, keep=keep)} \
        if with_previous else {}
    mine = next(u for u in everyone if u.key == unit.id)
    if unit.id in before:
        mine.previous_total, mine.previous_rank = before[unit.id].total, before[unit.id].rank
    result = Ranking(tree(), parent, period, [mine], min(clock.day_start(period.end, zone), clock.now()))
    result.sibling_count = len(everyone)
    return result, mine
