"""Period bulletins (日通报 / 周分析 / 月总结): one unit, one period, compared with the one before.

A fixed handful of grouped queries whatever the data size; units are mapped to the node's child
units in Python (the unit table is small), as on the rectification board.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.complaints import queries as complaint_queries
from inspect_app.db import unindexed
from inspect_app.evidence.models import Photo
from inspect_app.indicators import services as indicators
from inspect_app.numbers import competition_ranks, half_up
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage as plan_coverage
from inspect_app.rectifications import selfcheck
from inspect_app.rectifications.models import (
    OUTLET_TURN,
    ExtensionRequest,
    ExtensionStatus,
    LineStatus,
    RectificationEvent,
    RectificationLine,
    RectificationNotice,
)
from inspect_app.rectifications.queries import seconds_between
from inspect_app.visits import queries as visit_queries
from inspect_app.visits.models import SELF_KIND, StarRating, Visit, VisitStatus

KINDS = ("day", "week", "month")


@dataclass(frozen=True)
class System:
    """Who composes and publishes on a schedule (the worker, the CLI): sees every unit, is nobody
    in the audit log."""

    id: None = None
    username: str = "system"
    role: str = Role.admin
    unit_id: None = None
    is_authenticated: bool = True


def latest_complete(kind: str, today: dt.date) -> dt.date:
    """A day inside the kind's last complete period: yesterday, last week, last month."""
    if kind == "month":
        return today.replace(day=1) - dt.timedelta(days=1)
    if kind == "week":
        return today - dt.timedelta(days=7)
    return today - dt.timedelta(days=1)


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


@dataclass(frozen=True)
class RankingRules:
    """How a network ranks its units (configuration, ``RANKING_*``).

    ``veto``: "visit" (default) — a visit with a red line counts 0 in its unit's average, and the
    unit is marked 否决 for the period; "unit" — the unit scores 0 for the period; "off" — red lines
    are reported, scores are not changed. The first ``commend`` units are commended and the last
    ``name_bottom`` named (vetoed units are never commended)."""

    veto: str = "visit"
    commend: int = 3
    name_bottom: int = 3

    @classmethod
    def from_config(cls, config) -> "RankingRules":
        veto = config.get("RANKING_VETO", "visit")
        return cls(veto=veto if veto in ("visit", "unit", "off") else "visit",
                   commend=int(config.get("RANKING_COMMEND", 3)), name_bottom=int(config.get("RANKING_NAME_BOTTOM", 3)))


