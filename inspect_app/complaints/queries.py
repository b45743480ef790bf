"""What managers read of complaints: the register with its filters, hotspots against the last
period, 零投诉 streaks, first-contact resolution, and the per-unit figures the board and the
bulletins print. Every query is limited by ``permissions.complaints_clause``."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.complaints.models import (
    AT_FAULT,
    OPEN_COMPLAINT,
    Accountability,
    Callback,
    Commendation,
    Complaint,
    ComplaintLastFault,
    ComplaintLastFaultUnit,
    ComplaintStatsMonth,
    KeyCustomer,
)
from inspect_app.complaints.services import next_due
from inspect_app.complaints.stats import COUNTERS
from inspect_app.db import UTCDateTime, in_ids, unindexed
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.rectifications.models import RectificationLine


@dataclass
class ComplaintFilters:
    status: str = ""       # "" | open | overdue | registered | handling | closed | called_back
    source: str = ""
    category: str = ""
    outlet_id: int | None = None
    staff_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    mine: bool = False
    unit_path: str | None = None  # a unit's subtree


def complaint_query(session: Session, user: User, filters: ComplaintFilters, *, now: dt.datetime | None = None,
                    planned: bool = False):
    """The register's selection; ``planned``: a small scope through its outlets (``scope_outlets``),
    a large one by the complaints' own indexes with the scope checked per row."""
    now = now or clock.now()
    if planned and permissions.can_see_complaints(user):
        join, scope = _by_scope(session, user, Complaint.outlet_id, scope_outlets(session, user))
        query = select(Complaint, Outlet).join(Outlet, join).where(scope)
    else:
        query = (select(Complaint, Outlet).join(Outlet, Outlet.id == Complaint.outlet_id)
                 .where(permissions.complaints_clause(session, user)))
    return _filtered(query, user, filters, now)


def _filtered(query, user: User, filters: ComplaintFilters, now: dt.datetime):
    """``query`` limited by the register's filters (clauses on ``Complaint`` alone)."""
    if filters.status == "open":
        query = query.where(Complaint.status.in_(OPEN_COMPLAINT))
    elif filters.status == "overdue":
        query = query.where(Complaint.status.in_(OPEN_COMPLAINT), sa.or_(
            Complaint.resolve_due_at <= now, sa.and_(Complaint.contacted_at.is_(None), Complaint.contact_due_at <= now)))
    elif filters.status:
        query = query.where(Complaint.status == filters.status)
    if filters.source:
        query = query.where(Complaint.source == filters.source)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.outlet_id:
        query = query.where(Complaint.outlet_id == filters.outlet_id)
    if filters.staff_id:
        query = query.where(Complaint.staff_id == filters.staff_id)
    if filters.since:
        query = query.where(Complaint.received_at >= filters.since)
    if filters.until:
        query = query.where(Complaint.received_at < filters.until)
    if filters.mine:
        query = query.where(Complaint.owner_id == user.id)
    if filters.unit_path:  # on the complaint's outlet column: a count needs no outlet joined
        query = query.where(Complaint.outlet_id.in_(select(Outlet.id).join(Unit, Unit.id == Outlet.unit_id).where(
            Unit.path.startswith(filters.unit_path, autoescape=True))))
    return query


def complaint_rows(session: Session, user: User, filters: ComplaintFilters, *, limit: int, offset: int = 0):
    query = complaint_query(session, user, filters)
    # open ones first, the soonest deadline first; then the newest
    is_open = sa.case((Complaint.status.in_(OPEN_COMPLAINT), 0), else_=1)
    return session.execute(query.order_by(is_open, sa.case((is_open == 0, Complaint.resolve_due_at), else_=None),
                                          Complaint.received_at.desc(), Complaint.id.desc())
                           .offset(offset).limit(limit)).all()


def complaint_page(session: Session, user: User, filters: ComplaintFilters, *, limit: int,
                   offset: int = 0) -> tuple[list, int]:
    """A page of the register in ``complaint_rows``' order and how many there are, in three reads
    whatever the page: the counts (all, open), the open ones of the page by their deadline (the
    status index) and the others newest first (the received index). One order over both made the
    nation's register sort its 300,000 complaints for each page (550 ms)."""
    query = complaint_query(session, user, filters, planned=True)
    is_open = Complaint.status.in_(OPEN_COMPLAINT)
    # all and the open ones counted apart, each from an index alone (by outlet; the open ones' partial
    # index): one count with the open ones summed read every row, a province's 7,800 by a scan of
    # the country's 300,000 (70 ms → 10 ms)
    counted = [_filtered(select(sa.func.count()).select_from(Complaint).where(complaint_scope(session, user), *where),
                         user, filters, clock.now()).scalar_subquery() for where in ((), (OPEN_INDEXED,))]
    total, opened = session.execute(select(*counted)).one()
    opened = int(opened or 0)
    first = session.execute(query.where(is_open).order_by(Complaint.resolve_due_at, Complaint.received_at.desc(),
                                                           Complaint.id.desc())
                            .offset(min(offset, opened)).limit(max(0, min(limit, opened - offset)))).all()
    rest = session.execute(query.where(sa.not_(is_open)).order_by(Complaint.received_at.desc(), Complaint.id.desc())
                           .offset(max(0, offset - opened)).limit(limit - len(first))).all()
    return list(first) + list(rest), total


def count(session: Session, user: User, filters: ComplaintFilters) -> int:
    return session.exec(select(sa.func.count()).select_from(complaint_query(session, user, filters).subquery())).one()


