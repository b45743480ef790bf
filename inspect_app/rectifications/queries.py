"""Read side of rectification: lists, the managers' status board, reminders."""
from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.db import get_engine, in_ids, unindexed, writing
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications import services, stats
from inspect_app.rectifications.models import (
    OUTLET_TURN,
    KeptFigures,
    LineOverdue,
    LineStats,
    LineStatsMonth,
    LineStatus,
    RectificationLine,
    RectificationNotice,
)


def seconds_between(later, earlier, dialect: str):
    """SQL for (later − earlier) in seconds on SQLite and PostgreSQL."""
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


@dataclass
class BoardFilters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    kind: str | None = None
    severity: str | None = None

    def apply(self, query):
        if self.since:
            query = query.where(RectificationLine.issued_at >= self.since)
        if self.until:
            query = query.where(RectificationLine.issued_at < self.until)
        if self.kind:
            query = query.where(RectificationLine.checklist_kind == self.kind)
        if self.severity:
            query = query.where(RectificationLine.severity == self.severity)
        return query


@dataclass
class BoardRow:
    key: int
    name: str
    kind: str  # unit | outlet
    issued: int = 0
    acknowledged: int = 0
    answered: int = 0
    closed: int = 0
    withdrawn: int = 0
    #: approved extensions (延期) of these lines
    extended: int = 0
    open: int = 0
    overdue: int = 0
    close_seconds: float = 0.0
    oldest_overdue: dt.datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def avg_days_to_close(self) -> float | None:
        return round(self.close_seconds / self.closed / 86400, 1) if self.closed else None

    @property
    def close_rate(self) -> float | None:
        done = self.closed + self.withdrawn
        return round(done / self.issued * 100, 1) if self.issued else None

    def add(self, other: "BoardRow") -> None:
        for name in ("issued", "acknowledged", "answered", "closed", "withdrawn", "extended", "open", "overdue",
                     "close_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.oldest_overdue and (self.oldest_overdue is None or other.oldest_overdue < self.oldest_overdue):
            self.oldest_overdue = other.oldest_overdue


@dataclass
class LateLines:
    """The late lines of a board's scope (the viewer's outlets under its unit), read once for the
    board's late counts and for the lines escalated to the unit: a small scope's own, as
    (outlet id, unit id, unit path, deadline, line id), in ``lines``; a large scope (more than
    ``org.SCOPE_FIRST_OUTLETS`` outlets) reads none here (``lines`` None): its board takes the
    kept counts, its escalation walks the country's late lines in deadline order."""

    now: dt.datetime
    few: list[int] | None
    lines: list[tuple] | None

    def overdue(self, key) -> dict[int, tuple[int, dt.datetime | None]]:
        """Late lines (deadline passed) per ``key(outlet id, unit id)`` with the oldest deadline;
        a key of None leaves the line out."""
        result: dict[int, tuple[int, dt.datetime | None]] = {}
        for outlet_id, unit_id, _path, deadline, _id in self.lines:
            if deadline > self.now:
                continue
            group = key(outlet_id, unit_id)
            if group is None:
                continue
            n, first = result.get(group, (0, None))
            result[group] = (n + 1, deadline if first is None or deadline < first else first)
        return result


def late_lines(session: Session, user: User, node: Unit | None, filters: BoardFilters, *,
               now: dt.datetime | None = None, escalation_days: int | None = None) -> LateLines:
    """The scope's late lines (``LateLines``): its outlets (few or not), then a small scope's open
    lines past their deadline (or past the first escalation step's, when ``escalation_days`` is
    under one) through (outlet, status, deadline): one read for the board's late counts, the
    escalated count and the most late of them (three reads of the same lines before)."""
    now = now or clock.now()
    if node is not None and node.level == "county":
        # a county's board lists its outlets: always counted live, however many
        few = sorted(session.execute(select(Outlet.id).where(permissions.outlets_clause(session, user),
                                                             _under(node))).scalars().all())
    else:
        few = scope_outlets(session, user, node)
    if few is None:
        return LateLines(now=now, few=None, lines=None)
    until = now if escalation_days is None else max(now, now - dt.timedelta(days=escalation_days - 1))
    # driven by the outlets (one probe of (outlet, status, deadline) each): the ids put on the
    # lines' outlet column made PostgreSQL scan the country's late lines (50 ms → 20 ms, a province)
    query = (select(RectificationLine.outlet_id, Outlet.unit_id, Unit.path, RectificationLine.deadline_at,
                    RectificationLine.id).select_from(Outlet)
             .join(RectificationLine, RectificationLine.outlet_id == Outlet.id).join(Unit, Unit.id == Outlet.unit_id)
             .where(in_ids(session, Outlet.id, few), RectificationLine.status.in_(OUTLET_TURN),
                    RectificationLine.deadline_at <= until))
    lines = [(outlet_id, unit_id, path, _aware(deadline), line_id)
             for outlet_id, unit_id, path, deadline, line_id in session.execute(filters.apply(query)).all()]
    return LateLines(now=now, few=few, lines=lines)


def _aware(moment):
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment


def _lines_by_outlet(session: Session, user: User, filters: BoardFilters, county: Unit):
    """A county's outlets, from the lines themselves (a county holds few enough to count live)."""
    dialect = session.get_bind().dialect.name
    query = (select(
        RectificationLine.outlet_id.label("key"),
        sa.func.count().label("issued"),
        sa.func.sum(sa.case((RectificationLine.acknowledged_at.is_not(None), 1), else_=0)).label("acknowledged"),
        sa.func.sum(sa.case((RectificationLine.answered_at.is_not(None), 1), else_=0)).label("answered"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.closed, 1), else_=0)).label("closed"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.withdrawn, 1), else_=0)).label("withdrawn"),
        sa.func.sum(RectificationLine.extensions).label("extended"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.closed,
                             seconds_between(RectificationLine.closed_at, RectificationLine.issued_at, dialect)),
                            else_=0)).label("close_seconds"),
    ).select_from(RectificationLine).join(Outlet, Outlet.id == RectificationLine.outlet_id)
        .where(Outlet.unit_id == county.id, permissions.outlets_clause(session, user))
        .group_by(RectificationLine.outlet_id))
    return session.execute(filters.apply(query)).all()


