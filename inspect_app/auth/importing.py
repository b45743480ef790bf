"""Account import (CSV): every row checked first, errors by line, then written in batches.

Passwords are checked and hashed (scrypt, tens of milliseconds each) during the check, which
holds no write lock; a batch only writes rows.
"""
from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import permissions
from inspect_app.auth import services
from inspect_app.auth.models import UNIT_SCOPED_ROLES, Role, User
from inspect_app.csv_import import CheckedRow, ImportFailed, ImportResult, read_rows
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.org.models import Outlet, Unit
from inspect_app.text import fits, identifier, max_length


class AccountImporter:
    batch_rows = 50  # each account is a few statements (scope checks, outlets, audit)

    def check(self, session: Session, *, actor: User, data: bytes) -> list[CheckedRow]:
        if not permissions.can_manage_org(actor):
            raise PermissionDenied(_("Only an administrator may manage accounts."))
        return [CheckedRow(line, values) for line, values in _check(session, data)]

    def write(self, session: Session, *, actor: User, rows: Sequence[CheckedRow]) -> ImportResult:
        return _write(session, actor, [r.values for r in rows])


def _check(session: Session, data: bytes) -> list[tuple[int, tuple]]:
    rows = read_rows(data, ["username", "display_name", "role"])
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    outlets = {o.code: o for o in session.exec(select(Outlet)).all()}
    existing = {u.username: u for u in session.exec(select(User)).all()}
    code_names = {u.code_name: u.username for u in existing.values() if u.code_name}
    roles = {r.value for r in Role}
    errors: list[str] = []
    seen: dict[str, int] = {}
    parsed = []
    for line, row in rows:
        try:
            username = services.check_username(row.get("username", ""))
            fits(row.get("display_name", ""), label=_l("The name"), max_length=max_length(User, "display_name"))
            fits(row.get("phone", ""), label=_l("The phone number"), max_length=max_length(User, "phone"))
        except DomainError as exc:
            errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
            username = row.get("username", "").lower()
        if not username:
            errors.append(_("Line %(line)d: the username is empty.", line=line))
        elif username in seen:
            errors.append(_("Line %(line)d: username %(name)s repeats line %(first)d.", line=line, name=username, first=seen[username]))
        seen.setdefault(username, line)
        role = row.get("role", "")
        if role not in roles:
            errors.append(_("Line %(line)d: unknown role %(role)s (use one of: %(roles)s).", line=line, role=role, roles=", ".join(sorted(roles))))
        unit = None
        if row.get("unit_code"):
            unit = units.get(row["unit_code"])
            if unit is None:
                errors.append(_("Line %(line)d: unknown unit code %(code)s.", line=line, code=row["unit_code"]))
        elif role in {r.value for r in UNIT_SCOPED_ROLES}:
            errors.append(_("Line %(line)d: role %(role)s needs a unit_code.", line=line, role=role))
        outlet_ids = []
        for code in [c.strip() for c in row.get("outlet_codes", "").replace("；", ";").split(";") if c.strip()]:
            if code not in outlets:
                errors.append(_("Line %(line)d: unknown outlet code %(code)s.", line=line, code=code))
            else:
                outlet_ids.append(outlets[code].id)
        if role == Role.branch_chief and not outlet_ids:
            errors.append(_("Line %(line)d: a branch chief needs outlet_codes.", line=line))
        code_name = row.get("code_name") or None
        if code_name:
            try:
                code_name = identifier(code_name, label=_l("The code name"),
                                                max_length=max_length(User, "code_name"))
            except DomainError as exc:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
        if role == Role.shopper and not code_name:
            errors.append(_("Line %(line)d: a mystery shopper needs a code_name.", line=line))
        if code_name and code_names.get(code_name, username) != username:
            errors.append(_("Line %(line)d: code name %(name)s is already used.", line=line, name=code_name))
        if code_name:
            code_names[code_name] = username
        password = row.get("password", "")
        if username not in existing or password:
            try:
                services.check_password_strength(password)
            except DomainError as exc:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
        parsed.append((line, row, username, role, unit.id if unit else None, outlet_ids, code_name, password))
    if errors:
        raise ImportFailed(errors)
    # Hashed only once the whole file is clean (scrypt is slow on purpose), and before any lock.
    return [(line, (row, username, role, unit_id, outlet_ids, code_name, password,
                    services.hash_password(password) if password else None))
            for line, row, username, role, unit_id, outlet_ids, code_name, password in parsed]


def _write(session: Session, actor: User, rows: list[tuple]) -> ImportResult:
    usernames = [values[1] for values in rows]
    existing = {u.username: u for u in session.exec(select(User).where(User.username.in_(usernames))).all()}
    result = ImportResult()
    for row, username, role, unit_id, outlet_ids, code_name, password, password_hash in rows:
        user = existing.get(username)
        if user is None:
            services.create_user(
                session, actor=actor, username=username, display_name=row.get("display_name", ""),
                password=password, role=Role(role), unit_id=unit_id, outlet_ids=outlet_ids,
                code_name=code_name, phone=row.get("phone", ""), password_hash=password_hash,
            )
            result.created += 1
        else:
            services.update_user(
                session, actor=actor, user=user, display_name=row.get("display_name", ""), role=Role(role),
                unit_id=unit_id, outlet_ids=outlet_ids, code_name=code_name, phone=row.get("phone", ""),
            )
            if password:
                services.reset_password(session, actor=actor, user=user, password=password,
                                        password_hash=password_hash)
            result.updated += 1
    return result


ACCOUNTS = AccountImporter()
