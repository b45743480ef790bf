from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class OperatingValue(SQLModel, table=True):
    """One imported figure: a unit's value of a metric (投递及时率 …) for a month. A re-import of the
    same unit, month and metric replaces it (the audit log keeps the value before)."""

    __tablename__ = "operating_value"
    __table_args__ = (sa.UniqueConstraint("unit_id", "month", "metric", name="uq_operating_value"),
                      sa.Index("ix_operating_value_metric_month", "metric", "month"))

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    month: dt.date  # the first day of the month
    metric: str = Field(max_length=48)
    value: Decimal = Field(sa_type=sa.Numeric(14, 4))
    imported_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    imported_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class IndicatorTreeVersion(SQLModel, table=True):
    """One published version of the indicator tree (指标体系), like a checklist version: rows never
    change, the newest is current, and a finished period is scored with the version that was
    current at its end (a frozen one with the version it was frozen with)."""

    __tablename__ = "indicator_tree_version"
    __table_args__ = (sa.UniqueConstraint("code", "version", name="uq_indicator_tree_code_version"),
                      sa.Index("ix_indicator_tree_code_sha", "code", "sha256"))

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    version: int
    sha256: str = Field(max_length=64)
    #: The tree as its file says (TOML as a table), validated when it was published.
    definition: dict = Field(sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    source: str = Field(default="file", max_length=16)
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=500)


class IndicatorSnapshot(SQLModel, table=True):
    """The raw values of a unit's children for a period, kept by the worker (``services.refresh``):
    pages read this instead of the visits, lines and complaints, whatever its age. A running
    period's (someone opened it) are as of ``computed_at`` and computed again after it ends.
    Frozen (发布) it never changes, like a published bulletin."""

    __tablename__ = "indicator_snapshot"
    __table_args__ = (sa.UniqueConstraint("tree_sha", "node_id", "period", name="uq_indicator_snapshot"),)

    id: int | None = Field(default=None, primary_key=True)
    tree_sha: str = Field(max_length=64)
    #: The tree version the raw values were computed for (its points are scored with it).
    tree_version_id: int | None = Field(default=None, foreign_key="indicator_tree_version.id")
    #: 0 for the top level (the whole network).
    node_id: int = 0
    period: str = Field(max_length=8)
    raws: dict = Field(sa_type=sa.JSON)
    computed_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    frozen_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    frozen_by_id: int | None = Field(default=None, foreign_key="user_account.id")