_FLOWS = ("issued", "acknowledged", "answered", "closed", "withdrawn", "extended", "close_seconds")


def _stats_by_unit(session: Session, user: User, filters: BoardFilters, node: Unit | None, children: list):
    """The node's children (and the node itself, for outlets held directly by it), from the
    running totals: the month's sums (``LineStatsMonth``) unless a kind or severity is asked for
    (``LineStats``)."""
    table = LineStats if filters.kind or filters.severity else LineStatsMonth
    return session.execute(_per_child(session, user, table, {name: (sa.func.sum, sa.func.sum) for name in _FLOWS},
                                      filters, node, children)).all()


def _per_child(session: Session, user: User, table, figures: dict, filters: BoardFilters, node: Unit | None,
               children: list):
    """``figures`` (name → (aggregate per county, aggregate per child)) of a table kept per county
    and issue month (and kind and severity when it has them), within the filters (by month), per
    child of the node (``children``, rows with ``id`` and ``path``; the node's own outlets under the
    node's id) among the counties the viewer may see. Summed per county first, then per child in
    the database: the nation's 2,800 counties summed up to their provinces in Python took a third
    of the board, and joining the units before grouping sorted 70,000 rows."""
    per_county = select(table.unit_id, *[inner(getattr(table, name)).label(name)
                                         for name, (inner, _outer) in figures.items()]).group_by(table.unit_id)
    if filters.since:  # the months of the period where the network is (the kept months are local)
        per_county = per_county.where(table.month >= clock.month_start(clock.local_date(filters.since)))
    if filters.until:
        per_county = per_county.where(table.month < clock.local_date(filters.until))
    if filters.kind:
        per_county = per_county.where(table.checklist_kind == filters.kind)
    if filters.severity:
        per_county = per_county.where(table.severity == filters.severity)
    if node is not None:  # the node's counties only (the whole table is the nation's)
        per_county = per_county.where(table.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))))
    counties = per_county.subquery()
    child = (sa.case(*[(Unit.path.startswith(c.path, autoescape=True), c.id) for c in children], else_=Unit.id)
             if children else Unit.id)
    return (select(child.label("key"), *[outer(counties.c[name]).label(name) for name, (_inner, outer) in figures.items()])
            .select_from(counties).join(Unit, Unit.id == counties.c.unit_id)
            .where(permissions.units_clause(session, user)).group_by(child))


def kept_overdue_age() -> dt.timedelta:
    """How old the kept late-line counts may be before a page counts them again itself (three
    sweeps: the worker is not running)."""
    minutes = current_app.config.get("SWEEP_MINUTES", 5) if has_app_context() else 5
    return dt.timedelta(minutes=3 * minutes)


