"""Inspection plans: making, changing and ending them, and the visits they make ahead of time.

A plan makes the visits of its current and next period (``generate``), when it is saved and by
``inspect-app sweep``. Each visit has one place in the plan (outlet, period, n-th visit of the
period) kept on the visit, so generating again makes nothing twice. Windows are spread over the
period (the n-th visit in the n-th part of it, the outlets' windows staggered through that part),
people over the pool (the least loaded first), and neither lands on a blackout day. Secret visits
keep the shoppers' rotation (``visits.services.check_secret_schedule``).

Services flush and audit; views commit. Every refusal says what to change, and nothing is kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.checklists import services as checklists
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet, OutletBlackout, Unit
from inspect_app.plans.models import (
    AssignMode,
    InspectionPlan,
    OutletRule,
    PeriodKind,
    PlanBlackout,
    PlanMember,
    PlanOutlet,
    PlanPairing,
    PlanStatus,
)
from inspect_app.plans.periods import PlanPeriod, days, periods
from inspect_app.visits import services as visits
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.models import SELF_KIND, StarRating, Visit, VisitStatus

#: A window is at least a week (or the whole part of the period when that is shorter), and a
#: quarter of its part of the period when that is longer: a quarterly visit gets about three weeks.
WINDOW_MIN_DAYS = 7
MAX_PER_PERIOD = 60
MAX_PLAN_DAYS = 3 * 366
MAX_VISITS_PER_PERIOD = 5000
MAX_BLACKOUTS = 60
MAX_CAP = 1000


def plan_zone() -> str:
    """A plan's dates are its unit's local dates (units keep the network's zone)."""
    return clock.default_zone()


@dataclass
class PlanInput:
    """What the plan form says (also what a test or the demo writes)."""

    name: str
    unit_id: int
    checklist_code: str
    starts_on: dt.date
    ends_on: dt.date
    per_period: int = 1
    period_kind: str = PeriodKind.month
    outlet_rule: str = OutletRule.subtree
    outlet_ids: list[int] = field(default_factory=list)
    red_line_days: int | None = None
    assign_mode: str = AssignMode.pool
    member_ids: list[int] = field(default_factory=list)
    #: (source unit id, target unit id): the source's inspectors visit the target's outlets.
    pairings: list[tuple[int, int]] = field(default_factory=list)
    max_per_person: int | None = None
    #: (first day, last day, reason)
    blackouts: list[tuple[dt.date, dt.date, str]] = field(default_factory=list)


@dataclass
class Generated:
    created: list[Visit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- reading a plan --------------------------------------------------------------------------------

def members_of(session: Session, plan: InspectionPlan) -> list[User]:
    return list(session.exec(select(User).join(PlanMember, PlanMember.user_id == User.id)
                             .where(PlanMember.plan_id == plan.id).order_by(User.id)).all())


def pairings_of(session: Session, plan: InspectionPlan) -> list[tuple[Unit, Unit]]:
    """(source, target) units of a cross-inspection, in the order of the targets' codes."""
    rows = session.exec(select(PlanPairing).where(PlanPairing.plan_id == plan.id)).all()
    units = _units(session, {r.source_unit_id for r in rows} | {r.target_unit_id for r in rows})
    pairs = [(units[r.source_unit_id], units[r.target_unit_id]) for r in rows]
    return sorted(pairs, key=lambda p: p[1].code)


def blackouts_of(session: Session, plan: InspectionPlan) -> list[PlanBlackout]:
    return list(session.exec(select(PlanBlackout).where(PlanBlackout.plan_id == plan.id)
                             .order_by(PlanBlackout.date_from)).all())


def listed_outlet_ids(session: Session, plan: InspectionPlan) -> list[int]:
    return list(session.exec(select(PlanOutlet.outlet_id).where(PlanOutlet.plan_id == plan.id)).all())


def _units(session: Session, ids) -> dict[int, Unit]:
    ids = set(ids)
    return {u.id: u for u in session.exec(select(Unit).where(Unit.id.in_(ids))).all()} if ids else {}


def selected_outlets(session: Session, plan: InspectionPlan, *, listed: list[int] | None = None,
                     pairings: list[tuple[Unit, Unit]] | None = None) -> list[Outlet]:
    """The outlets the plan visits now: active outlets of its unit's subtree by its rule (for a
    cross-inspection, only those of the paired target units), by code."""
    unit = session.get(Unit, plan.unit_id)
    query = (select(Outlet).join(Unit, Unit.id == Outlet.unit_id)
             .where(Outlet.active.is_(True), Unit.path.startswith(unit.path, autoescape=True)))
    if plan.outlet_rule == OutletRule.listed:
        ids = listed if listed is not None else listed_outlet_ids(session, plan)
        query = query.where(Outlet.id.in_(ids or [-1]))
    elif plan.outlet_rule == OutletRule.stars:
        query = query.where(Outlet.id.in_(select(StarRating.outlet_id).where(
            StarRating.ended_at.is_(None), StarRating.valid_until > clock.now())))
    elif plan.outlet_rule == OutletRule.red_line:
        since = clock.now() - dt.timedelta(days=plan.red_line_days or 90)
        query = query.where(Outlet.id.in_(select(Visit.outlet_id).where(
            Visit.status == VisitStatus.released, Visit.red_line.is_(True), Visit.released_at >= since)))
    if plan.assign_mode == AssignMode.pairing:
        targets = pairings if pairings is not None else pairings_of(session, plan)
        if not targets:
            return []
        query = query.where(sa.or_(*(Unit.path.startswith(t.path, autoescape=True) for _s, t in targets)))
    return list(session.exec(query.order_by(Outlet.code)).all())


class _Planner:
    """What generating and checking a plan needs, read once: its outlets, who may take each one,
    the blocked days, and how many of the plan's visits each person has in a period."""

    def __init__(self, session: Session, plan: InspectionPlan):
        self.session, self.plan = session, plan
        self.pairings = pairings_of(session, plan) if plan.assign_mode == AssignMode.pairing else []
        self.outlets = selected_outlets(session, plan, pairings=self.pairings)
        self.members = members_of(session, plan) if plan.assign_mode == AssignMode.pool else []
        self.secret = plan.kind == "secret"
        blackout_rows = blackouts_of(session, plan)
        self.plan_blocked = {d for b in blackout_rows for d in days(b.date_from, b.date_until)}
        self.outlet_blocked: dict[int, set[dt.date]] = {}
        if self.secret and self.outlets:
            for row in session.exec(select(OutletBlackout).where(
                    OutletBlackout.outlet_id.in_([o.id for o in self.outlets]))).all():
                self.outlet_blocked.setdefault(row.outlet_id, set()).update(days(row.date_from, row.date_until))
        self._unit_paths = dict(session.execute(select(Unit.id, Unit.path)).all())
        self._inspectors: dict[int, list[User]] = {}
        self._pool_cache: dict[int, list[User]] = {}
        self.chiefs: dict[int, list[User]] = {}
        if plan.assign_mode == AssignMode.self and self.outlets:
            for outlet_id, person in session.execute(
                    select(UserOutlet.outlet_id, User).join(User, User.id == UserOutlet.user_id)
                    .where(UserOutlet.outlet_id.in_([o.id for o in self.outlets]), User.active.is_(True),
                           User.role == Role.branch_chief).order_by(User.id)).all():
                self.chiefs.setdefault(outlet_id, []).append(person)

    def target_of(self, outlet: Outlet) -> tuple[Unit, Unit] | None:
        path = self._unit_paths.get(outlet.unit_id, "")
        for source, target in self.pairings:
            if path.startswith(target.path):
                return source, target
        return None

    def inspectors_of(self, unit: Unit) -> list[User]:
        if unit.id not in self._inspectors:
            self._inspectors[unit.id] = list(self.session.exec(
                select(User).join(Unit, Unit.id == User.unit_id)
                .where(User.active.is_(True), User.role == Role.inspector,
                       Unit.path.startswith(unit.path, autoescape=True)).order_by(User.id)).all())
        return self._inspectors[unit.id]

    def pool_for(self, outlet: Outlet) -> list[User]:
        """Who may take the plan's visit at this outlet."""
        if outlet.id not in self._pool_cache:
            if self.plan.assign_mode == AssignMode.pairing:
                pair = self.target_of(outlet)
                people = [] if pair is None else [
                    p for p in self.inspectors_of(pair[0])
                    if permissions.can_be_assigned_at(self.session, p, self.plan.kind, outlet, paired_unit=pair[0])]
            elif self.plan.assign_mode == AssignMode.self:
                people = [p for p in self.chiefs.get(outlet.id, [])
                          if permissions.can_be_assigned(p, self.plan.kind)]
            else:
                people = [p for p in self.members if permissions.can_be_assigned_at(self.session, p, self.plan.kind, outlet)]
            self._pool_cache[outlet.id] = people
        return self._pool_cache[outlet.id]

    def blocked(self, outlet: Outlet) -> set[dt.date]:
        return self.plan_blocked | self.outlet_blocked.get(outlet.id, set())

    def loads(self, period: PlanPeriod) -> Counter:
        rows = self.session.exec(select(Visit.assignee_id).where(
            Visit.plan_id == self.plan.id, Visit.plan_period == period.start,
            Visit.status != VisitStatus.cancelled)).all()
        return Counter(rows)

    def choose(self, outlet: Outlet, first: dt.date, last: dt.date, load: Counter,
               moving: int | None = None) -> User | None:
        """The least loaded person of the pool who may take this visit (a shopper: not there
        within the rotation period); ties go to the earliest account, so a rerun chooses alike."""
        cap = self.plan.max_per_person
        for person in sorted(self.pool_for(outlet), key=lambda p: (load[p.id], p.id)):
            if cap is not None and load[person.id] >= cap:
                continue
            if self.secret and not _rotation_allows(self.session, person, outlet, first, last, moving):
                continue
            return person
        return None


def _rotation_allows(session: Session, shopper: User, outlet: Outlet, first: dt.date, last: dt.date,
                     moving: int | None) -> bool:
    try:
        visits.check_secret_schedule(session, shopper=shopper, outlet=outlet, due_from=first, due_until=last,
                                     moving=moving)
    except DomainError:
        return False
    return True


def span(plan: InspectionPlan, period: PlanPeriod) -> tuple[dt.date, dt.date]:
    """The period's days that lie within the plan's dates."""
    return max(period.start, plan.starts_on), min(period.last, plan.ends_on)


def place_window(first: dt.date, last: dt.date, *, seq: int, per_period: int, index: int, count: int,
                 blocked: set[dt.date], earliest: dt.date) -> tuple[dt.date, dt.date] | None:
    """The date window of the ``seq``-th visit of a period [first, last] to the ``index``-th of
    ``count`` outlets: in the ``seq``-th equal part of the period, no blocked day inside it, its
    start staggered by the outlet's place in the list, never before ``earliest`` (today). When the
    part is over already (a plan changed late in a period), the rest of the period takes it."""
    every = days(first, last)
    lo, hi = seq * len(every) // per_period, (seq + 1) * len(every) // per_period
    part = every[lo:hi]
    length = max(WINDOW_MIN_DAYS, len(part) // 4)
    free = [d for d in part if d >= earliest and d not in blocked]
    if not free:
        free = [d for d in every if d >= earliest and d not in blocked]
    if not free:
        return None
    runs: list[list[dt.date]] = []
    for day in free:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    candidates = []
    for run in runs:
        width = min(length, len(run))
        candidates += [(run[n], run[n + width - 1]) for n in range(len(run) - width + 1)]
    return candidates[index * len(candidates) // max(count, 1)]


def horizon(plan: InspectionPlan, today: dt.date) -> dt.date:
    """The last day generated ahead: the end of the period after the current one; a daily plan's
    up to the end of next week, so that a day the sweep did not run still has its visit (the
    chief's missed days are counted from them)."""
    if plan.period_kind == PeriodKind.day:
        return PlanPeriod.around(PeriodKind.week, today).next().last
    return PlanPeriod.around(plan.period_kind, today).next().last


# --- generating ------------------------------------------------------------------------------------

def generate(session: Session, plan: InspectionPlan, until: dt.date | None = None, *, actor: User | None = None,
             strict: bool = False) -> Generated:
    """Make the plan's missing visits of every period up to ``until`` (default: the current and
    the next period). Idempotent: a visit already made (in whatever state, cancelled included)
    keeps its place. What cannot be placed is a problem: refused with ``strict`` (saving a plan),
    else reported (the sweep tells the plan's maker)."""
    result = Generated()
    if plan.status != PlanStatus.active:
        return result
    today = clock.today(plan_zone())
    until = until or horizon(plan, today)
    last = min(plan.ends_on, until)
    if last < max(plan.starts_on, today):
        return result
    planner = _Planner(session, plan)
    version_id = checklists.current_version(session, plan.checklist_code).id
    for period in periods(plan.period_kind, plan.starts_on, last):
        if period.last < today:
            continue  # a period over is never filled in afterwards
        _generate_period(session, planner, period, version_id, actor, result)
    if strict and result.problems:
        more = len(result.problems) - 1
        raise DomainError(result.problems[0] + (" " + _("(and %(n)d more)", n=more) if more else ""))
    return result


def _generate_period(session: Session, planner: _Planner, period: PlanPeriod, version_id: int,
                     actor: User | None, result: Generated) -> None:
    plan = planner.plan
    first, last = span(plan, period)
    taken = set(session.execute(select(Visit.outlet_id, Visit.plan_seq).where(
        Visit.plan_id == plan.id, Visit.plan_period == period.start)).all())
    load = planner.loads(period)
    count = len(planner.outlets)
    for index, outlet in enumerate(planner.outlets):
        earliest = max(first, visits.local_today(outlet))
        for seq in range(plan.per_period):
            if (outlet.id, seq) in taken:
                continue
            window = place_window(first, last, seq=seq, per_period=plan.per_period, index=index, count=count,
                                  blocked=planner.blocked(outlet), earliest=earliest)
            if window is None:
                result.problems.append(_("No day is left in %(period)s for visit %(n)d to %(outlet)s: every day "
                                         "from %(first)s to %(last)s is over or a blackout day.",
                                         period=period.label, n=seq + 1, outlet=outlet.name, first=earliest, last=last))
                continue
            person = planner.choose(outlet, window[0], window[1], load)
            if person is None:
                result.problems.append(_no_one_message(planner, outlet, window))
                continue
            visit = Visit(checklist_version_id=version_id, checklist_code=plan.checklist_code, kind=plan.kind,
                          outlet_id=outlet.id, assignee_id=person.id, created_by_id=getattr(actor, "id", None),
                          status=VisitStatus.scheduled, due_from=window[0], due_until=window[1], plan_id=plan.id,
                          plan_period=period.start, plan_seq=seq)
            session.add(visit)
            session.flush()  # the next choice sees it (load, a shopper's rotation)
            load[person.id] += 1
            result.created.append(visit)
            record(session, actor=actor, action="visit.scheduled", obj=visit,
                   after={"checklist": plan.checklist_code, "outlet_id": outlet.id, "assignee_id": person.id,
                          "due_from": window[0], "due_until": window[1], "plan_id": plan.id,
                          "period": period.label, "seq": seq + 1})


def _no_one_message(planner: _Planner, outlet: Outlet, window: tuple[dt.date, dt.date]) -> str:
    if not planner.pool_for(outlet):
        if planner.plan.assign_mode == AssignMode.self:
            return _("%(outlet)s has no branch chief account to do its self-inspection: link a branch chief to "
                     "the outlet first, or leave the outlet out of the plan.", outlet=outlet.name)
        if planner.plan.assign_mode == AssignMode.pairing:
            pair = planner.target_of(outlet)
            return _("%(unit)s has no active inspector to send to %(outlet)s.",
                     unit=pair[0].name if pair else "—", outlet=outlet.name)
        return _("Nobody in the pool may do this visit at %(outlet)s (it lies outside their units).", outlet=outlet.name)
    if planner.secret:
        return _("No shopper of the pool may visit %(outlet)s from %(first)s to %(last)s: each was there (or will "
                 "be) within the rotation period, or has as many visits as the cap allows.",
                 outlet=outlet.name, first=window[0], last=window[1])
    return _("Everyone who may visit %(outlet)s already has %(n)d visits in this period (the cap per person).",
             outlet=outlet.name, n=planner.plan.max_per_person or 0)


# --- checking and saving -----------------------------------------------------------------------------

BLACKOUT_LINE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})(?:\s*(?:~|～|至|到|--|—|–)\s*(\d{4}-\d{1,2}-\d{1,2}))?\s*(.*)$")


def parse_blackouts(text: str) -> list[tuple[dt.date, dt.date, str]]:
    """Blackout days as a person types them, one period a line: ``2026-10-01~2026-10-07 国庆节``
    or a single day ``2027-01-01 元旦``. A line that is not one is refused by its number."""
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = BLACKOUT_LINE.match(line)
        try:
            first = dt.date.fromisoformat(_iso(match.group(1))) if match else None
            last = dt.date.fromisoformat(_iso(match.group(2))) if match and match.group(2) else first
        except ValueError:
            first = None
        if first is None:
            raise DomainError(_("Blackout line %(n)d is not a date or a period: “%(line)s”. Write for example "
                                "2026-10-01~2026-10-07 国庆节.", n=number, line=line[:40]))
        found.append((first, last, match.group(3).strip()[:200]))
    return found


def _iso(text: str) -> str:
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def format_blackouts(rows: list[PlanBlackout]) -> str:
    return "\n".join((f"{b.date_from}" if b.date_from == b.date_until else f"{b.date_from}~{b.date_until}")
                     + (f" {b.reason}" if b.reason else "") for b in rows)


def _check_fields(session: Session, actor: User, data: PlanInput, *, new: bool) -> None:
    if not data.name.strip():
        raise DomainError(_("Give the plan a name."))
    if len(data.name.strip()) > 120:
        raise DomainError(_("The name is longer than %(n)d characters.", n=120))
    if data.period_kind not in {k.value for k in PeriodKind}:
        raise DomainError(_("Choose how often: per day, week, month, quarter or year."))
    if not 1 <= (data.per_period or 0) <= MAX_PER_PERIOD:
        raise DomainError(_("Visits per outlet and period: from 1 to %(n)d.", n=MAX_PER_PERIOD))
    if data.outlet_rule not in {r.value for r in OutletRule}:
        raise DomainError(_("Choose which outlets the plan visits."))
    if data.outlet_rule == OutletRule.red_line and not 1 <= (data.red_line_days or 0) <= 366:
        raise DomainError(_("Outlets with a red line in the last N days: N from 1 to 366."))
    if data.assign_mode not in {m.value for m in AssignMode}:
        raise DomainError(_("Choose who does the visits."))
    if data.max_per_person is not None and not 1 <= data.max_per_person <= MAX_CAP:
        raise DomainError(_("The cap per person: from 1 to %(n)d visits a period, or empty.", n=MAX_CAP))
    if data.ends_on < data.starts_on:
        raise DomainError(_("The plan ends before it starts."))
    if (data.ends_on - data.starts_on).days >= MAX_PLAN_DAYS:
        raise DomainError(_("A plan may last at most three years."))
    today = clock.today(plan_zone())
    if new and data.starts_on < today:
        raise DomainError(_("A new plan starts today at the earliest."))
    if data.starts_on > today + dt.timedelta(days=visits.MAX_DAYS_AHEAD):
        raise DomainError(_("A plan may begin at most %(n)d days from today.", n=visits.MAX_DAYS_AHEAD))
    if len(data.blackouts) > MAX_BLACKOUTS:
        raise DomainError(_("At most %(n)d blackout periods.", n=MAX_BLACKOUTS))
    for first, last, _reason in data.blackouts:
        if last < first:
            raise DomainError(_("The blackout period %(first)s~%(last)s ends before it starts.", first=first, last=last))


def _check_pairings(session: Session, actor: User, unit: Unit, pairs: list[tuple[int, int]], kind: str) -> None:
    """A cross-inspection: pairs of distinct units inside the plan's unit, neither inside the
    other (a unit never inspects itself), each target once, and inspectors to send."""
    if kind == "secret":
        raise DomainError(_("Cross-inspection is done by inspectors: choose a checklist other than a secret visit."))
    if not pairs:
        raise DomainError(_("Pair at least two units: which unit inspects which."))
    if any(not source_id or not target_id for source_id, target_id in pairs):
        raise DomainError(_("Each pairing needs both units: the one that inspects and the one inspected."))
    units = _units(session, {u for pair in pairs for u in pair})
    targets = set()
    for source_id, target_id in pairs:
        source, target = units.get(source_id), units.get(target_id)
        for one in (source, target):
            if one is None or not one.path.startswith(unit.path) or not permissions.unit_in_scope(session, actor, one):
                raise NotFound(_("One of the paired units does not exist, or lies outside the plan's unit."))
        if source.id == target.id or source.path.startswith(target.path) or target.path.startswith(source.path):
            raise DomainError(_("%(source)s cannot inspect %(target)s: in a cross-inspection a unit never inspects "
                                "itself.", source=source.name, target=target.name))
        if target.id in targets:
            raise DomainError(_("%(target)s is paired twice: each unit is inspected by one other unit.",
                                target=target.name))
        targets.add(target.id)


def _check_members(session: Session, plan: InspectionPlan, members: list[User], outlets: list[Outlet]) -> None:
    if not members:
        raise DomainError(_("Choose the people of the pool."))
    for person in members:
        if not permissions.can_be_assigned(person, plan.kind):
            raise DomainError(_("%(person)s cannot do secret visits: they go to mystery shoppers.", person=person.display_name)
                              if plan.kind == "secret" else
                              _("%(person)s cannot do this kind of visit: it goes to inspectors.", person=person.display_name))
        if plan.kind != "secret" and not any(permissions.can_be_assigned_at(session, person, plan.kind, o) for o in outlets):
            raise DomainError(_("%(person)s covers none of the plan's outlets.", person=person.display_name))


def check_plan(session: Session, plan: InspectionPlan) -> _Planner:
    """Whether the plan can be carried out as it stands: outlets, people for each of them, and
    days enough in every period for its frequency. Refused with the first problem found."""
    planner = _Planner(session, plan)
    unit = session.get(Unit, plan.unit_id)
    if not planner.outlets:
        raise DomainError(_("The plan has no outlets: no active outlet of %(unit)s matches its choice.", unit=unit.name))
    if plan.assign_mode == AssignMode.pool:
        _check_members(session, plan, planner.members, planner.outlets)
    elif plan.assign_mode == AssignMode.pairing:
        for source, _target in planner.pairings:
            if not planner.inspectors_of(source):
                raise DomainError(_("%(unit)s has no active inspector to send.", unit=source.name))
    for outlet in planner.outlets:
        if not planner.pool_for(outlet):
            raise DomainError(_no_one_message(planner, outlet, (plan.starts_on, plan.ends_on)))
    per_period = len(planner.outlets) * plan.per_period
    if per_period > MAX_VISITS_PER_PERIOD:
        raise DomainError(_("The plan would make %(n)d visits a period; at most %(max)d. Split it.",
                            n=per_period, max=MAX_VISITS_PER_PERIOD))
    for period in periods(plan.period_kind, plan.starts_on, plan.ends_on):
        first, last = span(plan, period)
        free = [d for d in days(first, last) if d not in planner.plan_blocked]
        for seq in range(plan.per_period):
            window = place_window(first, last, seq=seq, per_period=plan.per_period, index=0, count=1,
                                  blocked=planner.plan_blocked, earliest=first)
            if len(free) < plan.per_period or window is None:
                raise DomainError(_("From %(first)s to %(last)s only %(days)d days are free of blackouts: %(n)d visits "
                                    "per outlet do not fit. Visit less often, or shorten the blackout periods.",
                                    first=first, last=last, days=len(free), n=plan.per_period))
    cap = plan.max_per_person
    if cap is not None:
        groups: dict[str, tuple[int, set[int]]] = {}
        for outlet in planner.outlets:
            key = planner.target_of(outlet)[1].name if plan.assign_mode == AssignMode.pairing else ""
            n, people = groups.get(key, (0, set()))
            groups[key] = (n + plan.per_period, people | {p.id for p in planner.pool_for(outlet)})
        for key, (n, people) in groups.items():
            if n > len(people) * cap:
                raise DomainError(_("%(n)d visits a period need more than the pool can do: %(people)d people × at "
                                    "most %(cap)d each.", n=n, people=len(people), cap=cap))
    return planner


def _require_plans(actor: User) -> None:
    if not permissions.can_manage_plans(actor):
        raise PermissionDenied(_("Only managers make inspection plans."))


def _require_plan(session: Session, actor: User, plan: InspectionPlan) -> None:
    _require_plans(actor)
    if not permissions.can_manage_plan(session, actor, plan):
        raise NotFound(_("This page does not exist, or you cannot see it."))


def _people(session: Session, ids: list[int]) -> list[User]:
    ids = sorted(set(ids))
    found = list(session.exec(select(User).where(User.id.in_(ids))).all()) if ids else []
    if len(found) != len(ids):
        raise NotFound(_("One of the people chosen does not exist."))
    return sorted(found, key=lambda u: u.id)


def _snapshot(session: Session, plan: InspectionPlan) -> dict:
    return {"name": plan.name, "unit_id": plan.unit_id, "checklist": plan.checklist_code,
            "outlet_rule": plan.outlet_rule, "red_line_days": plan.red_line_days,
            "outlets": sorted(listed_outlet_ids(session, plan)), "period": plan.period_kind,
            "per_period": plan.per_period, "assign_mode": plan.assign_mode,
            "members": [p.id for p in members_of(session, plan)],
            "pairings": [[s.id, t.id] for s, t in pairings_of(session, plan)],
            "max_per_person": plan.max_per_person, "starts_on": plan.starts_on, "ends_on": plan.ends_on,
            "blackouts": [[b.date_from, b.date_until, b.reason] for b in blackouts_of(session, plan)]}


def _write_parts(session: Session, plan: InspectionPlan, data: PlanInput) -> None:
    """The plan's outlets, pool and blackout days as ``data`` says (replacing what was there)."""
    for model in (PlanOutlet, PlanMember, PlanBlackout):
        for row in session.exec(select(model).where(model.plan_id == plan.id)).all():
            session.delete(row)
    session.flush()
    if plan.outlet_rule == OutletRule.listed:
        for outlet_id in sorted(set(data.outlet_ids)):
            session.add(PlanOutlet(plan_id=plan.id, outlet_id=outlet_id))
    if plan.assign_mode == AssignMode.pool:
        for person in _people(session, data.member_ids):
            session.add(PlanMember(plan_id=plan.id, user_id=person.id))
    for first, last, reason in data.blackouts:
        session.add(PlanBlackout(plan_id=plan.id, date_from=first, date_until=last, reason=reason))
    session.flush()


def _check_listed(session: Session, actor: User, unit: Unit, data: PlanInput) -> None:
    if data.outlet_rule != OutletRule.listed:
        return
    ids = sorted(set(data.outlet_ids))
    outlets = list(session.exec(select(Outlet).where(Outlet.id.in_(ids))).all()) if ids else []
    paths = dict(session.execute(select(Unit.id, Unit.path)).all())
    if len(outlets) != len(ids) or any(not permissions.outlet_in_scope(session, actor, o)
                                       or not paths[o.unit_id].startswith(unit.path) for o in outlets):
        raise NotFound(_("One of the outlets does not exist, or lies outside the plan's unit."))


def create_plan(session: Session, *, actor: User, data: PlanInput) -> tuple[InspectionPlan, Generated]:
    """A new plan, checked whole, and the visits of its current and next period. All or nothing:
    any problem refuses the plan, and no row of it stays."""
    _require_plans(actor)
    unit = session.get(Unit, data.unit_id) if data.unit_id else None
    if unit is None or not permissions.unit_in_scope(session, actor, unit):
        raise NotFound(_("That unit does not exist, or you cannot see it."))
    checklist = checklists.registry(session).get(data.checklist_code)
    if checklist is None:
        raise DomainError(_("Unknown checklist."))
    _check_fields(session, actor, data, new=True)
    if (checklist.kind == SELF_KIND) != (data.assign_mode == AssignMode.self):
        raise DomainError(_("A self-inspection checklist is filled by each outlet's own branch chief: choose them as "
                            "who does the visits.") if checklist.kind == SELF_KIND else
                          _("Only a self-inspection checklist goes to the outlets' own branch chiefs; inspections "
                            "go to inspectors or shoppers."))
    if data.assign_mode == AssignMode.pairing:
        _check_pairings(session, actor, unit, data.pairings, checklist.kind)
    _check_listed(session, actor, unit, data)
    plan = InspectionPlan(name=data.name.strip(), unit_id=unit.id, checklist_code=checklist.code, kind=checklist.kind,
                          outlet_rule=data.outlet_rule,
                          red_line_days=data.red_line_days if data.outlet_rule == OutletRule.red_line else None,
                          period_kind=data.period_kind, per_period=data.per_period, assign_mode=data.assign_mode,
                          max_per_person=data.max_per_person, starts_on=data.starts_on, ends_on=data.ends_on,
                          created_by_id=actor.id)
    session.add(plan)
    session.flush()
    _write_parts(session, plan, data)
    if plan.assign_mode == AssignMode.pairing:
        for source_id, target_id in data.pairings:
            session.add(PlanPairing(plan_id=plan.id, source_unit_id=source_id, target_unit_id=target_id))
        session.flush()
    check_plan(session, plan)
    record(session, actor=actor, action="plan.created", obj=plan, after=_snapshot(session, plan))
    made = generate(session, plan, actor=actor, strict=True)
    return plan, made


def update_plan(session: Session, *, actor: User, plan: InspectionPlan, data: PlanInput) -> tuple[InspectionPlan, Generated]:
    """Change a plan's name, outlets, pool, cap, blackout days and end. What it is (unit,
    checklist, frequency, pairing, start) stays: end it and make another for that. Visits not
    yet started follow: those of outlets no longer in it or after its new end are cancelled,
    those on a new blackout day move within their part of the period, those of someone who left
    the pool go to another; then the missing ones are made."""
    _require_plan(session, actor, plan)
    if plan.status != PlanStatus.active:
        raise DomainError(_("This plan has ended; it can no longer be changed."))
    unit = session.get(Unit, plan.unit_id)
    fixed = PlanInput(name=data.name, unit_id=plan.unit_id, checklist_code=plan.checklist_code, starts_on=plan.starts_on,
                      ends_on=data.ends_on, per_period=plan.per_period, period_kind=plan.period_kind,
                      outlet_rule=data.outlet_rule, outlet_ids=data.outlet_ids, red_line_days=data.red_line_days,
                      assign_mode=plan.assign_mode, member_ids=data.member_ids, max_per_person=data.max_per_person,
                      blackouts=data.blackouts)
    _check_fields(session, actor, fixed, new=False)
    today = clock.today(plan_zone())
    if data.ends_on < min(today, plan.ends_on):
        raise DomainError(_("The plan's end cannot lie in the past."))
    _check_listed(session, actor, unit, fixed)
    before = _snapshot(session, plan)
    plan.name, plan.ends_on = fixed.name.strip(), fixed.ends_on
    plan.outlet_rule, plan.max_per_person = fixed.outlet_rule, fixed.max_per_person
    plan.red_line_days = fixed.red_line_days if fixed.outlet_rule == OutletRule.red_line else None
    plan.updated_at = clock.now()
    session.add(plan)
    _write_parts(session, plan, fixed)
    planner = check_plan(session, plan)
    _follow(session, actor, plan, planner)
    after = _snapshot(session, plan)
    record(session, actor=actor, action="plan.updated", obj=plan, before={k: v for k, v in before.items() if after[k] != v},
           after={k: v for k, v in after.items() if before[k] != v})
    made = generate(session, plan, actor=actor, strict=True)
    return plan, made


def _waiting(session: Session, plan: InspectionPlan) -> list[Visit]:
    return list(session.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.status == VisitStatus.scheduled)
                             .order_by(Visit.plan_period, Visit.outlet_id, Visit.plan_seq)).all())


