"""Accounts and login: creating people, scoping them, throttling guessers."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import unicodedata

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from inspect_app import clock, permissions
from inspect_app.audit.services import record, snapshot
from inspect_app.auth.models import UNIT_SCOPED_ROLES, LoginAttempt, Role, User, UserOutlet, UserSession
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.org.models import Outlet, Unit
from inspect_app.text import fits, identifier, max_length

MIN_PASSWORD_LENGTH = 8
MIN_PASSWORD_SCORE = 2
# A fixed hash checked when the username is unknown, so a miss costs as long as a hit and the
# response time does not tell which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class TooManyAttempts(DomainError):
    status_code = 429


def hash_password(password: str) -> str:
    # scrypt (Werkzeug's default) in production; tests may configure a cheaper method.
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


#: zxcvbn's reasons, in the user's words (it speaks English only).
GUESSABLE_REASONS = {
    "common": _l("it is one of the most common passwords"),
    "similar": _l("it is close to a common password"),
    "repeat": _l("it repeats characters or patterns"),
    "sequence": _l("it is a sequence such as abc or 1234"),
    "keyboard": _l("it is a row or pattern of keys"),
    "date": _l("it is a date or a year"),
    "name": _l("it contains a name or the username"),
}


def _reason(warning: str) -> str:
    text = warning.lower()
    for key, words in (("common", ("very common", "top-10", "top-100", "common password")),
                       ("similar", ("similar",)), ("repeat", ("repeat",)), ("sequence", ("sequence", "abc")),
                       ("keyboard", ("keyboard", "row of keys", "pattern")), ("date", ("date", "year")),
                       ("name", ("name",))):
        if any(w in text for w in words):
            return str(GUESSABLE_REASONS[key])
    return str(GUESSABLE_REASONS["common"])


def check_password_strength(password: str, user_inputs: list[str] | None = None) -> None:
    """Long enough, mixed, and not guessable: zxcvbn (the strength estimator of Dropbox, with its
    lists of common passwords, names and words) must rate it at least "somewhat guessable"."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if password.isdigit() or password.isalpha():
        raise DomainError(_("The password must mix letters with digits or symbols."))
    rating = zxcvbn(password[:100], user_inputs=[u for u in (user_inputs or []) if u])
    if rating["score"] < MIN_PASSWORD_SCORE:
        raise DomainError(_("This password is too easy to guess: %(why)s. Use a longer one, for example a few "
                            "unrelated words with digits.", why=_reason(rating["feedback"].get("warning") or "")))


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    max_failures: int,
    max_failures_per_ip: int,
    window_minutes: int,
) -> User | None:
    """Check a login; refuse outright while too many recent attempts failed.

    Failures are counted per username and per address in the database, so throttling holds
    across app processes. A success clears nothing: old failures simply age out of the window.
    """
    username = unicodedata.normalize("NFKC", username).strip().lower()
    since = clock.now() - dt.timedelta(minutes=window_minutes)
    failures_for_user = session.exec(
        select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    ).one()
    failures_from_ip = session.exec(
        select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    ).one()
    if failures_for_user >= max_failures or failures_from_ip >= max_failures_per_ip:
        raise TooManyAttempts(
            _("Too many failed logins. Please wait %(minutes)d minutes and try again.", minutes=window_minutes)
        )
    user = session.exec(select(User).where(User.username == username)).first()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    if not ok:
        return None
    user.last_login_at = clock.now()
    session.add(user)
    return user


def _validate_scope(session: Session, *, role: Role, unit_id: int | None, outlet_ids: list[int]) -> None:
    if role in UNIT_SCOPED_ROLES and unit_id is None:
        raise DomainError(_("Managers, inspectors and reviewers need a unit."))
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise DomainError(_("The unit does not exist."))
    if role == Role.branch_chief and not outlet_ids:
        raise DomainError(_("A branch chief needs at least one outlet."))
    if outlet_ids:
        found = session.exec(select(sa.func.count()).select_from(Outlet).where(Outlet.id.in_(outlet_ids))).one()
        if found != len(set(outlet_ids)):
            raise DomainError(_("One of the outlets does not exist."))


def _require_admin(actor: User) -> None:
    if not permissions.can_manage_org(actor):
        raise PermissionDenied(_("Only an administrator may manage accounts."))


USER_FIELDS = ["username", "display_name", "role", "unit_id", "code_name", "phone", "active"]