def kept_overdue(session: Session, user: User, filters: BoardFilters, node: Unit | None,
                 now: dt.datetime, children: list) -> tuple[dt.datetime, dict[int, tuple[int, dt.datetime | None]]]:
    """The late lines per child of the node (``children``; or the node itself, for outlets held
    directly by it) as last counted, and when, in one read: counted again first (in a short write
    of its own, read there: the page's own snapshot predates it) when there are none or they are
    older than ``kept_overdue_age``."""
    kept_at, counts = _kept_overdue_by_child(session, user, filters, node, children)
    if kept_at is not None and kept_at > now - kept_overdue_age():
        return kept_at, counts
    with writing(), Session(get_engine()) as write:
        kept_at = stats.overdue_kept_at(write)
        if kept_at is None or kept_at <= now - kept_overdue_age():
            stats.keep_overdue(write, now)
            write.commit()
        return _kept_overdue_by_child(write, user, filters, node, children)


def _kept_overdue_by_child(session: Session, user: User, filters: BoardFilters, node: Unit | None, children: list):
    """When the worker last counted the late lines (``LineOverdue``; None if never) and its counts
    per child of the node, in one statement (the moment beside each child's row, or alone)."""
    counts = _per_child(session, user, LineOverdue, {"overdue": (sa.func.sum, sa.func.sum),
                                                     "oldest_deadline_at": (sa.func.min, sa.func.min)},
                        filters, node, children).subquery()
    query = (select(KeptFigures.computed_at, counts.c.key, counts.c.overdue, counts.c.oldest_deadline_at)
             .select_from(KeptFigures).outerjoin(counts, sa.true()).where(KeptFigures.name == "line_overdue"))
    rows = session.execute(query).all()
    if not rows:
        return None, {}
    return _aware(rows[0][0]), {key: (int(n or 0), _aware(oldest)) for _at, key, n, oldest in rows if key is not None}


def _row(key, name, kind, r) -> BoardRow:
    issued, closed, withdrawn = int(r.issued or 0), int(r.closed or 0), int(r.withdrawn or 0)
    return BoardRow(key=key, name=name, kind=kind, issued=issued, acknowledged=int(r.acknowledged or 0),
                    answered=int(r.answered or 0), closed=closed, withdrawn=withdrawn, extended=int(r.extended or 0),
                    open=issued - closed - withdrawn,
                    close_seconds=float(r.close_seconds or 0))


def board(session: Session, user: User, *, node: Unit | None, filters: BoardFilters,
          now: dt.datetime | None = None, late: LateLines | None = None) -> tuple[list[BoardRow], BoardRow]:
    """Per child unit of ``node`` (or per outlet when ``node`` is a county): the line counts.

    Flow counts (issued, acknowledged, answered, closed) come from the running totals, overdue
    ones from the open lines (``late``, read once with the escalated ones: ``late_lines``): a
    fixed handful of queries, fast at a million lines.
    """
    if late is None:
        late = late_lines(session, user, node, filters, now=now)
    now = late.now
    total = BoardRow(key=0, name="", kind="total")
    if node is not None and node.level == "county":
        names = dict(session.execute(select(Outlet.id, Outlet.name).where(Outlet.unit_id == node.id)).all())
        overdue = late.overdue(lambda outlet_id, unit_id: outlet_id if unit_id == node.id else None)
        result = []
        for r in _lines_by_outlet(session, user, filters, node):
            row = _row(r.key, names.get(r.key, "?"), "outlet", r)
            row.overdue, row.oldest_overdue = overdue.get(r.key, (0, None))
            result.append(row)
    else:
        # the units as plain rows (the nation has thousands: objects would cost more than the figures)
        columns = select(Unit.id, Unit.code, Unit.name, Unit.level, Unit.path)
        units = {u.id: u for u in session.execute(columns.where(Unit.path.startswith(node.path)) if node
                                                  else columns).all()}
        depth = node.path.count("/") if node else 1
        children = [u for u in units.values() if u.path.count("/") == depth + 1]
        if late.lines is None:
            # too many outlets to count their late lines live: the counts kept by the worker
            total.extra["overdue_as_of"], overdue = kept_overdue(session, user, filters, node, now, children)
        else:
            overdue = late.overdue(lambda _outlet_id, unit_id: unit_id)
        rows: dict[int, BoardRow] = {}

        def child_of(unit_id: int):
            unit = units.get(unit_id)
            if unit is None:
                return None
            parts = unit.path.strip("/").split("/")
            return units[int(parts[depth - 1])] if len(parts) >= depth else unit

        for r in _stats_by_unit(session, user, filters, node, children):
            child = units.get(r.key)
            if child is None:
                continue
            rows[child.id] = row = BoardRow(key=child.id, name=child.name, kind="unit", extra={"level": child.level})
            row.add(_row(child.id, child.name, "unit", r))
        for unit_id, (count, oldest) in overdue.items():
            # the kept counts come per child already; the live ones per county
            child = units.get(unit_id) if "overdue_as_of" in total.extra else child_of(unit_id)
            if child is None:
                continue
            row = rows.setdefault(child.id, BoardRow(key=child.id, name=child.name, kind="unit"))
            row.overdue += count
            if oldest and (row.oldest_overdue is None or oldest < row.oldest_overdue):
                row.oldest_overdue = oldest
        result = sorted(rows.values(), key=lambda row: units[row.key].code)
    for row in result:
        total.add(row)
    result.sort(key=lambda row: (-row.overdue, -row.open, row.name))
    return result, total


