"""回头看 and 屡查屡犯: an outlet's past failures, where they matter again.

- **回头看** (the fill page): the items that failed at the outlet in its last released visits of the
  same checklist (at most ``REVISIT_LOOKBACK_VISITS`` visits, released within
  ``REVISIT_LOOKBACK_DAYS``), or that are still open on a notice of such a visit, are marked with
  their last finding (day, note, deduction, the staff member named, the photos the viewer may see).
- **屡查屡犯** (release): an item failing again within ``REPEAT_WINDOW_DAYS`` of an earlier failure
  at the same outlet is a repeat. Its line's severity rises one step and its deadline follows the
  new severity (a secret visit's never on the spot: ``services.default_deadline``); the line and
  the notice say so with the day of the earlier failure; the managers of the unit above the
  outlet's unit are told once (as a late line's escalation climbs: ``services.unit_above``).
- **The repeats page** (``/board/repeats``): repeats per unit and per outlet and item, for managers.

What counts as a failure: a rectification line of a released visit with the same checklist code.
Item codes belong to their checklist (OPS-01 is 收寄询问 on the open inspection, 开箱验视 on the
secret visit), so the same code in another checklist is another item and does not count. A line
withdrawn after a dispute does not count (the finding fell and the visit was re-scored); a line
whose dispute was refused (upheld) counts, and so does one still in dispute (a finding stands until
it is withdrawn, as the visit's score does). Only released visits have lines, so a secret visit not
yet released is nowhere here, for anyone. A repeat is decided once, at issue: a later withdrawal of
the earlier line does not lower the repeat's severity again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import Checklist
from inspect_app.checklists.scoring import AnswerInput, ScoreResult, score_item
from inspect_app.evidence.models import Photo
from inspect_app.notifications.services import notify
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.rectifications import selfcheck, services
from inspect_app.rectifications.models import OPEN_STATUSES, LineStatus, RectificationLine, RectificationNotice
from inspect_app.rectifications.queries import BoardFilters
from inspect_app.visits import timers
from inspect_app.visits.models import SELF_KIND, Answer, Visit, VisitStatus


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def lookback_days() -> int:
    return _setting("REVISIT_LOOKBACK_DAYS", 180)


def lookback_visits() -> int:
    return _setting("REVISIT_LOOKBACK_VISITS", 3)


def repeat_window_days() -> int:
    return _setting("REPEAT_WINDOW_DAYS", 90)


def visit_day(visit: Visit, zone: str) -> dt.date:
    """The outlet's local day a visit saw what it found: its check-in (a secret visit is released
    days later), else its submission."""
    moment = visit.checkin_at or visit.submitted_at or visit.released_at or visit.created_at
    return clock.local_date(moment, zone)


def _failed_lines(visit: Visit):
    """Lines that are failures of the visit's checklist at its outlet, in other released visits."""
    return (select(RectificationLine, Visit)
            .join(Visit, Visit.id == RectificationLine.visit_id)
            .where(RectificationLine.outlet_id == visit.outlet_id, RectificationLine.status != LineStatus.withdrawn,
                   RectificationLine.visit_id != visit.id, Visit.checklist_code == visit.checklist_code,
                   Visit.status == VisitStatus.released))


# --- 屡查屡犯 on release ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EarlierFailure:
    """The newest earlier failure of an item that makes its new failure a repeat."""

    line_id: int
    day: dt.date


def earlier_failures(session: Session, *, visit: Visit, outlet: Outlet, item_codes) -> dict[str, EarlierFailure]:
    """Of the items the visit failed, those that failed at the outlet in an earlier released visit
    of the same checklist at most ``REPEAT_WINDOW_DAYS`` days before this visit's day (the day
    counts, in the outlet's calendar): item code → the newest such failure."""
    codes = sorted(set(item_codes))
    if not codes:
        return {}
    window = repeat_window_days()
    day = visit_day(visit, outlet.timezone)
    # a line is issued at or after its visit's day: older lines cannot be within the window
    since = clock.day_start(day - dt.timedelta(days=window), outlet.timezone)
    rows = session.execute(_failed_lines(visit).where(RectificationLine.item_code.in_(codes),
                                                      RectificationLine.issued_at >= since)).all()
    found: dict[str, EarlierFailure] = {}
    for line, earlier in rows:
        earlier_day = visit_day(earlier, outlet.timezone)
        if earlier_day > day or (day - earlier_day).days > window:
            continue  # seen after this visit (released before it), or too long ago
        best = found.get(line.item_code)
        if best is None or (earlier_day, line.id) > (best.day, best.line_id):
            found[line.item_code] = EarlierFailure(line.id, earlier_day)
    return found


