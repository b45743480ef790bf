from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class FileStatus(StrEnum):
    pending = "pending"  # 正在生成
    ready = "ready"
    failed = "failed"


class GeneratedFile(SQLModel, table=True):
    """A file one person asked for: the page it replays (path and query string), and once made, the
    stored file, offered to that person only until ``expires_at``."""

    __tablename__ = "generated_file"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    title: str = Field(max_length=200)
    #: The route that makes it, replayed by the worker as the same person with the same checks.
    path: str = Field(max_length=1000)
    status: str = Field(default=FileStatus.pending, max_length=16)
    filename: str = Field(default="", max_length=255)
    mimetype: str = Field(default="", max_length=100)
    storage_key: str = Field(default="", max_length=120)
    size: int = 0
    error: str = Field(default="", max_length=300)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    ready_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
