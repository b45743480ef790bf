"""CSV and Excel exports of the lists (导出): visits, their failed items, rectification lines, the
board, the ranking and the star board.

Each export reads its page's query string through the page's own function, which makes the
page's checks (403 for the role, 404 out of scope), and its rows through the page's own query,
which carries the scope (the outlet side never sees a visit before release): an export holds
exactly what its page would show over all its pages, no more. Rows are read in batches through a
streaming cursor and written as they come, so a million lines take no more memory than a hundred.
Each export is written to the audit log (who, which list, which filters) before it starts.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from itertools import islice

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import Session, select

from inspect_app import clock, permissions, tabular
from inspect_app.audit.services import record_export
from inspect_app.auth.models import User
from inspect_app.auth.services import person_label
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import KIND_LABELS, SEVERITY_LABELS, Checklist
from inspect_app.complaints import privacy as complaint_privacy
from inspect_app.complaints import queries as complaint_queries
from inspect_app.complaints import services as complaint_services
from inspect_app.complaints import settings as complaint_settings
from inspect_app.complaints.models import (
    ACCOUNTABILITY_STATUS_LABELS,
    COMPLAINT_STATUS_LABELS,
    SATISFACTION_LABELS,
    TIER_LABELS,
    VERDICT_LABELS,
    Complaint,
)
from inspect_app.complaints.views import accountability_filters, callback_selection, hotspot_selection, streak_selection
from inspect_app.complaints.views import list_filters as complaint_filters
from inspect_app.db import get_engine, get_session, not_a_page, session_for_stream, writing
from inspect_app.downloads import views as downloads
from inspect_app.downloads.services import rendering_in_worker
from inspect_app.i18n import select_locale, select_timezone, to_zone
from inspect_app.org import services as org_services
from inspect_app.org.models import Outlet, StaffMember, Unit
from inspect_app.org.views import staff_selection
from inspect_app.plans.views import coverage_rows, coverage_selection, missed_selection
from inspect_app.rectifications import queries as line_queries
from inspect_app.rectifications import repeats as repeat_queries
from inspect_app.rectifications.models import LINE_STATUS_LABELS
from inspect_app.rectifications.services import days_left, is_overdue
from inspect_app.rectifications.views import board_selection, line_selection, repeat_selection
from inspect_app.reports.views import _bulletin_args
from inspect_app.visits import queries as visit_queries
from inspect_app.visits import services as visits
from inspect_app.visits import timers
from inspect_app.visits.models import VISIT_STATUS_LABELS, Answer
from inspect_app.visits.views import checkin_flag_selection, list_filters, star_filter

bp = Blueprint("exports", __name__)
log = logging.getLogger(__name__)

FORMAT = "<any(csv, xlsx):fmt>"
BATCH = 1000


def _send(fmt: str, *, what: str, title: str, header: list[str], rows: Iterable, widths: list[int] | None = None):
    """Audit, then the file: named by its title and the viewer's local date. A list longer than
    ``EXPORT_INLINE_ROWS`` is made by the worker (this same view, replayed as the viewer) and
    offered under 我的文件: the request reads one row more than that to know."""
    not_a_page()  # statements grow with the rows: no page budget
    if not rendering_in_worker():
        limit = int(current_app.config.get("EXPORT_INLINE_ROWS", 5000))
        head = list(islice(iter(rows), limit + 1))
        if len(head) > limit:
            return downloads.defer(f"{title}.{fmt}")
        rows = head
    _audit(what, fmt)
    zone = select_timezone()
    today = clock.today(zone)
    filename = f"{title}-{today:%Y%m%d}.{fmt}"
    counted = _counted(rows, what, fmt)
    if fmt == "csv":  # rows are read while the body is sent, through the request's session
        session = session_for_stream()
        response = tabular.csv_response(header, _closing(counted, session), filename)
        response.call_on_close(session.close)  # also when the download is broken off
        return response
    # the document's date is the day's start, so the same list on the same day is the same file
    return tabular.xlsx_response(header, counted, filename, sheet=title, created=clock.day_start(today, zone),
                                 widths=widths)


def _audit(what: str, fmt: str) -> None:
    # its own short write, as the session touch does: a GET's session never takes the write lock
    with writing(), Session(get_engine()) as session:
        record_export(session, actor=current_user, what=what, fmt=fmt, filters=request.args.to_dict())
        session.commit()


def _counted(rows: Iterable, what: str, fmt: str) -> Iterator:
    n = 0
    for row in rows:
        n += 1
        yield row
    log.info("export %s (%s) by %s: %d rows", what, fmt, current_user.username, n)


def _closing(rows: Iterable, session) -> Iterator:
    try:
        yield from rows
    finally:
        session.close()


def _batches(rows: Iterable, size: int = BATCH) -> Iterator[list]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _local(moment: dt.datetime | None, zone: str, with_time: bool = True):
    """An instant as the outlet's wall clock (or its date only)."""
    local = to_zone(moment, zone)
    if local is None:
        return None
    return local.replace(tzinfo=None) if with_time else local.date()


