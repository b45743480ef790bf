from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class TourSeen(SQLModel, table=True):
    """A person has seen (or skipped) the first-login tour (新手导览) of a role: it is not shown
    again by itself; the menu reopens it. Kept per role, so a new role brings its own tour."""

    __tablename__ = "tour_seen"

    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("user_account.id"), primary_key=True))
    role: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    skipped: bool = False
    seen_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