def _follow(session: Session, actor: User, plan: InspectionPlan, planner: _Planner) -> None:
    """The plan's visits not yet started, brought in line with the changed plan."""
    outlets = {o.id: o for o in planner.outlets}
    order = {o.id: n for n, o in enumerate(planner.outlets)}
    loads: dict[dt.date, Counter] = {}
    for visit in _waiting(session, plan):
        outlet = outlets.get(visit.outlet_id)
        if outlet is None or visit.due_from > plan.ends_on:
            _cancel(session, actor, visit, _("no longer in the plan"))
            continue
        period = PlanPeriod.around(plan.period_kind, visit.plan_period)
        load = loads.setdefault(period.start, planner.loads(period))
        before = {"due_from": visit.due_from, "due_until": visit.due_until, "assignee_id": visit.assignee_id}
        first, last = span(plan, period)
        blocked = planner.blocked(outlet)
        if visit.due_until > last or any(d in blocked for d in days(visit.due_from, visit.due_until)):
            window = place_window(first, last, seq=visit.plan_seq, per_period=plan.per_period, index=order[outlet.id],
                                  count=len(order), blocked=blocked, earliest=max(first, visits.local_today(outlet)))
            if window is None:
                raise DomainError(_("No day is left in %(period)s for visit %(n)d to %(outlet)s: every day "
                                    "from %(first)s to %(last)s is over or a blackout day.", period=period.label,
                                    n=visit.plan_seq + 1, outlet=outlet.name, first=first, last=last))
            visit.due_from, visit.due_until = window
        if visit.assignee_id not in {p.id for p in planner.pool_for(outlet)}:
            load[visit.assignee_id] -= 1
            person = planner.choose(outlet, visit.due_from, visit.due_until, load, moving=visit.id)
            if person is None:
                raise DomainError(_no_one_message(planner, outlet, (visit.due_from, visit.due_until)))
            visit.assignee_id = person.id
            load[person.id] += 1
        after = {"due_from": visit.due_from, "due_until": visit.due_until, "assignee_id": visit.assignee_id}
        if after != before:
            session.add(visit)
            record(session, actor=actor, action="visit.replanned", obj=visit, before=before, after=after)
    session.flush()


