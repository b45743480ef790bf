"""Keeping ``ComplaintStatsMonth``: what each complaint adds to the months of its county and every
unit above it, kept in the transaction that changes it, and a full recount from the complaints.

A complaint counts by the columns the board's live figures read (``queries.by_child_units``): in
the month it was received (where the network is) as received, at fault (its verdict) and an appeal
(its source); in the month it was concluded as concluded and, not handed on nor reopened, resolved
at first contact. Every flush that adds, changes or deletes complaints takes off what each of them
added before and adds what it adds now (one upsert per unit, month and category touched, by
increment, so two transactions changing the same unit's month both count). Statements that
write complaints without the ORM (the national demo's COPY) are followed by ``rebuild``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints.models import AT_FAULT, Complaint, ComplaintStatsMonth
from inspect_app.org.models import Outlet, Unit

#: The columns a complaint's counts depend on.
FIELDS = ("outlet_id", "received_at", "category", "verdict", "source", "concluded_at", "handed_on", "reopened")
COUNTERS = ("received", "at_fault", "appeals", "concluded", "first_contact")
_PENDING = "complaint_stats_deltas"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def month_of(moment: dt.datetime, zone: str) -> dt.date:
    return clock.month_start(clock.local_date(_aware(moment), zone))


def units_on(path: str) -> list[int]:
    """The unit ids of a unit's path (``/1/13/130/``): the unit and every unit above it."""
    return [int(part) for part in path.strip("/").split("/") if part]


def contributions(state: dict, path: str, zone: str) -> list[tuple[tuple[int, dt.date, str], dict[str, int]]]:
    """What one complaint (its ``FIELDS`` as a dict, at an outlet of the unit at ``path``) adds:
    ((unit, month, category), counts) for its county and every unit above it."""
    out = []
    for unit_id in units_on(path):
        if state["received_at"] is not None:
            out.append(((unit_id, month_of(state["received_at"], zone), state["category"]), {
                "received": 1, "at_fault": int(state["verdict"] in AT_FAULT),
                "appeals": int(state["source"] == "appeal")}))
        if state["concluded_at"] is not None:
            out.append(((unit_id, month_of(state["concluded_at"], zone), state["category"]), {
                "concluded": 1, "first_contact": int(not state["handed_on"] and not state["reopened"])}))
    return out


def _count(deltas: dict[tuple, Counter], sign: int, state: dict, path: str, zone: str) -> None:
    """Add (``sign`` 1) or take off (-1) what a complaint counts into ``deltas``."""
    for key, counts in contributions(state, path, zone):
        total = deltas.setdefault(key, Counter())
        for name, value in counts.items():
            total[name] += sign * value


def _before(complaint: Complaint) -> dict | None:
    """The complaint's columns as last flushed, from the ORM's history; None where one is unknown
    (set without being loaded) and must be read from the database."""
    attrs = sa.inspect(complaint).attrs
    state = {}
    for name in FIELDS:
        history = attrs[name].history
        if history.deleted:
            state[name] = history.deleted[0]
        elif history.unchanged:
            state[name] = history.unchanged[0]
        else:
            return None
    return state


@event.listens_for(OrmSession, "before_flush")
def _note_changes(session, _flush_context, _instances) -> None:
    """Work out the changes of counts of the complaints this flush writes (the values before are
    still in the history, or in the database for columns set unread)."""
    new = [o for o in session.new if isinstance(o, Complaint)]
    changed = [o for o in session.dirty if isinstance(o, Complaint) and session.is_modified(o)]
    gone = [o for o in session.deleted if isinstance(o, Complaint)]
    if not (new or changed or gone):
        return
    befores: list[dict] = []
    unread: list[int] = []
    for complaint in (*changed, *gone):
        state = _before(complaint)
        if state is None:
            unread.append(complaint.id)
        else:
            befores.append(state)
    if unread:
        rows = session.connection().execute(
            select(*[getattr(Complaint, name) for name in FIELDS]).where(Complaint.id.in_(unread))).all()
        befores.extend(dict(zip(FIELDS, row)) for row in rows)
    afters = [{name: getattr(o, name) for name in FIELDS} for o in (*new, *changed)]
    outlets = {s["outlet_id"] for s in (*befores, *afters)}
    paths = dict(session.connection().execute(select(Outlet.id, Unit.path).join(Unit, Unit.id == Outlet.unit_id)
                                              .where(Outlet.id.in_(outlets))).all())
    zone = clock.default_zone()
    deltas: dict[tuple, Counter] = session.info.setdefault(_PENDING, {})
    for sign, states in ((-1, befores), (1, afters)):
        for state in states:
            if state["outlet_id"] in paths:
                _count(deltas, sign, state, paths[state["outlet_id"]], zone)


