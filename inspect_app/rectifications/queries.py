"""Read side of rectification: lists, the managers' status board, reminders."""
from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.db import get_engine, in_ids, unindexed, writing
from inspect_app.forms_common import LARGEST_ID
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications import services, stats
from inspect_app.rectifications.models import (
    OPEN_STATUSES,
    OUTLET_TURN,
    KeptFigures,
    LineOverdue,
    LineOverdueBelow,
    LineStats,
    LineStatsBelow,
    LineStatsMonth,
    LineStatus,
    RectificationLine,
    RectificationNotice,
    in_outlet_turn,
    status_in,
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
    board's late counts and for the lines escalated to the unit, counted in the database: a small
    scope's late lines per outlet as (outlet id, unit id, how many, the oldest deadline) in
    ``outlets`` (the outlet None above a county: per unit), and, when asked with the escalation's
    days, how many have climbed to the unit and the ids of the most late (``escalated``); a large
    scope (more than ``org.SCOPE_FIRST_OUTLETS`` outlets) reads none here (``outlets`` None): its
    board takes the kept counts, its escalation walks the country's late lines in deadline order."""

    now: dt.datetime
    few: list[int] | None
    outlets: list[tuple] | None
    escalated: tuple[int, list[int]] | None = None

    def overdue(self, key) -> dict[int, tuple[int, dt.datetime | None]]:
        """Late lines (deadline passed) per ``key(outlet id, unit id)`` with the oldest deadline;
        a key of None leaves the outlet out."""
        result: dict[int, tuple[int, dt.datetime | None]] = {}
        for outlet_id, unit_id, count, oldest in self.outlets:
            group = key(outlet_id, unit_id)
            if group is None or not count:
                continue
            n, first = result.get(group, (0, None))
            result[group] = (n + count, oldest if first is None or oldest < first else first)
        return result


def _escalation_thresholds(node: Unit, now: dt.datetime, escalation_days: int) -> dict[int, dt.datetime]:
    """The deadline a late line below ``node`` must be at or before to have climbed to it, by the
    depth of its outlet's unit: d units below, its deadline day ended at least d × N days ago."""
    base = node.path.count("/")
    return {base + d: now - dt.timedelta(days=d * escalation_days - 1) for d in range(1, UNIT_DEPTHS + 1)}


def _has_climbed(thresholds: dict[int, dt.datetime]):
    """SQL: the line (joined to its outlet's unit) has climbed to the node of ``thresholds``."""
    depth = sa.func.length(Unit.path) - sa.func.length(sa.func.replace(Unit.path, "/", ""))
    deadline_type = RectificationLine.deadline_at.type
    threshold = sa.case({k: sa.bindparam(f"esc_{k}", v, type_=deadline_type) for k, v in thresholds.items()},
                        value=depth, else_=None)
    # the loosest threshold first (the nearest unit's): a range on the deadline an index can take
    return sa.and_(RectificationLine.deadline_at <= max(thresholds.values()), RectificationLine.deadline_at <= threshold)


def late_lines(session: Session, user: User, node: Unit | None, filters: BoardFilters, *,
               now: dt.datetime | None = None, escalation_days: int | None = None, show: int = 20) -> LateLines:
    """The scope's late lines (``LateLines``): its outlets (few or not), then a small scope's open
    lines past their deadline (or past the first escalation step's, when ``escalation_days`` is
    under one) through its outlets, counted per outlet and, with ``escalation_days``, those that
    have climbed to the node, with the ``show`` most late: one statement for the board's late
    counts, the escalated count and the most late of them (three reads of the same lines before;
    then the lines themselves, read into Python, a province's 4,047 on national data)."""
    now = now or clock.now()
    if node is not None and node.level == "county":
        # a county's board lists its outlets: always counted live, however many
        few = sorted(session.execute(select(Outlet.id).where(permissions.outlets_clause(session, user),
                                                             _under(node))).scalars().all())
    else:  # a large scope (or a large share of a large country: ``list_scope``) reads the kept counts
        few = list_scope(session, user, node)
    if few is None:
        return LateLines(now=now, few=None, outlets=None)
    climb = escalation_days is not None and node is not None
    until = now if not climb else max(now, now - dt.timedelta(days=escalation_days - 1))
    climbed = _has_climbed(_escalation_thresholds(node, now, escalation_days)) if climb else sa.false()
    # driven by the outlets, one probe of ix_line_late_outlet each (only the lines waiting on the
    # outlet, no row read): the ids put on the lines' outlet column made PostgreSQL scan the
    # country's late lines (50 ms → 20 ms, a province); probing (outlet, status, deadline) once per
    # status read the rows too (national data, a province's 4,047: 30 → 11 ms in PostgreSQL)
    late = filters.apply(
        select(RectificationLine.id, RectificationLine.outlet_id, Outlet.unit_id, RectificationLine.deadline_at,
               sa.case((climbed, 1), else_=0).label("up")).select_from(Outlet)
        .join(RectificationLine, RectificationLine.outlet_id == Outlet.id).join(Unit, Unit.id == Outlet.unit_id)
        .where(in_ids(session, Outlet.id, few), in_outlet_turn(RectificationLine.status),
               RectificationLine.deadline_at <= until)).cte("late")
    past = late.c.deadline_at <= now
    # per outlet (a county's board lists them) or per unit, then the most late that climbed (id
    # only) below them: a CTE read twice is kept
    per_outlet = [late.c.outlet_id] if node is not None and node.level == "county" else []
    query = select(*(per_outlet or [sa.null()]), late.c.unit_id,
                   sa.func.sum(sa.case((past, 1), else_=0)).label("overdue"),
                   sa.func.min(sa.case((past, late.c.deadline_at), else_=None)).label("oldest"),
                   sa.func.sum(late.c.up).label("up"), sa.null().label("id")).group_by(late.c.unit_id, *per_outlet)
    if climb:
        most = (select(late.c.id).where(late.c.up == 1).order_by(late.c.deadline_at, late.c.id).limit(show)
                .subquery("most_late"))
        query = query.union_all(select(sa.null(), sa.null(), sa.null(), sa.null(), sa.null(), most.c.id))
    outlets, ids, count = [], [], 0
    for outlet_id, unit_id, overdue, oldest, up, line_id in session.execute(query).all():
        if line_id is not None:
            ids.append(line_id)
        else:
            outlets.append((outlet_id, unit_id, int(overdue or 0), _aware(oldest)))
            count += int(up or 0)
    return LateLines(now=now, few=few, outlets=outlets, escalated=(count, ids) if climb else None)


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
    running totals: the month's sums below each child and its own (``LineStatsBelow``,
    ``LineStatsMonth``) unless a kind or severity is asked for (``LineStats``, per county)."""
    figures = {name: (sa.func.sum, sa.func.sum) for name in _FLOWS}
    if _sums_below(session, user, filters, node):
        return session.execute(_per_child_below(LineStatsBelow, LineStatsMonth, figures, filters, node,
                                                children)).all()
    table = LineStats if filters.kind or filters.severity else LineStatsMonth
    return session.execute(_per_child(session, user, table, figures, filters, node, children)).all()


def _sums_below(session: Session, user: User, filters: BoardFilters, node: Unit | None) -> bool:
    """Whether a board may take its children's figures from the sums kept below each unit: they
    are kept per month only (no kind or severity), and they count every outlet below a child, so
    the viewer must see the whole of each (an administrator, or a node in the viewer's scope)."""
    if filters.kind or filters.severity:
        return False
    return permissions.is_admin(user) or node is not None and permissions.unit_in_scope(session, user, node)


def _months(query, table, filters: BoardFilters):
    """A kept table's rows within the filters' period, by month (the kept months are local)."""
    if filters.since:
        query = query.where(table.month >= clock.month_start(clock.local_date(filters.since)))
    if filters.until:
        query = query.where(table.month < clock.local_date(filters.until))
    return query


def _per_child_below(below, own, figures: dict, filters: BoardFilters, node: Unit | None, children: list):
    """``figures`` (as ``_per_child``) per child of the node: the sums kept below each child
    (``below``) and the child's own rows (``own``), and the node's own under its id; a few rows
    per child and month (the nation's 31 provinces: 744 for two years)."""
    ids = [c.id for c in children]
    names = list(figures)
    parts = [_months(select(table.unit_id.label("key"), *[getattr(table, n).label(n) for n in names])
                     .where(table.unit_id.in_(units)), table, filters)
             for table, units in ((below, ids), (own, ids + ([node.id] if node is not None else [])))]
    rows = sa.union_all(*parts).subquery()
    return (select(rows.c.key, *[outer(rows.c[n]).label(n) for n, (_inner, outer) in figures.items()])
            .group_by(rows.c.key))


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
    per_county = _months(per_county, table, filters)  # the months of the period where the network is
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
    figures = {"overdue": (sa.func.sum, sa.func.sum), "oldest_deadline_at": (sa.func.min, sa.func.min)}
    counts = (_per_child_below(LineOverdueBelow, LineOverdue, figures, filters, node, children)
              if _sums_below(session, user, filters, node)
              else _per_child(session, user, LineOverdue, figures, filters, node, children)).subquery()
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
        if late.outlets is None:
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


#: The closed lines are nearly all of them (they stay, the open ones pass): a scope reads its own
#: closed lines through its outlets only when this much smaller than ``org.SCOPE_FIRST_OUTLETS``
#: (sorting a province's quarter of a million took seconds; walking the country's in deadline
#: order finds a province's page in a few thousand, a county's would take a hundred thousand).
DENSE_SCOPE_SHARE = 20


#: The checklist kinds a board or line list filters its lines by (a complaint's lines included).
BOARD_KINDS = ("open", "secret", "star", "etiquette", "fives", "complaint")


#: The states a line list takes (``_statuses``): late or due within a day, open, or a status.
LINE_STATES = frozenset({"overdue", "due_soon", "open", *(s.value for s in LineStatus)})


def _statuses(state: str | None) -> tuple:
    """The statuses a line list's state takes (a list by status reads each in its own range)."""
    if state in ("overdue", "due_soon"):
        return OUTLET_TURN
    if state == "open":
        return OPEN_STATUSES
    if state in {s.value for s in LineStatus}:
        return (LineStatus(state),)
    return tuple(LineStatus)


#: A list walks the country's rows in index order for a scope holding more than this share of a
#: country of more than ``org.SCOPE_FIRST_OUTLETS`` outlets, however few its outlets: a third of
#: the large SQLite network's (1,680 outlets) read through its outlets took 80 ms, its page found
#: walking the country's rows in a few hundred.
WALK_SHARE = 10


def list_scope(session: Session, user: User, node: Unit | None) -> list[int] | None:
    """The scope's outlets to plan a list by, or None when the scope is large: more than
    ``org.SCOPE_FIRST_OUTLETS`` outlets (as ``scope_outlets``), or more than a ``WALK_SHARE``-th
    of a country that has more. The country's outlets are counted in the same statement, as far as
    that rule needs; once a request (the reminders read two lists of the same scope)."""
    def read():
        mine = select(Outlet.id).where(permissions.outlets_clause(session, user))
        if node is not None:
            mine = mine.where(_under(node))
        mine = mine.limit(org.SCOPE_FIRST_OUTLETS + 1).cte("mine")
        # the country counted only as far as the rule below looks: to ten times the scope, none
        # past a large scope (the nation's 50,060 counted whole took 10 of a province's 13 ms)
        size = select(sa.func.count()).select_from(mine).scalar_subquery()
        enough = sa.case((size > org.SCOPE_FIRST_OUTLETS, 0), else_=size * WALK_SHARE)
        country = select(sa.func.count()).select_from(select(Outlet.id).limit(enough).subquery()).scalar_subquery()
        # the sizes always (one row), the ids only for a small scope: the nation's 5,001 sent
        # back only to be found too many took 14 ms in the client
        sizes = select(size.label("size"), country.label("country")).subquery()
        rows = session.execute(select(sizes.c.size, sizes.c.country, mine.c.id).select_from(
            sizes.outerjoin(mine, sizes.c.size <= org.SCOPE_FIRST_OUTLETS))).all()
        scope_size, country_size = rows[0][0], rows[0][1]
        if scope_size > org.SCOPE_FIRST_OUTLETS:
            return None
        few = sorted(outlet_id for _s, _c, outlet_id in rows if outlet_id is not None)
        if country_size > org.SCOPE_FIRST_OUTLETS and len(few) * WALK_SHARE > country_size:
            return None
        return few

    if not has_request_context():
        return read()
    memo = g.setdefault("_list_scope", {})
    key = (user.id, node.id if node is not None else None, org.SCOPE_FIRST_OUTLETS, WALK_SHARE)
    if key not in memo:
        memo[key] = read()
    return memo[key]


def line_queries(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
                 outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
                 keys_only: bool = False) -> list:
    """The selection of a line list, as one or more queries each ordered by (deadline, id); their
    rows merged in that order are the list. ``keys_only``: each row is (deadline, id), read from
    the indexes without the notice.

    One outlet's list is one query (ix_line_outlet_deadline). Any other list is planned by its
    scope: a small one reads its own outlets' lines of the list's statuses in one range
    (ix_line_outlet_deadline, sorted); a large one walks the country's lines of each status in
    deadline order (ix_line_status_deadline), one range per status, stopping at the page's end.
    The closed lines (most of them) are read through the outlets only for a scope
    ``DENSE_SCOPE_SHARE`` times smaller, else walked too.

    Lines exist only for released visits (a notice is issued at release), so whoever may see the
    outlet may see its lines: the outlet scope is the whole check, secret visits included.
    """
    now = now or clock.now()
    if keys_only:
        base = select(RectificationLine.deadline_at, RectificationLine.id)
    else:
        base = (select(RectificationLine, RectificationNotice, Outlet)
                .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id))
    order = (RectificationLine.deadline_at, RectificationLine.id)
    if outlet_id:
        query = (base.join(Outlet, Outlet.id == RectificationLine.outlet_id)
                 .where(permissions.outlets_clause(session, user), RectificationLine.outlet_id == outlet_id))
        query = filters.apply(query)
        if state in ("overdue", "due_soon"):
            query = _timed(query, state, now)
        if state is not None:
            query = query.where(RectificationLine.status.in_(_statuses(state)))
        return [query.order_by(*order)]
    in_scope = list_scope(session, user, node)
    statuses = _statuses(state)
    dense = in_scope is not None and len(in_scope) > org.SCOPE_FIRST_OUTLETS // DENSE_SCOPE_SHARE
    walked = statuses if in_scope is None else [s for s in statuses if dense and s == LineStatus.closed]
    own = [s for s in statuses if s not in walked]
    queries = []
    if own:
        # the scope's own outlets, one probe each of ix_line_open_outlet (or of (outlet, status,
        # deadline) per status for the closed ones); ids put on the lines' outlet column made
        # PostgreSQL AND two bitmaps of the country's lines
        query = (base.join(Outlet, Outlet.id == RectificationLine.outlet_id)
                 .where(in_ids(session, Outlet.id, in_scope), status_in(RectificationLine.status, own)))
        queries.append(query)
    for status in walked:
        # the country's lines of the status in deadline order, each row's outlet checked (joined on
        # an unindexed column, so the planner keeps to that order)
        query = base.where(RectificationLine.status == status)
        if not (keys_only and node is None and permissions.is_admin(user)):  # else every line is in scope
            query = (query.join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
                     .where(permissions.outlets_clause(session, user)))
        if node is not None:
            query = query.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))))
        queries.append(query)
    queries = [filters.apply(q) for q in queries]
    if state in ("overdue", "due_soon"):
        queries = [_timed(q, state, now) for q in queries]
    if own and keys_only:
        # behind a fence (OFFSET 0) the scope's own lines are planned whole, from its outlets: with
        # the order in sight PostgreSQL walked the country's closed lines for a city's (430 ms)
        fenced = queries[0].offset(0).subquery()
        queries[0] = select(fenced.c.deadline_at, fenced.c.id).order_by(fenced.c.deadline_at, fenced.c.id)
        return queries[:1] + [q.order_by(*order) for q in queries[1:]]
    return [q.order_by(*order) for q in queries]


