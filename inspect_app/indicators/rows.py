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
from inspect_app.checklists import services as checklists
from inspect_app.complaints.models import AT_FAULT, SATISFACTION_LABELS, VERDICT_LABELS, Callback, Complaint
from inspect_app.db import unindexed
from inspect_app.i18n import select_locale
from inspect_app.indicators.definition import Indicator
from inspect_app.indicators.models import OperatingValue
from inspect_app.indicators.sources import Period
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits.models import Visit, VisitStatus
from inspect_app.visits.queries import inspection_visits

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


def _checklist_title(code: str) -> str:
    """A checklist by its title in the reader's language, as every page names it (not its file's code)."""
    checklist = checklists.registry().get(code)
    return checklist.title(select_locale()) if checklist else code


def _word(labels: dict, value: str | None) -> str:
    """A stored code (a verdict, a satisfaction) as the reader's word; a plain string for the export too."""
    return str(labels.get(value, value)) if value else ""


def _outlets(session: Session, unit: Unit) -> dict[int, sa.Row]:
    """The unit's active outlets by id: their id, code and name (a province has over a thousand,
    loaded on every page, not as whole records)."""
    rows = session.execute(select(Outlet.id, Outlet.code, Outlet.name).join(Unit, Unit.id == Outlet.unit_id)
                           .where(Unit.path.startswith(unit.path), Outlet.active.is_(True))).all()
    return {o.id: o for o in rows}


def _local(moment: dt.datetime | None, zone: str) -> str:
    return "" if moment is None else f"{moment.astimezone(clock.zone(zone)):%Y-%m-%d %H:%M}"


def _first(session: Session, model, columns: list, where: list, order: list, limit: int | None) -> tuple[list, int]:
    """The first ``limit`` rows matching ``where`` in ``order`` (which ends with the id, so the
    first ``limit`` are always the same ones), as their ``columns`` only, and how many match in all:
    the ids of every match, then those rows by id. A province's month holds thousands of lines;
    loading all of them as whole records to show the first ``limit`` made its page take most of a
    second (scripts/bench_indicators.py)."""
    if limit is None:
        found = session.execute(select(*columns).where(*where).order_by(*order)).all()
        return found, len(found)
    ids = session.execute(select(model.id).where(*where).order_by(*order)).scalars().all()
    if not ids:
        return [], 0
    return session.execute(select(*columns).where(model.id.in_(ids[:limit])).order_by(*order)).all(), len(ids)


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
    if indicator.source in ("inspections.plan_done", "inspections.self_done"):
        # the planned visits as plan coverage counts them (``plans.coverage``), each done or not
        found = coverage.planned_visits(session, first=period.start, end=period.end, outlet_ids=ids,
                                        self_inspection=indicator.source == "inspections.self_done")
        out = Rows([_l("Outlet"), _l("Window"), _l("Submitted"), _l("Done in time")], total=len(found))
        now = clock.now()
        for visit, outlet in found[:limit]:
            done = coverage.visit_state(visit, outlet, now) == "done"
            out.rows.append([outlet.name, f"{visit.due_from} – {visit.due_until}",
                             _local(visit.submitted_at, zone), done])
            out.counted.append(done)
            out.links.append(("visits.detail", {"visit_id": visit.id}))
        return out
    where = [Visit.outlet_id.in_(ids), Visit.status == VisitStatus.released, Visit.released_at >= since,
             Visit.released_at < until, inspection_visits()]
    if indicator.source == "inspections.avg_score":
        where.append(Visit.checklist_code == indicator.checklist)
    if indicator.source == "inspections.red_line_visits":
        where.append(Visit.red_line.is_(True))
    if indicator.source == "inspections.coverage":
        counts = dict(session.execute(select(Visit.outlet_id, sa.func.count()).where(*where)
                                      .group_by(Visit.outlet_id)).all())
        out = Rows([_l("Outlet"), _l("Code"), _l("Visits"), _l("Visited")], total=len(outlets))
        for outlet in sorted(outlets.values(), key=lambda o: o.code)[:limit]:
            seen = outlet.id in counts
            out.rows.append([outlet.name, outlet.code, counts.get(outlet.id, 0), seen])
            out.counted.append(seen)
            out.links.append(None)
        return out
    visits, total = _first(session, Visit, [Visit.id, Visit.released_at, Visit.outlet_id, Visit.checklist_code,
                                            Visit.score, Visit.section_scores, Visit.red_line],
                           where, [Visit.released_at, Visit.id], limit)
    section = indicator.section
    out = Rows([_l("Released"), _l("Outlet"), _l("Checklist"), _l("Section score") if section else _l("Score"),
                _l("Red line")], total=total)
    for visit in visits:
        value = (visit.section_scores or {}).get(section) if section else visit.score
        out.rows.append([_local(visit.released_at, zone), outlets[visit.outlet_id].name,
                         _checklist_title(visit.checklist_code), value, visit.red_line])
        out.counted.append(value is not None)
        out.links.append(("visits.detail", {"visit_id": visit.id}))
    return out


