"""自查不实 (a self-check that was not true): an inspection finds an item failed that the outlet's
own self-inspection passed shortly before.

- **What matches.** Item codes belong to their checklist, so a self-inspection item names its
  counterparts in the inspections' checklists (``same_as = ["open_inspection:ENV-02", ...]`` in
  its file, ``Checklist.counterparts``). An inspection's failed item matches the self-inspection
  item that names it, in the version the self-inspection was filled with; nothing else matches.
- **When.** Any released visit that is not a self-inspection (an open inspection, a secret visit
  on its release, a star rating, an etiquette or 6S check): at issue, once, like 屡查屡犯. The
  self-inspection counts when it was released, was started before the inspection saw the outlet
  and its local day lies at most ``SELF_CHECK_WINDOW_DAYS`` days before the inspection's day
  (the same day counts); the newest such one is named.
- **What it does.** The line keeps the self-inspection and its day (``self_check_visit_id``,
  ``self_check_day``): the line, the visit's page, the notice and its PDF say 自查不实 with that
  day; the managers of the unit above the outlet's unit hear of it once per notice; the board's
  self-inspection page and the month bulletin count them per unit and outlet. A finding withdrawn
  after a dispute no longer counts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.checklists import services as checklists
from inspect_app.checklists.scoring import PASS
from inspect_app.db import unindexed
from inspect_app.notifications.services import notify
from inspect_app.numbers import half_up
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans import coverage
from inspect_app.rectifications import services
from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from inspect_app.visits.models import SELF_KIND, Answer, Visit, VisitStatus

#: A line of 自查不实 that counts (a finding withdrawn after a dispute no longer does).
false_check = sa.and_(RectificationLine.self_check_visit_id.is_not(None), RectificationLine.status != LineStatus.withdrawn)


def window_days() -> int:
    return int(current_app.config.get("SELF_CHECK_WINDOW_DAYS", 7)) if has_app_context() else 7


def _moment(visit: Visit) -> dt.datetime:
    return visit.checkin_at or visit.submitted_at or visit.released_at or visit.created_at


@dataclass(frozen=True)
class PassedSelfCheck:
    """The self-inspection that passed an item an inspection then found failed."""

    visit_id: int
    day: dt.date


def passed_self_checks(session: Session, *, visit: Visit, outlet: Outlet, item_codes) -> dict[str, PassedSelfCheck]:
    """Of the items the inspection failed, those the outlet's own self-inspection passed within the
    window before it: item code → the newest such self-inspection. Three reads at most."""
    codes = sorted(set(item_codes))
    if visit.kind == SELF_KIND or not codes:
        return {}
    window = window_days()
    seen = _moment(visit)
    day = clock.local_date(seen, outlet.timezone)
    since = clock.day_start(day - dt.timedelta(days=window), outlet.timezone)
    candidates = [v for v in session.exec(select(Visit).where(
        Visit.outlet_id == outlet.id, Visit.kind == SELF_KIND, Visit.status == VisitStatus.released,
        Visit.submitted_at >= since, Visit.id != visit.id)).all() if _moment(v) < seen]
    if not candidates:
        return {}
    definitions = checklists.definitions_of_versions(session, {v.checklist_version_id for v in candidates})
    wanted: dict[int, dict[str, str]] = {}  # self visit → its item code → the inspection's item code
    for candidate in candidates:
        counterparts = definitions[candidate.checklist_version_id].counterparts()
        mine = {counterparts[(visit.checklist_code, code)]: code for code in codes
                if (visit.checklist_code, code) in counterparts}
        if mine:
            wanted[candidate.id] = mine
    if not wanted:
        return {}
    passed = session.execute(select(Answer.visit_id, Answer.item_code).where(
        Answer.visit_id.in_(wanted), Answer.result == PASS,
        Answer.item_code.in_({own for mine in wanted.values() for own in mine}))).all()
    by_id = {v.id: v for v in candidates}
    found: dict[str, PassedSelfCheck] = {}
    for self_id, own in passed:
        code = wanted[self_id].get(own)
        if code is None:
            continue
        candidate = by_id[self_id]
        self_day = clock.local_date(_moment(candidate), outlet.timezone)
        if (day - self_day).days > window:
            continue
        best = found.get(code)
        if best is None or (self_day, self_id) > (best.day, best.visit_id):
            found[code] = PassedSelfCheck(self_id, self_day)
    return found


def marks_of_visit(session: Session, visit: Visit) -> dict[str, dt.date | None]:
    """The visit's items flagged 自查不实 (one read): item code → the self-inspection's day."""
    return dict(session.execute(select(RectificationLine.item_code, RectificationLine.self_check_day).where(
        RectificationLine.visit_id == visit.id, false_check)).all())


def tell_unit_above(session: Session, *, notice: RectificationNotice, outlet: Outlet, item_codes: list[str]) -> int:
    """The managers of the unit above the outlet's unit hear of a notice's 自查不实, once."""
    unit = session.get(Unit, outlet.unit_id)
    recipients = services.managers_of_unit(session, services.unit_above(unit.path, 1))
    return notify(session, user_ids=recipients, kind="self_check_false",
                  params={"number": notice.number, "outlet": outlet.name, "items": ", ".join(item_codes)},
                  link=f"/notices/{notice.id}", dedupe_key=f"selfcheck:{notice.id}")


# --- counting, for the managers ----------------------------------------------------------------------

@dataclass
class SelfCheckRow:
    """Self-inspections and 自查不实 under one unit (or at one outlet, below a county)."""

    key: int
    name: str
    kind: str = "unit"  # unit | outlet | total
    code: str = ""
    planned: int = 0
    done: int = 0
    missed: int = 0
    false_checks: int = 0

    @property
    def percent(self) -> Decimal | None:
        return half_up(Decimal(self.done * 100) / self.planned) if self.planned else None


def false_by_outlet(session: Session, *, since: dt.datetime, until: dt.datetime, where=None,
                    unit_of: dict | None = None) -> dict[int, int]:
    """自查不实 lines issued in [since, until) per outlet (one read; ``where``: a clause on ``Outlet``;
    ``unit_of`` gets each outlet's unit)."""
    # through the few lines of 自查不实 (``ix_line_self_check``), the outlet checked per line: by
    # the outlets' index SQLite read a province's every line (2.4 s)
    query = (select(RectificationLine.outlet_id, Outlet.unit_id, sa.func.count())
             .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
             .where(false_check, RectificationLine.issued_at >= since, RectificationLine.issued_at < until)
             .group_by(RectificationLine.outlet_id, Outlet.unit_id))
    if where is not None:
        query = query.where(where)
    counts = {}
    for outlet_id, unit_id, n in session.execute(query).all():
        counts[outlet_id] = n
        if unit_of is not None:
            unit_of[outlet_id] = unit_id
    return counts


def by_child_units(session: Session, *, node: Unit | None, allowed: dict[int, int] | None, first: dt.date,
                   end: dt.date,
                   zone: str, now: dt.datetime | None = None) -> tuple[list[SelfCheckRow], SelfCheckRow]:
    """Per child unit of ``node`` (per outlet below a county) over the ``allowed`` outlets (outlet id
    → unit id: the viewer's scope; None: every outlet): the self-inspections planned in [first, end), done and missed
    (``plans.coverage``, self-inspections alone), and the 自查不实 found by inspections issued then."""
    planned, total = coverage.by_child_units(session, node=node, allowed=allowed, first=first, end=end, now=now,
                                             self_inspection=True)
    rows = {r.key: SelfCheckRow(r.key, r.name, r.kind, r.code, r.planned, r.done, r.missed) for r in planned}
    result = SelfCheckRow(total.key, total.name, "total", "", total.planned, total.done, total.missed)
    by_outlet = node is not None and node.level == "county"
    paths, children = coverage.unit_paths(session, node)
    depth = node.path.count("/") - 1 if node is not None else 0
    outlets = {o: (name, code) for o, name, code in session.execute(select(Outlet.id, Outlet.name, Outlet.code).where(
        Outlet.unit_id == node.id)).all()} if by_outlet else {}
    unit_of: dict[int, int] = {}
    found = false_by_outlet(session, since=clock.day_start(first, zone), until=clock.day_start(end, zone),
                            unit_of=unit_of if allowed is None else None)
    allowed = unit_of if allowed is None else allowed
    for outlet_id, n in found.items():
        unit_id = allowed.get(outlet_id)
        if unit_id is None:
            continue
        if by_outlet:
            if unit_id != node.id:
                continue
            name, code = outlets[outlet_id]
            row = rows.setdefault(outlet_id, SelfCheckRow(outlet_id, name, "outlet", code))
        else:
            child = coverage.child_of(paths, children, depth, unit_id)
            if child is None:
                continue
            row = rows.setdefault(child.id, SelfCheckRow(child.id, child.name, "unit", child.code))
        row.false_checks += n
        result.false_checks += n
    return sorted(rows.values(), key=lambda r: r.code), result


def false_lines(session: Session, user: User, *, node: Unit | None, since: dt.datetime, until: dt.datetime,
                limit: int = 100) -> list[tuple]:
    """The 自查不实 lines issued in [since, until) the user may see, newest first: (line, notice, outlet)."""
    query = (select(RectificationLine, RectificationNotice, Outlet)
             .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
             .join(Outlet, Outlet.id == unindexed(RectificationLine.outlet_id))
             .where(false_check, RectificationLine.issued_at >= since, RectificationLine.issued_at < until,
                    unindexed(RectificationNotice.outlet_id).in_(select(Outlet.id).where(
                        permissions.outlets_clause(session, user))),
                    *([RectificationNotice.visit_id.is_(None)] if user.role == Role.handler else [])))
    if node is not None:
        query = query.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))))
    return [tuple(r) for r in session.execute(
        query.order_by(RectificationLine.issued_at.desc(), RectificationLine.id.desc()).limit(limit)).all()]