@dataclass
class UnitRow:
    unit_id: int
    name: str
    outlets: int = 0  # in the viewer's scope
    visited: int = 0  # outlets with a released visit in the period
    visits: int = 0
    score_sum: Decimal = Decimal(0)
    clean_sum: Decimal = Decimal(0)  # the visits without a red line
    red_lines: int = 0
    previous_visits: int = 0
    previous_sum: Decimal = Decimal(0)
    previous_clean: Decimal = Decimal(0)
    previous_reds: int = 0
    rank: int | None = None
    previous_rank: int | None = None
    commended: bool = False
    named: bool = False
    veto: str = "visit"

    @property
    def vetoed(self) -> bool:
        return self.veto != "off" and self.red_lines > 0

    @staticmethod
    def _average(veto: str, count: int, total: Decimal, clean: Decimal, reds: int) -> Decimal | None:
        if not count:
            return None
        if veto == "unit" and reds:
            return Decimal("0.0")
        return half_up((clean if veto == "visit" else total) / count)

    @property
    def average(self) -> Decimal | None:
        return self._average(self.veto, self.visits, self.score_sum, self.clean_sum, self.red_lines)

    @property
    def raw_average(self) -> Decimal | None:
        """Before the veto: what the visits scored."""
        return half_up(self.score_sum / self.visits) if self.visits else None

    @property
    def previous_average(self) -> Decimal | None:
        return self._average(self.veto, self.previous_visits, self.previous_sum, self.previous_clean, self.previous_reds)

    @property
    def coverage(self) -> Decimal | None:
        return half_up(Decimal(self.visited * 100) / self.outlets) if self.outlets else None

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
    overdue_count: int = 0
    #: 延期: extensions approved in the period for the unit's lines
    extensions_count: int = 0
    as_of: dt.datetime | None = None
    stars_awarded_count: int = 0
    stars_removed_count: int = 0
    photos: list[Photo] = field(default_factory=list)
    chart_svg: str = ""
    # 日通报
    day_visits: list[tuple] = field(default_factory=list)
    new_overdue: list[tuple] = field(default_factory=list)
    #: How many fell overdue that day (``new_overdue`` holds the first ``DAY_LIST_LIMIT`` of them).
    new_overdue_count: int = 0
    closed_lines: list[tuple] = field(default_factory=list)
    # 周分析
    week_starts: list[dt.date] = field(default_factory=list)
    problem_trend: list[tuple] = field(default_factory=list)
    overdue_rising: list[tuple] = field(default_factory=list)
    # 月总结
    month_starts: list[dt.date] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    history_svg: str = ""
    mean_days_to_close: Decimal | None = None
    repeated: list[tuple] = field(default_factory=list)
    # complaints (周分析 and 月总结): per unit, and the categories against the period before
    complaint_rows: list = field(default_factory=list)
    # planned-visit coverage (周分析 and 月总结): per unit (``plans.coverage``) and over the node
    coverage_rows: list = field(default_factory=list)
    coverage_total: object | None = None
    # 月总结: the outlets' self-inspections (自查) counted apart, and 自查不实 found by inspections
    self_rows: list = field(default_factory=list)
    self_total: object | None = None
    complaint_categories: list[tuple] = field(default_factory=list)
    # 月总结: the composite ranking of the indicator system for the same month
    composite: object | None = None
    #: When a kept bulletin was composed (``reports.kept``); None: composed for this page now.
    computed_at: dt.datetime | None = None

    @property
    def close_rate(self) -> Decimal | None:
        return half_up(Decimal(self.lines_done * 100) / self.lines_issued) if self.lines_issued else None

    @property
    def commended(self) -> list[UnitRow]:
        return [r for r in self.rows if r.commended]

    @property
    def named(self) -> list[UnitRow]:
        return [r for r in self.rows if r.named]


def findings():
    """Frequent and repeated problems are inspections' findings: a complaint's lines are reported
    with complaints, and the outlets' own self-inspections (自查) apart, unless the network counts
    them in (``SELF_INSPECTION_IN_RANKINGS``)."""
    kinds = ["complaint"] + ([] if visit_queries.counts_self_inspections() else [SELF_KIND])
    return RectificationLine.checklist_kind.not_in(kinds)


