"""The rows behind one indicator's value for one unit and period: the visits, lines, complaints,
callbacks or imported values it was computed from, selected by the same conditions as
``sources`` (a row here is a row counted there), each with what it contributed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints.models import AT_FAULT, Callback, Complaint
from inspect_app.indicators.definition import Indicator
from inspect_app.indicators.models import OperatingValue
from inspect_app.indicators.sources import Period
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits.models import Visit, VisitStatus

LIMIT = 500


@dataclass
class Rows:
    """A table: column labels, rows of cells, a link per row (or None), and how many there were."""

    columns: list
    rows: list[list] = field(default_factory=list)
    links: list[tuple[str, dict] | None] = field(default_factory=list)
    total: int = 0
    #: Rows that count (the numerator) are marked; the others are the denominator's rest.
    counted: list[bool] = field(default_factory=list)


def _outlets(session: Session, unit: Unit) -> dict[int, Outlet]:
    rows = session.exec(select(Outlet).join(Unit, Unit.id == Outlet.unit_id)
                        .where(Unit.path.startswith(unit.path), Outlet.active.is_(True))).all()
    return {o.id: o for o in rows}


def _local(moment: dt.datetime | None, zone: str) -> str:
    return "" if moment is None else f"{moment.astimezone(clock.zone(zone)):%Y-%m-%d %H:%M}"


def rows_behind(session: Session, indicator: Indicator, unit: Unit, period: Period, zone: str, *,
                limit: int | None = LIMIT) -> Rows:
    now = clock.now()
    since = clock.day_start(period.start, zone)
    until = max(since, min(clock.day_start(period.end, zone), now))
    outlets = _outlets(session, unit)
    ids = list(outlets)
    source = indicator.source
    if source.startswith("inspections."):
        return _visit_rows(session, indicator, outlets, ids, since, until, period, zone, limit)
    if source.startswith("rectification."):
        return _line_rows(session, indicator, outlets, ids, since, until, zone, limit)
    if source == "complaints.satisfaction":
        return _callback_rows(session, outlets, ids, since, until, zone, limit)
    if source.startswith("complaints."):
        return _complaint_rows(session, indicator, outlets, ids, since, until, zone, limit)
    return _imported_rows(session, indicator, unit, period, zone, limit)


def _visit_rows(session, indicator, outlets, ids, since, until, period, zone, limit) -> Rows:
    if indicator.source == "inspections.plan_done":
        # the planned visits as plan coverage counts them (``plans.coverage``), each done or not
        found = coverage.planned_visits(session, first=period.start, end=period.end, outlet_ids=ids)
        out = Rows([_l("Outlet"), _l("Window"), _l("Submitted"), _l("Done in time")], total=len(found))
        now = clock.now()
        for visit, outlet in found[:limit]:
            done = coverage.visit_state(visit, outlet, now) == "done"
            out.rows.append([outlet.name, f"{visit.due_from} – {visit.due_until}",
                             _local(visit.submitted_at, zone), done])
            out.counted.append(done)
            out.links.append(("visits.detail", {"visit_id": visit.id}))
        return out
    query = select(Visit).where(Visit.outlet_id.in_(ids), Visit.status == VisitStatus.released,
                                Visit.released_at >= since, Visit.released_at < until)
    if indicator.source == "inspections.avg_score":
        query = query.where(Visit.checklist_code == indicator.checklist)
    if indicator.source == "inspections.red_line_visits":
        query = query.where(Visit.red_line.is_(True))
    visits = session.exec(query.order_by(Visit.released_at)).all()
    if indicator.source == "inspections.coverage":
        seen = {v.outlet_id for v in visits}
        out = Rows([_l("Outlet"), _l("Code"), _l("Visits"), _l("Visited")], total=len(outlets))
        for outlet in sorted(outlets.values(), key=lambda o: o.code)[:limit]:
            count = sum(1 for v in visits if v.outlet_id == outlet.id)
            out.rows.append([outlet.name, outlet.code, count, outlet.id in seen])
            out.counted.append(outlet.id in seen)
            out.links.append(None)
        return out
    section = indicator.section
    out = Rows([_l("Released"), _l("Outlet"), _l("Checklist"), _l("Section score") if section else _l("Score"),
                _l("Red line")], total=len(visits))
    for visit in visits[:limit]:
        value = (visit.section_scores or {}).get(section) if section else visit.score
        out.rows.append([_local(visit.released_at, zone), outlets[visit.outlet_id].name, visit.checklist_code,
                         value, visit.red_line])
        out.counted.append(value is not None)
        out.links.append(("visits.detail", {"visit_id": visit.id}))
    return out


def _line_rows(session, indicator, outlets, ids, since, until, zone, limit) -> Rows:
    line = RectificationLine
    source = indicator.source
    issued = sa.and_(line.issued_at >= since, line.issued_at < until)
    if source == "rectification.close_rate":
        condition, counts = issued, lambda r: r.status == LineStatus.closed and r.closed_at < until
    elif source == "rectification.on_time_rate":
        condition = sa.and_(line.deadline_at >= since, line.deadline_at < until)
        counts = lambda r: r.answered_at is not None and r.answered_at <= r.deadline_at  # noqa: E731
    elif source == "rectification.mean_days":
        condition = sa.and_(line.status == LineStatus.closed, line.closed_at >= since, line.closed_at < until)
        counts = lambda r: True  # noqa: E731
    else:  # overdue at the period's end
        condition = sa.and_(line.issued_at < until, line.deadline_at < until,
                            sa.or_(line.answered_at.is_(None), line.answered_at >= until),
                            sa.or_(line.closed_at.is_(None), line.closed_at >= until))
        counts = lambda r: True  # noqa: E731
    found = session.exec(select(line).where(line.outlet_id.in_(ids), line.status != LineStatus.withdrawn, condition)
                         .order_by(line.issued_at)).all()
    out = Rows([_l("Issued"), _l("Outlet"), _l("Item"), _l("Deadline"), _l("Answered"), _l("Closed"),
                _l("Days to close") if source == "rectification.mean_days" else _l("Counted")], total=len(found))
    for row in found[:limit]:
        days = round((row.closed_at - row.issued_at).total_seconds() / 86400, 1) if row.closed_at else None
        counted = counts(row)
        out.rows.append([_local(row.issued_at, zone), outlets[row.outlet_id].name, row.item_code,
                         f"{row.deadline_date}", _local(row.answered_at, zone), _local(row.closed_at, zone),
                         days if source == "rectification.mean_days" else counted])
        out.counted.append(counted)
        out.links.append(("rectifications.line", {"line_id": row.id}))
    return out


def _complaint_rows(session, indicator, outlets, ids, since, until, zone, limit) -> Rows:
    c = Complaint
    source = indicator.source
    received = sa.and_(c.received_at >= since, c.received_at < until)
    if source == "complaints.substantiated":
        condition, counts = sa.and_(received, c.verdict.in_(AT_FAULT)), lambda r: True
    elif source == "complaints.appeals":
        condition, counts = sa.and_(received, c.source == "appeal"), lambda r: True
    elif source == "complaints.first_contact":
        condition = sa.and_(c.concluded_at >= since, c.concluded_at < until)
        counts = lambda r: r.handed_on == 0 and r.reopened == 0  # noqa: E731
    else:  # late
        condition = sa.and_(c.resolve_due_at >= since, c.resolve_due_at < until,
                            sa.or_(c.concluded_at.is_(None), c.concluded_at > c.resolve_due_at))
        counts = lambda r: True  # noqa: E731
    found = session.exec(select(c).where(c.outlet_id.in_(ids), condition).order_by(c.received_at)).all()
    out = Rows([_l("Number"), _l("Received"), _l("Outlet"), _l("Category"), _l("Verdict"), _l("Concluded"),
                _l("Counted")], total=len(found))
    for row in found[:limit]:
        counted = counts(row)
        out.rows.append([row.number, _local(row.received_at, zone), outlets[row.outlet_id].name, row.category,
                         row.verdict or "", _local(row.concluded_at, zone), counted])
        out.counted.append(counted)
        out.links.append(("complaints.detail", {"complaint_id": row.id}))
    return out


def _callback_rows(session, outlets, ids, since, until, zone, limit) -> Rows:
    found = session.exec(select(Callback).where(Callback.outlet_id.in_(ids), Callback.at >= since, Callback.at < until)
                         .order_by(Callback.at)).all()
    out = Rows([_l("Called"), _l("Outlet"), _l("Satisfaction"), _l("Counted")], total=len(found))
    for row in found[:limit]:
        counted = row.satisfaction in ("satisfied", "basic")
        out.rows.append([_local(row.at, zone), outlets[row.outlet_id].name, row.satisfaction, counted])
        out.counted.append(counted)
        out.links.append(("complaints.detail", {"complaint_id": row.complaint_id}) if row.complaint_id else None)
    return out


def _imported_rows(session, indicator, unit, period, zone, limit) -> Rows:
    """The unit's own values for the period's months; without one, those of the units below it
    (what the value was averaged from)."""
    found = session.exec(select(OperatingValue, Unit).join(Unit, Unit.id == OperatingValue.unit_id).where(
        OperatingValue.metric == indicator.metric, OperatingValue.month.in_(period.months()),
        Unit.path.startswith(unit.path)).order_by(OperatingValue.month, Unit.code)).all()
    own = [(v, u) for v, u in found if u.id == unit.id]
    chosen = own or found
    out = Rows([_l("Month"), _l("Unit"), _l("Value"), _l("Imported")], total=len(chosen))
    for value, owner in chosen[:limit]:
        out.rows.append([f"{value.month:%Y-%m}", f"{owner.code} {owner.name}", value.value,
                         _local(value.imported_at, zone)])
        out.counted.append(True)
        out.links.append(None)
    return out