class _Labels:
    """The export's words in the viewer's language, translated once (not once per row)."""

    def __init__(self, *tables: dict):
        self.yes, self.no = _("Yes"), _("No")
        self.tables = [{key: str(label) for key, label in table.items()} for table in tables]

    def flag(self, value: bool | None) -> str:
        return "" if value is None else (self.yes if value else self.no)


def _unit_names(session) -> dict[int, str]:
    return dict(session.execute(select(Unit.id, Unit.name)).all())


# --- visits and their failed items ----------------------------------------------------------------

class _Scorer:
    """Failed items of visits a batch at a time: one query for the batch's answers, each checklist
    version read once."""

    def __init__(self, session):
        self.session = session
        self.versions: dict[int, Checklist] = {}

    def checklist(self, version_id: int) -> Checklist:
        if version_id not in self.versions:
            self.versions[version_id] = checklists.definition_of_version(self.session, version_id)
        return self.versions[version_id]

    def results(self, batch: list[tuple]):
        ids = [row[0].id for row in batch]
        answers: dict[int, dict[str, Answer]] = {i: {} for i in ids}
        for answer in self.session.exec(select(Answer).where(Answer.visit_id.in_(ids))):
            answers[answer.visit_id][answer.item_code] = answer
        for row in batch:
            visit = row[0]
            checklist = self.checklist(visit.checklist_version_id)
            yield row, checklist, answers[visit.id], visits.score_visit(checklist, answers[visit.id], visit)


def _checklist_title(code: str, locale: str) -> str:
    found = checklists.registry().get(code)
    return found.title(locale) if found else code


@bp.route(f"/visits/export.{FORMAT}")
@login_required
def visits_list(fmt: str):
    filters = list_filters()
    db, locale, viewer = get_session(), select_locale(), current_user._get_current_object()
    units, scorer = _unit_names(db), _Scorer(db)
    words = _Labels(KIND_LABELS, VISIT_STATUS_LABELS)
    kinds, statuses = words.tables
    titles: dict[str, str] = {}
    header = [_("Visit ID"), _("Outlet code"), _("Outlet"), _("Unit"), _("Window"), _("Checklist"), _("Kind"), _("Status"),
              _("Inspector"), _("Due from"), _("Due until"), _("Checked in"), _("Submitted"), _("Released at"), _("Score"),
              _("Red line"), _("Failed items")]

    def rows():
        for batch in visit_queries.visit_batches(db, viewer, batch=BATCH, **filters):
            for (visit, outlet, window, assignee), _checklist, _answers, result in scorer.results(batch):
                times = permissions.sees_visit_times(viewer, visit)  # the outlet side: dates only
                if visit.checklist_code not in titles:
                    titles[visit.checklist_code] = _checklist_title(visit.checklist_code, locale)
                yield [visit.id, outlet.code, outlet.name, units.get(outlet.unit_id, ""),
                       window.number if window else "", titles[visit.checklist_code],
                       kinds.get(visit.kind, visit.kind), statuses.get(visit.status, visit.status),
                       person_label(viewer, assignee), visit.due_from, visit.due_until,
                       _local(visit.checkin_at, outlet.timezone, times), _local(visit.submitted_at, outlet.timezone, times),
                       _local(visit.released_at, outlet.timezone, times), visit.score,
                       words.flag(visit.red_line if visit.score is not None else None), len(result.failed_items)]

    return _send(fmt, what="visits", title=_("Visits"), header=header, rows=rows(),
                 widths=[8, 12, 28, 12, 6, 18, 10, 10, 14, 11, 11, 16, 16, 16, 7, 6, 8])


