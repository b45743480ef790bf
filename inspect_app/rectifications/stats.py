"""Maintaining ``LineStats``: one upsert per transition, and a full rebuild from the lines."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.org.models import Outlet, Unit, units_on
from inspect_app.rectifications.models import (
    OUTLET_TURN,
    KeptFigures,
    LineOverdue,
    LineOverdueBelow,
    LineStats,
    LineStatsBelow,
    LineStatsMonth,
    LineStatus,
    RectificationLine,
)

COUNTERS = ("issued", "acknowledged", "answered", "closed", "withdrawn", "extended", "close_seconds")


def month_of(moment: dt.datetime, zone: str) -> dt.date:
    return clock.month_start(clock.local_date(moment, zone))


def _upsert(session: Session, model, key: dict, deltas: dict) -> None:
    dialect = session.get_bind().dialect.name
    values = {**key, **{c: deltas.get(c, 0) for c in COUNTERS}}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = model.__table__
    statement = insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNTERS if c in deltas},
    )
    session.execute(statement)


def bump(session: Session, line: RectificationLine, outlet: Outlet, **deltas) -> None:
    """Add ``deltas`` (e.g. closed=1, close_seconds=…) to the line's rows (by kind and severity,
    the month's sum, and the month's sum below each unit above the outlet's)."""
    month = {"unit_id": outlet.unit_id, "month": month_of(line.issued_at, outlet.timezone)}
    _upsert(session, LineStats, {**month, "checklist_kind": line.checklist_kind, "severity": line.severity}, deltas)
    _bump_month(session, month, deltas)


def _bump_month(session: Session, month: dict, deltas: dict) -> None:
    _upsert(session, LineStatsMonth, month, deltas)
    for unit_id in _units_above(session, month["unit_id"]):
        _upsert(session, LineStatsBelow, {**month, "unit_id": unit_id}, deltas)


def _units_above(session: Session, unit_id: int) -> list[int]:
    """The units above a unit, from its path (units never move; read once per session)."""
    known = session.info.setdefault("units_above", {})
    if unit_id not in known:
        path = session.execute(select(Unit.path).where(Unit.id == unit_id)).scalar_one_or_none() or ""
        known[unit_id] = units_on(path)[:-1]
    return known[unit_id]


#: Each unit with every unit above it (``up.unit_id`` below ``up.above_id``), from the units'
#: parents: the sums below a unit from the rows of the units under it, on SQLite and PostgreSQL.
_UNITS_ABOVE = ("WITH RECURSIVE up (unit_id, above_id) AS (SELECT id, parent_id FROM unit WHERE parent_id IS NOT NULL"
                " UNION ALL SELECT up.unit_id, unit.parent_id FROM up JOIN unit ON unit.id = up.above_id"
                " WHERE unit.parent_id IS NOT NULL) ")


def sum_months(session: Session) -> int:
    """``line_stats_month`` from ``line_stats``, and ``line_stats_below`` from it, in the database."""
    session.execute(sa.delete(LineStatsMonth))
    columns = ", ".join(COUNTERS)
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    count = session.execute(sa.text(f"INSERT INTO line_stats_month (unit_id, month, {columns}) "
                                     f"SELECT unit_id, month, {sums} FROM line_stats GROUP BY unit_id, month")).rowcount
    session.execute(sa.delete(LineStatsBelow))
    session.execute(sa.text(f"{_UNITS_ABOVE}INSERT INTO line_stats_below (unit_id, month, {columns}) "
                            f"SELECT up.above_id, month, {sums} FROM line_stats_month "
                            f"JOIN up ON up.unit_id = line_stats_month.unit_id GROUP BY up.above_id, month"))
    return count


#: The totals by SQL on PostgreSQL, which knows the outlets' zones: one pass over the lines (the
#: national dataset's 10 million in under a minute, where reading them into Python took minutes).
_REBUILD_SQL = """
INSERT INTO line_stats (unit_id, month, checklist_kind, severity, issued, acknowledged, answered, closed, withdrawn,
                        extended, close_seconds)
SELECT o.unit_id, date_trunc('month', l.issued_at AT TIME ZONE o.timezone)::date, l.checklist_kind, l.severity,
       count(*), count(l.acknowledged_at), count(l.answered_at),
       count(*) FILTER (WHERE l.status = 'closed' AND l.closed_at IS NOT NULL),
       count(*) FILTER (WHERE l.status = 'withdrawn'), coalesce(sum(l.extensions), 0),
       coalesce(sum(extract(epoch FROM l.closed_at - l.issued_at))
                FILTER (WHERE l.status = 'closed' AND l.closed_at IS NOT NULL), 0)
FROM rectification_line l JOIN outlet o ON o.id = l.outlet_id
GROUP BY 1, 2, 3, 4
"""


def rebuild(session: Session) -> int:
    """Recompute every row from the lines themselves (after an import, or to check the totals)."""
    session.execute(sa.delete(LineStats))
    if session.get_bind().dialect.name == "postgresql":
        count = session.execute(sa.text(_REBUILD_SQL)).rowcount
    else:
        rows = totals_from_lines(session)
        for start in range(0, len(rows), 10_000):
            session.execute(sa.insert(LineStats.__table__), rows[start:start + 10_000])
        count = len(rows)
    sum_months(session)
    return count


