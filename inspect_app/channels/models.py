"""Where notifications go besides the app: units' channels, people's e-mail, and every attempt."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class ChannelKind(StrEnum):
    email = "email"        # a group mailbox (SMTP)
    wecom = "wecom"        # 企业微信群机器人 webhook
    dingtalk = "dingtalk"  # 钉钉自定义机器人, signed
    webhook = "webhook"    # any JSON endpoint, optionally signed


CHANNEL_KIND_LABELS = {
    ChannelKind.wecom: _l("WeCom group robot"),
    ChannelKind.dingtalk: _l("DingTalk group robot"),
    ChannelKind.email: _l("E-mail (a group mailbox)"),
    ChannelKind.webhook: _l("Webhook (JSON)"),
}


class DigestMode(StrEnum):
    immediate = "immediate"
    daily = "daily"  # one e-mail at 08:00 in the person's zone


class DeliveryStatus(StrEnum):
    queued = "queued"
    held = "held"          # waiting for the person's daily digest
    digested = "digested"  # went out inside a digest
    sent = "sent"
    failed = "failed"      # failed, will be tried again
    dead = "dead"          # out of attempts
    skipped = "skipped"    # nowhere to send any more (the address removed, the channel switched off)


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.queued: _l("Waiting"),
    DeliveryStatus.held: _l("For the daily digest"),
    DeliveryStatus.digested: _l("Sent in a digest"),
    DeliveryStatus.sent: _l("Sent"),
    DeliveryStatus.failed: _l("Failed, will retry"),
    DeliveryStatus.dead: _l("Failed for good"),
    DeliveryStatus.skipped: _l("Not sent"),
}


class Channel(SQLModel, table=True):
    """A unit's group (a robot's webhook, a mailbox) and the events it hears: those of the unit,
    and of the units below it when ``subunits``."""

    __tablename__ = "notification_channel"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    #: The webhook URL (its key or access token inside) or the mailbox addresses: never shown in full.
    target: str = Field(max_length=1000)
    #: DingTalk's signing secret (SEC…) or the webhook's HMAC key: never shown at all.
    secret: str = Field(default="", max_length=255)
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    subunits: bool = True
    active: bool = True
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """A person's e-mail address for notifications and when they want them."""

    __tablename__ = "notification_preference"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    email: str = Field(default="", max_length=254)
    mode: str = Field(default=DigestMode.immediate, max_length=16)
    updated_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One message to one place (a person's e-mail, a unit's channel) and how its attempts went."""

    __tablename__ = "notification_delivery"
    __table_args__ = (sa.Index("ix_delivery_user_status", "user_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=32)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    channel_id: int | None = Field(default=None, foreign_key="notification_channel.id", index=True)
    channel: str = Field(max_length=16)  # email | wecom | dingtalk | webhook
    #: Who or where, as admins may read it: an address half hidden, a channel's name.
    target: str = Field(default="", max_length=120)
    status: str = Field(default=DeliveryStatus.queued, max_length=16, index=True)
    attempts: int = 0
    error: str = Field(default="", max_length=500)
    #: The message as rendered: title, text, link (and a stored attachment's key for e-mail).
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    digest_id: int | None = Field(default=None, foreign_key="notification_delivery.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