@bp.route(f"/visits/checkin-flags/export.{FORMAT}")
@login_required
def checkin_flags(fmt: str):
    """The flagged check-ins page's visits (far from the outlet, no location) with the reasons."""
    selection = checkin_flag_selection()
    db, locale, viewer = get_session(), select_locale(), current_user._get_current_object()
    units = _unit_names(db)
    words = _Labels(KIND_LABELS, visits.CHECKIN_FLAG_LABELS)
    kinds, flags = words.tables
    header = [_("Visit ID"), _("Person"), _("Outlet code"), _("Outlet"), _("Unit"), _("Checklist"), _("Kind"),
              _("Checked in"), _("Flag"), _("Distance (m)"), _("Accuracy (m)"), _("Reason")]
    query = visit_queries.flagged_checkins_query(db, viewer, since=selection["since"], until=selection["until"],
                                                 assignee_id=selection["assignee_id"])

    def rows():
        for batch in _batches(db.execute(query.execution_options(yield_per=BATCH)).scalars()):
            outlets = {o.id: o for o in db.exec(select(Outlet).where(Outlet.id.in_({v.outlet_id for v in batch})))}
            people = {u.id: u for u in db.exec(select(User).where(User.id.in_({v.assignee_id for v in batch})))}
            for visit in batch:
                outlet = outlets[visit.outlet_id]
                yield [visit.id, person_label(viewer, people.get(visit.assignee_id)), outlet.code, outlet.name,
                       units.get(outlet.unit_id, ""), _checklist_title(visit.checklist_code, locale),
                       kinds.get(visit.kind, visit.kind), _local(visit.checkin_at, outlet.timezone),
                       flags.get(visit.checkin_flag, visit.checkin_flag), visit.checkin_distance_m,
                       visit.checkin_accuracy,
                       visit.checkin_far_reason if visit.checkin_flag == "far" else visit.checkin_no_location_reason]

    return _send(fmt, what="checkin_flags", title=_("Check-ins to look at"), header=header, rows=rows(),
                 widths=[8, 14, 12, 28, 12, 18, 10, 16, 12, 10, 10, 40])


def _measured(item, answer: Answer | None, visit) -> str | int | None:
    """What was counted or measured for a failed item: occurrences, the scale's value, a timer's
    duration."""
    if item.rule == "per_occurrence":
        return answer.occurrences if answer else None
    if item.rule == "scale":
        return f"{answer.scale_value}/{item.scale_max}" if answer and answer.scale_value is not None else None
    if item.rule == "timer":
        seconds = timers.durations(visit).get(item.timer)
        return f"{int(seconds) // 60}:{int(seconds) % 60:02d}" if seconds is not None else None
    return None


@bp.route(f"/visits/failed-items/export.{FORMAT}")
@login_required
def failed_items(fmt: str):
    filters = list_filters()
    db, locale, viewer = get_session(), select_locale(), current_user._get_current_object()
    scorer, words = _Scorer(db), _Labels()
    header = [_("Visit ID"), _("Outlet code"), _("Outlet"), _("Checklist"), _("Date"), _("Item"), _("Item text"),
              _("Red line"), _("Note"), _("Occurrences / measured")]

    def rows():
        for batch in visit_queries.visit_batches(db, viewer, batch=BATCH, **filters):
            for (visit, outlet, _window, _assignee), checklist, answers, result in scorer.results(batch):
                day = visit.released_at or visit.submitted_at or visit.checkin_at
                for code in result.failed_items:
                    item, answer = checklist.item(code), answers.get(code)
                    yield [visit.id, outlet.code, outlet.name, _checklist_title(visit.checklist_code, locale),
                           _local(day, outlet.timezone, with_time=False), code, item.text(locale), words.flag(item.red_line),
                           answer.note if answer else "", _measured(item, answer, visit)]

    return _send(fmt, what="failed_items", title=_("Failed items"), header=header, rows=rows(),
                 widths=[8, 12, 28, 18, 11, 8, 36, 6, 40, 10])


