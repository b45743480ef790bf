"""Coverage (检查覆盖): of the visits planned for a period, how many were done, how many missed.

One definition, used by the coverage page, the board, the bulletins and the indicator
``inspections.plan_done`` alike, so their figures agree:

- a *planned visit* has a date window (a plan made it, or a manager scheduled it by hand), is not
  cancelled and its outlet is in service; it counts for the period in which its window ends;
- it is *done* when it was submitted (a secret visit: in review or released) by the end of its
  window's last day at the outlet;
- it is *missed* when that day is over at the outlet and it is not done (done late is missed);
- otherwise it is *open*;
- coverage = done ÷ planned (%); an outlet is *visited* when one of its planned visits is done.

Self-inspections (自查: the outlets' own chiefs' planned checks) are counted apart: coverage of
inspections leaves them out (unless the network counts them in, ``SELF_INSPECTION_IN_RANKINGS``),
and ``self_inspection=True`` counts them alone (the self-inspection page and the chief's home).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.db import in_ids
from inspect_app.numbers import half_up
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.visits.models import SELF_KIND, Visit, VisitStatus
from inspect_app.visits.queries import inspection_visits

#: Statuses of a visit that has been handed in (a secret one returned to its shopper is not).
DONE_STATUSES = (VisitStatus.in_review, VisitStatus.released)


def planned_clause(first: dt.date, end: dt.date, *, self_inspection: bool = False):
    """A WHERE clause on ``Visit`` joined to its ``Outlet``: planned visits whose window ends in
    [first, end), at outlets in service (as the indicators count outlets); inspections, or with
    ``self_inspection`` the self-inspections only."""
    kinds = Visit.kind == SELF_KIND if self_inspection else inspection_visits()
    return sa.and_(Visit.due_from.is_not(None), Visit.due_until.is_not(None), Visit.due_until >= first,
                   Visit.due_until < end, Visit.status != VisitStatus.cancelled, Outlet.active.is_(True), kinds)


def is_done(status: str, submitted_at: dt.datetime | None, due_until: dt.date, zone: str) -> bool:
    return (status in DONE_STATUSES and submitted_at is not None
            and submitted_at < clock.day_end(due_until, zone))


def state_of(status: str, submitted_at: dt.datetime | None, due_until: dt.date, zone: str,
             now: dt.datetime) -> str:
    """done | missed | open."""
    if is_done(status, submitted_at, due_until, zone):
        return "done"
    return "missed" if now >= clock.day_end(due_until, zone) else "open"


def visit_state(visit: Visit, outlet: Outlet, now: dt.datetime | None = None) -> str:
    return state_of(visit.status, visit.submitted_at, visit.due_until, outlet.timezone, now or clock.now())


def outlet_rows(session: Session, first: dt.date, end: dt.date, *, now: dt.datetime | None = None,
                where=None, self_inspection: bool = False, unit_of: dict | None = None) -> list[tuple[int, int, int, int]]:
    """``(outlet id, planned, done, missed)`` per outlet for windows ending in [first, end), in one
    read (the zone of each outlet decides its days); ``unit_of`` gets each outlet's unit."""
    now = now or clock.now()
    query = (select(Visit.outlet_id, Visit.status, Visit.submitted_at, Visit.due_until, Outlet.timezone,
                    Outlet.unit_id)
             .join(Outlet, Outlet.id == Visit.outlet_id)
             .where(planned_clause(first, end, self_inspection=self_inspection)))
    if where is not None:
        query = query.where(where)
    sums: dict[int, list[int]] = {}
    for outlet_id, status, submitted, due, zone, unit_id in session.execute(query).all():
        if unit_of is not None:
            unit_of[outlet_id] = unit_id
        state = state_of(status, submitted, due, zone, now)
        acc = sums.setdefault(outlet_id, [0, 0, 0])
        acc[0] += 1
        acc[1] += state == "done"
        acc[2] += state == "missed"
    return [(outlet_id, *acc) for outlet_id, acc in sums.items()]


@dataclass
class UnitCoverage:
    """One row of the coverage table: a unit (or an outlet, below a county)."""

    key: int
    name: str
    kind: str = "unit"  # unit | outlet
    code: str = ""
    planned: int = 0
    done: int = 0
    missed: int = 0
    outlets_planned: int = 0
    outlets_visited: int = 0

    @property
    def open(self) -> int:
        return self.planned - self.done - self.missed

    @property
    def percent(self) -> Decimal | None:
        return half_up(Decimal(self.done * 100) / self.planned) if self.planned else None

    def add(self, planned: int, done: int, missed: int) -> None:
        self.planned += planned
        self.done += done
        self.missed += missed
        self.outlets_planned += 1
        self.outlets_visited += 1 if done else 0