#: How many levels a unit tree may have below a node (province → city → county → district …);
#: escalation thresholds are set for each.
UNIT_DEPTHS = 6


def _under(node: Unit | None):
    """A WHERE clause on ``Outlet``: under the node (anywhere when None)."""
    return Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None else sa.true()


def scope_outlets(session: Session, user: User, node: Unit | None) -> list[int] | None:
    """The outlets of the viewer's scope (under ``node``) when few enough to plan by
    (``org.SCOPE_FIRST_OUTLETS``); else None."""
    query = select(Outlet.id).where(permissions.outlets_clause(session, user))
    if node is not None:
        query = query.where(_under(node))
    return org.few_outlets(session.execute(query.limit(org.SCOPE_FIRST_OUTLETS + 1)).scalars().all())


def line_queries(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
                 outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
                 keys_only: bool = False) -> list:
    """The selection of a line list, as one or more queries each ordered by (deadline, id); their
    rows merged in that order are the list. ``keys_only``: each row is (deadline, id), read from
    the indexes without the notice.

    Lines exist only for released visits (a notice is issued at release), so whoever may see the
    outlet may see its lines: the outlet scope is the whole check, secret visits included.
    """
    now = now or clock.now()
    timed = state in ("overdue", "due_soon") and not outlet_id
    in_scope = scope_outlets(session, user, node) if timed else None
    # A large scope fills a page quickly walking the country's late lines in deadline order; a
    # small one (a county, a city) reads its own outlets' late lines instead (ix_line_outlet_deadline).
    by_time = timed and in_scope is None
    outlet_key = unindexed(RectificationLine.outlet_id) if by_time else RectificationLine.outlet_id
    if keys_only:
        query = select(RectificationLine.deadline_at, RectificationLine.id)
    else:
        query = (select(RectificationLine, RectificationNotice, Outlet)
                 .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id))
    if not (keys_only and in_scope is not None):  # the scope's outlet ids carry both checks already
        query = query.join(Outlet, Outlet.id == outlet_key).where(permissions.outlets_clause(session, user))
        if outlet_id:
            query = query.where(RectificationLine.outlet_id == outlet_id)
        elif node is not None:
            query = query.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))))
    query = filters.apply(query)
    order = (RectificationLine.deadline_at, RectificationLine.id)
    if timed:
        # One ordered range per status, merged by the caller: by deadline through the country (a
        # sort of every late line in it would be the alternative), or the scope's outlets' own.
        if in_scope is not None:
            query = query.where(RectificationLine.outlet_id.in_(in_scope))
        queries = []
        for status in OUTLET_TURN:
            q = query.where(RectificationLine.status == status)
            if state == "overdue":
                q = q.where(RectificationLine.deadline_at <= now)
            else:
                q = q.where(RectificationLine.deadline_at > now, RectificationLine.deadline_at <= now + dt.timedelta(days=1))
            queries.append(q.order_by(*order))
        return queries
    if state == "overdue":
        query = query.where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at <= now)
    elif state == "open":
        query = query.where(RectificationLine.status.not_in([LineStatus.closed, LineStatus.withdrawn]))
    elif state == "due_soon":
        query = query.where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at > now,
                            RectificationLine.deadline_at <= now + dt.timedelta(days=1))
    elif state in {s.value for s in LineStatus}:
        query = query.where(RectificationLine.status == state)
    return [query.order_by(*order)]


