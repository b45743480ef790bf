from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    #: The actor's username when it happened: the log stays readable as written, whatever later
    #: happens to the account.
    actor_name: str = Field(default="", max_length=64)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    note: str = Field(default="", max_length=500)
