from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class ChecklistVersion(SQLModel, table=True):
    """One version of one checklist file. A changed file becomes a new row; rows never change."""

    __tablename__ = "checklist_version"
    __table_args__ = (
        sa.UniqueConstraint("code", "version", name="uq_checklist_code_version"),
        sa.UniqueConstraint("code", "sha256", name="uq_checklist_code_sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int
    kind: str = Field(max_length=16)
    sha256: str = Field(max_length=64)
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