@event.listens_for(OrmSession, "after_flush")
def _apply_changes(session, _flush_context) -> None:
    """Add the changes noted before the flush, once its rows are written (a flush that failed
    added nothing)."""
    deltas = session.info.pop(_PENDING, None)
    if deltas:
        _add(session.connection(), deltas)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_changes(session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)


def _add(connection, deltas: dict[tuple, Counter]) -> None:
    """Add each (unit, month, category)'s changes, in key order (two transactions lock the same rows
    in the same order)."""
    for key in sorted(deltas):
        counts = {name: value for name, value in deltas[key].items() if value}
        if counts:
            _upsert(connection, dict(zip(("unit_id", "month", "category"), key)), counts)


def _upsert(connection, key: dict, deltas: dict[str, int]) -> None:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ComplaintStatsMonth.__table__
    statement = insert(table).values(**key, **{name: deltas.get(name, 0) for name in COUNTERS})
    connection.execute(statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={name: table.c[name] + statement.excluded[name] for name in deltas}))


#: The counts by SQL on PostgreSQL (one pass over the complaints; the national 300,000 in seconds),
#: each complaint's counted for every unit on its county's path.
_REBUILD_SQL = """
INSERT INTO complaint_stats_month (unit_id, month, category, received, at_fault, appeals, concluded, first_contact)
SELECT up.unit_id, month, category, sum(received), sum(at_fault), sum(appeals), sum(concluded), sum(first_contact)
FROM (
    SELECT o.unit_id, date_trunc('month', c.received_at AT TIME ZONE :zone)::date AS month, c.category,
           1 AS received, CASE WHEN c.verdict IN ('substantiated', 'partly') THEN 1 ELSE 0 END AS at_fault,
           CASE WHEN c.source = 'appeal' THEN 1 ELSE 0 END AS appeals, 0 AS concluded, 0 AS first_contact
    FROM complaint c JOIN outlet o ON o.id = c.outlet_id
    UNION ALL
    SELECT o.unit_id, date_trunc('month', c.concluded_at AT TIME ZONE :zone)::date, c.category, 0, 0, 0, 1,
           CASE WHEN c.handed_on = 0 AND c.reopened = 0 THEN 1 ELSE 0 END
    FROM complaint c JOIN outlet o ON o.id = c.outlet_id WHERE c.concluded_at IS NOT NULL
) counted
JOIN unit u ON u.id = counted.unit_id
CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from u.path), '/')::int[]) AS up(unit_id)
GROUP BY up.unit_id, month, category
"""
assert set(AT_FAULT) == {"substantiated", "partly"}, "_REBUILD_SQL names the verdicts at fault"


def move_outlets(_sender, *, session: Session, moves: dict[int, tuple[int, int]]) -> None:
    """Outlets moved to another unit (``signals.outlets_moved``): what their complaints counted goes
    from the units above the old unit to those above the new one."""
    paths = dict(session.execute(select(Unit.id, Unit.path).where(
        Unit.id.in_({unit for pair in moves.values() for unit in pair}))).all())
    zone = clock.default_zone()
    deltas: dict[tuple, Counter] = {}
    for row in session.execute(select(*[getattr(Complaint, name) for name in FIELDS])
                               .where(Complaint.outlet_id.in_(list(moves)))):
        state = dict(zip(FIELDS, row))
        before, after = moves[state["outlet_id"]]
        _count(deltas, -1, state, paths[before], zone)
        _count(deltas, 1, state, paths[after], zone)
    _add(session.connection(), deltas)


def rebuild(session: Session) -> int:
    """Count every row again from the complaints; returns how many rows it wrote."""
    session.execute(sa.delete(ComplaintStatsMonth))
    zone = clock.default_zone()
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(sa.text(_REBUILD_SQL), {"zone": zone}).rowcount
    paths = dict(session.execute(select(Outlet.id, Unit.path).join(Unit, Unit.id == Outlet.unit_id)).all())
    totals: dict[tuple, Counter] = {}
    for row in session.execute(select(*[getattr(Complaint, name) for name in FIELDS])
                               .execution_options(yield_per=50_000)):
        state = dict(zip(FIELDS, row))
        _count(totals, 1, state, paths[state["outlet_id"]], zone)
    rows = [{"unit_id": k[0], "month": k[1], "category": k[2], **{n: c.get(n, 0) for n in COUNTERS}}
            for k, c in totals.items()]
    for start in range(0, len(rows), 10_000):
        session.execute(sa.insert(ComplaintStatsMonth.__table__), rows[start:start + 10_000])
    return len(rows)
