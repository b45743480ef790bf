"""The indicator tree of the running app and the composite ranking of a unit's children for a
period, as of the period's end (a period still running: as of now)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.checklists import versions
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import get_engine, get_session, wants_write_lock, writing
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.indicators import scoring, sources
from inspect_app.indicators.definition import IndicatorError, Tree, load_file, parse
from inspect_app.indicators.models import IndicatorSnapshot, IndicatorTreeVersion, OperatingValue
from inspect_app.org.models import Unit

Period = sources.Period


def init_app(app: Flask, checklist_codes: dict[str, set[str]]) -> None:
    """Load and validate the indicator tree file; a bad file stops the app from starting."""
    folder = Path(app.config.get("INDICATOR_DIR") or PROJECT_ROOT / "forms" / "indicators")
    name = app.config.get("INDICATOR_TREE", "province")
    path = folder / f"{name}.toml"
    app.extensions.pop("indicator_tree_definitions", None)
    try:
        app.extensions["indicator_tree"] = load_file(path, checklists=checklist_codes)
    except FileNotFoundError:
        raise IndicatorError(f"{path}: the indicator tree file is missing") from None


def tree_file() -> Tree:
    """The tree as its file in ``forms/indicators/`` says (validated at start-up)."""
    return current_app.extensions["indicator_tree"]


def _file_definitions() -> list[versions.FileDefinition]:
    found = current_app.extensions.get("indicator_tree_definitions")
    if found is None:
        tree = tree_file()
        found = current_app.extensions["indicator_tree_definitions"] = [
            versions.FileDefinition(tree.code, tree.sha256, tree.raw, {})]
    return found


def record_file() -> None:
    """Record the tree file if it is not recorded yet (run before each request's own work)."""
    versions.record_files_early(IndicatorTreeVersion, _file_definitions)


def current_ref(session: Session | None = None) -> versions.VersionRef:
    session = session or get_session()
    return versions.current_refs(session, IndicatorTreeVersion, _file_definitions)[tree_file().code]


_trees: dict[tuple[int, str], Tree] = {}


def tree_of(session: Session, version_id: int, sha256: str) -> Tree:
    """The tree of a version row, parsed once per (id, hash): rows never change."""
    key = (version_id, sha256)
    found = _trees.get(key)
    if found is None:
        on_disk = tree_file()
        if on_disk.sha256 == sha256:
            found = on_disk
        else:
            row = session.get(IndicatorTreeVersion, version_id)
            found = parse(row.definition, f"{row.code} v{row.version}")
        _trees[key] = found
    return found


def tree(session: Session | None = None) -> Tree:
    """The current (newest published) tree."""
    session = session or get_session()
    ref = current_ref(session)
    return tree_of(session, ref.id, ref.sha256)


def loaded() -> bool:
    """Whether an app with its tree is at hand (a bulletin built in a script may have none)."""
    return has_app_context() and "indicator_tree" in current_app.extensions


def version_at(session: Session, at: dt.datetime) -> tuple[int, str]:
    """The tree version current at an instant (the end of a finished period): the newest published
    by then, or the first one when the period ended before any was recorded."""
    refs = sorted((r for r in versions.all_refs(session, IndicatorTreeVersion, _file_definitions)
                   if r.code == tree_file().code), key=lambda r: r.version)
    chosen = refs[0]
    for ref in refs:
        if ref.created_at <= at:
            chosen = ref
    return chosen.id, chosen.sha256


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
    snapshot: IndicatorSnapshot | None = None
    tree_version_id: int | None = None

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


#: A finished period's kept figures are recomputed after this long (a complaint concluded or a
#: line closed late still counts for the period it belongs to), or at once after an import for it.
SNAPSHOT_FRESH = dt.timedelta(minutes=10)


def snapshot_of(session: Session, node: Unit | None, period: Period,
                tree_sha: str | None = None) -> IndicatorSnapshot | None:
    """The period's kept figures for the node: the frozen ones whatever tree they were computed
    with, else those computed with ``tree_sha`` (by default the tree of the period's end)."""
    rows = session.exec(select(IndicatorSnapshot).where(
        IndicatorSnapshot.node_id == (node.id if node else 0), IndicatorSnapshot.period == period.label)).all()
    frozen = next((r for r in rows if r.frozen_at is not None), None)
    if frozen is not None or tree_sha is None:
        return frozen
    return next((r for r in rows if r.tree_sha == tree_sha), None)


def _imported_since(session: Session, period: Period, since: dt.datetime) -> bool:
    newest = session.exec(select(sa.func.max(OperatingValue.imported_at))
                          .where(OperatingValue.month.in_(period.months()))).one()
    return newest is not None and newest > since


@dataclass
class Figures:
    """The children's raw values for a period and the tree version they are scored with."""

    raws: dict[int, dict[str, Decimal | None]]
    tree: Tree
    tree_version_id: int
    snapshot: IndicatorSnapshot | None = None


def _figures(session: Session, node: Unit | None, units: list[Unit], period: Period, zone: str, *,
             keep: bool = False, recompute: bool = False) -> Figures:
    """The children's raw values for the period, over all their outlets (whoever may see a unit
    sees its whole subtree). A finished period is scored with the tree current at its end and read
    from its snapshot when one is kept (frozen: always, with the tree it was frozen with; else while
    fresh); ``keep`` stores what was computed. A running period is always computed with the current
    tree: its figures change with every visit."""
    now = clock.now()
    since, period_end = clock.day_start(period.start, zone), clock.day_start(period.end, zone)
    finished = period_end <= now
    if finished:
        version_id, sha = version_at(session, period_end)
    else:
        ref = current_ref(session)
        version_id, sha = ref.id, ref.sha256
    wanted = {u.id for u in units}
    snapshot = snapshot_of(session, node, period, sha) if finished else None
    if snapshot is not None:
        raws = _decode(snapshot.raws)
        usable = snapshot.frozen_at is not None or (
            not recompute and snapshot.computed_at > now - SNAPSHOT_FRESH
            and not _imported_since(session, period, snapshot.computed_at))
        if usable and (wanted <= set(raws) or snapshot.frozen_at is not None):
            frozen_tree = snapshot.tree_version_id or version_id
            tree_sha = snapshot.tree_sha
            return Figures({k: v for k, v in raws.items() if k in wanted}, tree_of(session, frozen_tree, tree_sha),
                           frozen_tree, snapshot)
    scored_with = tree_of(session, version_id, sha)
    raws = sources.raw_values(session, scored_with, units, since=since, until=max(since, min(period_end, now)),
                              period=period, zone=zone)
    if keep and finished:
        _keep(session, node, period, raws, now, version_id, sha)
    return Figures(raws, scored_with, version_id)


def _keep(session: Session, node: Unit | None, period: Period, raws: dict, now: dt.datetime,
          version_id: int, sha: str) -> None:
    """Store the snapshot: in its own short write from a page (a GET's session never takes the
    write lock), in the request's own transaction from a form that holds it already."""
    encoded = {str(unit): {code: None if v is None else str(v) for code, v in values.items()}
               for unit, values in raws.items()}

    def upsert(target: Session) -> None:
        row = snapshot_of(target, node, period, sha)
        if row is not None and row.frozen_at is not None:
            return
        if row is None:
            row = IndicatorSnapshot(tree_sha=sha, tree_version_id=version_id, node_id=node.id if node else 0,
                                    period=period.label, raws=encoded, computed_at=now)
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
           keep: bool = False) -> tuple[Figures, list[scoring.UnitScore]]:
    figures = _figures(session, node, units, period, zone, keep=keep)
    return figures, scoring.composite(figures.tree, figures.raws, {u.id: u.name for u in units})