def issue_notice_on_release(visit: Visit, *, session: Session, actor: User, checklist: Checklist,
                            result: ScoreResult, **_extra) -> RectificationNotice | None:
    """The receiver of ``signals.visit_released``: the notice of the visit's failures, its repeats
    a step graver, the items its outlet's self-inspection had passed (自查不实, ``selfcheck``), and
    the news of both to the unit above. A self-inspection's own failures are its chief's to fix:
    they are never a repeat (the outlet finding its own problem again is what it is for)."""
    outlet = session.get(Outlet, visit.outlet_id)
    own = visit.kind == SELF_KIND
    repeats = {} if own else earlier_failures(session, visit=visit, outlet=outlet, item_codes=result.failed_items)
    self_checks = selfcheck.passed_self_checks(session, visit=visit, outlet=outlet, item_codes=result.failed_items)
    notice = services.issue_notice(session, actor=actor, visit=visit, checklist=checklist, result=result,
                                   repeats=repeats, self_checks=self_checks)
    if notice is not None and repeats:
        tell_unit_above(session, notice=notice, outlet=outlet, item_codes=sorted(repeats))
    if notice is not None and self_checks:
        selfcheck.tell_unit_above(session, notice=notice, outlet=outlet, item_codes=sorted(self_checks))
    return notice


def tell_unit_above(session: Session, *, notice: RectificationNotice, outlet: Outlet, item_codes: list[str]) -> int:
    """The managers of the unit above the outlet's unit hear of the notice's repeats, once."""
    unit = session.get(Unit, outlet.unit_id)
    above = services.unit_above(unit.path, 1)
    return notify(session, user_ids=services.managers_of_unit(session, above), kind="repeat_found",
                  params={"number": notice.number, "outlet": outlet.name, "items": ", ".join(item_codes),
                          "days": repeat_window_days()},
                  link=f"/notices/{notice.id}", dedupe_key=f"repeat:{notice.id}", unit_id=above)


# --- 回头看 on the fill page ----------------------------------------------------------------------------

@dataclass
class PastFinding:
    """What the fill page says of one item's past at the outlet."""

    item_code: str
    #: failed in one of the last released visits (上次不合格)
    failed_last: bool
    #: still open on a notice (整改中); never told to a shopper, who does not see the outlet's work
    open_line: bool
    #: in how many of the last released visits it failed
    times: int
    #: the last finding
    day: dt.date
    note: str
    deduction: float | None
    staff: str
    photos: list[Photo] = field(default_factory=list)


def past_findings(session: Session, viewer: User, visit: Visit, checklist: Checklist) -> dict[str, PastFinding]:
    """Item code → its past at the visit's outlet, for the items worth a second look (回头看).

    A fixed number of statements however many visits and lines there are: the last visits, their
    lines with visit, answer and staff member, the checklist versions, the photos."""
    outlet = session.get(Outlet, visit.outlet_id)
    since = clock.now() - dt.timedelta(days=lookback_days())
    recent = list(session.exec(select(Visit.id).where(
        Visit.outlet_id == outlet.id, Visit.checklist_code == visit.checklist_code,
        Visit.status == VisitStatus.released, Visit.id != visit.id, Visit.released_at >= since)
        .order_by(Visit.released_at.desc(), Visit.id.desc()).limit(lookback_visits())).all())
    sees_rectification = permissions.can_see_notices(viewer)  # shoppers never see the outlet's work
    which = [RectificationLine.visit_id.in_(recent)] if recent else []
    if sees_rectification:
        which.append(RectificationLine.status.in_(OPEN_STATUSES))
    if not which:
        return {}
    query = (_failed_lines(visit).add_columns(Answer, StaffMember)
             .outerjoin(Answer, sa.and_(Answer.visit_id == RectificationLine.visit_id,
                                        Answer.item_code == RectificationLine.item_code))
             .outerjoin(StaffMember, StaffMember.id == RectificationLine.staff_id)
             .where(sa.or_(*which)))
    by_item: dict[str, list] = {}
    for line, past, answer, staff in session.execute(query).all():
        if checklist.item(line.item_code) is not None:
            by_item.setdefault(line.item_code, []).append((visit_day(past, outlet.timezone), line, past, answer, staff))
    if not by_item:
        return {}
    lasts = {code: max(found, key=lambda f: (f[0], f[1].id)) for code, found in by_item.items()}
    versions = checklists.definitions_of_versions(session, {past.checklist_version_id for _d, _l, past, _a, _s in lasts.values()})
    photos = _finding_photos(session, viewer, outlet, [(past, line.item_code) for _d, line, past, _a, _s in lasts.values()])
    result = {}
    for code, found in by_item.items():
        day, line, past, answer, staff = lasts[code]
        result[code] = PastFinding(
            item_code=code, failed_last=any(f[2].id in recent for f in found),
            open_line=sees_rectification and any(f[1].status in OPEN_STATUSES for f in found),
            times=len({f[2].id for f in found if f[2].id in recent}), day=day,
            note=(answer.note if answer else "") or "", deduction=_deduction(versions.get(past.checklist_version_id), code, answer, past),
            staff=f"{staff.job_number} · {staff.name}" if staff else "",
            photos=photos.get((past.id, code), []))
    return result


