"""Keeping ``ComplaintStatsMonth``: what each complaint adds to the months of its county and every
unit above it, kept in the transaction that changes it, and a full recount from the complaints.

A complaint counts by the columns the board's live figures read (``queries.by_child_units``): in
the month it was received (where the network is) as received, at fault (its verdict) and an appeal
(its source); in the month it was concluded as concluded and, not handed on nor reopened, resolved
at first contact. Every flush that adds, changes or deletes complaints takes off what each of them
added before and adds what it adds now (one upsert per unit, month and category touched, by
increment, so two transactions changing the same unit's month both count). Statements that
write complaints without the ORM (the national demo's COPY) are followed by ``rebuild``.

The same flushes keep each outlet's and each unit's newest complaint at fault
(``ComplaintLastFault``, ``ComplaintLastFaultUnit``: the 零投诉 streaks): an outlet whose at-fault
complaints a flush touches is read again from its own complaints (one indexed read); a unit above
it takes the newer moment by upsert, and is counted again from its outlets' rows only when one of
them went back (a verdict changed to unfounded, a complaint deleted) or an outlet moved.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints.models import (
    AT_FAULT,
    Complaint,
    ComplaintLastFault,
    ComplaintLastFaultUnit,
    ComplaintStatsMonth,
)
from inspect_app.org.models import Outlet, Unit, units_on

#: The columns a complaint's counts depend on.
FIELDS = ("outlet_id", "received_at", "category", "verdict", "source", "concluded_at", "handed_on", "reopened")
COUNTERS = ("received", "at_fault", "appeals", "concluded", "first_contact")
_PENDING = "complaint_stats_deltas"
_LAST_PENDING = "complaint_last_fault_outlets"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def month_of(moment: dt.datetime, zone: str) -> dt.date:
    return clock.month_start(clock.local_date(_aware(moment), zone))


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
    session.info.setdefault(_LAST_PENDING, set()).update(
        s["outlet_id"] for s in (*befores, *afters) if s["verdict"] in AT_FAULT)
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
    outlets = session.info.pop(_LAST_PENDING, None)
    if outlets:
        keep_last(session.connection(), outlets)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_changes(session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_LAST_PENDING, None)


def _add(connection, deltas: dict[tuple, Counter]) -> None:
    """Add each (unit, month, category)'s changes, in key order (two transactions lock the same rows
    in the same order)."""
    for key in sorted(deltas):
        counts = {name: value for name, value in deltas[key].items() if value}
        if counts:
            _upsert(connection, dict(zip(("unit_id", "month", "category"), key)), counts)


def _insert(connection):
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _upsert(connection, key: dict, deltas: dict[str, int]) -> None:
    insert = _insert(connection)
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
    move_last(session, moves)


# --- the newest complaint at fault, per outlet and per unit ------------------------------------------

def _newest(connection, outlets: list[int]) -> dict[int, dt.datetime]:
    """The outlets' newest complaints at fault, from their complaints (the at-fault index by outlet)."""
    return {outlet_id: _aware(moment) for outlet_id, moment in connection.execute(
        select(Complaint.outlet_id, sa.func.max(Complaint.received_at))
        .where(Complaint.outlet_id.in_(outlets), Complaint.verdict.in_(AT_FAULT)).group_by(Complaint.outlet_id))}


def _set_last(connection, model, key: str, rows: dict[int, dt.datetime], *, newer_only: bool) -> None:
    """Write ``rows`` (id → moment) into ``model``'s table, in id order; ``newer_only``: a row kept
    keeps its moment when it is newer (two transactions raising the same unit)."""
    if not rows:
        return
    table = model.__table__
    insert = _insert(connection)
    statement = insert(table).values([{key: ident, "last_at": rows[ident]} for ident in sorted(rows)])
    moment = statement.excluded.last_at
    if newer_only:
        newer = sa.func.greatest if connection.dialect.name == "postgresql" else sa.func.max
        moment = newer(table.c.last_at, statement.excluded.last_at)
    connection.execute(statement.on_conflict_do_update(index_elements=[table.c[key]], set_={"last_at": moment}))


