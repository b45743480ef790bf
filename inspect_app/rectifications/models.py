from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class LineStatus(StrEnum):
    issued = "issued"              # on the notice, not acknowledged yet
    acknowledged = "acknowledged"  # 签收: the outlet has taken it on
    answered = "answered"          # rectified, with description and after-photos, waiting for verification
    returned = "returned"          # verification refused it: to be answered again
    closed = "closed"              # verified
    disputed = "disputed"          # the outlet contests the finding
    withdrawn = "withdrawn"        # the outlet's dispute was accepted: the finding falls


LINE_STATUS_LABELS = {
    "issued": _l("Issued"),
    "acknowledged": _l("Acknowledged"),
    "answered": _l("Answered, to verify"),
    "returned": _l("Returned"),
    "closed": _l("Closed"),
    "disputed": _l("Disputed"),
    "withdrawn": _l("Withdrawn"),
}

#: Line history events; "upheld" means the dispute was refused and the finding stands.
EVENT_LABELS = {
    "issued": _l("issued"),
    "acknowledged": _l("acknowledged"),
    "answered": _l("answer sent"),
    "returned": _l("returned"),
    "verified": _l("verified and closed"),
    "disputed": _l("disputed"),
    "upheld": _l("dispute refused: finding upheld"),
    "withdrawn": _l("finding withdrawn"),
    "deadline_changed": _l("deadline changed"),
    "assigned": _l("responsible person set"),
    "extension_requested": _l("extension requested"),
    "extension_approved": _l("extension approved"),
    "extension_refused": _l("extension refused"),
    "closed_own": _l("rectified and closed by the outlet (self-inspection)"),
}

OPEN_STATUSES = (LineStatus.issued, LineStatus.acknowledged, LineStatus.returned, LineStatus.answered,
                 LineStatus.disputed)
#: Waiting for the outlet to act (the deadline runs against the outlet only in these).
OUTLET_TURN = (LineStatus.issued, LineStatus.acknowledged, LineStatus.returned)
#: ``OUTLET_TURN`` as SQL, the condition of the partial index ix_line_late_outlet, per dialect: a
#: query uses the index only when it says the same (SQLite compares the terms as written;
#: PostgreSQL cannot prove a bound parameter's value once the statement is prepared). PostgreSQL's
#: is written as it prints it back: the national demo drops the index for its load and makes it
#: again from that print.
OUTLET_TURN_SQL = {
    "sqlite": f"status IN ({', '.join(repr(status.value) for status in OUTLET_TURN)})",
    "postgresql": f"(status)::text = ANY ('{{{','.join(status.value for status in OUTLET_TURN)}}}'::text[])",
}

#: Not closed, the condition of the partial index ix_line_open_outlet (as PostgreSQL prints it).
NOT_CLOSED_SQL = {"sqlite": "status <> 'closed'", "postgresql": "(status)::text <> 'closed'::text"}


def status_in(status, statuses) -> sa.ColumnElement:
    """``status IN statuses`` with the values written into the statement, not bound: PostgreSQL
    proves a partial index's condition (ix_line_late_outlet, ix_line_open_outlet) only from
    values it sees, and psycopg prepares a statement run often."""
    return status.in_(sa.bindparam("statuses", [LineStatus(s).value for s in statuses], expanding=True,
                                   literal_execute=True, unique=True))


def in_outlet_turn(status) -> sa.ColumnElement:
    """``status IN OUTLET_TURN`` as ix_line_late_outlet's condition says it."""
    return status_in(status, OUTLET_TURN)