def _deduction(definition: Checklist | None, code: str, answer: Answer | None, past: Visit) -> float | None:
    """The points the finding cost, scored with the version its visit was filled with."""
    item = definition.item(code) if definition else None
    if item is None:
        return None
    if item.rule == "timer" and past.kind == "secret":
        given = AnswerInput(seconds=timers.durations(past).get(item.timer))
    elif answer is None:
        return None
    else:
        given = AnswerInput(result=answer.result, occurrences=answer.occurrences, scale_value=answer.scale_value,
                            seconds=answer.seconds)
    scored = score_item(item, given)
    return scored.deduction if scored.failed else None


def _finding_photos(session: Session, viewer: User, outlet: Outlet, places: list[tuple[Visit, str]]) -> dict:
    """(visit id, item code) → the item's photos, where the viewer may see them: their own visit's,
    or any released visit's when they see the outlet's released visits (never a shopper another's).
    They are a failed item's evidence, which even the outlet side sees of a released secret visit."""
    sees_all = permissions.sees_released_visits_of(session, viewer, outlet)
    wanted = {(past.id, code) for past, code in places if sees_all or past.assignee_id == viewer.id}
    if not wanted:
        return {}
    found: dict[tuple[int, str], list[Photo]] = {}
    for photo in session.exec(select(Photo).where(
            Photo.visit_id.in_({v for v, _c in wanted}), Photo.item_code.in_({c for _v, c in wanted}),
            Photo.purpose == "item", Photo.deleted_at.is_(None)).order_by(Photo.id)).all():
        if (photo.visit_id, photo.item_code) in wanted:
            found.setdefault((photo.visit_id, photo.item_code), []).append(photo)
    return found


# --- the repeats page ------------------------------------------------------------------------------

PER_PAGE = 50


@dataclass
class RepeatGroup:
    """Repeats under one unit (or at one outlet, below a county)."""

    key: int
    name: str
    kind: str  # unit | outlet
    repeats: int = 0
    outlets: int = 0
    items: int = 0


@dataclass
class RepeatRow:
    """One item repeated at one outlet."""

    outlet_id: int
    outlet_code: str
    outlet_name: str
    unit_id: int
    timezone: str
    checklist_code: str
    item_code: str
    repeats: int
    last_issued: dt.datetime
    first_since: dt.date | None
    last_line_id: int


def _repeat_lines(session: Session, user: User, query, *, node: Unit | None, filters: BoardFilters,
                  item: str | None):
    """Repeat lines the user may see (the outlet scope: lines exist only for released visits), with
    the page's filters."""
    query = (query.select_from(RectificationLine).join(Outlet, Outlet.id == RectificationLine.outlet_id)
             .where(RectificationLine.repeat_of_id.is_not(None), permissions.outlets_clause(session, user)))
    if node is not None:
        query = query.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))))
    if item:
        query = query.where(RectificationLine.item_code == item)
    return filters.apply(query)