def _cancel(session: Session, actor: User | None, visit: Visit, reason: str) -> None:
    before = visit.status
    visit.status = VisitStatus.cancelled
    session.add(visit)
    record(session, actor=actor, action="visit.cancelled", obj=visit, before={"status": before},
           after={"status": visit.status}, note=reason)


def end_plan(session: Session, *, actor: User, plan: InspectionPlan, reason: str) -> int:
    """End a plan early: it makes no more visits, and its visits not yet started are cancelled;
    a started one stays its assignee's to finish. Returns how many were cancelled."""
    _require_plan(session, actor, plan)
    if plan.status != PlanStatus.active:
        raise DomainError(_("This plan has already ended."))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError(_("Give a reason for ending the plan."))
    waiting = _waiting(session, plan)
    for visit in waiting:
        _cancel(session, actor, visit, _("the plan %(name)s ended: %(reason)s", name=plan.name, reason=reason[:200]))
    plan.status, plan.ended_at, plan.ended_by_id, plan.end_reason = PlanStatus.ended, clock.now(), actor.id, reason[:300]
    session.add(plan)
    session.flush()
    record(session, actor=actor, action="plan.ended", obj=plan, before={"status": PlanStatus.active},
           after={"status": plan.status, "cancelled": len(waiting)}, note=reason[:300])
    return len(waiting)