class RectificationNotice(SQLModel, table=True):
    """整改通知书: one per released visit with failures, or one per substantiated complaint that
    revealed a practice to fix (``visit_id`` empty: the complaint domain links to its notice)."""

    __tablename__ = "rectification_notice"
    #: the notices nobody acknowledged (few, however many there are in all): the sweep and the board
    __table_args__ = (sa.Index("ix_notice_unacknowledged", "outlet_id", "issued_at",
                               sqlite_where=sa.text("acknowledged_at IS NULL"),
                               postgresql_where=sa.text("acknowledged_at IS NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(default="", max_length=32, index=True)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", unique=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    #: What the notice comes from, for people: the visit's checklist or "投诉 TS…".
    origin: str = Field(default="", max_length=64)
    issued_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    issued_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user_account.id")


_LINE_ROW_VERSION = sa.Column("row_version", sa.Integer, nullable=False, default=1)


class RectificationLine(SQLModel, table=True):
    """One failed item to fix: problem, requirement, severity, deadline, responsible person."""

    __tablename__ = "rectification_line"
    __table_args__ = (
        # an outlet's lines by state; its late ones in deadline order (a small scope's overdue list)
        sa.Index("ix_line_outlet_deadline", "outlet_id", "status", "deadline_at"),
        # a scope's late lines by its outlets (the board of a city or a province): only the lines
        # waiting on the outlet (a sixtieth of them), one descent per outlet, no row read (the
        # query names the statuses as written here: ``OUTLET_TURN_SQL``); the issue time beside
        # the id for the board of a period (a province's 90 days: 28 → 15 ms, no row read)
        sa.Index("ix_line_late_outlet", "outlet_id", "deadline_at", postgresql_include=["id", "issued_at"],
                 sqlite_where=sa.text(OUTLET_TURN_SQL["sqlite"]),
                 postgresql_where=sa.text(OUTLET_TURN_SQL["postgresql"])),
        # a scope's lines not closed by its outlets (a province's line list of every state, which
        # reads its closed ones apart): one probe per outlet, no row read, where
        # ix_line_outlet_deadline took one per outlet and status and read each line (PostgreSQL,
        # national data, a province's 7,273: 37-50 → 6-9 ms); status is beside the id so the
        # list's own statuses are checked in the index (the query names them: ``status_in``)
        sa.Index("ix_line_open_outlet", "outlet_id", "deadline_at", postgresql_include=["id", "status"],
                 sqlite_where=sa.text(NOT_CLOSED_SQL["sqlite"]),
                 postgresql_where=sa.text(NOT_CLOSED_SQL["postgresql"])),
        # covers the open-line queries (overdue, due soon, escalation) with the board filters
        sa.Index("ix_line_status_deadline", "status", "deadline_at", "outlet_id", "issued_at", "checklist_kind", "severity"),
        sa.UniqueConstraint("notice_id", "item_code", name="uq_line_notice_item"),
        # the repeats page (屡查屡犯): only repeat lines, by issue time
        sa.Index("ix_line_repeat", "repeat_of_id", "issued_at"),
        # a scope's repeat lines by its outlets (the repeats page of a county or a province): only
        # those, where ix_line_outlet_deadline read each outlet's every line to find them
        sa.Index("ix_line_outlet_repeat", "outlet_id", "issued_at",
                 sqlite_where=sa.text("repeat_of_id IS NOT NULL"), postgresql_where=sa.text("repeat_of_id IS NOT NULL")),
        # lines closed after an instant, by outlet: what was still overdue at a period's end (the
        # indicator's rows), without reading every line ever closed
        sa.Index("ix_line_closed_outlet", "closed_at", "outlet_id"),
        # 自查不实: the lines an inspection found where a self-inspection had passed, by issue time
        sa.Index("ix_line_self_check", "self_check_visit_id", "issued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="rectification_notice.id", index=True)
    #: Empty for a line raised from a complaint (its notice has no visit either).
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    outlet_id: int = Field(foreign_key="outlet.id")
    item_code: str = Field(max_length=32)
    checklist_kind: str = Field(max_length=16)
    problem: str = Field(max_length=2500)
    requirement: str = Field(max_length=1000)
    severity: str = Field(max_length=16, index=True)
    red_line: bool = False
    #: The staff member the finding names (from the answer, or the complaint).
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)
    #: The last day to rectify, in the outlet's calendar; ``deadline_at`` is the UTC instant that
    #: day ends (local midnight after it). Overdue is derived from it, never stored.
    deadline_date: dt.date
    deadline_at: dt.datetime = Field(sa_type=UTCDateTime)
    responsible_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    status: LineStatus = Field(default=LineStatus.issued, sa_type=sa.String(16))
    issued_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    #: 屡查屡犯: the earlier line of the same item at the same outlet (same checklist) that failed
    #: within ``REPEAT_WINDOW_DAYS`` before this one; set at issue, when the severity rose a step.
    repeat_of_id: int | None = Field(default=None, foreign_key="rectification_line.id")
    #: The outlet's local day of that earlier failure (the earlier visit's day), as printed.
    repeat_since: dt.date | None = None
    #: How many extensions (延期) were approved for this line; the deadline above is the approved one.
    extensions: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: 自查不实: the outlet's own self-inspection that passed this item at most
    #: ``SELF_CHECK_WINDOW_DAYS`` before the inspection that found it failed; set at issue.
    self_check_visit_id: int | None = Field(default=None, foreign_key="visit.id")
    #: That self-inspection's local day at the outlet, as shown and printed.
    self_check_day: dt.date | None = None
    row_version: int = Field(default=1, sa_column=_LINE_ROW_VERSION)

    __mapper_args__ = {"version_id_col": _LINE_ROW_VERSION}


class RectificationEvent(SQLModel, table=True):
    """The history of a line: who did what, when, with which text, deadline and photos."""

    __tablename__ = "rectification_event"
    #: the deadline changes (few), by time: a bulletin reads back the deadlines lines had at its end
    __table_args__ = (sa.Index("ix_event_deadline_changes", "at", "line_id",
                               sqlite_where=sa.text("deadline_before IS NOT NULL"),
                               postgresql_where=sa.text("deadline_before IS NOT NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="rectification_line.id", index=True)
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    action: str = Field(max_length=24)
    status_after: str = Field(max_length=16)
    text: str = Field(default="", max_length=2000)
    deadline_before: dt.date | None = None
    deadline_after: dt.date | None = None
    on_site: bool = False


class LineStats(SQLModel, table=True):
    """Running totals of rectification lines per county, issue month, checklist kind and severity.

    Kept up to date by the services at every transition, so the managers' board reads a few
    thousand rows instead of aggregating a million lines on every view. Open and overdue counts
    are not kept here: they depend on the clock and come from the (few) open lines themselves.
    ``inspect-app stats rebuild`` recomputes the table from the lines.
    """

    __tablename__ = "line_stats"

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    month: dt.date = Field(primary_key=True)  # first day of the month the line was issued (outlet's zone)
    checklist_kind: str = Field(max_length=16, primary_key=True)
    severity: str = Field(max_length=16, primary_key=True)
    issued: int = 0
    acknowledged: int = 0
    answered: int = 0
    closed: int = 0
    withdrawn: int = 0
    #: Approved extensions (延期) of the lines issued that month.
    extended: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    close_seconds: float = 0.0


class _MonthCounts(SQLModel):
    """The line counts of a unit and issue month (``LineStatsMonth``, ``LineStatsBelow``)."""

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    month: dt.date = Field(primary_key=True)
    issued: int = 0
    acknowledged: int = 0
    answered: int = 0
    closed: int = 0
    withdrawn: int = 0
    extended: int = 0
    close_seconds: float = 0.0


class LineStatsMonth(_MonthCounts, table=True):
    """``LineStats`` summed over checklist kinds and severities: per county and issue month. The
    board without a kind or severity filter reads these (2,800 counties × 24 months on a national
    network, where ``line_stats`` holds a million rows); kept by the same upserts."""

    __tablename__ = "line_stats_month"
    __table_args__ = (sa.Index("ix_line_stats_month_month", "month", "unit_id"),)


class LineStatsBelow(_MonthCounts, table=True):
    """``LineStatsMonth`` summed over the units below each unit (its own outlets' rows are not in
    it), per month: a board of a large scope sums its children from these (the nation's 31
    provinces × 24 months) where summing 70,000 county rows up to them took a fifth of the page.
    Kept by the same upserts, for every unit above the outlet's."""

    __tablename__ = "line_stats_below"


class LineOverdue(SQLModel, table=True):
    """Late lines (open, past their deadline) per county, issue month, checklist kind and severity,
    as the worker counted them at ``KeptFigures['line_overdue']``.

    A board whose scope is too large to count its late lines live (the nation: half a million
    late lines at 10 million) reads these few thousand rows instead; small scopes always count
    live. Rebuilt whole by ``stats.keep_overdue`` at every sweep (``SWEEP_MINUTES``), or by the
    first page that finds it stale when no worker runs.
    """

    __tablename__ = "line_overdue"

    unit_id: int = Field(primary_key=True)
    month: dt.date = Field(primary_key=True)  # first day of the month the line was issued (outlet's zone)
    checklist_kind: str = Field(max_length=16, primary_key=True)
    severity: str = Field(max_length=16, primary_key=True)
    overdue: int = 0
    oldest_deadline_at: dt.datetime = Field(sa_type=UTCDateTime)


class LineOverdueBelow(SQLModel, table=True):
    """``LineOverdue`` summed over kinds and severities and over the units below each unit (its own
    outlets' rows are not in it), per month: counted with it at every sweep."""

    __tablename__ = "line_overdue_below"

    unit_id: int = Field(primary_key=True)
    month: dt.date = Field(primary_key=True)
    overdue: int = 0
    oldest_deadline_at: dt.datetime = Field(sa_type=UTCDateTime)


class KeptFigures(SQLModel, table=True):
    """When a kept table (``line_overdue``) was last counted."""

    __tablename__ = "kept_figures"

    name: str = Field(max_length=32, primary_key=True)
    computed_at: dt.datetime = Field(sa_type=UTCDateTime)


class ExtensionStatus(StrEnum):
    open = "open"          # asked, waiting for the inspection side
    approved = "approved"  # the line's deadline moved to ``approved_deadline``
    refused = "refused"


EXTENSION_STATUS_LABELS = {
    "open": _l("Waiting for a decision"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
}


class ExtensionRequest(SQLModel, table=True):
    """延期申请: the outlet asks for a later deadline on one line, before the deadline, with a reason;
    the inspection side approves with a date or refuses with a reason. One open request per line."""

    __tablename__ = "extension_request"
    __table_args__ = (
        # at most one open request per line, whatever two devices send at once
        sa.Index("uq_extension_open_line", "line_id", unique=True,
                 sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_extension_decided", "status", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="rectification_line.id", index=True)
    requested_by_id: int = Field(foreign_key="user_account.id")
    requested_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    #: The line's deadline when asked, and the day asked for (outlet's calendar).
    deadline_before: dt.date
    requested_deadline: dt.date
    reason: str = Field(max_length=2000)
    #: An optional photo backing the reason (a supplier's delivery note, the broken part on order).
    photo_id: int | None = Field(default=None, foreign_key="photo.id")
    status: ExtensionStatus = Field(default=ExtensionStatus.open, sa_type=sa.String(16))
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_deadline: dt.date | None = None
    decision_reason: str = Field(default="", max_length=2000)
