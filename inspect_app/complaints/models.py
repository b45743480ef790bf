from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class ComplaintStatus(StrEnum):
    registered = "registered"    # written down, nobody has taken it yet
    handling = "handling"        # 首问负责人 owns it: contact, investigation
    closed = "closed"            # concluded (结案), waiting for the callback
    called_back = "called_back"  # the customer was called back and did not object: finished


COMPLAINT_STATUS_LABELS = {
    "registered": _l("Registered"),
    "handling": _l("Being handled"),
    "closed": _l("Concluded, callback due"),
    "called_back": _l("Finished (called back)"),
}

OPEN_COMPLAINT = (ComplaintStatus.registered, ComplaintStatus.handling)
#: Concluded and not reopened: what accountability and rectification may follow.
CONCLUDED = (ComplaintStatus.closed, ComplaintStatus.called_back)

VERDICT_LABELS = {
    "substantiated": _l("Substantiated"),
    "partly": _l("Partly substantiated"),
    "unfounded": _l("Unfounded"),
}
#: Verdicts that find the outlet at fault: they take a grade and may raise lines and accountability.
AT_FAULT = ("substantiated", "partly")

SATISFACTION_LABELS = {
    "satisfied": _l("Satisfied"),
    "basic": _l("Basically satisfied"),
    "unsatisfied": _l("Not satisfied"),
}

EVENT_LABELS = {
    "registered": _l("registered"),
    "taken": _l("taken (first contact owner)"),
    "contacted": _l("customer contacted"),
    "note": _l("investigation note"),
    "handed_on": _l("handed on"),
    "concluded": _l("concluded"),
    "lines_raised": _l("rectification raised"),
    "called_back": _l("called back"),
    "reopened": _l("reopened after callback"),
}


_COMPLAINT_ROW_VERSION = sa.Column("row_version", sa.Integer, nullable=False, default=1)