def repeat_groups(session: Session, user: User, *, node: Unit | None, filters: BoardFilters,
                  item: str | None = None) -> tuple[list[RepeatGroup], RepeatGroup]:
    """Per child unit of ``node`` (per outlet below a county): repeats, outlets and items repeated."""
    per_outlet = session.execute(_repeat_lines(session, user, select(
        Outlet.id, Outlet.name, Outlet.unit_id, sa.func.count(),
        sa.func.count(sa.distinct(RectificationLine.item_code))), node=node, filters=filters, item=item)
        .group_by(Outlet.id, Outlet.name, Outlet.unit_id)).all()
    total = RepeatGroup(key=0, name="", kind="total")
    groups: dict[int, RepeatGroup] = {}
    if node is not None and node.level == "county":
        for outlet_id, name, _unit, repeats, items in per_outlet:
            groups[outlet_id] = RepeatGroup(key=outlet_id, name=name, kind="outlet", repeats=repeats, outlets=1, items=items)
    else:
        units = {u.id: u for u in session.exec(select(Unit)).all()}
        depth = node.path.count("/") if node else 1
        for _outlet, _name, unit_id, repeats, items in per_outlet:
            parts = units[unit_id].path.strip("/").split("/")
            child = units[int(parts[depth - 1])] if len(parts) >= depth else units[unit_id]
            group = groups.setdefault(child.id, RepeatGroup(key=child.id, name=child.name, kind="unit"))
            group.repeats, group.outlets, group.items = group.repeats + repeats, group.outlets + 1, group.items + items
    for group in groups.values():
        total.repeats, total.outlets, total.items = total.repeats + group.repeats, total.outlets + group.outlets, total.items + group.items
    return sorted(groups.values(), key=lambda g: (-g.repeats, g.name)), total


def _row_query(session: Session, user: User, *, node: Unit | None, filters: BoardFilters, item: str | None):
    count = sa.func.count().label("repeats")
    last = sa.func.max(RectificationLine.issued_at).label("last_issued")
    outlet = (Outlet.id, Outlet.code, Outlet.name, Outlet.unit_id, Outlet.timezone)
    query = _repeat_lines(session, user, select(
        *outlet, Visit.checklist_code, RectificationLine.item_code, count,
        last, sa.func.min(RectificationLine.repeat_since), sa.func.max(RectificationLine.id)),
        node=node, filters=filters, item=item).join(Visit, Visit.id == RectificationLine.visit_id)
    return (query.group_by(*outlet, Visit.checklist_code, RectificationLine.item_code)
            .order_by(count.desc(), last.desc(), Outlet.code, RectificationLine.item_code))


def _as_row(r) -> RepeatRow:
    last, since = r[8], r[9]
    if isinstance(last, str):  # SQLite may hand an aggregate of a datetime back as its text
        last = dt.datetime.fromisoformat(last)
    if isinstance(last, dt.datetime) and last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    since = dt.date.fromisoformat(since) if isinstance(since, str) else since
    return RepeatRow(outlet_id=r[0], outlet_code=r[1], outlet_name=r[2], unit_id=r[3], timezone=r[4],
                     checklist_code=r[5], item_code=r[6], repeats=r[7], last_issued=last, first_since=since,
                     last_line_id=r[10])


def repeat_rows(session: Session, user: User, *, node: Unit | None, filters: BoardFilters, item: str | None = None,
                limit: int | None = PER_PAGE, offset: int = 0) -> list[RepeatRow]:
    """Items repeated per outlet, the most repeated first (``limit`` None: every row, for exports)."""
    query = _row_query(session, user, node=node, filters=filters, item=item)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [_as_row(r) for r in session.execute(query).all()]


def repeat_row_count(session: Session, user: User, *, node: Unit | None, filters: BoardFilters,
                     item: str | None = None) -> int:
    grouped = _row_query(session, user, node=node, filters=filters, item=item).order_by(None).subquery()
    return session.execute(select(sa.func.count()).select_from(grouped)).scalar_one()


def item_texts(rows: list[RepeatRow], locale: str) -> dict[tuple[str, str], str]:
    """(checklist code, item code) → the item's text in the current version of its checklist."""
    registry = checklists.registry()
    texts = {}
    for row in rows:
        item = registry[row.checklist_code].item(row.item_code) if row.checklist_code in registry else None
        texts[(row.checklist_code, row.item_code)] = item.text(locale) if item else ""
    return texts