def _by_outlet(column, few: list[int] | None, scope):
    """How a table meets its outlet, planned by scope: through the few outlet ids given (the
    outlet indexes), or the country's rows of the period with the scope checked per row."""
    return (Outlet.id == column, column.in_(few)) if few is not None else (Outlet.id == unindexed(column), scope)


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
          photo_limit: int = 4, overdue_limit: int = 30, star_limit: int = 30,
          rules: RankingRules | None = None, fresh: bool | None = None, composite: bool = True) -> Bulletin:
    """The bulletin of the period; its composite ranking is the kept one on a page, computed when
    not kept fresh in the worker or with ``fresh`` (``indicators.services.ranking``); without it
    (``composite=False``) for a bulletin kept for every viewer, who each get their own."""
    since, until = period.bounds(zone)
    prev_since, prev_until = period.previous().bounds(zone)
    units = {u.id: u for u in session.exec(select(Unit).where(Unit.path.startswith(node.path)) if node is not None
                                            else select(Unit)).all()}
    by_outlet = node is not None and node.level == "county"  # a county's bulletin ranks its outlets
    names = dict(session.execute(select(Outlet.id, Outlet.name).where(Outlet.unit_id == node.id)).all()) if by_outlet else {}
    in_node = Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None else None
    allowed = org.outlets_in(session, user, in_node)
    # Planned by scope: a small scope's rows are read through its outlets (the outlet indexes), a
    # large one's by period through the country's, the scope checked per row (``unindexed``).
    few = org.few_outlets(allowed)
    rules = rules or RankingRules()
    # Every unit (or, for a county, every outlet) in the viewer's scope is on the list, inspected
    # or not: its outlets are the coverage's denominator.
    rows: dict[int, UnitRow] = {}
    row_of: dict[int, UnitRow] = {}
    for outlet_id, unit_id in allowed.items():
        if by_outlet:
            row = rows.setdefault(outlet_id, UnitRow(outlet_id, names.get(outlet_id, "?"), veto=rules.veto))
        else:
            child = _child_of(units, node, unit_id)
            if child is None:
                continue
            row = rows.setdefault(child.id, UnitRow(child.id, child.name, veto=rules.veto))
        row.outlets += 1
        row_of[outlet_id] = row
    for current, (a, b) in ((True, (since, until)), (False, (prev_since, prev_until))):
        for outlet_id, count, score_sum, reds, clean in visit_queries.visit_stats(session, a, b, few):
            row = row_of.get(outlet_id)
            if row is None:
                continue
            total, clean = Decimal(repr(float(score_sum or 0))), Decimal(repr(float(clean or 0)))
            if current:
                row.visits += count
                row.visited += 1
                row.score_sum += total
                row.clean_sum += clean
                row.red_lines += int(reds or 0)
            else:
                row.previous_visits += count
                row.previous_sum += total
                row.previous_clean += clean
                row.previous_reds += int(reds or 0)
    for key, rank in competition_ranks([(r.unit_id, r.average) for r in rows.values() if r.visits]).items():
        rows[key].rank = rank
    for key, rank in competition_ranks([(r.unit_id, r.previous_average) for r in rows.values()
                                        if r.previous_visits]).items():
        rows[key].previous_rank = rank
    ranked = sorted([r for r in rows.values() if r.visits], key=lambda r: (r.rank, r.name))
    # commended: the first ranks (ties included), never a vetoed unit; named: the last ranks
    for row in ranked:
        row.commended = not row.vetoed and row.rank <= rules.commend
    if rules.name_bottom and len(ranked) > rules.commend:
        last_ranks = {r.rank for r in ranked[-rules.name_bottom:]}
        for row in ranked:
            row.named = row.rank in last_ranks and not row.commended
    ordered = ranked + sorted([r for r in rows.values() if not r.visits], key=lambda r: r.name)
    total = sum(r.visits for r in rows.values())
    score_total = sum((r.clean_sum if rules.veto == "visit" else r.score_sum for r in rows.values()), Decimal(0))
    prev_total = sum(r.previous_visits for r in rows.values())
    prev_sum = sum((r.previous_clean if rules.veto == "visit" else r.previous_sum for r in rows.values()), Decimal(0))

    in_node = (Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None
               else sa.true())
    scope = sa.and_(permissions.outlets_clause(session, user), in_node)

    def by_outlet_of(column):
        return _by_outlet(column, few, scope)

    line_join, line_scope = by_outlet_of(RectificationLine.outlet_id)
    line_base = (select(RectificationLine).join(Outlet, line_join)
                 .where(line_scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until))
    problems = session.execute(
        select(RectificationLine.checklist_kind, RectificationLine.item_code,
               sa.func.min(RectificationLine.problem), sa.func.count().label("n"))
        .join(Outlet, line_join)
        .where(line_scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until, findings())
        .group_by(RectificationLine.checklist_kind, RectificationLine.item_code)
        .order_by(sa.desc("n"), RectificationLine.item_code).limit(10)).all()
    issued = line_base.subquery()
    counts = session.execute(
        select(sa.func.count(), sa.func.sum(sa.case((issued.c.closed_at < until, 1), else_=0)))
        .select_from(issued)).one()
    extensions_count = session.execute(
        select(sa.func.count()).select_from(ExtensionRequest)
        .join(RectificationLine, RectificationLine.id == ExtensionRequest.line_id)
        .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
        .where(scope, ExtensionRequest.status == ExtensionStatus.approved, ExtensionRequest.decided_at >= since,
               ExtensionRequest.decided_at < until)).scalar() or 0
    # as the period ended (the October bulletin: 31 October, 24:00 local), or now for one running
    as_of = min(until, clock.now())
    overdue_count, overdue = overdue_at(session, user, node=node, at=as_of, limit=overdue_limit)
    star_join, star_scope = by_outlet_of(StarRating.outlet_id)
    star_query = select(StarRating, Outlet).join(Outlet, star_join).where(star_scope)
    awarded_where = (StarRating.awarded_at >= since, StarRating.awarded_at < until)
    removed_where = (StarRating.ended_at >= since, StarRating.ended_at < until, StarRating.end_reason == "red_line")
    awarded = session.execute(star_query.where(*awarded_where).order_by(StarRating.awarded_at.desc()).limit(star_limit)).all()
    removed = session.execute(star_query.where(*removed_where).order_by(StarRating.ended_at.desc()).limit(star_limit)).all()
    star_counts = [session.execute(select(sa.func.count()).select_from(StarRating)
                                   .join(Outlet, star_join).where(star_scope, *where)).scalar()
                   for where in (awarded_where, removed_where)]
    # typical problems: photos of the most frequent failures in the period, from released visits
    top_codes = [p[1] for p in problems[:photo_limit]]
    photos = []
    if top_codes:
        photo_join, photo_scope = by_outlet_of(Photo.outlet_id)
        candidates = session.exec(
            select(Photo).join(Visit, Visit.id == Photo.visit_id).join(Outlet, photo_join)
            .where(photo_scope, Photo.item_code.in_(top_codes), Photo.deleted_at.is_(None), Visit.status == VisitStatus.released,
                   Visit.released_at >= since, Visit.released_at < until, visit_queries.inspection_visits())
            .order_by(Photo.id.desc()).limit(50)).all()
        seen = set()
        for photo in candidates:
            if photo.item_code not in seen:
                seen.add(photo.item_code)
                photos.append(photo)
    bulletin = Bulletin(
        node=node, period=period, rows=ordered, total_visits=total,
        average=half_up(score_total / total) if total else None,
        previous_average=half_up(prev_sum / prev_total) if prev_total else None,
        red_lines=sum(r.red_lines for r in rows.values()),
        problems=[(kind, code, (text or "").split("\n")[0], n) for kind, code, text, n in problems],
        stars_awarded=[tuple(r) for r in awarded], stars_removed=[tuple(r) for r in removed],
        stars_awarded_count=star_counts[0], stars_removed_count=star_counts[1],
        lines_issued=counts[0] or 0, lines_done=int(counts[1] or 0), overdue=overdue, overdue_count=overdue_count,
        extensions_count=extensions_count, as_of=as_of,
        photos=photos,
    )
    chart_rows = [(r.name, float(r.average), float(r.previous_average) if r.previous_average is not None else None)
                  for r in ranked]
    bulletin.chart_svg = bar_chart(chart_rows, label=chart_label(chart_rows))
    group = (lambda outlet: outlet.id) if by_outlet else (lambda outlet: getattr(_child_of(units, node, outlet.unit_id), "id", None))
    if period.kind == "day":
        _day_extras(session, user, bulletin, scope, since, until)
    elif period.kind == "week":
        _week_extras(session, user, bulletin, scope, period, zone, group, rows)
    else:
        _month_extras(session, user, bulletin, scope, period, zone, row_of, rows, rules)
    if period.kind in ("week", "month"):
        children = [node] if by_outlet else [units[key] for key in rows]
        _complaint_extras(session, user, bulletin, node, children, since, until, prev_since)
        # the visits planned for the period, done or missed as the period ended (or by now)
        bulletin.coverage_rows, bulletin.coverage_total = plan_coverage.by_child_units(
            session, node=node, allowed=allowed, first=period.start, end=period.end, now=as_of)
    if period.kind == "month":
        bulletin.self_rows, bulletin.self_total = selfcheck.by_child_units(
            session, node=node, allowed=allowed, first=period.start, end=period.end, zone=zone, now=as_of)
    if composite:
        attach_composite(session, user, bulletin, zone=zone, fresh=fresh)
    return bulletin