def freeze(session: Session, actor: User, *, node: Unit | None, period: Period, zone: str) -> IndicatorSnapshot:
    """发布: the month's figures are kept as they are now and never recomputed."""
    if not (permissions.is_admin(actor) or (actor.role == "manager" and node is not None
                                           and permissions.unit_in_scope(session, actor, node))):
        raise PermissionDenied(_("Only a manager of this unit publishes its ranking."))
    period_end = clock.day_start(period.end, zone)
    if period_end > clock.now():
        raise DomainError(_("This period is not over yet: its ranking is published once it has ended."))
    existing = snapshot_of(session, node, period)
    if existing is not None and existing.frozen_at is not None:
        return existing
    units = children_of(session, actor, node)
    _figures(session, node, units, period, zone, keep=True, recompute=True)
    session.expire_all()
    snapshot = snapshot_of(session, node, period, version_at(session, period_end)[1])
    snapshot.frozen_at, snapshot.frozen_by_id = clock.now(), actor.id
    session.add(snapshot)
    record(session, actor=actor, action="indicators.published", obj=snapshot,
           after={"period": period.label, "node": node.code if node else None, "tree_version_id": snapshot.tree_version_id})
    return snapshot


def ranking(session: Session, user: User, *, node: Unit | None, period: Period, zone: str,
            with_previous: bool = True, keep: bool = False) -> Ranking:
    """The node's children ranked for the period, with their places in the period before."""
    if not permissions.can_see_indicators(user):
        raise PermissionDenied("")
    units = children_of(session, user, node)
    figures, current = _score(session, node, units, period, zone, keep=keep)
    previous = {u.key: u for u in _score(session, node, units, period.previous(), zone, keep=keep)[1]} \
        if with_previous else {}
    for unit in current:
        before = previous.get(unit.key)
        if before is not None:
            unit.previous_total, unit.previous_rank = before.total, before.rank
    until = clock.day_start(period.end, zone)
    return Ranking(figures.tree, node, period, current, min(until, clock.now()), snapshot=figures.snapshot,
                   tree_version_id=figures.tree_version_id)


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
    figures, everyone = _score(session, parent, siblings, period, zone, keep=keep)
    before = {u.key: u for u in _score(session, parent, siblings, period.previous(), zone, keep=keep)[1]} \
        if with_previous else {}
    mine = next(u for u in everyone if u.key == unit.id)
    if unit.id in before:
        mine.previous_total, mine.previous_rank = before[unit.id].total, before[unit.id].rank
    result = Ranking(figures.tree, parent, period, [mine], min(clock.day_start(period.end, zone), clock.now()),
                     snapshot=figures.snapshot, tree_version_id=figures.tree_version_id)
    result.sibling_count = len([u for u in everyone if u.rank is not None])
    return result, mine
