"""Period bulletins (日通报 / 周分析 / 月总结): one unit, one period, compared with the one before.

A fixed handful of grouped queries whatever the data size; units are mapped to the node's child
units in Python (the unit table is small), as on the rectification board.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.db import unindexed
from inspect_app.evidence.models import Photo
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.rectifications.queries import BoardFilters, line_rows
from inspect_app.visits import queries as visit_queries
from inspect_app.visits.models import StarRating, Visit, VisitStatus

KINDS = ("day", "week", "month")


@dataclass
class Period:
    kind: str
    start: dt.date  # first day
    end: dt.date  # day after the last

    @classmethod
    def around(cls, kind: str, day: dt.date) -> "Period":
        if kind == "day":
            return cls(kind, day, day + dt.timedelta(days=1))
        if kind == "week":
            start = day - dt.timedelta(days=day.weekday())
            return cls(kind, start, start + dt.timedelta(days=7))
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        return cls("month", start, end)

    def previous(self) -> "Period":
        return Period.around(self.kind, self.start - dt.timedelta(days=1))

    def bounds(self, zone: str) -> tuple[dt.datetime, dt.datetime]:
        return clock.day_start(self.start, zone), clock.day_start(self.end, zone)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


@dataclass
class UnitRow:
    unit_id: int
    name: str
    visits: int = 0
    score_sum: float = 0.0
    red_lines: int = 0
    previous_visits: int = 0
    previous_sum: float = 0.0
    rank: int | None = None
    previous_rank: int | None = None

    @property
    def average(self) -> float | None:
        return round(self.score_sum / self.visits, 1) if self.visits else None

    @property
    def previous_average(self) -> float | None:
        return round(self.previous_sum / self.previous_visits, 1) if self.previous_visits else None

    @property
    def rank_change(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank  # positive: climbed


@dataclass
class Bulletin:
    node: Unit | None
    period: Period
    rows: list[UnitRow]
    total_visits: int
    average: float | None
    previous_average: float | None
    red_lines: int
    problems: list[tuple[str, str, str, int]]  # kind, item code, text, count
    stars_awarded: list[tuple]
    stars_removed: list[tuple]
    lines_issued: int
    lines_done: int
    overdue: list[tuple]
    stars_awarded_count: int = 0
    stars_removed_count: int = 0
    photos: list[Photo] = field(default_factory=list)
    chart_svg: str = ""

    @property
    def close_rate(self) -> float | None:
        return round(self.lines_done / self.lines_issued * 100, 1) if self.lines_issued else None


def _child_of(units: dict[int, Unit], node: Unit | None, unit_id: int) -> Unit | None:
    unit = units.get(unit_id)
    if unit is None:
        return None
    parts = [int(p) for p in unit.path.strip("/").split("/")]
    depth = node.path.count("/") - 1 if node else 0
    if len(parts) <= depth:
        return unit
    return units.get(parts[depth])


def build(session: Session, user: User, *, node: Unit | None, period: Period, zone: str = "Asia/Shanghai",
          photo_limit: int = 4, overdue_limit: int = 30, star_limit: int = 30) -> Bulletin:
    since, until = period.bounds(zone)
    prev_since, prev_until = period.previous().bounds(zone)
    units = {u.id: u for u in session.exec(select(Unit)).all()}
    by_outlet = node is not None and node.level == "county"  # a county's bulletin ranks its outlets
    names = dict(session.execute(select(Outlet.id, Outlet.name).where(Outlet.unit_id == node.id)).all()) if by_outlet else {}
    in_node = Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None else None
    allowed = org.outlets_in(session, user, in_node)
    rows: dict[int, UnitRow] = {}
    for current, (a, b) in ((True, (since, until)), (False, (prev_since, prev_until))):
        for outlet_id, count, score_sum, reds in visit_queries.visit_stats(session, a, b):
            if outlet_id not in allowed:
                continue
            if by_outlet:
                row = rows.setdefault(outlet_id, UnitRow(outlet_id, names.get(outlet_id, "?")))
            else:
                child = _child_of(units, node, allowed[outlet_id])
                if child is None:
                    continue
                row = rows.setdefault(child.id, UnitRow(child.id, child.name))
            if current:
                row.visits += count
                row.score_sum += float(score_sum or 0)
                row.red_lines += int(reds or 0)
            else:
                row.previous_visits += count
                row.previous_sum += float(score_sum or 0)
    ranked = sorted([r for r in rows.values() if r.visits], key=lambda r: -r.average)
    for n, row in enumerate(ranked, start=1):
        row.rank = n
    for n, row in enumerate(sorted([r for r in rows.values() if r.previous_visits], key=lambda r: -r.previous_average), 1):
        row.previous_rank = n
    ordered = ranked + sorted([r for r in rows.values() if not r.visits], key=lambda r: r.name)
    total = sum(r.visits for r in rows.values())
    score_total = sum(r.score_sum for r in rows.values())
    prev_total = sum(r.previous_visits for r in rows.values())
    prev_sum = sum(r.previous_sum for r in rows.values())

    in_node = (Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None
               else sa.true())
    scope = sa.and_(permissions.outlets_clause(session, user), in_node)
    line_base = (select(RectificationLine).join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
                 .where(scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until))
    problems = session.execute(
        select(RectificationLine.checklist_kind, RectificationLine.item_code,
               sa.func.min(RectificationLine.problem), sa.func.count().label("n"))
        .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
        .where(scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until)
        .group_by(RectificationLine.checklist_kind, RectificationLine.item_code)
        .order_by(sa.desc("n"), RectificationLine.item_code).limit(10)).all()
    issued = line_base.subquery()
    counts = session.execute(
        select(sa.func.count(), sa.func.sum(sa.case((issued.c.status.in_([LineStatus.closed, LineStatus.withdrawn]), 1),
                                                  else_=0)))
        .select_from(issued)).one()
    now = clock.now()

    overdue = line_rows(session, user, filters=BoardFilters(), node=node, state="overdue", now=now, limit=overdue_limit)
    star_query = (select(StarRating, Outlet).join(Outlet, Outlet.id == unindexed(StarRating.outlet_id)).where(scope))
    awarded_where = (StarRating.awarded_at >= since, StarRating.awarded_at < until)
    removed_where = (StarRating.ended_at >= since, StarRating.ended_at < until, StarRating.end_reason == "red_line")
    awarded = session.execute(star_query.where(*awarded_where).order_by(StarRating.awarded_at.desc()).limit(star_limit)).all()
    removed = session.execute(star_query.where(*removed_where).order_by(StarRating.ended_at.desc()).limit(star_limit)).all()
    star_counts = [session.execute(select(sa.func.count()).select_from(StarRating)
                                   .join(Outlet, Outlet.id == unindexed(StarRating.outlet_id)).where(scope, *where)).scalar()
                   for where in (awarded_where, removed_where)]
    # typical problems: photos of the most frequent failures in the period, from released visits
    top_codes = [p[1] for p in problems[:photo_limit]]
    photos = []
    if top_codes:
        candidates = session.exec(
            select(Photo).join(Visit, Visit.id == Photo.visit_id).join(Outlet, Outlet.id == unindexed(Photo.outlet_id))
            .where(scope, Photo.item_code.in_(top_codes), Photo.deleted_at.is_(None), Visit.status == VisitStatus.released,
                   Visit.released_at >= since, Visit.released_at < until)
            .order_by(Photo.id.desc()).limit(50)).all()
        seen = set()
        for photo in candidates:
            if photo.item_code not in seen:
                seen.add(photo.item_code)
                photos.append(photo)
    bulletin = Bulletin(
        node=node, period=period, rows=ordered, total_visits=total,
        average=round(score_total / total, 1) if total else None,
        previous_average=round(prev_sum / prev_total, 1) if prev_total else None,
        red_lines=sum(r.red_lines for r in rows.values()),
        problems=[(kind, code, (text or "").split("\n")[0], n) for kind, code, text, n in problems],
        stars_awarded=[tuple(r) for r in awarded], stars_removed=[tuple(r) for r in removed],
        stars_awarded_count=star_counts[0], stars_removed_count=star_counts[1],
        lines_issued=counts[0] or 0, lines_done=int(counts[1] or 0), overdue=[tuple(r) for r in overdue],
        photos=photos,
    )
    chart_rows = [(r.name, r.average, r.previous_average) for r in ranked]
    bulletin.chart_svg = bar_chart(chart_rows, label=chart_label(chart_rows))
    return bulletin


def chart_label(rows: list[tuple[str, float, float | None]]) -> str:
    """The chart in words: each unit's average, and the previous period's where there is one."""
    parts = [_("%(unit)s %(score)s (previous %(previous)s)", unit=name, score=f"{value:g}", previous=f"{previous:g}")
             if previous is not None else _("%(unit)s %(score)s", unit=name, score=f"{value:g}")
             for name, value, previous in rows]
    return _("Average score by unit: %(list)s", list="; ".join(parts))


def bar_chart(rows: list[tuple[str, float, float | None]], width: int = 640, label: str = "") -> str:
    """Average score per unit as horizontal bars, with last period as a tick. Inline SVG, no script;
    ``label`` is its text alternative (the same figures in words, for screen readers)."""
    if not rows:
        return ""
    bar_h, gap, label_w, right = 18, 8, 150, 50
    height = len(rows) * (bar_h + gap) + 24
    scale_min = max(0.0, min([r[1] for r in rows] + [r[2] for r in rows if r[2] is not None]) - 10)
    span = 100 - scale_min
    plot_w = width - label_w - right

    def x(value: float) -> float:
        return label_w + (value - scale_min) / span * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'class="chart" role="img" aria-label="{escape(label, quote=True)}"><title>{escape(label)}</title>']
    for tick in range(int(scale_min // 5 * 5 + 5), 101, 5):
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 20}" stroke="#dde" stroke-width="1"/>'
                     f'<text x="{tx:.1f}" y="{height - 6}" font-size="10" text-anchor="middle" fill="#667">{tick}</text>')
    for n, (name, value, previous) in enumerate(rows):
        y = n * (bar_h + gap) + 4
        colour = "#0b5d3b" if value >= 90 else ("#a15c00" if value >= 80 else "#b42318")
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">{escape(name[:12])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(1.0, x(value) - label_w):.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + 13}" font-size="11">{value:g}</text>')
        if previous is not None:
            px = x(previous)
            parts.append(f'<line x1="{px:.1f}" y1="{y - 2}" x2="{px:.1f}" y2="{y + bar_h + 2}" stroke="#1b1f23" '
                         f'stroke-width="2" stroke-dasharray="3,2"/>')
    parts.append("</svg>")
    return "".join(parts)