def attach_composite(session: Session, user: User, b: Bulletin, *, zone: str, fresh: bool | None = None) -> None:
    """月总结 above a county: the composite ranking of the indicator system for the same month and
    the month before (kept snapshots when there are): places gained or lost. It is the viewer's
    (who sees which siblings) and read from what the worker keeps, so a kept bulletin gets it here."""
    by_outlet = b.node is not None and b.node.level == "county"
    if b.period.kind == "month" and not by_outlet and permissions.can_see_indicators(user) and indicators.loaded():
        b.composite = indicators.ranking(session, user, node=b.node, zone=zone, with_previous=True,
                                         period=indicators.Period.parse(f"{b.period.start:%Y-%m}"), fresh=fresh)


def _complaint_extras(session, user, b: Bulletin, node, children: list[Unit], since, until, prev_since) -> None:
    """Complaints received in the period per unit (substantiated, regulator appeals, overdue as the
    period ended, first-contact resolution) and the categories against the period before."""
    b.complaint_rows = complaint_queries.by_child_units(session, user, sorted(children, key=lambda u: u.code),
                                                        since=since, until=until, now=b.as_of)
    hot = complaint_queries.hotspots(session, user, since=since, until=until, before=prev_since, within=node)
    b.complaint_categories = [(h.label, h.now, h.before) for h in hot["category"]]