# --- one visit of a plan ---------------------------------------------------------------------------

def plan_of(session: Session, visit: Visit) -> InspectionPlan:
    plan = session.get(InspectionPlan, visit.plan_id) if visit.plan_id else None
    if plan is None:
        raise DomainError(_("This visit was not made by a plan."))
    return plan


def _require_plan_visit(session: Session, actor: User, visit: Visit) -> InspectionPlan:
    plan = plan_of(session, visit)
    _require_plan(session, actor, plan)
    VISIT.check(session, actor, visit, "reschedule")
    return plan


def move_visit(session: Session, *, actor: User, visit: Visit, due_from: dt.date | None,
               due_until: dt.date | None) -> Visit:
    """A planned visit's new date window: within its period and the plan's dates, not over, no
    blackout day in it (a secret visit keeps its shopper's rotation); before it is started."""
    plan = _require_plan_visit(session, actor, visit)
    if due_from is None or due_until is None:
        raise DomainError(_("Give the new date window."))
    visits.check_date_window(due_from, due_until)
    outlet = session.get(Outlet, visit.outlet_id)
    if due_until < visits.local_today(outlet):
        raise DomainError(_("The date window is already over."))
    period = PlanPeriod.around(plan.period_kind, visit.plan_period)
    first, last = span(plan, period)
    if due_from < first or due_until > last:
        raise DomainError(_("The window must lie within the visit's period, %(first)s to %(last)s.", first=first, last=last))
    planner = _Planner(session, plan)
    blocked = sorted(d for d in days(due_from, due_until) if d in planner.blocked(outlet))
    if blocked:
        reason = next((b.reason for b in blackouts_of(session, plan) if b.date_from <= blocked[0] <= b.date_until), "")
        raise DomainError(_("%(day)s is a blackout day (%(reason)s): no visit may be placed on it.",
                            day=blocked[0], reason=reason or _("the outlet's blackout list")))
    if visit.kind == "secret":
        shopper = session.get(User, visit.assignee_id)
        visits.check_secret_schedule(session, shopper=shopper, outlet=outlet, due_from=due_from, due_until=due_until,
                                     moving=visit.id)
    before = {"due_from": visit.due_from, "due_until": visit.due_until}
    visit.due_from, visit.due_until = due_from, due_until
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.moved", obj=visit, before=before,
           after={"due_from": due_from, "due_until": due_until, "plan_id": plan.id})
    return visit