# --- hotspots ---------------------------------------------------------------------------------------

@dataclass
class Hotspot:
    key: str
    label: str
    now: int
    before: int

    @property
    def change(self) -> int:
        return self.now - self.before


def _hot_rows(session: Session, user: User, since, until, before, within: Unit | None,
              top: int | None) -> dict[str, list[tuple]]:
    """(key, now, before) of each hotspot dimension (category, outlet, staff) in one read: the
    complaints of [before, until) read once (one range of the time index, kept by the statement),
    counted per key into the period and the one before, staff counting only substantiated ones;
    with ``top``, only the keys ranked within it by (now, change), ties included (the caller
    orders ties by label). Each dimension read the two months again (the nation's 15,000
    complaints three times: 54 → 39 ms)."""
    query = (select(Complaint.received_at, Complaint.category, Complaint.outlet_id, Complaint.staff_id,
                    Complaint.verdict).select_from(Complaint)
             .where(complaint_scope(session, user), Complaint.received_at >= before, Complaint.received_at < until))
    if within is not None:
        query = query.where(Complaint.outlet_id.in_(select(Outlet.id).join(Unit, Unit.id == Outlet.unit_id).where(
            Unit.path.startswith(within.path, autoescape=True))))
    read = query.cte("hot")
    current = sa.func.sum(sa.case((read.c.received_at >= since, 1), else_=0))
    earlier = sa.func.sum(sa.case((read.c.received_at < since, 1), else_=0))
    parts = []
    for name, column, at_fault_only in (("category", read.c.category, False), ("outlet", read.c.outlet_id, False),
                                        ("staff", read.c.staff_id, True)):
        counts = (select(sa.cast(column, sa.String).label("key"), current.label("now"), earlier.label("before"))
                  .where(column.is_not(None), *([read.c.verdict.in_(AT_FAULT)] if at_fault_only else []))
                  .group_by(column).subquery())
        rank = sa.func.rank().over(order_by=(counts.c.now.desc(), (counts.c.now - counts.c.before).desc()))
        ranked = select(counts.c.key, counts.c.now, counts.c.before, rank.label("rank")).subquery()
        part = select(sa.literal(name).label("dimension"), ranked.c.key, ranked.c.now, ranked.c.before)
        parts.append(part.where(ranked.c.rank <= top) if top is not None else part)
    found: dict[str, list[tuple]] = {"category": [], "outlet": [], "staff": []}
    for name, key, now, earlier_count in session.execute(sa.union_all(*parts)).all():
        found[name].append((key if name == "category" else int(key), now, earlier_count))
    return found


def hotspots(session: Session, user: User, *, since: dt.datetime, until: dt.datetime, before: dt.datetime,
             top: int | None = 10, within: Unit | None = None) -> dict[str, list[Hotspot]]:
    """Complaints by category, by outlet and by staff member in [since, until), against the period
    before it ([before, since)), in the viewer's scope (and ``within`` a unit's subtree). Staff
    counts only substantiated ones. Two reads whatever the data: the dimensions counted and ranked
    in the database, then the names of the few ranked (the nation's 12,000 outlets of two months
    were read back to name them, and a dimension without keys skipped its names: the count moved
    with the data)."""
    counted = _hot_rows(session, user, since, until, before, within, top)
    # the outlets' and the people's names in one read (after ranking: the planner joined the whole
    # staff register to the ranked rows, 200 ms), run even when there is nobody to name
    names = session.execute(sa.union_all(
        select(sa.literal("outlet"), Outlet.id, Outlet.name)
        .where(Outlet.id.in_([key for key, _n, _b in counted["outlet"]])),
        select(sa.literal("staff"), StaffMember.id, StaffMember.name + "(" + StaffMember.job_number + ")")
        .where(StaffMember.id.in_([key for key, _n, _b in counted["staff"]])))).all()
    labels = {(kind, key): text for kind, key, text in names}
    result: dict[str, list[Hotspot]] = {}
    for name, rows in counted.items():
        hot = [Hotspot(str(key), labels.get((name, key), str(key)), int(now or 0), int(earlier or 0))
               for key, now, earlier in rows]
        hot.sort(key=lambda h: (-h.now, -h.change, h.label))
        result[name] = hot[:top]
    return result


@dataclass
class Rate:
    concluded: int = 0
    first_contact: int = 0

    @property
    def percent(self) -> float | None:
        return None if not self.concluded else round(100.0 * self.first_contact / self.concluded, 1)


def first_contact_rate(session: Session, user: User, *, since: dt.datetime, until: dt.datetime) -> Rate:
    """Of the complaints concluded in the period, the share resolved at first contact (by the
    first owner, never handed on, never reopened)."""
    concluded, fcr = session.execute(
        select(sa.func.count(), sa.func.sum(sa.case((sa.and_(Complaint.handed_on == 0, Complaint.reopened == 0), 1), else_=0)))
        .select_from(Complaint).where(complaint_scope(session, user), Complaint.concluded_at >= since,
                                      Complaint.concluded_at < until)).one()
    return Rate(concluded or 0, int(fcr or 0))


# --- 零投诉 streaks ----------------------------------------------------------------------------------

@dataclass
class Streak:
    outlet: Outlet
    #: When the last substantiated complaint was received; None: none on record.
    last: dt.datetime | None
    #: Local days since then (or since ``since`` when there was none).
    days: int
    #: The local day counted from: the last one's day, or the origin of an outlet without one.
    since: dt.date

    @property
    def never(self) -> bool:
        return self.last is None