USERNAME_CHARACTERS = re.compile(r"[a-z0-9_.-]*")


def check_username(username: str) -> str:
    """The username as stored: NFKC, lower case, no invisible characters, letters, digits, dot, dash
    or underscore only (what the account form allows), within its column."""
    username = identifier(username, label=_l("The username"), max_length=max_length(User, "username"), lower=True)
    if not USERNAME_CHARACTERS.fullmatch(username):
        raise DomainError(_("The username %(name)s may use only letters, digits, dot, dash or underscore.",
                            name=username))
    return username


def create_user(
    session: Session,
    *,
    actor: User | None,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    unit_id: int | None = None,
    outlet_ids: list[int] | None = None,
    code_name: str | None = None,
    phone: str = "",
    password_hash: str | None = None,
) -> User:
    """Create an account. ``actor`` None means the system (CLI), which may always do it.

    ``password_hash`` is for a caller that checked and hashed the password already (the import
    does it before it takes the write lock)."""
    if actor is not None:
        _require_admin(actor)
    username = check_username(username)
    if not username:
        raise DomainError(_("A username is required."))
    fits(display_name.strip(), label=_l("The name"), max_length=max_length(User, "display_name"))
    fits(phone.strip(), label=_l("The phone number"), max_length=max_length(User, "phone"))
    if session.exec(select(User).where(User.username == username)).first():
        raise DomainError(_("The username %(name)s is already taken.", name=username))
    if password_hash is None:
        check_password_strength(password)
        password_hash = hash_password(password)
    outlet_ids = list(outlet_ids or [])
    role = Role(role)
    _validate_scope(session, role=role, unit_id=unit_id, outlet_ids=outlet_ids)
    code_name = _check_code_name(session, role=role, code_name=code_name, user_id=None)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=password_hash,
        role=role,
        unit_id=unit_id if role in UNIT_SCOPED_ROLES else None,
        code_name=code_name,
        phone=phone.strip(),
    )
    session.add(user)
    session.flush()
    _set_outlets(session, user, outlet_ids if role == Role.branch_chief else [])
    record(session, actor=actor, action="user.created", obj=user, after=snapshot(user, USER_FIELDS))
    return user


def _check_code_name(session: Session, *, role: Role, code_name: str | None, user_id: int | None) -> str | None:
    code_name = identifier(code_name or "", label=_l("The code name"), max_length=max_length(User, "code_name")) or None
    if role == Role.shopper and not code_name:
        raise DomainError(_("A mystery shopper needs a code name."))
    if code_name:
        clash = session.exec(select(User).where(User.code_name == code_name, User.id != user_id)).first()
        if clash:
            raise DomainError(_("The code name %(name)s is already used.", name=code_name))
    return code_name


def _set_outlets(session: Session, user: User, outlet_ids: list[int]) -> None:
    current = set(session.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)).all())
    wanted = set(outlet_ids)
    for outlet_id in current - wanted:
        session.delete(session.get(UserOutlet, (user.id, outlet_id)))
    for outlet_id in wanted - current:
        session.add(UserOutlet(user_id=user.id, outlet_id=outlet_id))


def update_user(
    session: Session,
    *,
    actor: User,
    user: User,
    display_name: str,
    role: Role,
    unit_id: int | None,
    outlet_ids: list[int],
    code_name: str | None,
    phone: str,
) -> User:
    _require_admin(actor)
    role = Role(role)
    if user.id == actor.id and role != Role.admin:
        raise DomainError(_("You cannot take away your own administrator role."))
    _validate_scope(session, role=role, unit_id=unit_id, outlet_ids=outlet_ids)
    fits(display_name.strip(), label=_l("The name"), max_length=max_length(User, "display_name"))
    fits(phone.strip(), label=_l("The phone number"), max_length=max_length(User, "phone"))
    before = snapshot(user, USER_FIELDS)
    before["outlet_ids"] = sorted(session.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)).all())
    user.code_name = _check_code_name(session, role=role, code_name=code_name, user_id=user.id)
    user.display_name = display_name.strip() or user.username
    if role != user.role or unit_id != user.unit_id:
        # A narrower scope must take effect now, not at the next login.
        user.session_version += 1
    user.role = role
    user.unit_id = unit_id if role in UNIT_SCOPED_ROLES else None
    user.phone = phone.strip()
    session.add(user)
    wanted = outlet_ids if role == Role.branch_chief else []
    if sorted(set(wanted)) != before["outlet_ids"]:
        user.session_version += 1
    _set_outlets(session, user, wanted)
    session.flush()
    after = snapshot(user, USER_FIELDS)
    after["outlet_ids"] = sorted(set(wanted))
    record(session, actor=actor, action="user.updated", obj=user, before=before, after=after)
    return user