class Complaint(SQLModel, table=True):
    """One complaint. The customer's name and phone are read only by complaint handlers."""

    __tablename__ = "complaint"
    __table_args__ = (
        # by time, with what the hotspots count by beside it on PostgreSQL (read from the index
        # alone: the nation's two months, 15,000 complaints, 11 → 3 ms)
        sa.Index("ix_complaint_received_at", "received_at",
                 postgresql_include=["outlet_id", "category", "staff_id", "verdict"]),
        sa.Index("ix_complaint_outlet_received", "outlet_id", "received_at"),
        sa.Index("ix_complaint_status_due", "status", "resolve_due_at"),
        # the open ones of a scope's outlets (the board's and home's open and overdue counts): a
        # province's 1,264 outlets probed here, not through each outlet's every complaint
        # (the predicate as ORs: PostgreSQL writes an IN back differently from how it reads it, and the
        # national load, which drops and makes indexes again from their definitions, must end equal)
        sa.Index("ix_complaint_open_outlet", "outlet_id",
                 sqlite_where=sa.text("status = 'registered' OR status = 'handling'"),
                 postgresql_where=sa.text("status = 'registered' OR status = 'handling'")),
        # each outlet's substantiated ones by time (零投诉 streaks: the nation's outlets' last ones,
        # read from the index alone)
        sa.Index("ix_complaint_at_fault_outlet", "outlet_id", "received_at",
                 sqlite_where=sa.text("verdict = 'substantiated' OR verdict = 'partly'"),
                 postgresql_where=sa.text("verdict = 'substantiated' OR verdict = 'partly'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(default="", max_length=32, index=True)
    source: str = Field(max_length=16)
    received_at: dt.datetime = Field(sa_type=UTCDateTime)
    outlet_id: int = Field(foreign_key="outlet.id")
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)
    category: str = Field(max_length=32, index=True)
    #: The customer's account of what happened (no contact details belong here).
    account: str = Field(max_length=2000)
    #: Restricted: complaint handlers only. Never in exports or papers for anyone else.
    customer_name: str = Field(default="", max_length=64)
    customer_phone: str = Field(default="", max_length=32)
    #: A waybill or business reference the customer gave (not personal).
    reference: str = Field(default="", max_length=64)
    status: ComplaintStatus = Field(default=ComplaintStatus.registered, sa_type=sa.String(16))
    #: 首问负责人: whoever took it first; ``owner_id`` is who holds it now (after hand-ons).
    first_owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    owner_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    handed_on: int = 0
    #: Deadlines by source, counted in the outlet's zone; overdue is derived, never stored.
    contact_due_at: dt.datetime = Field(sa_type=UTCDateTime)
    resolve_due_at: dt.datetime = Field(sa_type=UTCDateTime)
    contacted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When the sweep reminded the owner of the first contact, and escalated a missed one (each once).
    contact_reminded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    contact_escalated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    verdict: str | None = Field(default=None, max_length=16)
    grade: int | None = None
    conclusion: str = Field(default="", max_length=2000)
    concluded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    concluded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    reopened: int = 0
    notice_id: int | None = Field(default=None, foreign_key="rectification_notice.id")
    registered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    row_version: int = Field(default=1, sa_column=_COMPLAINT_ROW_VERSION)

    __mapper_args__ = {"version_id_col": _COMPLAINT_ROW_VERSION}


class ComplaintStatsMonth(SQLModel, table=True):
    """Complaints counted per unit, category and month where the network is (``clock.default_zone``):
    received, at fault and appeals in the month they were received; concluded and resolved at first
    contact in the month they were concluded. A unit's rows count its whole subtree (a complaint
    counts for its outlet's county and every unit above it), so the board reads its children's few
    rows for whole months instead of grouping tens of thousands of complaints by their outlets'
    units in every request. Kept in the transaction that changes a complaint (``complaints.stats``);
    ``inspect-app stats rebuild`` counts them again from the complaints (after a bulk load, an
    outlet or unit moved, or ``DEFAULT_TIMEZONE`` changed)."""

    __tablename__ = "complaint_stats_month"
    __table_args__ = (sa.Index("ix_complaint_stats_month_month", "month", "unit_id"),)

    unit_id: int = Field(primary_key=True)
    month: dt.date = Field(primary_key=True)
    category: str = Field(max_length=32, primary_key=True)
    received: int = 0
    at_fault: int = 0
    appeals: int = 0
    concluded: int = 0
    first_contact: int = 0


class ComplaintLastFault(SQLModel, table=True):
    """Each outlet's newest complaint at fault (``AT_FAULT``), by when it was received: the 零投诉
    streak counts from it. Kept with every change of a complaint (``complaints.stats``); an outlet
    without one has no row. The nation's streak list grouped 190,000 complaints by outlet in every
    request."""

    __tablename__ = "complaint_last_fault"
    #: the newest first (the hotspots' recent outlets at fault)
    __table_args__ = (sa.Index("ix_complaint_last_fault_last", "last_at", "outlet_id"),)

    outlet_id: int = Field(primary_key=True)
    last_at: dt.datetime = Field(sa_type=UTCDateTime)


class ComplaintLastFaultUnit(SQLModel, table=True):
    """The newest complaint at fault anywhere under a unit (its county and every unit above it):
    the hotspots' and the board's unit streaks read their units' rows, where the nation's page
    walked the received index once per province (50 ms)."""

    __tablename__ = "complaint_last_fault_unit"

    unit_id: int = Field(primary_key=True)
    last_at: dt.datetime = Field(sa_type=UTCDateTime)


class ComplaintEvent(SQLModel, table=True):
    """The complaint's history: who did what, when, with which words."""

    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    action: str = Field(max_length=24)
    status_after: str = Field(max_length=16)
    text: str = Field(default="", max_length=2000)
    to_user_id: int | None = Field(default=None, foreign_key="user_account.id")


class AccountabilityStatus(StrEnum):
    proposed = "proposed"          # opened, waiting for a manager's decision
    decided = "decided"            # grade and amount decided, waiting for the chief
    acknowledged = "acknowledged"  # the chief has taken note: final
    appealed = "appealed"          # the chief appealed (once)
    revoked = "revoked"            # the decision fell (on appeal, or not decided at all)


ACCOUNTABILITY_STATUS_LABELS = {
    "proposed": _l("Proposed"),
    "decided": _l("Decided, to acknowledge"),
    "acknowledged": _l("Acknowledged by the outlet"),
    "appealed": _l("Appealed"),
    "revoked": _l("Revoked"),
}

#: The history of a record, read from its audit events.
ACCOUNTABILITY_ACTION_LABELS = {
    "accountability.opened": _l("opened"),
    "accountability.decided": _l("decided"),
    "accountability.dropped": _l("dropped"),
    "accountability.acknowledged": _l("acknowledged by the outlet"),
    "accountability.appealed": _l("appealed"),
    "accountability.appeal_uphold": _l("appeal refused: decision upheld"),
    "accountability.appeal_revise": _l("appeal: grade revised"),
    "accountability.appeal_revoke": _l("appeal accepted: revoked"),
}


class Accountability(SQLModel, table=True):
    """问责: a substantiated complaint or a red-line finding held against a named staff member."""

    __tablename__ = "accountability"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="rectification_line.id", index=True)
    reason: str = Field(max_length=2000)
    grade: int | None = None
    amount: int | None = None  # yuan, from the configured table
    status: AccountabilityStatus = Field(default=AccountabilityStatus.proposed, sa_type=sa.String(16))
    opened_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    opened_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    appeal_reason: str = Field(default="", max_length=2000)
    appealed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    appeal_decision: str = Field(default="", max_length=2000)


class Commendation(SQLModel, table=True):
    """服务之星 and other praise for a staff member, by month."""

    __tablename__ = "commendation"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    title: str = Field(default="服务之星", max_length=32)
    month: dt.date
    reason: str = Field(default="", max_length=500)
    by_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


TIER_LABELS = {
    "weekly": _l("Weekly"),
    "fortnightly": _l("Every two weeks"),
    "monthly": _l("Monthly"),
}
TIER_DAYS = {"weekly": 7, "fortnightly": 14, "monthly": 30}


class KeyCustomer(SQLModel, table=True):
    """大客户 of an outlet, called back on a cadence by tier. Contact details are restricted."""

    __tablename__ = "key_customer"

    id: int | None = Field(default=None, primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    name: str = Field(max_length=100)  # the company or customer as the outlet knows it
    contact_name: str = Field(default="", max_length=64)
    contact_phone: str = Field(default="", max_length=32)
    tier: str = Field(default="monthly", max_length=16)
    #: What the handlers keep in mind when calling (business, preferences); restricted like the contact.
    note: str = Field(default="", max_length=500)
    #: Off the plan (停止回访): kept with its callbacks, no longer due.
    active: bool = True
    #: The local day the first callback is due; later ones follow the last callback by tier.
    start_date: dt.date
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Callback(SQLModel, table=True):
    """回访: a call to a complainant after closure, or to a key customer on the plan."""

    __tablename__ = "callback"
    __table_args__ = (sa.Index("ix_callback_customer_at", "key_customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    key_customer_id: int | None = Field(default=None, foreign_key="key_customer.id")
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    by_id: int | None = Field(default=None, foreign_key="user_account.id")
    satisfaction: str = Field(max_length=16)
    note: str = Field(default="", max_length=1000)