# --- rectification ----------------------------------------------------------------------------------

@bp.route(f"/board/lines/export.{FORMAT}")
@login_required
def lines(fmt: str):
    filters, _args, node, outlet, state = line_selection()
    db, now, viewer = get_session(), clock.now(), current_user._get_current_object()
    words = _Labels(SEVERITY_LABELS, LINE_STATUS_LABELS)
    severities, statuses = words.tables
    header = [_("Notice"), _("Outlet code"), _("Outlet"), _("Item"), _("Problem"), _("Requirement"), _("Severity"),
              _("Red line"), _("Responsible person"), _("Deadline"), _("Status"), _("Issued at"), _("Acknowledged at"),
              _("Answered at"), _("Verified / closed at"), _("Days overdue")]
    people: dict[int, str] = {}

    def rows():
        stream = line_queries.all_line_rows(db, viewer, filters=filters, node=node,
                                            outlet_id=outlet.id if outlet else None, state=state, now=now, batch=BATCH)
        for batch in _batches(stream):
            wanted = {line.responsible_id for line, _n, _o in batch if line.responsible_id} - people.keys()
            if wanted:
                people.update((u.id, person_label(viewer, u))
                              for u in db.exec(select(User).where(User.id.in_(wanted))))
            for line, notice, o in batch:
                zone = o.timezone
                yield [notice.number, o.code, o.name, line.item_code, line.problem, line.requirement,
                       severities.get(line.severity, line.severity), words.flag(line.red_line),
                       people.get(line.responsible_id, ""), line.deadline_date,
                       statuses.get(line.status, line.status), _local(line.issued_at, zone),
                       _local(line.acknowledged_at, zone), _local(line.answered_at, zone), _local(line.closed_at, zone),
                       -days_left(line, o, now) if is_overdue(line, now) else None]

    return _send(fmt, what="lines", title=_("Rectification items"), header=header, rows=rows(),
                 widths=[18, 12, 28, 8, 36, 30, 8, 6, 12, 11, 12, 16, 16, 16, 16, 8])


@bp.route(f"/board/export.{FORMAT}")
@login_required
def board(fmt: str):
    node, filters, _args = board_selection()
    db, zone = get_session(), select_timezone()
    rows, total = line_queries.board(db, current_user, node=node, filters=filters)
    by_outlet = bool(rows) and rows[0].kind == "outlet"
    header = [_("Outlet") if by_outlet else _("Unit"), _("Issued"), _("Acknowledged"), _("Answered"), _("Closed"),
              _("Withdrawn"), _("Extended"), _("Open"), _("Overdue"), _("Close rate (%)"), _("Days to close (avg)"),
              _("Oldest overdue")]
    total.name = _("Total")

    def cells(r):
        return [r.name, r.issued, r.acknowledged, r.answered, r.closed, r.withdrawn, r.extended, r.open, r.overdue,
                r.close_rate,
                r.avg_days_to_close, _local(r.oldest_overdue, zone, with_time=False)]

    title = f"{_('Rectification board')}-{node.name}" if node else _("Rectification board")
    return _send(fmt, what="board", title=title, header=header, rows=[*map(cells, rows), cells(total)],
                 widths=[24, 8, 8, 8, 8, 8, 8, 8, 8, 10, 10, 12])