#: The day bulletin's lists (visits, lines fallen overdue, lines closed) show at most this many.
DAY_LIST_LIMIT = 200


def _day_extras(session, user, b: Bulletin, scope, since, until) -> None:
    """日通报: the day's visits one by one, its red lines, what fell overdue that day, what closed."""
    b.day_visits = [tuple(r) for r in session.execute(
        select(Visit, Outlet).join(Outlet, Outlet.id == unindexed(Visit.outlet_id))
        .where(scope, Visit.status == VisitStatus.released, Visit.released_at >= since, Visit.released_at < until,
               visit_queries.inspection_visits())
        .order_by(Visit.red_line.desc(), Visit.score, Visit.id).limit(DAY_LIST_LIMIT)).all()]
    # overdue from that day's midnight on: the lines due that day (as of its end, 24:00)
    # the first of them whole, like the day's visits and closed lines: the nation's day had
    # thousands, each kept, unpickled and printed (a 650 KB page, most of 370 ms)
    fell = [k for k in late_keys_at(session, user, node=b.node, at=b.as_of) if k[0] > since]
    b.new_overdue, b.new_overdue_count = late_rows(session, fell[:DAY_LIST_LIMIT]), len(fell)
    b.closed_lines = [tuple(r) for r in session.execute(
        select(RectificationLine, RectificationNotice, Outlet)
        .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
        .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
        .where(scope, RectificationLine.status == LineStatus.closed, RectificationLine.closed_at >= since,
               RectificationLine.closed_at < until)
        .order_by(RectificationLine.closed_at).limit(DAY_LIST_LIMIT)).all()]


def _problem_counts(session, scope, since, until) -> dict[tuple[str, str], tuple[str, int]]:
    return {(kind, code): ((text or "").split("\n")[0], n) for kind, code, text, n in session.execute(
        select(RectificationLine.checklist_kind, RectificationLine.item_code, sa.func.min(RectificationLine.problem),
               sa.func.count())
        .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
        .where(scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until, findings())
        .group_by(RectificationLine.checklist_kind, RectificationLine.item_code)).all()}