def _line_key(row) -> tuple:
    return row[0].deadline_at, row[0].id


def line_rows(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
              outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
              limit: int = 200, offset: int = 0):
    """Lines with notice and outlet, for drill-down lists: one query, or for the late and the due
    lines one ordered range per status read as keys only (each stopping at the page's end), merged,
    and then the page's rows by id."""
    if state not in ("overdue", "due_soon") or outlet_id:
        query = line_queries(session, user, filters=filters, node=node, outlet_id=outlet_id, state=state, now=now)[0]
        return [tuple(r) for r in session.execute(query.offset(offset).limit(limit)).all()]
    keys = []
    for q in line_queries(session, user, filters=filters, node=node, state=state, now=now, keys_only=True):
        keys.extend(session.execute(q.limit(offset + limit)).all())
    ids = [line_id for _deadline, line_id in sorted(keys, key=lambda k: (_aware(k[0]), k[1]))[offset:offset + limit]]
    if not ids:
        return []
    rows = session.execute(select(RectificationLine, RectificationNotice, Outlet)
                           .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
                           .join(Outlet, Outlet.id == RectificationLine.outlet_id)
                           .where(RectificationLine.id.in_(ids))).all()
    return sorted((tuple(r) for r in rows), key=_line_key)


def all_line_rows(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
                  outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
                  batch: int = 1000) -> Iterator[tuple]:
    """Every line of a list (same scope, filters and order as its pages), streamed: each ordered
    range through its own cursor, merged as they go, so memory stays flat at a million lines."""
    queries = line_queries(session, user, filters=filters, node=node, outlet_id=outlet_id, state=state, now=now)
    streams = [(tuple(r) for r in session.execute(q.execution_options(yield_per=batch))) for q in queries]
    yield from streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_line_key)


def escalated_to(session: Session, user: User, node: Unit | None, *, filters: BoardFilters,
                 escalation_days: int, now: dt.datetime | None = None, show: int = 20,
                 late: LateLines | None = None) -> tuple[int, list[tuple]]:
    """Late lines below ``node`` that have climbed to it (one unit up per ``escalation_days``
    late): how many, and the most late of them. An outlet ``d`` units below the node reaches it
    after ``d × escalation_days`` days, so each line's threshold is a deadline chosen by the depth
    of its outlet's unit. A small scope picks them from its late lines (``late``, read with the
    board's counts) and reads their rows; a large one walks the country's late lines in deadline
    order, the count beside the rows: one statement either way, however deep or wide the scope."""
    if node is None:
        return 0, []
    if late is None:
        late = late_lines(session, user, node, filters, now=now, escalation_days=escalation_days)
    now = late.now
    base = node.path.count("/")
    # deadline day ended at least d × N days ago: late by ≥ that many local days
    thresholds = {base + d: now - dt.timedelta(days=d * escalation_days - 1) for d in range(1, UNIT_DEPTHS + 1)}
    rows_query = (select(RectificationLine, RectificationNotice, Outlet)
                  .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
                  .join(Outlet, Outlet.id == RectificationLine.outlet_id))
    if late.lines is not None:
        first = thresholds[base + 1]
        escalated = [(deadline, line_id) for _outlet, _unit, path, deadline, line_id in late.lines
                     if deadline <= first and deadline <= thresholds.get(path.count("/"), deadline - dt.timedelta(1))]
        count = len(escalated)
        ids = [line_id for _deadline, line_id in sorted(escalated)[:show]]
        rows = [tuple(r) for r in session.execute(rows_query.where(RectificationLine.id.in_(ids))).all()]
    else:
        depth = sa.func.length(Unit.path) - sa.func.length(sa.func.replace(Unit.path, "/", ""))
        deadline_type = RectificationLine.deadline_at.type
        threshold = sa.case({k: sa.bindparam(f"esc_{k}", v, type_=deadline_type) for k, v in thresholds.items()},
                            value=depth, else_=None)
        # the late lines walked in deadline order, their outlets checked per row
        late_below = (select(RectificationLine.id).select_from(RectificationLine)
                      .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
                      .join(Unit, Unit.id == Outlet.unit_id)
                      .where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at <= thresholds[base + 1],
                             RectificationLine.deadline_at <= threshold, permissions.outlets_clause(session, user),
                             Unit.path.startswith(node.path)))
        late_below = filters.apply(late_below)
        count_of = select(sa.func.count()).select_from(late_below.subquery()).scalar_subquery()
        most_late = late_below.order_by(RectificationLine.deadline_at, RectificationLine.id).limit(show)
        found = session.execute(rows_query.add_columns(count_of)
                                .where(RectificationLine.id.in_(select(most_late.subquery().c.id)))).all()
        count = found[0][3] if found else 0
        rows = [tuple(r[:3]) for r in found]
    shown = [(line, notice, outlet, -services.days_left(line, outlet, now)) for line, notice, outlet in rows]
    shown.sort(key=lambda r: (-r[3], r[0].id))
    return count, shown[:show]