@bp.route(f"/board/repeats/export.{FORMAT}")
@login_required
def repeats(fmt: str):
    """屡查屡犯: every repeated item per outlet (all the page's pages), with its unit."""
    node, filters, _args, item = repeat_selection()
    db, viewer = get_session(), current_user._get_current_object()
    rows = repeat_queries.repeat_rows(db, viewer, node=node, filters=filters, item=item, limit=None)
    texts, units = repeat_queries.item_texts(rows, select_locale()), _unit_names(db)
    header = [_("Unit"), _("Outlet code"), _("Outlet"), _("Checklist"), _("Item"), _("Item text"), _("Repeats"),
              _("Last repeat issued"), _("First earlier failure")]
    cells = [[units.get(r.unit_id, ""), r.outlet_code, r.outlet_name, _checklist_title(r.checklist_code, select_locale()),
              r.item_code, texts[(r.checklist_code, r.item_code)], r.repeats, _local(r.last_issued, r.timezone),
              r.first_since] for r in rows]
    title = f"{_('Repeated problems')}-{node.name}" if node else _("Repeated problems")
    return _send(fmt, what="repeats", title=title, header=header, rows=cells, widths=[14, 12, 28, 16, 8, 36, 8, 16, 12])
# --- plan coverage and the missed visits ---------------------------------------------------------------

@bp.route(f"/plans/coverage/export.{FORMAT}")
@login_required
def coverage(fmt: str):
    node, period, _args = coverage_selection()
    rows, total = coverage_rows(node, period)
    by_outlet = bool(rows) and rows[0].kind == "outlet"
    header = [_("Outlet") if by_outlet else _("Unit"), _("Period"), _("Outlets planned"), _("Outlets visited"),
              _("Visits planned"), _("Done"), _("Missed"), _("To do"), _("Coverage") + " %"]
    total.name = _("Total")

    def cells(r):
        return [r.name, period.label, r.outlets_planned, r.outlets_visited, r.planned, r.done, r.missed, r.open,
                None if r.percent is None else float(r.percent)]

    title = f"{_('Coverage')}-{node.name}" if node else _("Coverage")
    return _send(fmt, what="coverage", title=title, header=header, rows=[*map(cells, rows), cells(total)],
                 widths=[24, 9, 10, 10, 8, 8, 8, 8, 10])


@bp.route(f"/plans/missed/export.{FORMAT}")
@login_required
def missed(fmt: str):
    node, period, _args, rows = missed_selection()
    header = [_("Outlet code"), _("Outlet"), _("Checklist"), _("Window from"), _("Window until"), _("Assigned to"),
              _("Plan"), _("Status"), _("Submitted")]
    viewer = current_user._get_current_object()

    def cells():
        for visit, outlet, assignee, plan_name in rows:
            yield [outlet.code, outlet.name, _checklist_name(visit.checklist_code), visit.due_from, visit.due_until,
                   person_label(viewer, assignee) if assignee else "", plan_name or "",
                   str(VISIT_STATUS_LABELS.get(visit.status, visit.status)), _local(visit.submitted_at, outlet.timezone)]

    title = f"{_('Missed visits')}-{node.name}" if node else _("Missed visits")
    return _send(fmt, what="missed", title=f"{title}-{period.label}", header=header, rows=cells(),
                 widths=[12, 28, 16, 11, 11, 14, 20, 10, 16])


def _checklist_name(code: str) -> str:
    checklist = checklists.registry().get(code)
    return checklist.title(select_locale()) if checklist else code


# --- the ranking and the star board --------------------------------------------------------------------

@bp.route(f"/bulletins/ranking/export.{FORMAT}")
@login_required
def ranking(fmt: str):
    _db, b, title, _args = _bulletin_args()
    by_outlet = b.node is not None and b.node.level == "county"
    header = [_("Rank"), _("Outlet") if by_outlet else _("Unit"), _("Visits"), _("Coverage") + " %", _("Average"),
              _("veto"), _("Average before the veto"), _("Red lines"), _("Verdict")]
    number = lambda value: None if value is None else float(value)  # noqa: E731  (Excel sorts numbers, not text)
    rows = [[r.rank, r.name, r.visits if r.visits else _("not inspected"), number(r.coverage), number(r.average),
             _("veto") if r.vetoed else "", number(r.raw_average) if r.vetoed else None, r.red_lines,
             _("commended") if r.commended else _("named") if r.named else ""] for r in b.rows]
    return _send(fmt, what="ranking", title=f"{_('Ranking')}-{title}", header=header, rows=rows,
                 widths=[6, 24, 8, 8, 8, 6, 10, 8, 8])