def _week_extras(session, user, b: Bulletin, scope, period: Period, zone: str, group, rows) -> None:
    """周分析: this week against the four before it — the frequent problems with their trend, and
    the units whose overdue count rose over the week."""
    weeks = [period]
    for _n in range(4):
        weeks.insert(0, weeks[0].previous())
    counts = [_problem_counts(session, scope, *w.bounds(zone)) for w in weeks]
    current = counts[-1]
    top = sorted(current, key=lambda k: (-current[k][1], k[1]))[:10]
    b.week_starts = [w.start for w in weeks]
    b.problem_trend = [(kind, code, current[(kind, code)][0], [c.get((kind, code), ("", 0))[1] for c in counts])
                       for kind, code in top]
    start_at = period.bounds(zone)[0]
    before = _overdue_per_group(session, user, b.node, start_at, group)
    after = _overdue_per_group(session, user, b.node, b.as_of, group)
    b.overdue_rising = sorted(((rows[key].name, before.get(key, 0), n) for key, n in after.items()
                               if key in rows and n > before.get(key, 0)), key=lambda r: (r[1] - r[2], r[0]))


def _overdue_per_group(session, user, node, at, group) -> dict[int, int]:
    late = late_keys_at(session, user, node=node, at=at)
    outlets = {o.id: o for o in session.exec(select(Outlet).where(Outlet.id.in_({k[3] for k in late})))} if late else {}
    result: dict[int, int] = {}
    for *_rest, outlet_id in late:
        key = group(outlets[outlet_id])
        if key is not None:
            result[key] = result.get(key, 0) + 1
    return result