def _timed(query, state: str, now: dt.datetime):
    """Late (deadline passed) or due within a day (statuses apart)."""
    if state == "overdue":
        return query.where(RectificationLine.deadline_at <= now)
    return query.where(RectificationLine.deadline_at > now, RectificationLine.deadline_at <= now + dt.timedelta(days=1))


def _line_key(row) -> tuple:
    return row[0].deadline_at, row[0].id


def line_rows(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
              outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
              limit: int = 200, offset: int = 0):
    """Lines with notice and outlet, for drill-down lists: one query for one outlet's, else the
    list's ranges (``line_queries``) read as keys only, merged in one statement (each range
    stopping at the page's end), and then the page's rows by id."""
    if outlet_id:
        query = line_queries(session, user, filters=filters, node=node, outlet_id=outlet_id, state=state, now=now)[0]
        return [tuple(r) for r in session.execute(query.offset(offset).limit(limit)).all()]
    ranges = line_queries(session, user, filters=filters, node=node, state=state, now=now, keys_only=True)
    if len(ranges) == 1:
        keys = ranges[0].offset(offset).limit(limit)
    else:  # the ranges merged in the statement, each stopping at the page's end
        arms = [r.limit(offset + limit).subquery() for r in ranges]
        merged = sa.union_all(*[select(arm.c.deadline_at, arm.c.id) for arm in arms]).subquery()
        keys = (select(merged.c.deadline_at, merged.c.id).order_by(merged.c.deadline_at, merged.c.id)
                .offset(offset).limit(limit))
    ids = [line_id for _deadline, line_id in session.execute(keys).all()]
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
    of its outlet's unit. A small scope counts them with its late lines (``late``, read with the
    board's counts) and reads the rows of the most late; a large one walks the country's late lines in deadline
    order, the count beside the rows: one statement either way, however deep or wide the scope."""
    if node is None:
        return 0, []
    if late is None or late.few is not None and late.escalated is None:
        late = late_lines(session, user, node, filters, now=now, escalation_days=escalation_days, show=show)
    now = late.now
    rows_query = (select(RectificationLine, RectificationNotice, Outlet)
                  .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
                  .join(Outlet, Outlet.id == RectificationLine.outlet_id))
    if late.escalated is not None:
        count, ids = late.escalated
        rows = [tuple(r) for r in session.execute(rows_query.where(RectificationLine.id.in_(ids[:show]))).all()]
    else:
        # the late lines walked in deadline order, their outlets checked per row: walked once (a
        # CTE read twice is materialized, by SQLite and PostgreSQL alike), counted and the most late
        # taken from what it kept; the count and the page each walked them before (SQLite, large
        # dataset, a province: 75-87 → 49 ms)
        late_below = (select(RectificationLine.id, RectificationLine.deadline_at).select_from(RectificationLine)
                      .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
                      .join(Unit, Unit.id == Outlet.unit_id)
                      .where(RectificationLine.status.in_(OUTLET_TURN),
                             _has_climbed(_escalation_thresholds(node, now, escalation_days)),
                             permissions.outlets_clause(session, user), Unit.path.startswith(node.path)))
        late_below = filters.apply(late_below).cte("late_below")
        count_of = select(sa.func.count()).select_from(late_below).scalar_subquery()
        most_late = select(late_below.c.id).order_by(late_below.c.deadline_at, late_below.c.id).limit(show)
        found = session.execute(rows_query.add_columns(count_of)
                                .where(RectificationLine.id.in_(most_late.scalar_subquery()))).all()
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
    found, todays = [], {}
    # the rule's settings read once, and the rule run on the rows themselves (they have the
    # notice's and the outlet's fields): a province's 338 candidates took 8 ms of its board
    working, step = services.ack_working_days(), services.escalation_days()
    depth = {unit_id: unit.path.count("/") - base_depth for unit_id, unit in units.items()}
    for row in rows:
        distance = depth[row.unit_id]
        if distance < 1:
            continue
        # the day once per zone (a province's notices are in one or two)
        today = todays.get(row.timezone) or todays.setdefault(row.timezone, clock.local_date(now, row.timezone))
        late = services.ack_late_days(row, row, today=today, working_days=working)
        if services.ack_steps(late, step=step) >= distance:
            found.append((_NoticeSeen(row.id, row.number, row.issued_at, row.acknowledged_at),
                          _OutletSeen(row.outlet_id, row.name, row.timezone, row.unit_id), late))
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


#: Notices on a page of the notice list.
NOTICES_PER_PAGE = 100
#: The lines awaiting the inspection side (to verify, or a dispute to decide): open, but the
#: deadline does not run against the outlet.
AWAITING_INSPECTION = tuple(s for s in OPEN_STATUSES if s not in OUTLET_TURN)


@dataclass(frozen=True)
class NoticeCursor:
    """Where a page of the notice list starts (keyset): after the notice shown last, by its place
    in the list's order: (part, deadline, notice id) in parts 1 and 2, (3, None, notice id)."""

    part: int
    deadline: dt.datetime | None
    key: int

    def token(self) -> str:
        if self.deadline is None:
            return f"{self.part}.{self.key}"
        micros = (self.deadline - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{self.part}.{micros}.{self.key}"

    @classmethod
    def parse(cls, text: str | None) -> NoticeCursor | None:
        """The cursor a link carries; None (the first page) for anything else."""
        parts = (text or "").split(".")
        try:
            numbers = [int(p) for p in parts]
            if not 0 <= numbers[-1] <= LARGEST_ID:  # no notice's id (PostgreSQL refuses to compare it)
                return None
            if len(numbers) == 3 and numbers[0] in (1, 2):
                return cls(numbers[0], _EPOCH + dt.timedelta(microseconds=numbers[1]), numbers[2])
            if len(numbers) == 2 and numbers[0] == 3:
                return cls(3, None, numbers[1])
        except (ValueError, OverflowError):
            pass
        return None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _open_notices(session: Session, user: User, few: list[int] | None, part: int, after: NoticeCursor | None,
                  need: int) -> list[tuple]:
    """Part 1 (2) of the notice list: the notices with lines in the outlet's turn (with open lines
    all awaiting the inspection side), by the earliest deadline among those lines, then notice
    id, as (deadline, notice id), up to ``need`` of them after ``after``.

    A small scope (``few``) groups its outlets' open lines by notice (ix_line_outlet_deadline); a
    large one walks the country's lines of each status in deadline order (ix_line_status_deadline),
    keeping each notice's first line (by deadline, then id) among the part's lines and each row's
    outlet in scope, the walks merged in the statement and stopped at the page's end."""
    line = RectificationLine
    group = OUTLET_TURN if part == 1 else AWAITING_INSPECTION
    cursor = after if after is not None and after.part == part else None
    if few is not None:
        first = sa.func.min(line.deadline_at)
        # driven by the outlets, one probe of (outlet, status) each (the ids put on the lines'
        # column made PostgreSQL AND two bitmaps of a quarter of a million lines, a province)
        query = (select(first.label("deadline_at"), line.notice_id).select_from(Outlet)
                 .join(line, line.outlet_id == Outlet.id)
                 .where(in_ids(session, Outlet.id, few), line.status.in_(OPEN_STATUSES if part == 2 else group))
                 .group_by(line.notice_id))
        if part == 2:  # none in the outlet's turn
            query = query.having(sa.func.sum(sa.case((line.status.in_(OUTLET_TURN), 1), else_=0)) == 0)
        if cursor is not None:
            query = query.having(sa.or_(first > cursor.deadline,
                                        sa.and_(first == cursor.deadline, line.notice_id > cursor.key)))
        query = _complaint_lines_only(user, query)
        return session.execute(query.order_by(first, line.notice_id).limit(need)).all()
    other = aliased(RectificationLine)
    earlier = sa.and_(other.status.in_(group), sa.or_(other.deadline_at < line.deadline_at,
                                                       sa.and_(other.deadline_at == line.deadline_at, other.id < line.id)))
    if part == 2:
        earlier = sa.or_(other.status.in_(OUTLET_TURN), earlier)
    arms = []
    for status in group:
        arm = select(line.deadline_at, line.notice_id).where(
            line.status == status, ~sa.exists().where(other.notice_id == line.notice_id, earlier))
        if not permissions.is_admin(user):  # else every line is in scope
            arm = (arm.join(Outlet, Outlet.id == unindexed(line.outlet_id))
                   .where(permissions.outlets_clause(session, user)))
        if cursor is not None:
            arm = arm.where(line.deadline_at >= cursor.deadline,
                            sa.or_(line.deadline_at > cursor.deadline, line.notice_id > cursor.key))
        arm = _complaint_lines_only(user, arm).order_by(line.deadline_at, line.notice_id).limit(need).subquery()
        arms.append(select(arm.c.deadline_at, arm.c.notice_id))
    merged = sa.union_all(*arms).subquery()
    return session.execute(select(merged.c.deadline_at, merged.c.notice_id)
                           .order_by(merged.c.deadline_at, merged.c.notice_id).limit(need)).all()


def _complaint_lines_only(user: User, query):
    """A complaint handler's notices are the complaints' (no visit): so are their lines."""
    return query.where(RectificationLine.visit_id.is_(None)) if user.role == Role.handler else query


def _settled_notices(session: Session, user: User, few: list[int] | None, after: NoticeCursor | None,
                     need: int) -> list[int]:
    """Part 3 of the notice list: notices with lines, none open, newest first (the notices' ids
    in descending order), up to ``need`` after ``after``: through the scope's outlets when few,
    else the country's notices from the newest, each checked for its scope."""
    notice, line = RectificationNotice, RectificationLine
    query = select(notice.id).where(sa.exists().where(line.notice_id == notice.id),
                                    ~sa.exists().where(line.notice_id == notice.id, line.status.in_(OPEN_STATUSES)))
    if few is not None:
        query = query.where(in_ids(session, notice.outlet_id, few))
    else:
        query = (query.join(Outlet, Outlet.id == unindexed(notice.outlet_id))
                 .where(permissions.outlets_clause(session, user)))
    if user.role == Role.handler:
        query = query.where(notice.visit_id.is_(None))
    if after is not None and after.part == 3:
        query = query.where(notice.id < after.key)
    return session.execute(query.order_by(notice.id.desc()).limit(need)).scalars().all()


def notice_page(session: Session, user: User, *, open_only: bool = False, after: NoticeCursor | None = None,
                limit: int | None = None) -> tuple[list[tuple], NoticeCursor | None]:
    """A page of the notices the user may see, most urgent first, with their outlet and line
    counts, as (notice, outlet, lines, open, overdue, next deadline), and the next page's cursor
    (None on the last page).

    The order, in three parts: the notices with lines in the outlet's turn by their earliest
    deadline among them (so the late ones first, the longest late first, then by next deadline);
    then the notices whose open lines all await the inspection side (verification, a dispute),
    by their earliest deadline; then (not with ``open_only``) the notices with nothing open,
    newest first. Each part is read in its own index order and stops at the page's end: a page
    is a fixed handful of statements however many notices there are (grouping every line by
    notice to sort the notices took 7 to 16 seconds at ten million lines)."""
    limit = limit or NOTICES_PER_PAGE
    few = list_scope(session, user, None)
    keys: list[tuple] = []  # (part, deadline, key, notice id)
    for part in (1, 2) if open_only else (1, 2, 3):
        if after is not None and part < after.part:
            continue
        # every part read even when the page is full (one row then), and the counts even for no
        # notice: the same statements whatever the data holds
        need = max(1, limit + 1 - len(keys))
        if part == 3:
            keys.extend((3, None, nid, nid) for nid in _settled_notices(session, user, few, after, need))
            continue
        keys.extend((part, _aware(deadline), nid, nid)
                    for deadline, nid in _open_notices(session, user, few, part, after, need))
    page = keys[:limit]
    following = NoticeCursor(*page[-1][:3]) if len(keys) > limit else None
    ids = [k[3] for k in page]
    now = clock.now()
    line = RectificationLine
    counts = (select(line.notice_id.label("nid"), sa.func.count().label("lines"),
                     sa.func.sum(sa.case((line.status.in_(OPEN_STATUSES), 1), else_=0)).label("open"),
                     sa.func.sum(sa.case((sa.and_(line.status.in_(OUTLET_TURN), line.deadline_at <= now), 1),
                                         else_=0)).label("overdue"),
                     sa.func.min(sa.case((line.status.in_(OUTLET_TURN), line.deadline_at), else_=None))
                     .label("next_deadline"))
              .where(line.notice_id.in_(ids)).group_by(line.notice_id).subquery())
    rows = session.execute(
        select(RectificationNotice, Outlet, counts.c.lines, counts.c.open, counts.c.overdue, counts.c.next_deadline)
        .join(Outlet, Outlet.id == RectificationNotice.outlet_id).join(counts, counts.c.nid == RectificationNotice.id)
        .where(RectificationNotice.id.in_(ids))).all()
    place = {nid: k for k, nid in enumerate(ids)}
    return sorted(rows, key=lambda r: place[r[0].id]), following


def notices_for(session: Session, user: User, *, open_only: bool = False, limit: int | None = None):
    """The first page of ``notice_page`` (its rows only)."""
    return notice_page(session, user, open_only=open_only, limit=limit)[0]


def notice_of_visit(session: Session, user: User, visit) -> RectificationNotice | None:
    """The notice a released visit's failures became, when the viewer may open it (the visit's page
    links to it); never to a shopper, who does not follow the outlet side's work."""
    if not permissions.can_see_notices(user):
        return None
    notice = session.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).first()
    return notice if notice is not None and permissions.can_view_notice(session, user, notice) else None