@bp.route(f"/stars/export.{FORMAT}")
@login_required
def stars(fmt: str):
    level = star_filter()
    db, now, viewer = get_session(), clock.now(), current_user._get_current_object()
    header = [_("Outlet code"), _("Outlet"), _("Window"), _("Unit"), _("Stars"), _("Score"), _("Awarded on"),
              _("Valid until")]

    def rows():
        for rating, outlet, window, unit_name in visit_queries.star_rows(db, viewer, stars=level, now=now, batch=BATCH):
            yield [outlet.code, outlet.name, window.number if window else "", unit_name, rating.stars, rating.score,
                   _local(rating.awarded_at, outlet.timezone, with_time=False),
                   visits.star_last_day(rating, outlet.timezone)]

    return _send(fmt, what="stars", title=_("Star board"), header=header, rows=rows(), widths=[12, 28, 6, 14, 6, 7, 11, 11])


# --- complaints -------------------------------------------------------------------------------------

@bp.route(f"/complaints/export.{FORMAT}")
@login_required
def complaints(fmt: str):
    """The register as its page shows it. The customer's name and phone are columns for complaint
    handlers only: nobody else's file carries them, not even masked."""
    filters, _args = complaint_filters()
    db, now, viewer = get_session(), clock.now(), current_user._get_current_object()
    with_contact = permissions.may_read_contact(viewer)
    words = _Labels(complaint_settings.SOURCE_LABELS, COMPLAINT_STATUS_LABELS, VERDICT_LABELS)
    sources, statuses, verdicts = words.tables
    header = [_("Number"), _("Received at"), _("Source"), _("Outlet code"), _("Outlet"), _("Category"), _("Account"),
              _("Staff job number"), _("Status"), _("First contact due"), _("Contacted at"), _("Resolve by"),
              _("Overdue"), _("Conclusion"), _("Grade"), _("Concluded at"), _("Resolved at first contact")]
    if with_contact:
        header += [_("Customer's name"), _("Customer's phone")]

    def rows():
        query = (complaint_queries.complaint_query(db, viewer, filters).add_columns(StaffMember.job_number)
                 .outerjoin(StaffMember, StaffMember.id == Complaint.staff_id).order_by(Complaint.id))
        for complaint, outlet, job_number in db.execute(query.execution_options(yield_per=BATCH)):
            zone = outlet.timezone
            row = [complaint.number, _local(complaint.received_at, zone), sources.get(complaint.source, complaint.source),
                   outlet.code, outlet.name, complaint.category,
                   complaint.account if with_contact else complaint_privacy.redact_for(complaint, complaint.account),
                   job_number or "", statuses.get(complaint.status, complaint.status),
                   _local(complaint.contact_due_at, zone), _local(complaint.contacted_at, zone),
                   _local(complaint.resolve_due_at, zone), words.flag(complaint_services.is_overdue(complaint, now)),
                   verdicts.get(complaint.verdict, "") if complaint.verdict else "",
                   complaint_settings.complaint_grade_label(complaint.grade) if complaint.grade else "",
                   _local(complaint.concluded_at, zone),
                   words.flag(complaint_services.first_contact_resolved(complaint)) if complaint.concluded_at else ""]
            if with_contact:
                row += [complaint.customer_name, complaint.customer_phone]
            yield row

    return _send(fmt, what="complaints", title=_("Complaints"), header=header, rows=rows(),
                 widths=[16, 17, 14, 12, 24, 10, 40, 10, 14, 17, 17, 17, 6, 10, 8, 17, 8] + ([10, 14] if with_contact else []))


