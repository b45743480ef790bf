from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_user_unread", "user_id", "read_at"),
        # One reminder or escalation per line, level and person, however many processes sweep.
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notification_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    kind: str = Field(max_length=32)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    link: str = Field(default="", max_length=200)
    dedupe_key: str | None = Field(default=None, max_length=80)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