def _month_extras(session, user, b: Bulletin, scope, period: Period, zone: str, row_of, rows, rules) -> None:
    """月总结: six months per unit, mean days to close, and the problems that came back (found at
    the same outlet in the three months before)."""
    months = [period]
    for _n in range(5):
        months.insert(0, months[0].previous())
    b.month_starts = [m.start for m in months]
    few = org.few_outlets(row_of)
    line_join, line_scope = _by_outlet(RectificationLine.outlet_id, few, scope)
    history: dict[int, list] = {key: [] for key in rows}
    for month in months:
        sums: dict[int, list] = {}
        for outlet_id, count, total, reds, clean in visit_queries.visit_stats(session, *month.bounds(zone), few):
            row = row_of.get(outlet_id)
            if row is None:
                continue
            acc = sums.setdefault(row.unit_id, [0, Decimal(0), Decimal(0), 0])
            acc[0] += count
            acc[1] += Decimal(repr(float(total or 0)))
            acc[2] += Decimal(repr(float(clean or 0)))
            acc[3] += int(reds or 0)
        for key in rows:
            acc = sums.get(key)
            history[key].append(UnitRow._average(rules.veto, acc[0], acc[1], acc[2], acc[3]) if acc else None)
    b.history = [(rows[key].name, values) for key, values in history.items() if any(v is not None for v in values)]
    b.history.sort(key=lambda r: r[0])
    b.history_svg = trend_chart(b.history, [m.start for m in months])
    since, until = period.bounds(zone)
    dialect = session.get_bind().dialect.name
    count, seconds = session.execute(  # summed in the database: a province closes thousands a month
        select(sa.func.count(), sa.func.sum(seconds_between(RectificationLine.closed_at, RectificationLine.issued_at,
                                                             dialect)))
        .select_from(RectificationLine).join(Outlet, line_join)
        .where(line_scope, RectificationLine.status == LineStatus.closed, RectificationLine.closed_at >= since,
               RectificationLine.closed_at < until)).one()
    b.mean_days_to_close = half_up(Decimal(repr(float(seconds) / 86400 / count))) if count else None
    earlier = months[-4].bounds(zone)[0]
    found = session.execute(
        select(RectificationLine.outlet_id, RectificationLine.checklist_kind, RectificationLine.item_code,
               sa.func.min(RectificationLine.problem), sa.func.count())
        .join(Outlet, line_join)
        .where(line_scope, RectificationLine.issued_at >= since, RectificationLine.issued_at < until, findings())
        .group_by(RectificationLine.outlet_id, RectificationLine.checklist_kind, RectificationLine.item_code)).all()
    before = {(o, k, c): n for o, k, c, n in session.execute(
        select(RectificationLine.outlet_id, RectificationLine.checklist_kind, RectificationLine.item_code, sa.func.count())
        .join(Outlet, line_join)
        .where(line_scope, RectificationLine.issued_at >= earlier, RectificationLine.issued_at < since, findings())
        .group_by(RectificationLine.outlet_id, RectificationLine.checklist_kind, RectificationLine.item_code)).all()}
    names = dict(session.execute(select(Outlet.id, Outlet.name).where(
        Outlet.id.in_({o for o, *_r in found if (o, _r[0], _r[1]) in before}))).all()) if before else {}
    b.repeated = sorted(((names.get(o, "?"), kind, code, (text or "").split("\n")[0], before[(o, kind, code)] + n)
                         for o, kind, code, text, n in found if (o, kind, code) in before),
                        key=lambda r: (-r[4], r[0], r[2]))[:30]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def trend_chart(series: list[tuple[str, list]], months: list[dt.date], width: int = 640) -> str:
    """Six months' average per unit as lines (inline SVG, no script), each unit named at its end."""
    if not series:
        return ""
    height, left, right, top, bottom = 220, 40, 120, 10, 24
    values = [float(v) for _name, vs in series for v in vs if v is not None]
    low = max(0.0, min(values) - 5)
    span = max(1.0, 100 - low)
    step = (width - left - right) / max(1, len(months) - 1)

    def y(value: float) -> float:
        return top + (100 - value) / span * (height - top - bottom)

    palette = ["#0b5d3b", "#a15c00", "#1f4e9a", "#b42318", "#6b3fa0", "#2a7f8f", "#7a6a00", "#444"]
    label = "；".join(f"{name} " + "、".join("—" if v is None else f"{v}" for v in vs) for name, vs in series)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'class="chart" role="img" lang="zh-CN" font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif" '
             f'aria-label="{escape(label, quote=True)}"><title>{escape(label)}</title>']
    for n, month in enumerate(months):
        x = left + n * step
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle" fill="#667">{month:%Y-%m}</text>')
    for n, (name, vs) in enumerate(series[:len(palette)]):
        colour = palette[n]
        points = [(left + i * step, y(float(v))) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                         + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>')
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}"/>')
        if points:
            parts.append(f'<text x="{points[-1][0] + 6:.1f}" y="{points[-1][1] + 4:.1f}" font-size="11" fill="{colour}">'
                         f'{escape(name[:10])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def late_keys_at(session: Session, user: User, *, node: Unit | None, at: dt.datetime) -> list[tuple]:
    """The lines overdue at ``at`` (see ``overdue_at``) as keys, by the deadline they had then:
    (deadline instant then, line id, days overdue at ``at``, outlet id)."""
    """Lines that were overdue at the instant ``at``: how many, and the first ``limit`` by the
    deadline they had then, as (line, notice, outlet, days overdue at ``at``, deadline day then).

    A line was overdue at ``at`` when it was issued by then, not yet closed, in the outlet's turn
    (its status then, from its history: the last event up to ``at``, or "issued") and past the
    deadline it had then (a deadline changed later is read back from the change's "before")."""
    in_node = (Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node is not None
               else sa.true())
    status_then = sa.func.coalesce(
        select(RectificationEvent.status_after).where(RectificationEvent.line_id == RectificationLine.id,
                                                      RectificationEvent.at <= at)
        .order_by(RectificationEvent.at.desc(), RectificationEvent.id.desc()).limit(1).scalar_subquery(),
        LineStatus.issued.value)
    changed_later = sa.exists().where(RectificationEvent.line_id == RectificationLine.id, RectificationEvent.at > at,
                                      RectificationEvent.deadline_before.is_not(None))
    # planned by scope: a small one's lines through its outlets, a large one's through the country's
    few = org.few_outlets(org.outlets_in(session, user, in_node))
    outlet_key = RectificationLine.outlet_id if few is not None else unindexed(RectificationLine.outlet_id)
    # the candidates as keys (no objects: a province's month end has tens of thousands), then the
    # shown ones whole
    query = (select(RectificationLine.id, RectificationLine.deadline_at, Outlet.timezone, Outlet.id)
             .join(Outlet, Outlet.id == outlet_key)
             .where(permissions.outlets_clause(session, user), in_node, RectificationLine.issued_at <= at,
                    sa.or_(RectificationLine.closed_at.is_(None), RectificationLine.closed_at > at),
                    sa.or_(RectificationLine.deadline_at <= at, changed_later),
                    status_then.in_([s.value for s in OUTLET_TURN])))
    if few is not None:
        query = query.where(RectificationLine.outlet_id.in_(few))
    candidates = session.execute(query).all()
    first_later: dict[int, dt.date] = {}  # the deadline before the first change made after ``at``
    # deadlines changed since ``at`` are few (extensions): one read of them all, kept for the candidates
    ids = {line_id for line_id, _deadline, _zone, _outlet in candidates}
    for line_id, before in session.execute(
            select(RectificationEvent.line_id, RectificationEvent.deadline_before)
            .where(RectificationEvent.at > at, RectificationEvent.deadline_before.is_not(None))
            .order_by(RectificationEvent.at, RectificationEvent.id)).all():
        if line_id in ids:
            first_later.setdefault(line_id, before)
    found = []
    for line_id, deadline_at, zone, outlet_id in candidates:
        changed = first_later.get(line_id)
        deadline = (clock.day_start(changed + dt.timedelta(days=1), zone) if changed is not None
                    else _aware(deadline_at))
        if deadline <= at:  # days late as the screen counts them: calendar days after the deadline day
            late = (clock.local_date(at, zone) - clock.local_date(deadline, zone)).days + 1
            found.append((deadline, line_id, late, outlet_id))
    found.sort()
    return found


def late_rows(session: Session, keys: list[tuple]) -> list[tuple]:
    """The lines of ``late_keys_at`` keys whole, in their order: (line, notice, outlet, days
    overdue, deadline day then)."""
    rows = {line.id: (line, notice, outlet) for line, notice, outlet in session.execute(
        select(RectificationLine, RectificationNotice, Outlet)
        .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
        .join(Outlet, Outlet.id == RectificationLine.outlet_id)
        .where(RectificationLine.id.in_([line_id for _deadline, line_id, *_rest in keys]))).all()} if keys else {}
    result = []
    for deadline, line_id, late, _outlet_id in keys:
        line, notice, outlet = rows[line_id]
        result.append((line, notice, outlet, late, clock.local_date(deadline, outlet.timezone) - dt.timedelta(days=1)))
    return result


def overdue_at(session: Session, user: User, *, node: Unit | None, at: dt.datetime,
               limit: int | None = 30) -> tuple[int, list[tuple]]:
    """Lines that were overdue at the instant ``at``: how many, and the first ``limit`` by the
    deadline they had then, as (line, notice, outlet, days overdue at ``at``, deadline day then).

    A line was overdue at ``at`` when it was issued by then, not yet closed, in the outlet's turn
    (its status then, from its history: the last event up to ``at``, or "issued") and past the
    deadline it had then (a deadline changed later is read back from the change's "before")."""
    found = late_keys_at(session, user, node=node, at=at)
    return len(found), late_rows(session, found if limit is None else found[:limit])


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
             f'class="chart" role="img" lang="zh-CN" font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif" '
             f'aria-label="{escape(label, quote=True)}"><title>{escape(label)}</title>']
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
