from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlmodel import Field, SQLModel

from inspect_app import clock
from inspect_app.db import UTCDateTime


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    inspector = "inspector"
    shopper = "shopper"
    reviewer = "reviewer"
    branch_chief = "branch_chief"
    #: 客服 / 业务检查室: takes complaints and calls customers back; the only role that reads
    #: customers' contact details.
    handler = "handler"


ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.manager: _l("Regional manager"),
    Role.inspector: _l("Inspector"),
    Role.shopper: _l("Mystery shopper"),
    Role.reviewer: _l("Reviewer"),
    Role.branch_chief: _l("Branch chief"),
    Role.handler: _l("Complaint handler"),
}

#: Roles scoped to a unit subtree; branch chiefs are scoped to outlets; shoppers to their visits.
UNIT_SCOPED_ROLES = {Role.manager, Role.inspector, Role.reviewer, Role.handler}


class User(UserMixin, SQLModel, table=True):
    __tablename__ = "user_account"
    #: The admin's list of accounts, a page at a time in this order.
    __table_args__ = (sa.Index("ix_user_account_role_username", "role", "username"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=64)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=sa.String(16), index=True)
    #: Root of the unit subtree this user may see (manager, inspector, reviewer).
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    #: Shoppers are known to the outlet side by this name only.
    code_name: str | None = Field(default=None, max_length=32, unique=True)
    phone: str = Field(default="", max_length=32)
    active: bool = True
    locale: str | None = Field(default=None, max_length=8)
    #: Bumped on deactivation and password reset: every session issued before ends.
    session_version: int = 1
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The key (base64, 32 bytes) that seals this person's unsent work on a phone at logout; it is
    #: handed only to their own signed-in sessions, so the next person on the phone cannot read it.
    outbox_key: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the session holds id and version, so bumping the
        # version logs the user out everywhere.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active


class UserOutlet(SQLModel, table=True):
    """Outlets a branch chief answers for (one or more)."""

    __tablename__ = "user_outlet"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    outlet_id: int = Field(foreign_key="outlet.id", primary_key=True, index=True)


class LoginAttempt(SQLModel, table=True):
    """Kept in the database (not process memory) so throttling holds across app processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_user_at", "username", "at"),
                      sa.Index("ix_login_attempt_ip_at", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    ip: str = Field(max_length=64)
    success: bool = False
    at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """One signed-in device. The cookie carries a random key; the row decides whether it still
    counts: logout, "end other devices", idle time and the absolute lifetime end it here, on the
    server, whatever the cookie says."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user", "user_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    #: sha256 of the key in the cookie (a stolen database does not give working cookies).
    key_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id")
    created_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    last_seen_at: dt.datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=200)
    ip: str = Field(default="", max_length=64)
