"""Published bulletins: numbered, their figures and PDF kept, so a reprint is the same document."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class PublishedBulletin(SQLModel, table=True):
    """One unit's bulletin of one period, as published: number (浙江省质通〔2026〕12号), the figures
    it printed and the stored PDF with its checksum."""

    __tablename__ = "published_bulletin"
    __table_args__ = (sa.UniqueConstraint("unit_id", "kind", "period_start", name="uq_bulletin_period"),
                      sa.UniqueConstraint("unit_id", "year", "sequence", name="uq_bulletin_number"))

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: str = Field(max_length=8)  # day | week | month
    period_start: dt.date
    period_end: dt.date  # the day after the last
    year: int
    sequence: int
    number: str = Field(max_length=64)
    title: str = Field(max_length=200)
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    pdf_key: str = Field(max_length=120)
    sha256: str = Field(max_length=64)
    size: int = 0
    published_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class KeptBulletin(SQLModel, table=True):
    """A finished period's bulletin as the worker (or its first reader) composed it, so that a page
    reads it instead of adding up a province's or the nation's month again (``reports.kept``).

    One per node (0: the nation), kind, period, language and ranking settings. ``data`` is the
    composed bulletin serialised by the app itself and signed with its secret key (``digest``): a
    row that does not verify, or of another ``format``, is composed again, never read."""

    __tablename__ = "kept_bulletin"
    __table_args__ = (sa.UniqueConstraint("node_id", "kind", "period_start", "locale", "settings",
                                          name="uq_kept_bulletin"),)

    id: int | None = Field(default=None, primary_key=True)
    node_id: int = Field(index=True)  # 0: every unit
    kind: str = Field(max_length=8)
    period_start: dt.date
    locale: str = Field(max_length=16)
    settings: str = Field(max_length=64)
    format: int
    computed_at: dt.datetime = Field(sa_type=UTCDateTime)
    digest: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary)


class KeptNoticePdf(SQLModel, table=True):
    """A notice's PDF as rendered for one audience, kept so the same document is served again
    without rendering (整改通知书 downloads repeat far more often than notices change).

    ``digest`` covers everything that decides the bytes: the viewer's own HTML (person labels,
    days late, statuses), the photos', markups' and signatures' stored files, the print
    stylesheet, the templates and the renderer (``reports.kept_notices.digest_of``). ``audience``: how
    the viewer's paper names people (shoppers by code name or by name); one copy per notice and
    audience, replaced (and its file removed) when a new one is kept.
    """

    __tablename__ = "kept_notice_pdf"
    __table_args__ = (sa.UniqueConstraint("notice_id", "audience", name="uq_kept_notice_pdf_audience"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="rectification_notice.id", index=True)
    audience: str = Field(max_length=64)
    digest: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=120)
    size: int = 0
    kept_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
