"""Raw values of every indicator for a set of sibling units in one period: one grouped query per
source, by outlet, rolled up into the units (each unit over its whole subtree). Counts are added;
rates are computed from the added numerators and denominators, never averaged."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints.models import AT_FAULT, Callback, Complaint
from inspect_app.indicators.definition import Tree
from inspect_app.indicators.models import OperatingValue
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.rectifications.queries import seconds_between
from inspect_app.visits.models import Visit, VisitStatus
from inspect_app.visits.queries import inspection_visits


@dataclass(frozen=True)
class Period:
    """A month (``2026-11``) or a quarter (``2026-Q4``), as local days."""

    kind: str  # month | quarter
    start: dt.date
    end: dt.date  # the first day after it

    @classmethod
    def parse(cls, text: str) -> Period:
        text = (text or "").strip().upper()
        if "-Q" in text:
            year, quarter = text.split("-Q")
            if not (year.isdigit() and quarter in ("1", "2", "3", "4")
                    and clock.MONTH_YEARS[0] <= int(year) <= clock.MONTH_YEARS[1]):
                raise ValueError(text)
            start = dt.date(int(year), 3 * int(quarter) - 2, 1)
            return cls("quarter", start, clock.add_months(start, 3))
        start = clock.month_named(text) if len(text) == 7 else None
        if start is None:
            raise ValueError(text)
        return cls("month", start, clock.add_months(start, 1))

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    def previous(self) -> Period:
        months = 3 if self.kind == "quarter" else 1
        start = clock.add_months(self.start, -months)
        return Period(self.kind, start, self.start)

    def months(self) -> list[dt.date]:
        out, day = [], self.start
        while day < self.end:
            out.append(day)
            day = clock.add_months(day, 1)
        return out


class Rollup:
    """Which of the given units each outlet counts for: siblings (a ranking) or whole levels of the
    tree at once (the worker keeping every node's figures), where an outlet counts for its county,
    its city and its province alike (paths end in ``/``, so a prefix is a subtree)."""

    def __init__(self, session: Session, units: list[Unit], allowed_outlets: set[int] | None):
        self.units = units
        paths = [(u.path, u.id) for u in units]
        self.outlet_units: dict[int, tuple[int, ...]] = {}
        rows = session.execute(select(Outlet.id, Unit.path).join(Unit, Unit.id == Outlet.unit_id)
                               .where(Outlet.active.is_(True))).all()
        for outlet_id, path in rows:
            if allowed_outlets is not None and outlet_id not in allowed_outlets:
                continue
            found = tuple(unit_id for prefix, unit_id in paths if path.startswith(prefix))
            if found:
                self.outlet_units[outlet_id] = found
        self.outlets_per_unit: dict[int, int] = defaultdict(int)
        for unit_ids in self.outlet_units.values():
            for unit_id in unit_ids:
                self.outlets_per_unit[unit_id] += 1
        #: Planning by scope: units with few outlets between them (a county and its siblings) have
        #: their rows read through those outlets, not the country's of the period (``add`` keeps
        #: only these outlets either way, so the figures are the same).
        self.few = org.few_outlets(self.outlet_units)

    def only(self, column):
        """A WHERE clause keeping the rows of the counted outlets when they are few; else none."""
        return column.in_(self.few) if self.few is not None else sa.true()

    def add(self, rows, *columns: int) -> dict[int, list[float]]:
        """Sum the given columns of ``(outlet_id, ...)`` rows per unit."""
        sums: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(columns))
        for row in rows:
            for unit_id in self.outlet_units.get(row[0], ()):
                target = sums[unit_id]
                for n, column in enumerate(columns):
                    target[n] += float(row[column] or 0)
        return sums


def _d(value: float | None, places: int = 4) -> Decimal | None:
    return None if value is None else Decimal(repr(round(value, places)))


def _share(part: float, whole: float) -> Decimal | None:
    return _d(100.0 * part / whole) if whole else None


def _per_outlets(value: Decimal | None, outlets: int, per: Decimal) -> Decimal | None:
    if value is None or not outlets:
        return None
    return _d(float(value) * float(per) / outlets, 2)


def raw_values(session: Session, tree: Tree, units: list[Unit], *, since: dt.datetime, until: dt.datetime,
               period: Period, zone: str = "Asia/Shanghai",
               allowed_outlets: set[int] | None = None) -> dict[int, dict[str, Decimal | None]]:
    """``{unit id: {indicator code: raw value or None}}`` for the period [since, until)."""
    rollup = Rollup(session, units, allowed_outlets)
    result: dict[int, dict[str, Decimal | None]] = {u.id: {} for u in units}
    dialect = session.get_bind().dialect.name
    visits = _visits(session, rollup, since, until)
    lines = _lines(session, rollup, since, until, dialect)
    complaints = _complaints(session, rollup, since, until)
    sections = _sections(session, rollup, tree, since, until)
    imported = planned = self_planned = None
    for indicator in tree.indicators:
        source = indicator.source
        if source == "inspections.avg_score" and indicator.section:
            values = {u: _d(s[1] / s[0]) if s[0] else None
                      for u, s in sections.get((indicator.checklist, indicator.section), {}).items()}
        elif source == "inspections.avg_score":
            values = {u: _d(s[1] / s[0]) if s[0] else None for u, s in visits.get(indicator.checklist, {}).items()}
        elif source == "inspections.plan_done":
            if planned is None:
                planned = _planned(session, rollup, period, zone)
            values = {u.id: _share(planned.get(u.id, [0, 0])[1], planned.get(u.id, [0, 0])[0]) for u in units}
        elif source == "inspections.self_done":
            if self_planned is None:
                self_planned = _planned(session, rollup, period, zone, self_inspection=True)
            values = {u.id: _share(self_planned.get(u.id, [0, 0])[1], self_planned.get(u.id, [0, 0])[0])
                      for u in units}
        elif source == "inspections.red_line_visits":
            values = {u.id: _d(visits["*"].get(u.id, [0, 0, 0])[2]) for u in units}
        elif source == "inspections.coverage":
            values = {u.id: _share(visits["visited"].get(u.id, [0])[0], rollup.outlets_per_unit.get(u.id, 0))
                      for u in units}
        elif source.startswith("rectification."):
            values = {u.id: lines[source](lines["sums"].get(u.id)) for u in units}
        elif source.startswith("complaints."):
            values = {u.id: complaints[source](complaints["sums"].get(u.id)) for u in units}
            if source == "complaints.satisfaction":
                values = {u.id: _share(complaints["callbacks"].get(u.id, [0, 0])[1], complaints["callbacks"].get(u.id, [0, 0])[0])
                          for u in units}
        else:  # import: every metric of the period in one read
            if imported is None:
                imported = session.execute(
                    select(OperatingValue.unit_id, OperatingValue.value, Unit.path, OperatingValue.metric)
                    .join(Unit, Unit.id == OperatingValue.unit_id)
                    .where(OperatingValue.month.in_(period.months()))).all()
            values = _imported(units, [r for r in imported if r[3] == indicator.metric])
        if indicator.per_outlets:
            values = {u.id: _per_outlets(values.get(u.id), rollup.outlets_per_unit.get(u.id, 0), indicator.per_outlets)
                      for u in units}
        for unit in units:
            result[unit.id][indicator.code] = values.get(unit.id)
    for unit in units:
        result[unit.id]["_visits"] = _d(visits["*"].get(unit.id, [0])[0])
    return result


def _visits(session, rollup, since, until) -> dict[str, dict]:
    """Released visits of the period in one read, by outlet and checklist: per checklist
    (count, score sum), over all ("*": count, score sum, red lines) and outlets visited. The
    outlets' self-inspections are not inspections (``visits.queries.inspection_visits``)."""
    rows = session.execute(
        select(Visit.outlet_id, Visit.checklist_code, sa.func.count(), sa.func.sum(Visit.score),
               sa.func.sum(sa.case((Visit.red_line.is_(True), 1), else_=0)))
        .where(Visit.status == VisitStatus.released, Visit.released_at >= since, Visit.released_at < until,
               inspection_visits(), rollup.only(Visit.outlet_id))
        .group_by(Visit.outlet_id, Visit.checklist_code)).all()
    out: dict[str, dict] = {}
    for code in {r[1] for r in rows}:
        out[code] = rollup.add([(r[0], r[2], r[3]) for r in rows if r[1] == code], 1, 2)
    out["*"] = rollup.add([(r[0], r[2], r[3], r[4]) for r in rows], 1, 2, 3)
    out["visited"] = rollup.add([(outlet, 1) for outlet in {r[0] for r in rows}], 1)
    return out


def _sections(session, rollup, tree, since, until) -> dict[tuple[str, str], dict]:
    """Section averages, only for the checklists whose sections the tree scores: each released
    visit's stored section percentages, averaged per unit."""
    wanted = {(i.checklist, i.section) for i in tree.indicators if i.source == "inspections.avg_score" and i.section}
    if not wanted:
        return {}
    rows = session.execute(
        select(Visit.outlet_id, Visit.checklist_code, Visit.section_scores)
        .where(Visit.status == VisitStatus.released, Visit.released_at >= since, Visit.released_at < until,
               Visit.checklist_code.in_({c for c, _s in wanted}), inspection_visits(),
               rollup.only(Visit.outlet_id))).all()
    out = {}
    for checklist, section in wanted:
        found = [(outlet, 1, scores[section]) for outlet, code, scores in rows
                 if code == checklist and scores and scores.get(section) is not None]
        out[(checklist, section)] = rollup.add(found, 1, 2)
    return out


def _planned(session, rollup, period: Period, zone: str, *, self_inspection: bool = False) -> dict[int, list[float]]:
    """Visits planned for the period and those done, counted exactly as plan coverage counts them
    (``plans.coverage``: the window ends in the period; done = handed in by the end of its last
    day at the outlet), so the indicator and the coverage page agree; inspections, or the
    outlets' self-inspections alone."""
    rows = coverage.outlet_rows(session, period.start, period.end, self_inspection=self_inspection)
    return rollup.add([(outlet, planned, done) for outlet, planned, done, _missed in rows], 1, 2)


def _lines(session, rollup, since, until, dialect) -> dict:
    """The period's rectification figures in one read, with conditional sums: issued (and closed
    by the end), due (and answered by the deadline), closed (and the seconds it took), overdue at the
    end."""
    line = RectificationLine
    issued = sa.and_(line.issued_at >= since, line.issued_at < until)
    due = sa.and_(line.deadline_at >= since, line.deadline_at < until)
    closed = sa.and_(line.status == LineStatus.closed, line.closed_at >= since, line.closed_at < until)
    overdue = sa.and_(line.issued_at < until, line.deadline_at < until,
                      sa.or_(line.answered_at.is_(None), line.answered_at >= until),
                      sa.or_(line.closed_at.is_(None), line.closed_at >= until))

    def count(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    rows = session.execute(
        select(line.outlet_id, count(issued),
               count(sa.and_(issued, line.status == LineStatus.closed, line.closed_at < until)),
               count(due), count(sa.and_(due, line.answered_at.is_not(None), line.answered_at <= line.deadline_at)),
               count(closed),
               sa.func.sum(sa.case((closed, seconds_between(line.closed_at, line.issued_at, dialect)), else_=0)),
               count(overdue))
        .where(line.status != LineStatus.withdrawn, sa.or_(issued, due, closed, overdue), rollup.only(line.outlet_id))
        .group_by(line.outlet_id)).all()
    zero = [0.0] * 7
    return {
        "sums": rollup.add(rows, 1, 2, 3, 4, 5, 6, 7),
        "rectification.close_rate": lambda s: _share((s or zero)[1], (s or zero)[0]),
        "rectification.on_time_rate": lambda s: _share((s or zero)[3], (s or zero)[2]),
        "rectification.mean_days": lambda s: _d(s[5] / s[4] / 86400, 2) if s and s[4] else None,
        "rectification.overdue": lambda s: _d((s or zero)[6]),
    }


def _complaints(session, rollup, since, until) -> dict:
    """The period's complaint figures in one read (received, substantiated, appeals, concluded at
    first contact, late)."""
    c = Complaint
    received = sa.and_(c.received_at >= since, c.received_at < until)
    concluded = sa.and_(c.concluded_at >= since, c.concluded_at < until)
    late = sa.and_(c.resolve_due_at >= since, c.resolve_due_at < until,
                   sa.or_(c.concluded_at.is_(None), c.concluded_at > c.resolve_due_at))

    def count(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    rows = session.execute(
        select(c.outlet_id, count(sa.and_(received, c.verdict.in_(AT_FAULT))), count(sa.and_(received, c.source == "appeal")),
               count(concluded), count(sa.and_(concluded, c.handed_on == 0, c.reopened == 0)), count(late))
        .where(sa.or_(received, concluded, late)).group_by(c.outlet_id)).all()
    callbacks = session.execute(
        select(Callback.outlet_id, sa.func.count(), sa.func.sum(sa.case((Callback.satisfaction.in_(("satisfied", "basic")), 1),
                                                                      else_=0)))
        .where(Callback.at >= since, Callback.at < until).group_by(Callback.outlet_id)).all()
    zero = [0.0] * 5
    return {
        "sums": rollup.add(rows, 1, 2, 3, 4, 5),
        "callbacks": rollup.add(callbacks, 1, 2),
        "complaints.satisfaction": lambda s: None,
        "complaints.substantiated": lambda s: _d((s or zero)[0]),
        "complaints.appeals": lambda s: _d((s or zero)[1]),
        "complaints.first_contact": lambda s: _share(s[3], s[2]) if s else None,
        "complaints.late": lambda s: _d((s or zero)[4]),
    }


def _imported(units, rows):
    """A unit's own value for the period; without one, the mean of the values of the units below
    it (a quarter: the mean of its months)."""
    own: dict[int, list[float]] = defaultdict(list)
    for unit_id, v, _p, _m in rows:
        own[unit_id].append(float(v))
    values = {}
    for unit in units:
        below = own.get(unit.id) or [float(v) for _u, v, path, _m in rows if path.startswith(unit.path)]
        values[unit.id] = _d(sum(below) / len(below)) if below else None
    return values
