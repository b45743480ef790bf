from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.checklists.definition import SELF_KIND  # noqa: F401  (what permissions.py reads)
from inspect_app.db import UTCDateTime


class VisitStatus(StrEnum):
    scheduled = "scheduled"      # planned, not started
    in_progress = "in_progress"  # draft, saved continuously
    in_review = "in_review"      # secret visit submitted, waiting for a reviewer
    returned = "returned"        # secret visit sent back to the shopper
    released = "released"        # findings visible to the outlet side
    cancelled = "cancelled"


VISIT_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "in_progress": _l("In progress"),
    "in_review": _l("In review"),
    "returned": _l("Returned"),
    "released": _l("Released"),
    "cancelled": _l("Cancelled"),
}

EDITABLE = {VisitStatus.in_progress, VisitStatus.returned}


_VISIT_ROW_VERSION = sa.Column("row_version", sa.Integer, nullable=False, default=1)


#: The visit list's order key as its indexes spell it (``queries.list_key`` is the same in SQL)
LIST_KEY = "coalesce(submitted_at, started_at, created_at)"
#: A flagged check-in (far from the outlet, or without a location): ``ix_visit_flagged_checkin``'s rows
FLAGGED = "checkin_flag <> ''"


class Visit(SQLModel, table=True):
    """One inspection of one outlet (or one of its windows) with one checklist version."""

    __tablename__ = "visit"
    __table_args__ = (
        sa.Index("ix_visit_outlet_status", "outlet_id", "status"),
        sa.Index("ix_visit_assignee_status", "assignee_id", "status"),
        # covers the results by period (bulletins, rankings, the manager's home) without the table
        # (kind last: inspection figures leave the outlets' self-inspections out, read from it too)
        sa.Index("ix_visit_released", "status", "released_at", "outlet_id", "score", "red_line", "kind"),
        # a small scope's released visits of a period through its own outlets (home: a province's
        # 1,300 outlets probed, not the country's 158,000 visits of the month scanned)
        sa.Index("ix_visit_outlet_released", "outlet_id", "status", "released_at", "score", "kind"),
        # a plan's visit has one place in it (outlet, period, n-th of the period): made once
        sa.UniqueConstraint("plan_id", "outlet_id", "plan_period", "plan_seq", name="uq_visit_plan_slot"),
        # coverage reads planned visits by the day their window ends
        sa.Index("ix_visit_due_until", "due_until"),
        sa.Index("ix_visit_outlet_due", "outlet_id", "due_until", "status"),
        # managers' list of flagged check-ins per inspector
        sa.Index("ix_visit_checkin_flag", "checkin_flag", "assignee_id", "checkin_at"),
        # the flagged check-ins of a period, whoever made them (few, where most check in at the
        # outlet), newest first; counted per person and scope from the index alone
        sa.Index("ix_visit_flagged_checkin", "checkin_at", "id", "assignee_id", "checkin_flag", "outlet_id",
                 "status", sqlite_where=sa.text(FLAGGED),
                 postgresql_where=sa.text(FLAGGED)),
        # the managing side's visit list in its order (``queries.list_key``): the country's walked
        # newest first (a large scope), or each outlet's newest (a small one)
        sa.Index("ix_visit_list_order", sa.text(LIST_KEY), "id"),
        sa.Index("ix_visit_outlet_list_order", "outlet_id", sa.text(LIST_KEY), "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    checklist_version_id: int = Field(foreign_key="checklist_version.id", index=True)
    checklist_code: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # checklist kind: open, secret, star, etiquette, fives
    outlet_id: int = Field(foreign_key="outlet.id")
    window_id: int | None = Field(default=None, foreign_key="window.id", index=True)
    assignee_id: int = Field(foreign_key="user_account.id")
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    status: VisitStatus = Field(default=VisitStatus.scheduled, sa_type=sa.String(16), index=True)
    #: Scheduling window, in the outlet's local dates (ad hoc visits have none).
    due_from: dt.date | None = None
    due_until: dt.date | None = None
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_lat: float | None = None
    checkin_lon: float | None = None
    checkin_accuracy: float | None = None
    #: Why there is no location (the phone refused it): kept and shown.
    checkin_no_location_reason: str = Field(default="", max_length=300)
    #: The phone's id for the check-in it sent: the same one again is a retry, any other a second
    #: check-in, refused.
    checkin_client_id: str | None = Field(default=None, max_length=64)
    #: Metres between the check-in position and the outlet, at check-in (empty without either).
    checkin_distance_m: float | None = None
    #: The check-in is out of the ordinary (``visits.checkin_flag``): "far" from the outlet beyond
    #: the allowed distance, or "no_location"; empty when it is not. Shown to managers.
    checkin_flag: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    #: Why the inspector checked in that far from the outlet (asked when it is).
    checkin_far_reason: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    released_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    released_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    summary: str = Field(default="", max_length=4000)
    #: Secret visits: one-tap timer marks, {"entry": iso, "queue_start": iso, ...}.
    timers: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    counter_number: str = Field(default="", max_length=16)
    #: The reviewer's comments when returning a secret visit to the shopper.
    review_comment: str = Field(default="", max_length=2000)
    score: float | None = None
    earned: float | None = None
    applicable: float | None = None
    passed: bool | None = None
    stars: int | None = None
    red_line: bool = False
    #: Each section's score (%) as scored with the visit's version, {"ETQ": 92.5, ...}: what the
    #: indicator system averages when it scores one section of a checklist.
    section_scores: dict[str, float] | None = Field(default=None, sa_type=sa.JSON)
    #: Idempotency key of the submit that locked this visit (a repeat does nothing twice).
    submit_token: str | None = Field(default=None, max_length=64)
    #: The inspection plan that made this visit (``plans``), the first day of its period there and
    #: which of the period's visits to the outlet it is (0, 1, …).
    plan_id: int | None = Field(default=None, foreign_key="inspection_plan.id")
    plan_period: dt.date | None = None
    plan_seq: int | None = None
    #: Optimistic lock: two people changing one visit at once — one wins, the other gets a conflict.
    row_version: int = Field(default=1, sa_column=_VISIT_ROW_VERSION)

    __mapper_args__ = {"version_id_col": _VISIT_ROW_VERSION}


class Answer(SQLModel, table=True):
    """The inspector's answer to one item; ``version`` refuses a stale write from another device."""

    __tablename__ = "answer"
    __table_args__ = (sa.UniqueConstraint("visit_id", "item_code", name="uq_answer_visit_item"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    item_code: str = Field(max_length=32)
    result: str | None = Field(default=None, max_length=8)  # pass | fail | na
    occurrences: int | None = None
    scale_value: int | None = None
    seconds: float | None = None
    note: str = Field(default="", max_length=2000)
    #: The staff member a failure names (营业员 at the window), from the outlet's register.
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    version: int = 1
    client_id: str | None = Field(default=None, max_length=64)
    updated_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class StarRating(SQLModel, table=True):
    """A star level awarded to an outlet or one of its windows by a released star-rating visit.

    Holds for 12 months unless a later rating replaces it or a red-line failure removes it.
    """

    __tablename__ = "star_rating"
    __table_args__ = (sa.Index("ix_star_outlet_window", "outlet_id", "window_id"),
                      sa.Index("ix_star_current", "ended_at", "valid_until"),
                      # the current ratings by outlet and level: the star board's counts from the
                      # index alone, a level's page walked outlet by outlet in code order
                      sa.Index("ix_star_current_outlet", "outlet_id", "stars", "valid_until",
                               sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
                      sa.Index("ix_star_awarded", "awarded_at"))

    id: int | None = Field(default=None, primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id")
    window_id: int | None = Field(default=None, foreign_key="window.id")
    visit_id: int = Field(foreign_key="visit.id", index=True)
    stars: int
    score: float
    awarded_at: dt.datetime = Field(sa_type=UTCDateTime)
    valid_until: dt.datetime = Field(sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=16)  # replaced | red_line
    ended_by_visit_id: int | None = Field(default=None, foreign_key="visit.id")