def candidates_for(session: Session, visit: Visit) -> list[User]:
    """Who the plan's rules allow to take this visit (the pool, or the paired unit's inspectors)."""
    plan = plan_of(session, visit)
    return _Planner(session, plan).pool_for(session.get(Outlet, visit.outlet_id))


def reassign_visit(session: Session, *, actor: User, visit: Visit, assignee: User | None) -> Visit:
    """Give a planned visit not yet started to someone else the plan allows (a shopper only where
    their rotation allows, nobody over the plan's cap)."""
    plan = _require_plan_visit(session, actor, visit)
    if assignee is None:
        raise DomainError(_("Choose who does the visit."))
    if assignee.id == visit.assignee_id:
        return visit
    planner = _Planner(session, plan)
    outlet = session.get(Outlet, visit.outlet_id)
    if assignee.id not in {p.id for p in planner.pool_for(outlet)}:
        raise DomainError(_("%(person)s may not take this visit: the plan gives it to %(who)s.",
                            person=assignee.display_name,
                            who=_("the inspectors of the paired unit") if plan.assign_mode == AssignMode.pairing
                            else _("the outlet's own branch chief") if plan.assign_mode == AssignMode.self
                            else _("the people of its pool")))
    period = PlanPeriod.around(plan.period_kind, visit.plan_period)
    if plan.max_per_person is not None and planner.loads(period)[assignee.id] >= plan.max_per_person:
        raise DomainError(_("%(person)s already has %(n)d visits of this plan in the period (the cap).",
                            person=assignee.display_name, n=plan.max_per_person))
    if visit.kind == "secret":
        visits.check_secret_schedule(session, shopper=assignee, outlet=outlet, due_from=visit.due_from,
                                     due_until=visit.due_until, moving=visit.id)
    before = {"assignee_id": visit.assignee_id}
    visit.assignee_id = assignee.id
    session.add(visit)
    session.flush()
    record(session, actor=actor, action="visit.reassigned", obj=visit, before=before,
           after={"assignee_id": assignee.id, "plan_id": plan.id})
    return visit


# --- the sweep -------------------------------------------------------------------------------------

def sweep(session: Session) -> dict[str, int]:
    """Every running plan makes its visits of the current and the next period (nothing twice);
    what it cannot place is told to the plan's maker, once per problem."""
    today = clock.today(plan_zone())
    made = problems = 0
    for plan in session.exec(select(InspectionPlan).where(InspectionPlan.status == PlanStatus.active,
                                                          InspectionPlan.ends_on >= today)).all():
        result = generate(session, plan)
        made += len(result.created)
        problems += len(result.problems)
        for problem in result.problems:
            notify(session, user_ids=[plan.created_by_id], kind="plan_problem",
                   params={"plan": plan.name, "problem": problem}, link=f"/plans/{plan.id}",
                   dedupe_key=f"plan:{plan.id}:{hash_text(problem)}")
    return {"plan_visits": made, "plan_problems": problems}


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