@bp.route(f"/complaints/streaks/export.{FORMAT}")
@login_required
def streaks(fmt: str):
    """零投诉: every outlet of the page's list, sorted as there."""
    sort, outlet_code = streak_selection()
    db, viewer = get_session(), current_user._get_current_object()
    units = _unit_names(db)
    header = [_("Outlet code"), _("Outlet"), _("Unit"), _("Days without a substantiated complaint"), _("Counted from"),
              _("Substantiated complaint on record")]
    words = _Labels()
    rows = [[r.outlet.code, r.outlet.name, units.get(r.outlet.unit_id, ""), r.days, r.since, words.flag(not r.never)]
            for r in complaint_queries.outlet_streaks(db, viewer, sort=sort, outlet_code=outlet_code)]
    return _send(fmt, what="complaint_streaks", title=_("Zero-complaint streaks"), header=header, rows=rows,
                 widths=[12, 28, 14, 10, 11, 8])


def _people(session, viewer, ids, known: dict[int, str]) -> dict[int, str]:
    """Names of the users with these ids as the viewer may see them, read once per batch."""
    wanted = {i for i in ids if i} - known.keys()
    if wanted:
        known.update((u.id, person_label(viewer, u)) for u in session.exec(select(User).where(User.id.in_(wanted))))
    return known


@bp.route(f"/accountability/export.{FORMAT}")
@login_required
def accountability(fmt: str):
    """The accountability list with its filters. Its texts are the reasons people wrote: for anyone
    but a complaint handler, without the complainant's details."""
    filters, _args = accountability_filters()
    db, viewer = get_session(), current_user._get_current_object()
    with_contact = permissions.may_read_contact(viewer)
    words = _Labels(ACCOUNTABILITY_STATUS_LABELS)
    (statuses,) = words.tables
    header = [_("Opened at"), _("Staff job number"), _("Staff member"), _("Post"), _("Outlet code"), _("Outlet"),
              _("Source"), _("For"), _("Grade"), _("Amount (yuan)"), _("Status"), _("Decided at"), _("Acknowledged at"),
              _("Appealed at"), _("Appeal"), _("Decision on appeal")]
    red_line = _("Red-line finding")

    def rows():
        query = complaint_queries.accountability_query(db, viewer, filters)
        for record_, staff, outlet, complaint, line in db.execute(query.execution_options(yield_per=BATCH)):
            zone = outlet.timezone

            def text(value: str) -> str:
                return value if with_contact else complaint_privacy.redact_for(complaint, value)

            source = complaint.number if complaint else (f"{red_line} {line.item_code}" if line else "")
            yield [_local(record_.opened_at, zone), staff.job_number, staff.name, staff.post, outlet.code, outlet.name,
                   source, text(record_.reason), complaint_settings.grade_label(record_.grade) if record_.grade else "",
                   record_.amount, statuses.get(record_.status, record_.status), _local(record_.decided_at, zone),
                   _local(record_.acknowledged_at, zone), _local(record_.appealed_at, zone), text(record_.appeal_reason),
                   text(record_.appeal_decision)]

    return _send(fmt, what="accountability", title=_("Accountability"), header=header, rows=rows(),
                 widths=[17, 14, 10, 10, 12, 24, 18, 40, 8, 10, 12, 17, 17, 17, 30, 30])


@bp.route(f"/callbacks/export.{FORMAT}")
@login_required
def callbacks(fmt: str):
    """The callback log, all of it. The customer's or contact's name and phone are columns for
    complaint handlers only; notes are redacted for everyone else."""
    callback_selection()
    db, viewer = get_session(), current_user._get_current_object()
    with_contact = permissions.may_read_contact(viewer)
    words = _Labels(SATISFACTION_LABELS)
    (satisfactions,) = words.tables
    header = [_("Called at"), _("Outlet code"), _("Outlet"), _("Complaint"), _("Key customer"), _("The customer is"),
              _("Note"), _("Called by")]
    if with_contact:
        header += [_("Contact person"), _("Contact phone")]
    people: dict[int, str] = {}

    def rows():
        stream = db.execute(complaint_queries.callback_log_query(db, viewer).execution_options(yield_per=BATCH))
        for batch in _batches(stream):
            _people(db, viewer, (cb.by_id for cb, *_rest in batch), people)
            for callback, outlet, customer, complaint in batch:
                about = complaint or customer
                row = [_local(callback.at, outlet.timezone), outlet.code, outlet.name, complaint.number if complaint else "",
                       customer.name if customer else "", satisfactions.get(callback.satisfaction, callback.satisfaction),
                       callback.note if with_contact else complaint_privacy.redact_for(about, callback.note),
                       people.get(callback.by_id, "")]
                if with_contact:
                    row += list(complaint_services.contact_of(viewer, about)) if about else ["", ""]
                yield row

    return _send(fmt, what="callbacks", title=_("Callback log"), header=header, rows=rows(),
                 widths=[17, 12, 24, 18, 20, 10, 40, 12] + ([10, 14] if with_contact else []))