def unacknowledged_escalated_to(session: Session, user: User, node: Unit | None, *,
                                now: dt.datetime | None = None) -> list[tuple]:
    """Notices below ``node`` not acknowledged in time that have climbed to it (as late lines do:
    one unit up per ``ESCALATION_DAYS`` days late), as (notice, outlet, days late), latest first."""
    if node is None:
        return []
    now = now or clock.now()
    units = {u.id: u for u in session.exec(select(Unit).where(Unit.path.startswith(node.path))).all()}
    base_depth = node.path.count("/")
    # the columns the rule and the list need, as plain rows: a province has hundreds of candidates,
    # and loading each notice and outlet whole took a fifth of its board
    rows = session.execute(
        select(RectificationNotice.id, RectificationNotice.number, RectificationNotice.issued_at,
               RectificationNotice.acknowledged_at, Outlet.id.label("outlet_id"), Outlet.name, Outlet.timezone,
               Outlet.unit_id)
        .join(Outlet, Outlet.id == RectificationNotice.outlet_id)
        .where(RectificationNotice.acknowledged_at.is_(None), Outlet.unit_id.in_(list(units)),
               permissions.notices_clause(session, user),
               RectificationNotice.issued_at <= now - dt.timedelta(days=services.ack_working_days()))).all()
    found = []
    for row in rows:
        notice = _NoticeSeen(row.id, row.number, row.issued_at, row.acknowledged_at)
        outlet = _OutletSeen(row.outlet_id, row.name, row.timezone, row.unit_id)
        distance = units[outlet.unit_id].path.count("/") - base_depth
        if distance >= 1 and services.ack_escalation_steps(notice, outlet, now) >= distance:
            found.append((notice, outlet, services.ack_late_days(notice, outlet, now)))
    return sorted(found, key=lambda r: (-r[2], r[0].id))


@dataclass(frozen=True)
class _NoticeSeen:
    """What the escalation rule and the board's list read of a notice."""
    id: int
    number: str
    issued_at: dt.datetime
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True)
class _OutletSeen:
    id: int
    name: str
    timezone: str
    unit_id: int


def notices_for(session: Session, user: User, *, open_only: bool = False, limit: int = 100):
    """Notices the user may see, newest first, with their outlet and line counts."""
    now = clock.now()
    counts = (select(RectificationLine.notice_id.label("nid"),
                     sa.func.count().label("lines"),
                     sa.func.sum(sa.case((RectificationLine.status.not_in([LineStatus.closed, LineStatus.withdrawn]), 1),
                                         else_=0)).label("open"),
                     sa.func.sum(sa.case((sa.and_(RectificationLine.status.in_(OUTLET_TURN),
                                                  RectificationLine.deadline_at <= now), 1), else_=0)).label("overdue"),
                     sa.func.min(sa.case((RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at),
                                         else_=None)).label("next_deadline"))
              .group_by(RectificationLine.notice_id).subquery())
    query = (select(RectificationNotice, Outlet, counts.c.lines, counts.c.open, counts.c.overdue, counts.c.next_deadline)
             .join(Outlet, Outlet.id == RectificationNotice.outlet_id)
             .join(counts, counts.c.nid == RectificationNotice.id)
             .where(permissions.notices_clause(session, user)))  # notices exist only for released visits
    if open_only:
        query = query.where(counts.c.open > 0)
    query = query.order_by(counts.c.overdue.desc(), (counts.c.open > 0).desc(), counts.c.next_deadline,
                           RectificationNotice.id.desc()).limit(limit)
    return session.execute(query).all()


def notice_of_visit(session: Session, user: User, visit) -> RectificationNotice | None:
    """The notice a released visit's failures became, when the viewer may open it (the visit's page
    links to it); never to a shopper, who does not follow the outlet side's work."""
    if not permissions.can_see_notices(user):
        return None
    notice = session.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).first()
    return notice if notice is not None and permissions.can_view_notice(session, user, notice) else None
