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