def unit_paths(session: Session, node: Unit | None) -> tuple[dict[int, str], dict[int, Unit]]:
    """The paths of the units under ``node`` (every unit without one), and the node's children
    and the node itself as objects: what a row per child needs (the nation's 3,200 units made
    objects twice took most of a county's self-inspection page)."""
    under = Unit.path.startswith(node.path, autoescape=True) if node is not None else sa.true()
    paths = dict(session.execute(select(Unit.id, Unit.path).where(under)).all())
    named = (sa.or_(Unit.parent_id == node.id, Unit.id == node.id) if node is not None
             else Unit.parent_id.is_(None))
    return paths, {u.id: u for u in session.exec(select(Unit).where(named)).all()}


def child_of(paths: dict[int, str], children: dict[int, Unit], depth: int, unit_id: int) -> Unit | None:
    """The child (of the node at ``depth``) holding the unit, the node itself for its own outlets;
    None outside the node."""
    path = paths.get(unit_id)
    if path is None:
        return None
    parts = [int(p) for p in path.strip("/").split("/")]
    return children.get(parts[depth] if len(parts) > depth else unit_id)


def by_child_units(session: Session, *, node: Unit | None, allowed: dict[int, int] | None, first: dt.date,
                   end: dt.date, now: dt.datetime | None = None, self_inspection: bool = False,
                   rows: list[tuple[int, int, int, int]] | None = None) -> tuple[list[UnitCoverage], UnitCoverage]:
    """Coverage per child unit of ``node`` (per outlet below a county, per top unit without a
    node), over the outlets ``allowed`` (outlet id → unit id: the viewer's scope; None: every
    outlet, their units read with their visits), and the total. ``rows``: ``outlet_rows`` of the
    period when the caller read them already (with ``allowed`` given)."""
    by_outlet = node is not None and node.level == "county"
    paths, children = unit_paths(session, node)
    names = {o: (name, code) for o, name, code in session.execute(
        select(Outlet.id, Outlet.name, Outlet.code).where(Outlet.unit_id == node.id)).all()} if by_outlet else {}
    depth = node.path.count("/") - 1 if node is not None else 0
    if rows is None:
        # a small scope's planned visits through its outlets; the country's all of them (the
        # outlets' own ids would be 50,000 parameters)
        few = org.few_outlets(allowed) if allowed is not None else None
        where = in_ids(session, Visit.outlet_id, few) if few is not None else None
        unit_of: dict[int, int] = {}
        rows = outlet_rows(session, first, end, now=now, where=where, self_inspection=self_inspection,
                           unit_of=unit_of if allowed is None else None)
        allowed = unit_of if allowed is None else allowed
    elif allowed is None:
        raise ValueError("rows read before come with the outlets allowed")
    by_key: dict[int, UnitCoverage] = {}
    total = UnitCoverage(node.id if node else 0, node.name if node else "")
    for outlet_id, planned, done, missed in rows:
        unit_id = allowed.get(outlet_id)
        if unit_id is None:
            continue
        if by_outlet:
            if unit_id != node.id:
                continue
            name, code = names.get(outlet_id, ("?", ""))
            row = by_key.setdefault(outlet_id, UnitCoverage(outlet_id, name, "outlet", code))
        else:
            child = child_of(paths, children, depth, unit_id)
            if child is None:
                continue
            row = by_key.setdefault(child.id, UnitCoverage(child.id, child.name, "unit", child.code))
        row.add(planned, done, missed)
        total.add(planned, done, missed)
    return sorted(by_key.values(), key=lambda r: r.code), total


def planned_visits(session: Session, *, first: dt.date, end: dt.date, outlet_ids: Iterable[int] | None = None,
                   where=None, state: str | None = None, now: dt.datetime | None = None,
                   self_inspection: bool = False) -> list[tuple[Visit, Outlet]]:
    """The planned visits of the period at these outlets (or those ``where`` allows: a clause on
    ``Outlet``), by window end, with their outlet; only those in ``state`` (done, missed, open)."""
    now = now or clock.now()
    query = (select(Visit, Outlet).join(Outlet, Outlet.id == Visit.outlet_id)
             .where(planned_clause(first, end, self_inspection=self_inspection))
             .order_by(Visit.due_until, Outlet.code, Visit.id))
    if outlet_ids is not None:
        ids = list(outlet_ids)
        query = query.where(Visit.outlet_id.in_(ids or [-1]))
    if where is not None:
        query = query.where(where)
    rows = [tuple(r) for r in session.execute(query).all()]
    if state is None:
        return rows
    return [(v, o) for v, o in rows if visit_state(v, o, now) == state]


def missed_count(session: Session, *, where, first: dt.date, end: dt.date, now: dt.datetime | None = None) -> int:
    """How many planned visits of [first, end) at the outlets ``where`` allows were missed (one read)."""
    return sum(row[3] for row in outlet_rows(session, first, end, now=now, where=where))
