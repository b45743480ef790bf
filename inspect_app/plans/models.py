"""Inspection plans (检查计划): which checklist, which outlets, how often, by whom, from when to when.

A plan makes its visits ahead of time (``plans.services.generate``); each visit it made carries
``visit.plan_id`` and its place in the plan (``plan_period``, ``plan_seq``), so making them again
finds them and makes nothing twice.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class PlanStatus(StrEnum):
    active = "active"
    ended = "ended"  # ended early by a manager: its future visits were cancelled


class OutletRule(StrEnum):
    """Which outlets of the plan's unit the plan visits."""

    subtree = "subtree"    # every active outlet of the unit and the units below it
    listed = "listed"      # an explicit list (``PlanOutlet``)
    stars = "stars"        # outlets with a current star rating (星级网点)
    red_line = "red_line"  # outlets with a red-line finding in the last N days


class AssignMode(StrEnum):
    """By whom."""

    pool = "pool"        # a pool of inspectors, or of mystery shoppers for secret visits
    pairing = "pairing"  # cross-inspection (区域巡查互查): each target unit by the inspectors of its paired unit
    #: self-inspection (自查): each outlet's visits go to its own branch chief (an account with the
    #: branch-chief role linked to that outlet; with several, the least loaded), with a checklist of
    #: kind ``self`` and no other
    self = "self"


class PeriodKind(StrEnum):
    day = "day"    # a daily self-inspection (每日开门检查)
    week = "week"  # Monday to Sunday (每周6S自查)
    month = "month"
    quarter = "quarter"
    year = "year"


OUTLET_RULE_LABELS = {
    "subtree": _l("Every outlet of the unit"),
    "listed": _l("Chosen outlets"),
    "stars": _l("Star outlets (a current star rating)"),
    "red_line": _l("Outlets with a red line in the last days"),
}
ASSIGN_MODE_LABELS = {
    "pool": _l("A pool of people"),
    "pairing": _l("Cross-inspection between units"),
    "self": _l("Each outlet's own branch chief (self-inspection)"),
}
PERIOD_LABELS = {"day": _l("per day"), "week": _l("per week"), "month": _l("per month"), "quarter": _l("per quarter"), "year": _l("per year")}
PLAN_STATUS_LABELS = {"active": _l("Active"), "ended": _l("Ended")}
#: A planned visit as coverage counts it (``plans.coverage``).
COVERAGE_STATE_LABELS = {"done": _l("Done"), "missed": _l("Missed"), "open": _l("To do"), "cancelled": _l("Cancelled")}


class InspectionPlan(SQLModel, table=True):
    __tablename__ = "inspection_plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    #: The plan's area: its outlets come from this unit's subtree, and the managers over it manage the plan.
    unit_id: int = Field(foreign_key="unit.id", index=True)
    checklist_code: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # the checklist's kind when the plan was made
    outlet_rule: str = Field(default=OutletRule.subtree, max_length=16)
    #: ``red_line``: outlets with a red-line finding released in the last N days.
    red_line_days: int | None = None
    period_kind: str = Field(default=PeriodKind.month, max_length=16)
    #: Visits per outlet and period.
    per_period: int = 1
    assign_mode: str = Field(default=AssignMode.pool, max_length=16)
    #: At most this many of the plan's visits per person and period (None: no cap).
    max_per_person: int | None = None
    #: The plan's first and last day (local dates of the plan's unit).
    starts_on: dt.date
    ends_on: dt.date
    status: str = Field(default=PlanStatus.active, max_length=16, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    end_reason: str = Field(default="", max_length=300)


class PlanOutlet(SQLModel, table=True):
    """An outlet of a plan that lists its outlets (``OutletRule.listed``)."""

    __tablename__ = "plan_outlet"
    __table_args__ = (sa.UniqueConstraint("plan_id", "outlet_id", name="uq_plan_outlet"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="inspection_plan.id", index=True)
    outlet_id: int = Field(foreign_key="outlet.id")


class PlanMember(SQLModel, table=True):
    """A person of the plan's pool (``AssignMode.pool``)."""

    __tablename__ = "plan_member"
    __table_args__ = (sa.UniqueConstraint("plan_id", "user_id", name="uq_plan_member"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="inspection_plan.id", index=True)
    user_id: int = Field(foreign_key="user_account.id")


class PlanPairing(SQLModel, table=True):
    """Cross-inspection: the inspectors of ``source_unit`` visit the outlets of ``target_unit``."""

    __tablename__ = "plan_pairing"
    __table_args__ = (sa.UniqueConstraint("plan_id", "target_unit_id", name="uq_plan_pairing_target"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="inspection_plan.id", index=True)
    source_unit_id: int = Field(foreign_key="unit.id")
    target_unit_id: int = Field(foreign_key="unit.id")


class PlanBlackout(SQLModel, table=True):
    """Days on which the plan places no visit (holidays, a network-wide event)."""

    __tablename__ = "plan_blackout"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="inspection_plan.id", index=True)
    date_from: dt.date
    date_until: dt.date
    reason: str = Field(default="", max_length=200)
