from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class ChecklistVersion(SQLModel, table=True):
    """One published version of one checklist. Rows never change; the current version of a
    checklist is its highest number. A version comes from the file in ``forms/`` (a changed file
    is recorded as a new version) or from an upload an administrator compared and published."""

    __tablename__ = "checklist_version"
    __table_args__ = (
        sa.UniqueConstraint("code", "version", name="uq_checklist_code_version"),
        sa.Index("ix_checklist_code_sha", "code", "sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int
    kind: str = Field(max_length=16)
    sha256: str = Field(max_length=64)
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    #: "file" (forms/ on disk) or "upload" (published from the configuration page).
    source: str = Field(default="file", max_length=16)
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=500)


class ConfigDraft(SQLModel, table=True):
    """An uploaded new version of a checklist or of the indicator tree: validated, waiting for an
    administrator to compare it with the current version and publish it (or discard it). A
    published draft points at the version it became."""

    __tablename__ = "config_draft"

    id: int | None = Field(default=None, primary_key=True)
    #: "checklist" or "indicator_tree"
    kind: str = Field(max_length=16)
    code: str = Field(max_length=64)
    filename: str = Field(default="", max_length=200)
    sha256: str = Field(max_length=64)
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    uploaded_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    uploaded_by_id: int = Field(foreign_key="user_account.id")
    #: pending → published | discarded
    state: str = Field(default="pending", max_length=16)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    version_id: int | None = None