STREAK_SORTS = ("longest", "shortest", "code")


def register_start(session: Session) -> dt.datetime | None:
    """When the complaint register begins: its first complaint received (any outlet)."""
    return _aware(session.exec(select(sa.func.min(Complaint.received_at))).one())


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite's aggregate comes back naive (UTC)
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


def streaks(session: Session, user: User, *, outlets: list[Outlet], now: dt.datetime | None = None,
            start: dt.datetime | None = None) -> list[Streak]:
    """零投诉: local days since the last substantiated complaint per outlet (its received date, the
    outlet's calendar). An outlet that never had one counts from the later of the register's start
    (its first complaint) and the outlet's creation: it cannot have been free of complaints for
    longer than anyone has kept them, or than it has existed."""
    now = now or clock.now()
    ids = [o.id for o in outlets]
    last = dict(session.execute(select(ComplaintLastFault.outlet_id, ComplaintLastFault.last_at).where(
        ComplaintLastFault.outlet_id.in_(ids))).all()) if ids else {}
    start = start or register_start(session)
    return streaks_from(outlets=outlets, last=last, now=now, start=start)


def streaks_from(*, outlets: list[Outlet], last: dict, now: dt.datetime, start: dt.datetime | None) -> list[Streak]:
    """``streaks`` from each outlet's last substantiated complaint already read."""
    result = []
    for outlet in outlets:
        moment = _aware(last.get(outlet.id))
        origin = moment or max(filter(None, (start, _aware(outlet.created_at))))
        since = clock.local_date(origin, outlet.timezone)
        today = clock.local_date(now, outlet.timezone)
        result.append(Streak(outlet, moment, max(0, (today - since).days), since))
    return result


def outlet_streaks(session: Session, user: User, *, sort: str = "longest", now: dt.datetime | None = None,
                   outlet_code: str = "") -> list[Streak]:
    """Every active outlet in the viewer's scope with its streak, those without any substantiated
    complaint included; ``longest`` first (ties by code), ``shortest`` first, or by ``code``."""
    query = select(Outlet).where(permissions.outlets_clause(session, user), Outlet.active.is_(True))
    if outlet_code:
        query = query.where(Outlet.code == outlet_code)
    rows = streaks(session, user, outlets=list(session.exec(query.order_by(Outlet.code)).all()), now=now)
    if sort == "shortest":
        rows.sort(key=lambda r: (r.days, r.outlet.code))
    elif sort != "code":
        rows.sort(key=lambda r: (-r.days, r.outlet.code))
    return rows


@functools.lru_cache(maxsize=64)
def _fixed_offset(zone_name: str, first_year: int, last_year: int) -> int | None:
    """The zone's UTC offset in seconds when it did not change from ``first_year`` to ``last_year``
    (Asia/Shanghai since 1992), else None: a local day is then a whole number of days from the
    epoch after shifting by it, which both databases can compute."""
    zone = clock.zone(zone_name)
    offsets = {dt.datetime(year, month, day, tzinfo=dt.timezone.utc).astimezone(zone).utcoffset()
               for year in range(first_year, last_year + 1) for month in range(1, 13) for day in (1, 15)}
    return int(offsets.pop().total_seconds()) if len(offsets) == 1 else None


