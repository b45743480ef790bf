from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class Photo(SQLModel, table=True):
    """One photo: the original kept privately, display and thumbnail copies without EXIF."""

    __tablename__ = "photo"
    __table_args__ = (
        sa.Index("ix_photo_visit_item", "visit_id", "item_code"),
        sa.UniqueConstraint("uploaded_by_id", "client_id", name="uq_photo_client"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: Attached to a visit answer (visit_id + item_code), a visit as a whole (item_code None:
    #: storefront, receipt...), or a rectification response.
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    item_code: str | None = Field(default=None, max_length=32)
    purpose: str = Field(default="item", max_length=16)  # item | receipt | general | rectification | complaint
    #: Rectification evidence: uploaded against a line (``line_id``), then bound to the answer
    #: event that submitted it (``response_id``).
    line_id: int | None = Field(default=None, index=True)
    response_id: int | None = Field(default=None, index=True)
    #: Investigation evidence of a complaint (``purpose`` "complaint").
    complaint_id: int | None = Field(default=None, index=True)
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=200)
    content_type: str = Field(max_length=32)
    width: int
    height: int
    size_bytes: int
    taken_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    gps_lat: float | None = None
    gps_lon: float | None = None
    device: str = Field(default="", max_length=120)
    uploaded_by_id: int = Field(foreign_key="user_account.id")
    received_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    client_id: str | None = Field(default=None, max_length=64)
    deleted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
