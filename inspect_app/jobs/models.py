"""A job of the background queue, as the app sees it: its key, its attempts, its last error.

Huey (the broker: SQLite under instance/ or Redis) only carries "run job N now or at T"; what a
job is, whether it already ran, how often it failed and whether it is dead lives here, in the
app's own database, so the admin page reads the same thing whichever broker runs.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class JobStatus(StrEnum):
    queued = "queued"      # waiting for its (next) run at ``run_at``
    running = "running"    # claimed by a worker
    done = "done"
    dead = "dead"          # out of attempts (or refused for good): the dead-letter list


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (sa.Index("ix_job_status_run_at", "status", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    #: Idempotency: a second enqueue with the same key returns the first job and does nothing.
    key: str | None = Field(default=None, max_length=160, unique=True)
    name: str = Field(max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default=JobStatus.queued, max_length=16)
    attempts: int = 0
    max_attempts: int = 5
    run_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=1000)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
