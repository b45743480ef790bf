from __future__ import annotations

import datetime as dt
from typing import Any

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
    #: The markup shown in this photo's place (``PhotoMarkup``), if an inspector marked it up. No
    #: foreign key: the two tables point at each other, and the markup row is written first.
    markup_id: int | None = None


class PhotoMarkup(SQLModel, table=True):
    """Circles, arrows and short labels an inspector drew on a photo (标注).

    The photo itself is never changed: the marked copy the phone drew is kept beside it (hashed,
    with display and thumbnail copies stamped like the photo's), and the shapes as data in the
    photo's own pixel coordinates, so the marks can be drawn again. A newer markup replaces an
    older one (``replaced_at``); the photo's ``markup_id`` names the one shown in its place.
    """

    __tablename__ = "photo_markup"
    __table_args__ = (sa.UniqueConstraint("created_by_id", "client_id", name="uq_markup_client"),)

    id: int | None = Field(default=None, primary_key=True)
    photo_id: int = Field(foreign_key="photo.id", index=True)
    #: ``{"w": …, "h": …, "shapes": [{"type": "circle" | "arrow" | "text", …}]}`` in the photo's
    #: upright pixel coordinates (``w``/``h`` are the photo's width and height).
    shapes: dict[str, Any] = Field(sa_type=sa.JSON)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    content_type: str = Field(max_length=32)
    width: int
    height: int
    size_bytes: int
    created_by_id: int = Field(foreign_key="user_account.id")
    received_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    client_id: str | None = Field(default=None, max_length=64)
    replaced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Signature(SQLModel, table=True):
    """A handwritten signature (签字) drawn on the phone, or a refusal to sign (拒绝签字) with its
    reason, as paper forms allow: for what (``purpose`` and the object's id), by whom (the name
    and post written, the account that recorded it), when (the phone's moment of signing and the
    server's receipt). The image is a PNG checked like a photo and hashed.

    purposes: ``visit_confirm`` (the outlet's person confirms an open inspection's findings on
    site), ``notice_ack`` (the chief's 签收 of a notice), ``line_verify`` (the inspector's on-site
    复查 of a line, bound to the verification event)."""

    __tablename__ = "signature"
    __table_args__ = (sa.UniqueConstraint("recorded_by_id", "client_id", name="uq_signature_client"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    notice_id: int | None = Field(default=None, foreign_key="rectification_notice.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="rectification_line.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="rectification_event.id")
    outlet_id: int = Field(foreign_key="outlet.id", index=True)
    signer_name: str = Field(max_length=40)
    signer_post: str = Field(default="", max_length=40)
    refused: bool = False
    refusal_reason: str = Field(default="", max_length=300)
    #: The PNG (none for a refusal).
    sha256: str | None = Field(default=None, max_length=64)
    storage_key: str | None = Field(default=None, max_length=200)
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    #: The phone's clock when the person signed (it may have been offline for hours).
    signed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    recorded_by_id: int = Field(foreign_key="user_account.id")
    client_id: str | None = Field(default=None, max_length=64)
    #: Signed again before the visit was submitted: the earlier one stays, marked replaced.
    replaced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