def _epoch_seconds(session: Session, column):
    """Whole seconds since 1970 of a UTC instant (both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger)
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)


def streak_page(session: Session, user: User, *, sort: str = "longest", outlet_code: str = "", limit: int,
                offset: int = 0, now: dt.datetime | None = None) -> tuple[list[Streak], int, int, dt.datetime | None]:
    """A page of ``outlet_streaks`` (the same rows in the same order), how many outlets there are,
    how many never had one, and the register's start: ordered, counted and cut in the database
    (local days in each outlet's zone on PostgreSQL; on SQLite from the zones' offsets, when fixed
    over the register's years, else ordered in Python as before), the page's streaks then made as
    ``streaks`` makes them, each outlet's last one kept (``ComplaintLastFault``). Building all 50,000 of
    the nation's to show 50 took 2.6 s; grouping its 190,000 complaints at fault, 40 ms more."""
    now = now or clock.now()
    start = register_start(session)
    last = select(ComplaintLastFault.outlet_id.label("outlet_id"), ComplaintLastFault.last_at.label("last")).subquery()
    where = [permissions.outlets_clause(session, user), Outlet.active.is_(True)]
    if outlet_code:
        where.append(Outlet.code == outlet_code)
    base = select(Outlet, last.c.last).outerjoin(last, last.c.outlet_id == Outlet.id).where(*where)
    origin = sa.func.coalesce(last.c.last, _later(session, sa.literal(start, UTCDateTime) if start else None,
                                                   Outlet.created_at))
    if session.get_bind().dialect.name == "postgresql":  # local dates in each outlet's own zone
        local = lambda moment: sa.cast(sa.func.timezone(Outlet.timezone, moment), sa.Date)  # noqa: E731
        raw = sa.type_coerce(local(sa.literal(now, UTCDateTime)) - local(origin), sa.Integer)
        # the network's zone, when its offset held over the register's years, by whole seconds: two
        # zone conversions per outlet were half the nation's 50,000-row sort (others stay exact)
        zone = clock.default_zone()
        shift = _fixed_offset(zone, min((start or now).year, now.year), now.year + 1)
        if shift is not None:
            # the local day as a date shifted from UTC's wall time, not whole seconds since 1970: the
            # epoch is a numeric on PostgreSQL, and its arithmetic was most of the nation's statement
            # (50,000 rows: 63–92 → 40–55 ms, the same days)
            shifted = sa.func.timezone("UTC", origin) + sa.literal(dt.timedelta(seconds=shift), sa.Interval)
            fixed = sa.type_coerce(sa.literal(clock.local_date(now, zone), sa.Date) - sa.cast(shifted, sa.Date),
                                   sa.Integer)
            raw = sa.case((Outlet.timezone == zone, fixed), else_=raw)
        days = sa.func.greatest(raw, 0).label("days")
    else:  # SQLite knows no zones: their offsets, when fixed over the register's years
        zones = session.execute(select(Outlet.timezone).where(*where).distinct()).scalars().all()
        first_year = min((start or now).year, now.year)
        offsets = {z: _fixed_offset(z, first_year, now.year + 1) for z in zones}
        if None in offsets.values() or not zones:  # ordered here, as outlet_streaks does
            rows = streaks(session, user, now=now, start=start, outlets=[
                o for o, _l in session.execute(base.order_by(Outlet.code)).all()])
            if sort == "shortest":
                rows.sort(key=lambda r: (r.days, r.outlet.code))
            elif sort != "code":
                rows.sort(key=lambda r: (-r.days, r.outlet.code))
            return rows[offset:offset + limit], len(rows), sum(1 for r in rows if r.never), start
        shift = sa.case({z: off for z, off in offsets.items()}, value=Outlet.timezone)
        today = sa.case({z: (clock.local_date(now, z) - EPOCH_DAY).days for z in zones}, value=Outlet.timezone)
        raw = today - (_epoch_seconds(session, origin) + shift) // 86400  # whole local days since 1970
        days = sa.func.max(raw, 0).label("days")
    # ordered and counted on narrow rows (id, code, days) kept once, the page's outlets joined after:
    # the counts over all the nation's rows carried each outlet's every column through the window,
    # and a window over them still spooled 50,000 rows to hand each the same two numbers (a kept
    # set read twice, for the page and for the counts: the nation's statement 101 → 84 ms median on
    # PostgreSQL, alternated 40 times; 19–23 → 15 ms on SQLite's large dataset)
    ranked = (select(Outlet.id.label("id"), Outlet.code.label("code"), last.c.last.label("last"), days)
              .select_from(Outlet).outerjoin(last, last.c.outlet_id == Outlet.id).where(*where)).cte("ranked")
    order = {"shortest": lambda t: (t.c.days, t.c.code), "code": lambda t: (t.c.code,)}.get(
        sort, lambda t: (t.c.days.desc(), t.c.code))
    counts = select(sa.func.count().label("total"),
                    sa.func.sum(sa.case((ranked.c.last.is_(None), 1), else_=0)).label("never")).subquery()
    cut = select(ranked).order_by(*order(ranked)).offset(offset).limit(limit).subquery()
    found = session.execute(select(Outlet, cut.c.last, counts.c.total, counts.c.never).join(cut, cut.c.id == Outlet.id)
                            .join(counts, sa.true()).order_by(*order(cut))).all()
    if not found:  # no outlet, or a page past the last: counted apart
        total, never = session.execute(select(sa.func.count(), sa.func.sum(sa.case((last.c.last.is_(None), 1), else_=0)))
                                       .select_from(Outlet).outerjoin(last, last.c.outlet_id == Outlet.id)
                                       .where(*where)).one() if offset else (0, 0)
        return [], int(total or 0), int(never or 0), start
    last_of = {o.id: moment for o, moment, _t, _n in found}
    rows = streaks_from(outlets=[o for o, *_rest in found], last=last_of, now=now, start=start)
    return rows, int(found[0][2]), int(found[0][3] or 0), start


def _later(session: Session, a, b):
    """The later of two instants (either may be missing)."""
    if a is None:
        return b
    b = sa.func.coalesce(b, a)
    return sa.func.greatest(a, b) if session.get_bind().dialect.name == "postgresql" else sa.func.max(a, b)


EPOCH_DAY = dt.date(1970, 1, 1)


def unit_streak(session: Session, unit: Unit | list[Unit], *, now: dt.datetime | None = None) -> int | None:
    """Days since the last substantiated complaint anywhere in the unit's subtree (or the units':
    the shortest of their streaks, in one read)."""
    units = unit if isinstance(unit, list) else [unit]
    days = [d for d in unit_streaks(session, units, now=now).values() if d is not None]
    return min(days) if days else None


def unit_streaks(session: Session, units: list[Unit], *, now: dt.datetime | None = None) -> dict[int, int | None]:
    """``unit_streak`` of each unit (unit id → days, None without any) in the network's calendar, in
    one read of the units' kept newest at fault (``ComplaintLastFaultUnit``): the nation's hotspots
    walked the received index once per province (50 ms), and a read per unit made them 80
    statements."""
    now = now or clock.now()
    if not units:
        return {}
    moments = dict(session.execute(select(ComplaintLastFaultUnit.unit_id, ComplaintLastFaultUnit.last_at).where(
        ComplaintLastFaultUnit.unit_id.in_([u.id for u in units]))).all())
    zone = clock.default_zone()
    today = clock.local_date(now, zone)
    return {u.id: None if moments.get(u.id) is None else (today - clock.local_date(_aware(moments[u.id]), zone)).days
            for u in units}


def recent_at_fault(session: Session, user: User, *, limit: int = 15) -> list[int]:
    """The outlets of the viewer's scope with the newest substantiated complaints (by their last
    one, the newest first), from each outlet's last one kept (``ComplaintLastFault``) read newest
    first: the nation's newest 300 complaints at fault were read and grouped (25 ms), all of its
    190,000 before that (600 ms)."""
    if not permissions.can_see_complaints(user):
        return []
    last = ComplaintLastFault
    query = select(last.outlet_id).order_by(last.last_at.desc(), last.outlet_id).limit(limit)
    if not permissions.is_admin(user):
        few = scope_outlets(session, user)
        query = query.where(in_ids(session, last.outlet_id, few) if few is not None else
                            last.outlet_id.in_(select(Outlet.id).where(permissions.outlets_clause(session, user))))
    return list(session.execute(query).scalars().all())


# --- per unit, for the board and the bulletins -----------------------------------------------------------

@dataclass
class UnitComplaints:
    unit: Unit
    received: int = 0
    at_fault: int = 0
    appeals: int = 0
    open: int = 0
    overdue: int = 0
    concluded: int = 0
    first_contact: int = 0
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def first_contact_percent(self) -> float | None:
        return None if not self.concluded else round(100.0 * self.first_contact / self.concluded, 1)


FIGURES = ("received", "at_fault", "appeals", "open", "overdue", "concluded", "first_contact")


def by_child_units(session: Session, user: User, children: list[Unit], *, since: dt.datetime, until: dt.datetime,
                   now: dt.datetime | None = None, kept: bool | None = None) -> list[UnitComplaints]:
    """One row per unit in ``children`` (each counted over its whole subtree), within the viewer's
    scope: one read grouped by child and category, however many children there are.

    Whole months (where the network is: the board's periods) are read from the counts kept per
    unit and month (``ComplaintStatsMonth``) and only what is open now from the complaints; other
    periods (a bulletin's week) from the complaints. ``kept`` forces one way or the other (the tests
    compare them)."""
    now = now or clock.now()
    rows = [UnitComplaints(unit) for unit in children]
    if not rows:
        return []
    months = _whole_months(since, until)
    whole = months is not None and _units_wholly_seen(session, user, children)
    if kept is None:
        kept = whole
    elif kept and not whole:
        raise ValueError("kept counts are whole months of units the viewer sees whole")
    if kept:
        figures = _kept_figures(session, user, children, months, now)
    else:
        figures = _live_figures(session, user, children, since, until, now)
    for n, category, *values in figures:
        row = rows[n] if n is not None else None
        if row is not None:
            for name, value in zip(FIGURES, values):
                setattr(row, name, getattr(row, name) + int(value or 0))
            if values[0]:  # received in the period
                row.categories[category] = row.categories.get(category, 0) + int(values[0])
    return rows


def scope_totals(session: Session, user: User, units: list[Unit], *, since: dt.datetime, until: dt.datetime,
                 now: dt.datetime | None = None) -> UnitComplaints:
    """The figures of ``units`` together (home's 本月投诉 over the viewer's whole scope): no split by
    child, so whole months are the units' kept rows summed and what is open counted in one read
    (for an administrator's top units, through the status index alone)."""
    now = now or clock.now()
    total = UnitComplaints(units[0] if len(units) == 1 else None)
    months = _whole_months(since, until) if units else None
    if months is None or not _units_wholly_seen(session, user, units):
        for row in by_child_units(session, user, units, since=since, until=until, now=now):
            for name in FIGURES:
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total
    first, end = months
    kept = session.execute(select(*[sa.func.sum(getattr(ComplaintStatsMonth, name)) for name in COUNTERS]).where(
        ComplaintStatsMonth.unit_id.in_([u.id for u in units]), ComplaintStatsMonth.month >= first,
        ComplaintStatsMonth.month < end)).one()
    is_open, overdue = _open_clauses(now)
    opened = select(sa.func.count(), sa.func.sum(sa.case((overdue, 1), else_=0))).where(is_open)
    if not all(u.parent_id is None for u in units):  # the top units hold every outlet
        opened = opened.join(Outlet, Outlet.id == Complaint.outlet_id).join(Unit, Unit.id == Outlet.unit_id).where(
            _children_clause(units))
    open_count, overdue_count = session.execute(opened).one()
    for name, value in zip(COUNTERS, kept):
        setattr(total, name, int(value or 0))
    total.open, total.overdue = int(open_count or 0), int(overdue_count or 0)
    return total


def _whole_months(since: dt.datetime, until: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """(first month, month after the last) when [since, until) is whole months where the network is."""
    zone = clock.default_zone()
    first, end = clock.local_date(since, zone), clock.local_date(until, zone)
    if first.day != 1 or end.day != 1 or first >= end:
        return None
    if clock.day_start(first, zone) != since or clock.day_start(end, zone) != until:
        return None
    return first, end


def _child_case(children: list[Unit]):
    return sa.case(*[(Unit.path.startswith(u.path, autoescape=True), n) for n, u in enumerate(children)], else_=None)


def _children_clause(children: list[Unit]):
    return (sa.true() if all(u.parent_id is None for u in children)  # the top units hold every outlet
            else sa.or_(*[Unit.path.startswith(u.path, autoescape=True) for u in children]))


def _open_clauses(now: dt.datetime):
    is_open = Complaint.status.in_([s.value for s in OPEN_COMPLAINT])
    overdue = sa.and_(is_open, sa.or_(Complaint.resolve_due_at <= now, sa.and_(
        Complaint.contacted_at.is_(None), Complaint.contact_due_at <= now)))
    return is_open, overdue


def _scope(session: Session, user: User):
    # the viewer's complaints (``permissions.complaints_clause``), checked on the outlet joined
    return permissions.outlets_clause(session, user) if permissions.can_see_complaints(user) else sa.false()


def _live_figures(session: Session, user: User, children: list[Unit], since: dt.datetime, until: dt.datetime,
                  now: dt.datetime):
    in_period = sa.and_(Complaint.received_at >= since, Complaint.received_at < until)
    concluded_in = sa.and_(Complaint.concluded_at >= since, Complaint.concluded_at < until)
    is_open, overdue = _open_clauses(now)
    # summed per unit holding outlets and category first, then per child in the database (a few
    # dozen children, a CASE over their paths): the CASE on each complaint's row, and the scope
    # checked apart from the outlet joined, cost the nation's board 100 ms of its 90 days
    per_unit = (select(
        Outlet.unit_id, Complaint.category,
        sa.func.sum(sa.case((in_period, 1), else_=0)).label("received"),
        sa.func.sum(sa.case((sa.and_(in_period, Complaint.verdict.in_(AT_FAULT)), 1), else_=0)).label("at_fault"),
        sa.func.sum(sa.case((sa.and_(in_period, Complaint.source == "appeal"), 1), else_=0)).label("appeals"),
        sa.func.sum(sa.case((is_open, 1), else_=0)).label("open"),
        sa.func.sum(sa.case((overdue, 1), else_=0)).label("overdue"),
        sa.func.sum(sa.case((concluded_in, 1), else_=0)).label("concluded"),
        sa.func.sum(sa.case((sa.and_(concluded_in, Complaint.handed_on == 0, Complaint.reopened == 0), 1),
                            else_=0)).label("first_contact"))
        .join(Outlet, Outlet.id == Complaint.outlet_id)
        # only the complaints these figures count, each found by its own index
        .where(_scope(session, user), sa.or_(in_period, concluded_in, is_open))
        .group_by(Outlet.unit_id, Complaint.category)).subquery()
    child = _child_case(children)
    return session.execute(
        select(child, per_unit.c.category, *[sa.func.sum(per_unit.c[name]) for name in FIGURES])
        .select_from(per_unit).join(Unit, Unit.id == per_unit.c.unit_id)
        .where(_children_clause(children))
        .group_by(child, per_unit.c.category)).all()  # one read: the categories are its groups


def _units_wholly_seen(session: Session, user: User, children: list[Unit]) -> bool:
    """Whether the viewer sees every outlet under each of ``children`` (the kept counts are per unit,
    whole): an administrator, or a unit-scoped viewer whose scope holds them; a branch chief's
    scope is outlets."""
    if not permissions.can_see_complaints(user):
        return False
    if permissions.is_admin(user):
        return True
    if user.role == Role.branch_chief:
        return False
    path = permissions.scope_path(session, user)
    return path is not None and all(u.path.startswith(path) for u in children)


def _kept_figures(session: Session, user: User, children: list[Unit], months: tuple[dt.date, dt.date],
                  now: dt.datetime):
    """The same rows as ``_live_figures`` from the counts kept per unit and month (each unit's row
    counts its whole subtree: the nation's quarter is 31 provinces' few hundred rows, where the
    live read grouped 41,000 complaints by their outlets' units: 150 ms), with what is open now
    from the complaints themselves (a few thousand, by their status index)."""
    first, end = months
    is_open, overdue = _open_clauses(now)
    zero = sa.literal(0)
    kept = (select(sa.case({u.id: n for n, u in enumerate(children)}, value=ComplaintStatsMonth.unit_id).label("n"),
                   ComplaintStatsMonth.category,
                   ComplaintStatsMonth.received, ComplaintStatsMonth.at_fault, ComplaintStatsMonth.appeals,
                   zero.label("open"), zero.label("overdue"), ComplaintStatsMonth.concluded,
                   ComplaintStatsMonth.first_contact)
            .where(ComplaintStatsMonth.unit_id.in_([u.id for u in children]),
                   ComplaintStatsMonth.month >= first, ComplaintStatsMonth.month < end))
    # the open ones (a few thousand) each find their unit's path by the outlet's key, behind a
    # fence (OFFSET 0) so the CASE over the children reads the path once: joined, the planner
    # hashed all 50,000 outlets for them (20 ms of the nation's board)
    path = (select(Unit.path).join(Outlet, Outlet.unit_id == Unit.id)
            .where(Outlet.id == Complaint.outlet_id).scalar_subquery())
    opened = (select(path.label("path"), Complaint.category, sa.case((overdue, 1), else_=0).label("overdue"))
              .where(sa.true() if permissions.is_admin(user) else permissions.complaints_clause(session, user),
                     is_open).offset(0).subquery())
    child = sa.case(*[(opened.c.path.startswith(u.path, autoescape=True), n) for n, u in enumerate(children)],
                    else_=None)
    open_now = select(child, opened.c.category, zero, zero, zero, sa.literal(1).label("open"), opened.c.overdue,
                      zero, zero)
    both = sa.union_all(kept, open_now).subquery()
    return session.execute(
        select(both.c.n, both.c.category, *[sa.func.sum(both.c[name]) for name in FIGURES])
        .group_by(both.c.n, both.c.category)).all()


# --- accountability ----------------------------------------------------------------------------------

@dataclass
class AccountabilityFilters:
    status: str = ""   # "" | proposed | decided | acknowledged | appealed | revoked | pending (proposed, decided, appealed)
    outlet_id: int | None = None
    since: dt.datetime | None = None  # opened in [since, until)
    until: dt.datetime | None = None


PENDING_ACCOUNTABILITY = ("proposed", "decided", "appealed")


def accountability_query(session: Session, user: User, filters: AccountabilityFilters):
    """(record, staff, outlet, complaint or None, red-line finding or None) in the viewer's scope,
    the newest first; the complaint comes along for its customer's details, which are taken out of
    the texts for whoever may not read them."""
    query = (select(Accountability, StaffMember, Outlet, Complaint, RectificationLine)
             .join(StaffMember, StaffMember.id == Accountability.staff_id)
             .join(Outlet, Outlet.id == Accountability.outlet_id)
             .outerjoin(Complaint, Complaint.id == Accountability.complaint_id)
             .outerjoin(RectificationLine, RectificationLine.id == Accountability.line_id)
             .where(permissions.accountability_clause(session, user)))
    if filters.status == "pending":
        query = query.where(Accountability.status.in_(PENDING_ACCOUNTABILITY))
    elif filters.status:
        query = query.where(Accountability.status == filters.status)
    if filters.outlet_id:
        query = query.where(Accountability.outlet_id == filters.outlet_id)
    if filters.since:
        query = query.where(Accountability.opened_at >= filters.since)
    if filters.until:
        query = query.where(Accountability.opened_at < filters.until)
    return query.order_by(Accountability.opened_at.desc(), Accountability.id.desc())


def accountability_rows(session: Session, user: User, filters: AccountabilityFilters, *, limit: int, offset: int = 0):
    return session.execute(accountability_query(session, user, filters).offset(offset).limit(limit)).all()


def accountability_count(session: Session, user: User, filters: AccountabilityFilters) -> int:
    query = accountability_query(session, user, filters).order_by(None)
    return session.exec(select(sa.func.count()).select_from(query.subquery())).one()


# --- a staff member's record ---------------------------------------------------------------------------

@dataclass
class PersonRecord:
    staff: StaffMember
    outlet: Outlet
    findings: list = field(default_factory=list)
    complaints: list = field(default_factory=list)
    accountability: list = field(default_factory=list)
    commendations: list = field(default_factory=list)


def person_record(session: Session, user: User, staff: StaffMember) -> PersonRecord:
    """员工绩效评定: findings naming the person, complaints about them, accountability and praise.
    Only what the viewer may see: a finding of an unreleased secret visit is never a line yet."""
    outlet = session.get(Outlet, staff.outlet_id)
    lines = session.exec(select(RectificationLine).where(RectificationLine.staff_id == staff.id)
                         .order_by(RectificationLine.issued_at.desc()).limit(100)).all()
    findings = [line for line in lines if permissions.can_view_line(session, user, line)]
    complaints = session.exec(select(Complaint).where(Complaint.staff_id == staff.id,
                                                      permissions.complaints_clause(session, user))
                              .order_by(Complaint.received_at.desc()).limit(100)).all()
    records = session.exec(select(Accountability).where(Accountability.staff_id == staff.id,
                                                        permissions.accountability_clause(session, user))
                           .order_by(Accountability.opened_at.desc())).all()
    praise = session.exec(select(Commendation).where(Commendation.staff_id == staff.id)
                          .order_by(Commendation.month.desc())).all()
    return PersonRecord(staff, outlet, findings, list(complaints), list(records), list(praise))


# --- callback plans -----------------------------------------------------------------------------------

@dataclass
class DueCustomer:
    customer: KeyCustomer
    outlet: Outlet
    last: Callback | None
    due: dt.date
    overdue_days: int


def callbacks_due(session: Session, user: User, *, now: dt.datetime | None = None, include_later: bool = False):
    """Key customers whose next callback is due today or before (or all, with ``include_later``),
    most overdue first."""
    now = now or clock.now()
    customers = session.execute(select(KeyCustomer, Outlet).join(Outlet, Outlet.id == KeyCustomer.outlet_id)
                                .where(KeyCustomer.active.is_(True), permissions.outlets_clause(session, user))).all()
    ids = [c.id for c, _o in customers]
    last_at = dict(session.execute(select(Callback.key_customer_id, sa.func.max(Callback.id))
                                   .where(Callback.key_customer_id.in_(ids)).group_by(Callback.key_customer_id)).all()) if ids else {}
    last_rows = {cb.key_customer_id: cb for cb in session.exec(select(Callback).where(
        Callback.id.in_(list(last_at.values())))).all()} if last_at else {}
    rows = []
    for customer, outlet in customers:
        last = last_rows.get(customer.id)
        last_day = None
        if last is not None:
            at = last.at if last.at.tzinfo else last.at.replace(tzinfo=dt.timezone.utc)
            last_day = clock.local_date(at, outlet.timezone)
        due = next_due(customer, last_day)
        late = (clock.local_date(now, outlet.timezone) - due).days
        if late >= 0 or include_later:
            rows.append(DueCustomer(customer, outlet, last, due, late))
    rows.sort(key=lambda r: (-r.overdue_days, r.outlet.code, r.customer.name))
    return rows


#: Open, written as ``ix_complaint_open_outlet``'s predicate (literal ORs) so that both databases see
#: the partial index applies: a bound IN proves nothing to SQLite.
OPEN_INDEXED = sa.or_(*[Complaint.status == sa.literal_column(f"'{s.value}'") for s in OPEN_COMPLAINT])


def scope_outlets(session: Session, user: User) -> list[int] | None:
    """The viewer's outlets when few enough to plan by (``org.SCOPE_FIRST_OUTLETS``), else None:
    a small scope's complaints and callbacks are read outlet by outlet (their outlet indexes), a
    large one's walk the country's rows in time order with the scope checked per row. One read,
    once a request."""
    return permissions._memo(("complaint_scope_outlets", user.id, org.SCOPE_FIRST_OUTLETS), lambda: org.few_outlets(
        session.execute(select(Outlet.id).where(permissions.outlets_clause(session, user))
                        .limit(org.SCOPE_FIRST_OUTLETS + 1)).scalars().all()))


def complaint_scope(session: Session, user: User):
    """``permissions.complaints_clause`` planned by scope: a small scope's outlet ids (the outlet
    indexes), nothing to check for an administrator (every outlet: no join nor semi-join of the
    country's 50,000 outlets), else the clause itself."""
    if not permissions.can_see_complaints(user):
        return sa.false()
    if permissions.is_admin(user):
        return sa.true()
    few = scope_outlets(session, user)
    return in_ids(session, Complaint.outlet_id, few) if few is not None else permissions.complaints_clause(session, user)


def _by_scope(session: Session, user: User, column, few: list[int] | None):
    """(join condition on ``Outlet``, where clause) for a table's ``column`` naming its outlet,
    planned by scope: through the few outlet ids, or the table's own order with the scope
    checked per row (``unindexed``: the planner must not drive it from the outlet index)."""
    if few is not None:
        return Outlet.id == column, in_ids(session, column, few)
    return Outlet.id == unindexed(column), sa.true() if permissions.is_admin(user) else permissions.outlets_clause(
        session, user)


def complaints_to_call_back(session: Session, user: User, *, limit: int = 50):
    """Concluded complaints whose customer has not been called back yet, the oldest first."""
    if not permissions.can_see_complaints(user):
        return []
    few = scope_outlets(session, user)
    if few is None:  # the country's closed ones by the status index
        return session.execute(select(Complaint, Outlet).join(Outlet, Outlet.id == Complaint.outlet_id)
                               .where(complaint_scope(session, user), Complaint.status == "closed")
                               .order_by(Complaint.concluded_at, Complaint.id).limit(limit)).all()
    # a small scope's closed ones through its outlets, behind a fence (OFFSET 0): PostgreSQL walked
    # the country's concluded index for a province's 50 (120,000 rows passed over, 170 ms)
    mine = (select(Complaint.id.label("id")).where(in_ids(session, Complaint.outlet_id, few),
                                                   Complaint.status == "closed").offset(0).subquery())
    return session.execute(select(Complaint, Outlet).join(mine, mine.c.id == Complaint.id)
                           .join(Outlet, Outlet.id == Complaint.outlet_id)
                           .order_by(Complaint.concluded_at, Complaint.id).limit(limit)).all()


def callback_log_query(session: Session, user: User, *, few: list[int] | None = None, planned: bool = False):
    """(callback, outlet, key customer or None, complaint or None) in the viewer's scope, the newest
    first; ``planned``: through ``few`` outlets (``scope_outlets``) or the callbacks' time order."""
    join, scope = (_by_scope(session, user, Callback.outlet_id, few) if planned
                   else (Outlet.id == Callback.outlet_id, permissions.outlets_clause(session, user)))
    return (select(Callback, Outlet, KeyCustomer, Complaint)
            .join(Outlet, join)
            .outerjoin(KeyCustomer, KeyCustomer.id == Callback.key_customer_id)
            .outerjoin(Complaint, Complaint.id == Callback.complaint_id)
            .where(scope)
            .order_by(Callback.at.desc(), Callback.id.desc()))


def callback_log(session: Session, user: User, *, limit: int = 100, offset: int = 0):
    # a county's 14 outlets walked the country's 290,000 callbacks newest first for its 30 (800 ms)
    few = scope_outlets(session, user)
    query = callback_log_query(session, user, few=few, planned=True)
    if few is None:
        return session.execute(query.offset(offset).limit(limit)).all()
    # the page's callbacks chosen among the scope's own, behind a fence (OFFSET 0), then joined:
    # PostgreSQL still walked the country's callbacks newest first for a county's 172 when it
    # costed the joins of all 172 (123,584 rows passed over, 42 ms)
    mine = (select(Callback.id.label("id"), Callback.at.label("at"))
            .where(in_ids(session, Callback.outlet_id, few)).offset(0).subquery())
    page = select(mine.c.id).order_by(mine.c.at.desc(), mine.c.id.desc()).offset(offset).limit(limit).subquery()
    return session.execute(query.join(page, page.c.id == Callback.id)).all()


def callback_count(session: Session, user: User) -> int:
    few = scope_outlets(session, user)
    if few is not None:
        return session.exec(select(sa.func.count()).select_from(Callback)
                            .where(in_ids(session, Callback.outlet_id, few))).one()
    if permissions.is_admin(user):  # every callback: nothing to join
        return session.exec(select(sa.func.count()).select_from(Callback)).one()
    query = (select(sa.func.count()).select_from(Callback).join(Outlet, Outlet.id == Callback.outlet_id)
             .where(permissions.outlets_clause(session, user)))
    return session.exec(query).one()