def set_active(session: Session, *, actor: User, user: User, active: bool) -> User:
    _require_admin(actor)
    if user.id == actor.id and not active:
        raise DomainError(_("You cannot deactivate your own account."))
    if user.active == active:
        return user
    user.active = active
    _sign_out_everywhere(session, user)  # a deactivated user's devices end at once
    session.add(user)
    record(session, actor=actor, action="user.activated" if active else "user.deactivated", obj=user,
           before={"active": not active}, after={"active": active})
    return user


def reset_password(session: Session, *, actor: User, user: User, password: str,
                   password_hash: str | None = None) -> User:
    """An admin sets a new password: every device of the user is signed out."""
    if actor.id != user.id:
        _require_admin(actor)
    if password_hash is None:
        check_password_strength(password, [user.username, user.display_name])
        password_hash = hash_password(password)
    user.password_hash = password_hash
    _sign_out_everywhere(session, user)
    session.add(user)
    record(session, actor=actor, action="user.password_reset", obj=user)
    return user


def change_own_password(session: Session, *, user: User, current: str, password: str) -> User:
    """The user changes their own password, proving it is them with the current one; their other
    devices are signed out (the caller signs this one in again)."""
    if not check_password_hash(user.password_hash, current or ""):
        raise DomainError(_("The current password is not right."))
    if current == password:
        raise DomainError(_("The new password is the same as the current one."))
    check_password_strength(password, [user.username, user.display_name])
    user.password_hash = hash_password(password)
    _sign_out_everywhere(session, user)
    session.add(user)
    record(session, actor=user, action="user.password_changed", obj=user)
    return user


def _sign_out_everywhere(session: Session, user: User) -> None:
    """Every cookie of the user stops counting (the version in it), and every device row ends."""
    user.session_version += 1
    now = clock.now()
    for row in session.exec(select(UserSession).where(UserSession.user_id == user.id,
                                                      UserSession.revoked_at.is_(None))).all():
        row.revoked_at = now
        session.add(row)


def outbox_key(session: Session, user: User) -> str:
    """The person's key for sealing their unsent work on a phone (made on first use, base64 of
    32 random bytes); given only to their own signed-in sessions."""
    if not user.outbox_key:
        user.outbox_key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        session.add(user)
        session.flush()
    return user.outbox_key


def set_locale(session: Session, *, user: User, locale: str) -> None:
    user.locale = locale
    session.add(user)


def zone_of(session: Session, user: User) -> str:
    """The acting person's zone, for what a form offers as "today" or "this month": a branch
    chief lives in the zone of their outlet(s); everyone else works in the network's zone."""
    if user.is_authenticated and user.role == Role.branch_chief:
        ids = permissions.branch_outlet_ids(session, user)
        if ids:
            zones = set(session.exec(select(Outlet.timezone).where(Outlet.id.in_(ids))).all())
            if len(zones) == 1:
                return zones.pop()
    return clock.default_zone()


def person_label(viewer: User, user: User | None) -> str:
    """How a person is named to the viewer: the outlet side knows shoppers by code name only."""
    if user is None:
        return ""
    if user.role == Role.shopper:
        if permissions.sees_shopper_identity(viewer) or viewer.id == user.id:
            return f"{user.display_name} · {user.code_name}"
        return user.code_name or "—"
    return user.display_name


# --- signed-in devices ---------------------------------------------------------------------------
# The cookie holds a random key; the ``UserSession`` row behind it is the session. Checking it on
# every request is one indexed read; ``last_seen_at`` is written at most every few minutes.

TOUCH_EVERY = dt.timedelta(minutes=5)
#: Where the device's key sits in the (signed) session cookie.
SESSION_KEY = "sid"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(session: Session, *, user: User, user_agent: str, ip: str) -> str:
    """A new signed-in device for ``user``; returns the key for the cookie."""
    key = secrets.token_urlsafe(32)
    session.add(UserSession(key_hash=_key_hash(key), user_id=user.id, user_agent=user_agent[:200], ip=ip[:64]))
    session.flush()
    return key