#: Every status a counted line may have (all but withdrawn), named rather than ``!= withdrawn``.
COUNTED_STATUSES = [s for s in LineStatus if s != LineStatus.withdrawn]


def _line_rows(session, indicator, outlets, ids, since, until, zone, limit) -> Rows:
    """The lines behind a rectification figure, the same as ``sources._lines`` counts. Each query
    reads the period's lines through the index of the time that bounds them, then keeps the unit's
    outlets: left to itself, SQLite reads every line the unit's outlets ever had (a province's
    thousand outlets: a third of a million lines, 0.3-0.4 s for the count and again for the page)."""
    line = RectificationLine
    source = indicator.source
    kept = line.status != LineStatus.withdrawn
    if source == "rectification.close_rate":
        condition = sa.and_(kept, line.issued_at >= since, line.issued_at < until)
        counts = lambda r: r.status == LineStatus.closed and r.closed_at < until  # noqa: E731
    elif source == "rectification.on_time_rate":
        # the statuses named: ix_line_status_deadline (status, deadline_at, outlet_id, ...) holds them
        condition = sa.and_(line.status.in_(COUNTED_STATUSES), line.deadline_at >= since, line.deadline_at < until)
        counts = lambda r: r.answered_at is not None and r.answered_at <= r.deadline_at  # noqa: E731
    elif source == "rectification.mean_days":
        # every condition inside, read through the closed_at index: outside, SQLite took the status
        # index and read every line ever closed
        # (status || '': never the status index, or SQLite reads every line ever closed through it)
        closed = select(line.id).where(line.closed_at >= since, line.closed_at < until,
                                       (line.status + "") == LineStatus.closed)
        condition = line.id.in_(closed)
        counts = lambda r: True  # noqa: E731
    else:  # overdue at the period's end: not closed by then (still open, or closed later), nor answered
        # the unit's outlets inside, through (closed_at, outlet_id): its open lines and those closed
        # later, not the whole country's
        not_closed = select(line.id).where(line.closed_at.is_(None), line.outlet_id.in_(ids)).union_all(
            select(line.id).where(line.closed_at >= until, unindexed(line.outlet_id).in_(ids)))
        condition = sa.and_(line.id.in_(not_closed), kept, line.issued_at < until, line.deadline_at < until,
                            sa.or_(line.answered_at.is_(None), line.answered_at >= until),
                            sa.or_(line.closed_at.is_(None), line.closed_at >= until))
        counts = lambda r: True  # noqa: E731
    found, total = _first(session, line, [line.id, line.outlet_id, line.item_code, line.status, line.issued_at,
                                          line.deadline_date, line.deadline_at, line.answered_at, line.closed_at],
                          # outlet_id + 0: never the outlet index, whatever else the planner weighs
                          # (with it, SQLite looked up each outlet × each id of a month: 32 s)
                          [unindexed(line.outlet_id).in_(ids), condition], [line.issued_at, line.id], limit)
    out = Rows([_l("Issued"), _l("Outlet"), _l("Item"), _l("Deadline"), _l("Answered"), _l("Closed"),
                _l("Days to close") if source == "rectification.mean_days" else _l("Counted")], total=total)
    for row in found:
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
    found, total = _first(session, c, [c.id, c.number, c.received_at, c.outlet_id, c.category, c.verdict,
                                       c.concluded_at, c.handed_on, c.reopened],
                          [c.outlet_id.in_(ids), condition], [c.received_at, c.id], limit)
    out = Rows([_l("Number"), _l("Received"), _l("Outlet"), _l("Category"), _l("Verdict"), _l("Concluded"),
                _l("Counted")], total=total)
    for row in found:
        counted = counts(row)
        out.rows.append([row.number, _local(row.received_at, zone), outlets[row.outlet_id].name, row.category,
                         _word(VERDICT_LABELS, row.verdict), _local(row.concluded_at, zone), counted])
        out.counted.append(counted)
        out.links.append(("complaints.detail", {"complaint_id": row.id}))
    return out


def _callback_rows(session, outlets, ids, since, until, zone, limit) -> Rows:
    found, total = _first(session, Callback, [Callback.at, Callback.outlet_id, Callback.satisfaction,
                                              Callback.complaint_id],
                          [Callback.outlet_id.in_(ids), Callback.at >= since, Callback.at < until],
                          [Callback.at, Callback.id], limit)
    out = Rows([_l("Called"), _l("Outlet"), _l("Satisfaction"), _l("Counted")], total=total)
    for row in found:
        counted = row.satisfaction in ("satisfied", "basic")
        out.rows.append([_local(row.at, zone), outlets[row.outlet_id].name, _word(SATISFACTION_LABELS, row.satisfaction),
                         counted])
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