@bp.route(f"/callbacks/due/export.{FORMAT}")
@login_required
def callbacks_due(fmt: str):
    """The key customers due (or the whole plan, ``all=1``), as the page lists them."""
    show_all = callback_selection()
    db, viewer = get_session(), current_user._get_current_object()
    with_contact = permissions.may_read_contact(viewer)
    words = _Labels(TIER_LABELS, SATISFACTION_LABELS)
    tiers, satisfactions = words.tables
    header = [_("Key customer"), _("Outlet code"), _("Outlet"), _("Call back"), _("Due"), _("Days late"),
              _("Last callback"), _("The customer was"), _("Note")]
    if with_contact:
        header += [_("Contact person"), _("Contact phone")]

    def rows():
        for d in complaint_queries.callbacks_due(db, viewer, include_later=show_all):
            customer = d.customer
            row = [customer.name, d.outlet.code, d.outlet.name, tiers.get(customer.tier, customer.tier), d.due,
                   max(0, d.overdue_days), _local(d.last.at, d.outlet.timezone, with_time=False) if d.last else None,
                   satisfactions.get(d.last.satisfaction, "") if d.last else "",
                   customer.note if with_contact else complaint_privacy.redact_for(customer, customer.note)]
            if with_contact:
                row += [customer.contact_name, customer.contact_phone]
            yield row

    return _send(fmt, what="callbacks_due", title=_("Key customers to call back"), header=header, rows=rows(),
                 widths=[24, 12, 24, 10, 11, 8, 11, 10, 30] + ([10, 14] if with_contact else []))


@bp.route(f"/complaints/hotspots/export.{FORMAT}")
@login_required
def hotspots(fmt: str):
    """The month's complaints by category, outlet and staff member against the month before; every
    row, not only the page's first ten."""
    first, since, until, before = hotspot_selection()
    db, viewer = get_session(), current_user._get_current_object()
    hot = complaint_queries.hotspots(db, viewer, since=since, until=until, before=before, top=None)
    dimensions = {"category": _("By category"), "outlet": _("By outlet"), "staff": _("By staff member (substantiated)")}
    header = [_("Month"), _("Grouped by"), _("Category, outlet or staff member"), _("This month"), _("Month before"),
              _("Change against the month before")]
    rows = [[f"{first:%Y-%m}", label, h.label, h.now, h.before, h.change]
            for key, label in dimensions.items() for h in hot[key]]
    return _send(fmt, what="complaint_hotspots", title=f"{_('Complaint hotspots')}-{first:%Y-%m}", header=header,
                 rows=rows, widths=[8, 20, 28, 8, 8, 8])


@bp.route(f"/staff/export.{FORMAT}")
@login_required
def staff(fmt: str):
    """The staff register as its page lists it (search, outlet), in the viewer's scope."""
    q, outlet_code = staff_selection()
    db, viewer = get_session(), current_user._get_current_object()
    units = _unit_names(db)
    words = _Labels()
    header = [_("Job number"), _("Name"), _("Post"), _("Outlet code"), _("Outlet"), _("Unit"), _("At work")]

    def rows():
        query = org_services.staff_query(db, user=viewer, q=q, outlet_code=outlet_code).order_by(*org_services.STAFF_ORDER)
        for member, outlet in db.execute(query.execution_options(yield_per=BATCH)):
            yield [member.job_number, member.name, member.post, outlet.code, outlet.name, units.get(outlet.unit_id, ""),
                   words.flag(member.active)]

    return _send(fmt, what="staff", title=_("Staff"), header=header, rows=rows(), widths=[14, 10, 10, 12, 28, 14, 6])