def find_session(session: Session, key: str | None) -> UserSession | None:
    if not key or not isinstance(key, str):
        return None
    return session.exec(select(UserSession).where(UserSession.key_hash == _key_hash(key))).first()


def session_state(row: UserSession | None, user: User, *, idle_hours: int, max_days: int,
                  now: dt.datetime | None = None) -> str:
    """'ok', or why it no longer counts: 'missing', 'revoked', 'idle', 'expired'."""
    now = now or clock.now()
    if row is None or row.user_id != user.id:
        return "missing"
    if row.revoked_at is not None:
        return "revoked"
    if now - row.last_seen_at > dt.timedelta(hours=idle_hours):
        return "idle"
    if now - row.created_at > dt.timedelta(days=max_days):
        return "expired"
    return "ok"


def needs_touch(row: UserSession, now: dt.datetime | None = None) -> bool:
    return (now or clock.now()) - row.last_seen_at >= TOUCH_EVERY


def active_sessions(session: Session, user: User, *, idle_hours: int, max_days: int) -> list[UserSession]:
    rows = session.exec(select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
                        .order_by(UserSession.last_seen_at.desc())).all()
    return [r for r in rows if session_state(r, user, idle_hours=idle_hours, max_days=max_days) == "ok"]


def end_session(session: Session, *, actor: User, row: UserSession) -> UserSession:
    """Sign one device out (one's own, or any as an admin)."""
    if row.user_id != actor.id and not permissions.is_admin(actor):
        raise PermissionDenied(_("This is not your device."))
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.add(row)
        record(session, actor=actor, action="session.ended", obj=row, after={"user_id": row.user_id})
    return row


def end_other_sessions(session: Session, *, actor: User, keep: UserSession | None) -> int:
    """Sign out every device of the actor but this one; returns how many ended."""
    rows = session.exec(select(UserSession).where(UserSession.user_id == actor.id, UserSession.revoked_at.is_(None))).all()
    ended = 0
    for row in rows:
        if keep is None or row.id != keep.id:
            end_session(session, actor=actor, row=row)
            ended += 1
    return ended


def search_users(session: Session, *, role: str | None = None, q: str = "", unit: Unit | None = None,
                 page: int = 1, per_page: int = 30) -> tuple[list[User], int]:
    """Accounts by role and username, filtered and paged; (rows, total). ``unit`` keeps the
    accounts scoped to it or below and the branch chiefs of its outlets. All 54,000 accounts of
    the nation on one page took 13 s and 12 MB.

    Unfiltered (or by role), a page is read in the order of ix_user_account_role_username and
    counted apart. A search or a unit reads its matches once, counted beside the page (a window
    count): the search is a scan of every account, twice was 300 ms. A unit's account ids are
    read first (its units', then its outlets' chiefs): as a condition on the list's order the
    database walked all 54,000 accounts for a county's 15."""
    query = select(User)
    if role in {r.value for r in Role}:
        query = query.where(User.role == role)
    if q:
        # Usernames are stored in lower case; lower() LIKE is what ILIKE is on SQLite, and on
        # PostgreSQL a third of ILIKE's time on Chinese names.
        like = f"%{q.lower()}%"
        query = query.where(User.username.like(like) | sa.func.lower(User.display_name).like(like))
    if unit is not None:
        below = session.exec(select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))).all()
        ids = set(session.exec(select(User.id).where(User.unit_id.in_(below))).all())
        ids |= set(session.exec(select(UserOutlet.user_id).join(Outlet, Outlet.id == UserOutlet.outlet_id)
                                .where(Outlet.unit_id.in_(below))).all())
        query = query.where(User.id.in_(sorted(ids)))
    ordered = query.order_by(User.role, User.username).offset((page - 1) * per_page).limit(per_page)
    if not q and unit is None:
        total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
        return list(session.exec(ordered).all()), total
    rows = session.execute(ordered.add_columns(sa.func.count().over())).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    return [], session.exec(select(sa.func.count()).select_from(query.subquery())).one()  # past the last page


def outlet_codes_of(session: Session, user: User) -> list[tuple[str, str]]:
    """(code, name) of the outlets a branch chief answers for, by code."""
    query = (select(Outlet.code, Outlet.name).join(UserOutlet, UserOutlet.outlet_id == Outlet.id)
             .where(UserOutlet.user_id == user.id).order_by(Outlet.code))
    return [tuple(row) for row in session.execute(query).all()]