def totals_from_lines(session: Session, units: dict[int, int] | None = None) -> list[dict]:
    """The rows of ``line_stats`` computed in Python (SQLite has no time zones): of every line, or
    of the lines of the outlets in ``units`` ({outlet id: the unit to count them for})."""
    query = select(RectificationLine.outlet_id, RectificationLine.issued_at, RectificationLine.checklist_kind,
                   RectificationLine.severity, RectificationLine.status, RectificationLine.acknowledged_at,
                   RectificationLine.answered_at, RectificationLine.closed_at, RectificationLine.extensions)
    outlets = select(Outlet.id, Outlet.timezone)
    if units is None:
        units = dict(session.execute(select(Outlet.id, Outlet.unit_id)).all())
    else:  # only those outlets' lines, and their zones
        query = query.where(RectificationLine.outlet_id.in_(list(units)))
        outlets = outlets.where(Outlet.id.in_(list(units)))
    zones = dict(session.execute(outlets).all())
    totals: dict[tuple, dict] = {}
    for outlet_id, issued, kind, severity, status, ack, answered, closed, extensions in session.execute(
            query.execution_options(yield_per=50_000)):
        if issued.tzinfo is None:
            issued = issued.replace(tzinfo=dt.timezone.utc)
        key = (units[outlet_id], month_of(issued, zones[outlet_id]), kind, severity)
        row = totals.setdefault(key, dict.fromkeys(COUNTERS, 0))
        row["issued"] += 1
        row["acknowledged"] += ack is not None
        row["answered"] += answered is not None
        if status == LineStatus.closed and closed is not None:
            row["closed"] += 1
            if closed.tzinfo is None:
                closed = closed.replace(tzinfo=dt.timezone.utc)
            row["close_seconds"] += (closed - issued).total_seconds()
        row["withdrawn"] += status == LineStatus.withdrawn
        row["extended"] += extensions or 0
    return [{"unit_id": k[0], "month": k[1], "checklist_kind": k[2], "severity": k[3], **v} for k, v in totals.items()]


def move_outlets(_sender, *, session: Session, moves: dict[int, tuple[int, int]]) -> None:
    """Outlets moved to another unit (``signals.outlets_moved``): what their lines counted goes from
    the old unit's rows to the new one's (the late-line counts follow at the next sweep)."""
    # the lines read once, counted per outlet (keyed by the outlet's own id), then moved unit to unit
    for row in totals_from_lines(session, {outlet_id: outlet_id for outlet_id in moves}):
        for sign, unit_id in zip((-1, 1), moves[row["unit_id"]]):
            deltas = {name: sign * row[name] for name in COUNTERS}
            month = {"unit_id": unit_id, "month": row["month"]}
            _upsert(session, LineStats, {**month, "checklist_kind": row["checklist_kind"], "severity": row["severity"]},
                    deltas)
            _bump_month(session, month, deltas)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def keep_overdue(session: Session, now: dt.datetime | None = None) -> int:
    """Count the late lines again into ``LineOverdue`` (one pass over the open lines past their
    deadline, streamed), sum them below each unit (``LineOverdueBelow``) and note when; returns
    how many rows it wrote."""
    now = now or clock.now()
    zones = dict(session.execute(select(Outlet.id, Outlet.timezone)).all())
    units = dict(session.execute(select(Outlet.id, Outlet.unit_id)).all())
    totals: dict[tuple, list] = {}
    query = (select(RectificationLine.outlet_id, RectificationLine.issued_at, RectificationLine.checklist_kind,
                    RectificationLine.severity, RectificationLine.deadline_at)
             .where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at <= now))
    for outlet_id, issued, kind, severity, deadline in session.execute(query.execution_options(yield_per=50_000)):
        key = (units[outlet_id], month_of(_aware(issued), zones[outlet_id]), kind, severity)
        row = totals.get(key)
        deadline = _aware(deadline)
        if row is None:
            totals[key] = [1, deadline]
        else:
            row[0] += 1
            if deadline < row[1]:
                row[1] = deadline
    session.execute(sa.delete(LineOverdue))
    rows = [{"unit_id": k[0], "month": k[1], "checklist_kind": k[2], "severity": k[3], "overdue": n,
             "oldest_deadline_at": oldest} for k, (n, oldest) in totals.items()]
    for start in range(0, len(rows), 10_000):
        session.execute(sa.insert(LineOverdue.__table__), rows[start:start + 10_000])
    session.execute(sa.delete(LineOverdueBelow))
    session.execute(sa.text(f"{_UNITS_ABOVE}INSERT INTO line_overdue_below (unit_id, month, overdue, oldest_deadline_at) "
                            "SELECT up.above_id, month, sum(overdue), min(oldest_deadline_at) FROM line_overdue "
                            "JOIN up ON up.unit_id = line_overdue.unit_id GROUP BY up.above_id, month"))
    kept = session.get(KeptFigures, "line_overdue")
    if kept is None:
        session.add(KeptFigures(name="line_overdue", computed_at=now))
    else:
        kept.computed_at = now
        session.add(kept)
    session.flush()
    return len(rows)


def overdue_kept_at(session: Session) -> dt.datetime | None:
    kept = session.get(KeptFigures, "line_overdue")
    return _aware(kept.computed_at) if kept is not None else None