def _recount_units(connection, units: set[int]) -> None:
    """Count units' newest at fault again from the rows of the outlets under them."""
    if not units:
        return
    paths = dict(connection.execute(select(Unit.id, Unit.path).where(Unit.id.in_(units))).all())
    found = {}
    for unit_id, path in paths.items():
        moment = connection.execute(
            select(sa.func.max(ComplaintLastFault.last_at)).join(Outlet, Outlet.id == ComplaintLastFault.outlet_id)
            .join(Unit, Unit.id == Outlet.unit_id).where(Unit.path.startswith(path, autoescape=True))).scalar()
        if moment is not None:
            found[unit_id] = moment
    if set(paths) - set(found):
        connection.execute(sa.delete(ComplaintLastFaultUnit).where(
            ComplaintLastFaultUnit.unit_id.in_(set(paths) - set(found))))
    _set_last(connection, ComplaintLastFaultUnit, "unit_id", found, newer_only=False)


def keep_last(connection, outlets: set[int]) -> None:
    """The outlets' newest at fault read again, and the units above each one that changed: raised by
    upsert, counted again when it went back or went away."""
    ids = sorted(outlets)
    now_last = _newest(connection, ids)
    kept = {outlet_id: _aware(moment) for outlet_id, moment in connection.execute(
        select(ComplaintLastFault.outlet_id, ComplaintLastFault.last_at).where(ComplaintLastFault.outlet_id.in_(ids)))}
    changed = [outlet_id for outlet_id in ids if now_last.get(outlet_id) != kept.get(outlet_id)]
    if not changed:
        return
    gone = [outlet_id for outlet_id in changed if outlet_id not in now_last]
    if gone:
        connection.execute(sa.delete(ComplaintLastFault).where(ComplaintLastFault.outlet_id.in_(gone)))
    _set_last(connection, ComplaintLastFault, "outlet_id", {o: now_last[o] for o in changed if o in now_last},
              newer_only=False)
    paths = dict(connection.execute(select(Outlet.id, Unit.path).join(Unit, Unit.id == Outlet.unit_id)
                                    .where(Outlet.id.in_(changed))).all())
    raised: dict[int, dt.datetime] = {}
    lowered: set[int] = set()
    for outlet_id in changed:
        moment, before = now_last.get(outlet_id), kept.get(outlet_id)
        for unit_id in units_on(paths.get(outlet_id, "")):
            if moment is not None and (before is None or moment > before):
                raised[unit_id] = max(moment, raised.get(unit_id, moment))
            else:
                lowered.add(unit_id)
    _set_last(connection, ComplaintLastFaultUnit, "unit_id",
              {unit_id: moment for unit_id, moment in raised.items() if unit_id not in lowered}, newer_only=True)
    _recount_units(connection, lowered)


def move_last(session: Session, moves: dict[int, tuple[int, int]]) -> None:
    """Outlets moved: the units above their old and new units counted again (those with a row)."""
    held = session.execute(select(ComplaintLastFault.outlet_id).where(
        ComplaintLastFault.outlet_id.in_(list(moves)))).scalars().all()
    if not held:
        return
    paths = session.execute(select(Unit.path).where(
        Unit.id.in_({unit for outlet_id in held for unit in moves[outlet_id]}))).scalars().all()
    _recount_units(session.connection(), {unit_id for path in paths for unit_id in units_on(path)})


def rebuild_last(session: Session) -> int:
    """Every outlet's and unit's newest at fault again from the complaints; returns the rows written."""
    session.execute(sa.delete(ComplaintLastFaultUnit))
    session.execute(sa.delete(ComplaintLastFault))
    outlets = session.execute(sa.insert(ComplaintLastFault.__table__).from_select(
        ["outlet_id", "last_at"], select(Complaint.outlet_id, sa.func.max(Complaint.received_at))
        .where(Complaint.verdict.in_(AT_FAULT)).group_by(Complaint.outlet_id))).rowcount
    units: dict[int, dt.datetime] = {}
    for path, moment in session.execute(
            select(Unit.path, sa.func.max(ComplaintLastFault.last_at)).join(Outlet, Outlet.unit_id == Unit.id)
            .join(ComplaintLastFault, ComplaintLastFault.outlet_id == Outlet.id).group_by(Unit.path)):
        for unit_id in units_on(path):
            units[unit_id] = max(moment, units.get(unit_id, moment))
    rows = [{"unit_id": unit_id, "last_at": moment} for unit_id, moment in sorted(units.items())]
    for start in range(0, len(rows), 10_000):
        session.execute(sa.insert(ComplaintLastFaultUnit.__table__), rows[start:start + 10_000])
    return outlets + len(rows)


def rebuild(session: Session) -> int:
    """Count every row again from the complaints (the month counts and the newest at fault); returns
    how many rows it wrote."""
    return _rebuild_months(session) + rebuild_last(session)


def _rebuild_months(session: Session) -> int:
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
