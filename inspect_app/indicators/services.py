"""The indicator tree of the running app and the composite ranking of a unit's children for a
period, as of the period's end (a period still running: as of now)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.checklists import versions
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import get_engine, get_session, keep_aside, writing
from inspect_app.downloads.services import rendering_in_worker
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.indicators import scoring, sources
from inspect_app.indicators.definition import IndicatorError, Tree, load_file, parse
from inspect_app.indicators.models import IndicatorSnapshot, IndicatorTreeVersion, OperatingValue
from inspect_app.jobs import queue
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
    #: When the figures shown were computed; None: computed for this request.
    computed_at: dt.datetime | None = None
    #: The worker is computing them (again): shown are the kept ones, if any.
    pending: bool = False

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


JOB = "indicators.refresh"


def refresh_every() -> dt.timedelta:
    """How often the worker recomputes the kept figures (``INDICATOR_REFRESH_MINUTES``)."""
    minutes = current_app.config.get("INDICATOR_REFRESH_MINUTES", 30) if has_app_context() else 30
    return dt.timedelta(minutes=max(1, int(minutes)))


def in_background() -> bool:
    """The worker (a job, a page it replays to make a file) and scripts may compute a level's
    figures, which takes seconds; a page only reads what the worker keeps."""
    return not has_request_context() or queue.in_job() or rendering_in_worker()


def _snapshots(session: Session, node: Unit | None, period: Period) -> list[IndicatorSnapshot]:
    return list(session.exec(select(IndicatorSnapshot).where(
        IndicatorSnapshot.node_id == (node.id if node else 0), IndicatorSnapshot.period == period.label)).all())


def snapshot_of(session: Session, node: Unit | None, period: Period,
                tree_sha: str | None = None) -> IndicatorSnapshot | None:
    """The period's kept figures for the node: the frozen ones whatever tree they were computed
    with, else those computed with ``tree_sha`` (by default the tree of the period's end)."""
    rows = _snapshots(session, node, period)
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
    #: When the raw values were computed (now, when computed here).
    computed_at: dt.datetime | None = None
    #: The worker has been asked to compute them (again): what is shown may be older, or nothing.
    pending: bool = False


def _kept(session: Session, snapshot: IndicatorSnapshot, wanted: set[int], version_id: int,
          pending: bool = False) -> Figures:
    """The figures of a snapshot, scored with the tree they were computed for."""
    tree_version = snapshot.tree_version_id or version_id
    raws = {k: v for k, v in _decode(snapshot.raws).items() if k in wanted}
    return Figures(raws, tree_of(session, tree_version, snapshot.tree_sha), tree_version, snapshot,
                   snapshot.computed_at, pending)


def _figures(session: Session, node: Unit | None, units: list[Unit], period: Period, zone: str, *,
             fresh: bool | None = None, keep: bool = False, recompute: bool = False) -> Figures:
    """The children's raw values for the period, over all their outlets (whoever may see a unit
    sees its whole subtree). A finished period is scored with the tree current at its end, a
    running one with the current tree; frozen figures are always read, with the tree they were
    frozen with.

    A page (``fresh`` false, the default in a request) never computes a level: it reads the figures
    the worker keeps (``refresh``) whatever their age, and when there are none for this tree and
    these units, or they were computed before the period ended, it asks the worker for them and
    shows what is kept meanwhile (``pending``). The worker and scripts (``fresh``) read a kept
    snapshot only while it is as fresh as the worker keeps them and no import came since; else they
    compute, and ``keep`` stores what they computed."""
    if fresh is None:
        fresh = in_background()
    now = clock.now()
    since, period_end = clock.day_start(period.start, zone), clock.day_start(period.end, zone)
    finished = period_end <= now
    if finished:
        version_id, sha = version_at(session, period_end)
    else:
        ref = current_ref(session)
        version_id, sha = ref.id, ref.sha256
    wanted = {u.id for u in units}
    rows = _snapshots(session, node, period)
    frozen = next((r for r in rows if r.frozen_at is not None), None)
    if frozen is not None:
        return _kept(session, frozen, wanted, version_id)
    exact = next((r for r in rows if r.tree_sha == sha), None)
    if not fresh and not recompute:
        kept = exact or max(rows, key=lambda r: r.computed_at, default=None)
        outdated = kept is None or kept is not exact or not wanted <= {int(k) for k in kept.raws} \
            or (finished and kept.computed_at < period_end)
        if since > now:  # a period not begun: nobody has been inspected in it
            return Figures({u.id: {scoring.VISITS: Decimal(0)} for u in units}, tree_of(session, version_id, sha),
                           version_id)
        if outdated and wanted:
            request_refresh(session, periods=[period], node=node)
        if kept is None:
            return Figures({}, tree_of(session, version_id, sha), version_id, pending=bool(wanted))
        return _kept(session, kept, wanted, version_id, pending=outdated and bool(wanted))
    if exact is not None and not recompute and exact.computed_at > now - refresh_every() \
            and (not finished or exact.computed_at >= period_end) and wanted <= {int(k) for k in exact.raws} \
            and not _imported_since(session, period, exact.computed_at):
        return _kept(session, exact, wanted, version_id)
    scored_with = tree_of(session, version_id, sha)
    raws = sources.raw_values(session, scored_with, units, since=since, until=max(since, min(period_end, now)),
                              period=period, zone=zone)
    if keep:
        _keep(session, node, period, raws, now, version_id, sha)
    return Figures(raws, scored_with, version_id, computed_at=now)


def _encode(raws: dict) -> dict:
    return {str(unit): {code: None if v is None else str(v) for code, v in values.items()}
            for unit, values in raws.items()}


def _upsert(target: Session, node_id: int, period: Period, encoded: dict, now: dt.datetime,
            version_id: int, sha: str) -> None:
    rows = list(target.exec(select(IndicatorSnapshot).where(
        IndicatorSnapshot.node_id == node_id, IndicatorSnapshot.period == period.label)).all())
    if any(r.frozen_at is not None for r in rows):
        return  # published: never recomputed
    row = next((r for r in rows if r.tree_sha == sha), None)
    if row is None:
        row = IndicatorSnapshot(tree_sha=sha, tree_version_id=version_id, node_id=node_id,
                                period=period.label, raws=encoded, computed_at=now)
    else:
        row.raws, row.computed_at = encoded, now
    target.add(row)


def _keep(session: Session, node: Unit | None, period: Period, raws: dict, now: dt.datetime,
          version_id: int, sha: str) -> None:
    """Store the snapshot: in its own short write from a page (a GET's session never takes the
    write lock), in the request's own transaction from a form that holds it already."""
    encoded = _encode(raws)
    node_id = node.id if node else 0
    keep_aside(session, lambda target: _upsert(target, node_id, period, encoded, now, version_id, sha))


# --- the worker keeps every node's figures --------------------------------------------------------

def default_periods(zone: str) -> list[Period]:
    """The periods pages read by default: the last complete month (the ranking, home, the month
    summary) and the last complete quarter, each with the one before (places gained or lost)."""
    month = period_of(None, zone)
    today = clock.today(zone)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter = Period.parse(f"{clock.add_months(quarter_start, -3):%Y-%m}")
    last_quarter = Period("quarter", last_quarter.start, quarter_start)
    return [month, month.previous(), last_quarter, last_quarter.previous()]


def periods_to_refresh(session: Session, zone: str) -> list[Period]:
    """The default periods, and those with figures kept before the period ended (a running period
    someone asked for, or one that has ended since): never the frozen ones."""
    periods = {p.label: p for p in default_periods(zone)}
    now = clock.now()
    for label, computed_at in session.execute(
            select(IndicatorSnapshot.period, sa.func.max(IndicatorSnapshot.computed_at))
            .where(IndicatorSnapshot.frozen_at.is_(None)).group_by(IndicatorSnapshot.period)).all():
        try:
            period = Period.parse(label)
        except ValueError:
            continue
        if label not in periods and computed_at < clock.day_start(period.end, zone) \
                and clock.day_start(period.start, zone) <= now:
            periods[label] = period
    return list(periods.values())


def keep_tree(session: Session, period: Period, zone: str, node: Unit | None = None) -> int:
    """Compute and keep the figures of every node below ``node`` (all of them when None) for the
    period, top-down in one pass: the sources are read once for every unit of the subtree (an
    outlet counts for its county, city and province alike), then split into each parent's
    snapshot. Frozen snapshots stay as they are. Returns how many nodes were kept."""
    now = clock.now()
    period_end = clock.day_start(period.end, zone)
    since = clock.day_start(period.start, zone)
    if since > now:
        return 0
    if period_end <= now:
        version_id, sha = version_at(session, period_end)
    else:
        ref = current_ref(session)
        version_id, sha = ref.id, ref.sha256
    query = select(Unit)
    if node is not None:
        query = query.where(Unit.path.startswith(node.path), Unit.id != node.id)
    units = list(session.exec(query.order_by(Unit.code)).all())
    if not units:
        return 0
    raws = sources.raw_values(session, tree_of(session, version_id, sha), units, since=since,
                              until=max(since, min(period_end, now)), period=period, zone=zone)
    groups: dict[int, dict] = {}
    for unit in units:
        groups.setdefault(unit.parent_id or 0, {})[unit.id] = raws[unit.id]
    session.commit()  # ends the long read (keeping a tree version recorded on the way) before the write
    with writing(), Session(get_engine()) as write:
        for node_id, children in groups.items():
            _upsert(write, node_id, period, _encode(children), now, version_id, sha)
        write.commit()
    return len(groups)


def refresh(session: Session, *, periods: list[Period], zone: str, node: Unit | None = None) -> dict[str, int]:
    """The worker's job: keep every node's figures for these periods (``keep_tree``)."""
    return {period.label: keep_tree(session, period, zone, node) for period in periods}


def _refresh_key(periods: list[Period], node: Unit | None) -> str:
    return f"indicators:{node.id if node else 0}:{','.join(sorted(p.label for p in periods))}:"


def request_refresh(session: Session, *, periods: list[Period], node: Unit | None = None,
                    requested_by: User | None = None, after_change: bool = False) -> None:
    """Ask the worker to compute the node's subtree (the whole tree: None) for these periods. One
    job waits at a time for the same work; ``after_change`` (an import) queues another when one is
    already running, since that one may have read before the change."""
    queue.enqueue_waiting(session, JOB, {"periods": [p.label for p in periods], "node": node.id if node else None},
                          prefix=_refresh_key(periods, node), requested_by_id=getattr(requested_by, "id", None),
                          also_running=not after_change)


def refresh_job(run: queue.JobRun) -> None:
    """The job behind ``request_refresh`` and the periodic slot: no periods means every period
    ``periods_to_refresh`` lists."""
    zone = clock.default_zone()
    # the tree files' versions are recorded first, in a short write of their own: a fresh install's
    # first refresh would otherwise write them from its long read and meet the sweep's writes
    # (SQLite: "database is locked", seen on a new install's first minute)
    with writing(), Session(get_engine()) as write:
        version_at(write, clock.now())
        write.commit()
    with Session(get_engine()) as session:
        node = session.get(Unit, run.params["node"]) if run.params.get("node") else None
        if run.params.get("node") and node is None:
            raise queue.GiveUp("the unit is gone")
        labels = run.params.get("periods")
        periods = [Period.parse(p) for p in labels] if labels else periods_to_refresh(session, zone)
        refresh(session, periods=periods, zone=zone, node=node)


def refresh_slot() -> None:
    """The periodic slot: one keyed job per ``INDICATOR_REFRESH_MINUTES`` however many workers."""
    minutes = int(refresh_every().total_seconds() // 60)
    now = clock.now()
    since_midnight = now.hour * 60 + now.minute
    floored = since_midnight - since_midnight % minutes
    slot = now.replace(hour=floored // 60, minute=floored % 60, second=0, microsecond=0)
    with writing(), Session(get_engine()) as session:
        queue.enqueue(session, JOB, {"periods": None, "node": None}, key=f"indicators:all:{slot:%Y%m%dT%H%M}")
        session.commit()


def may_refresh(session: Session, user: User, node: Unit | None) -> bool:
    """重新计算: a manager of the unit (its ranking is theirs), or an administrator."""
    if permissions.is_admin(user):
        return True
    return user.role == "manager" and node is not None and permissions.unit_in_scope(session, user, node)


def _score(session: Session, node: Unit | None, units: list[Unit], period: Period, zone: str,
           keep: bool = False, fresh: bool | None = None) -> tuple[Figures, list[scoring.UnitScore]]:
    figures = _figures(session, node, units, period, zone, keep=keep, fresh=fresh)
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
            with_previous: bool = True, keep: bool = False, fresh: bool | None = None) -> Ranking:
    """The node's children ranked for the period, with their places in the period before. A page
    reads the kept figures (``_figures``); ``fresh`` computes what is not kept fresh."""
    if not permissions.can_see_indicators(user):
        raise PermissionDenied("")
    units = children_of(session, user, node)
    figures, current = _score(session, node, units, period, zone, keep=keep, fresh=fresh)
    previous = {u.key: u for u in _score(session, node, units, period.previous(), zone, keep=keep, fresh=fresh)[1]} \
        if with_previous else {}
    for unit in current:
        before = previous.get(unit.key)
        if before is not None:
            unit.previous_total, unit.previous_rank = before.total, before.rank
    return _ranking(figures, node, period, zone, current)


def _ranking(figures: Figures, node: Unit | None, period: Period, zone: str,
             units: list[scoring.UnitScore]) -> Ranking:
    until = clock.day_start(period.end, zone)
    return Ranking(figures.tree, node, period, units, min(until, figures.computed_at or clock.now()),
                   snapshot=figures.snapshot, tree_version_id=figures.tree_version_id,
                   computed_at=figures.computed_at, pending=figures.pending)


def unit_score(session: Session, user: User, *, unit: Unit, period: Period, zone: str,
               with_previous: bool = True, keep: bool = False,
               fresh: bool | None = None) -> tuple[Ranking, scoring.UnitScore | None]:
    """One unit's score among its siblings (the drill-down of a ranking row; the manager's home
    asks without the period before); None while the worker computes figures not kept yet."""
    if not permissions.can_see_indicators(user) or not permissions.unit_in_scope(session, user, unit):
        raise NotFound("")
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    if parent is None or permissions.unit_in_scope(session, user, parent):
        result = ranking(session, user, node=parent, period=period, zone=zone, with_previous=with_previous, keep=keep,
                         fresh=fresh)
        return result, next((u for u in result.units if u.key == unit.id), None)
    # the viewer's own unit among siblings they do not see: its rank, none of theirs
    siblings = list(session.exec(select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)).all())
    figures, everyone = _score(session, parent, siblings, period, zone, keep=keep, fresh=fresh)
    before = {u.key: u for u in _score(session, parent, siblings, period.previous(), zone, keep=keep, fresh=fresh)[1]} \
        if with_previous else {}
    mine = next((u for u in everyone if u.key == unit.id), None)
    if mine is not None and unit.id in before:
        mine.previous_total, mine.previous_rank = before[unit.id].total, before[unit.id].rank
    result = _ranking(figures, parent, period, zone, [mine] if mine else [])
    result.sibling_count = len([u for u in everyone if u.rank is not None])
    return result, mine
