"""Account import (CSV): all rows or none, errors by line."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app.auth import services
from inspect_app.auth.models import UNIT_SCOPED_ROLES, Role, User
from inspect_app.csv_import import ImportFailed, ImportResult, read_rows
from inspect_app.errors import DomainError
from inspect_app.org.models import Outlet, Unit


def import_users(session: Session, *, actor: User, data: bytes) -> ImportResult:
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
        parsed.append((row, username, role, unit, outlet_ids, code_name, password))
    if errors:
        raise ImportFailed(errors)

    result = ImportResult()
    for row, username, role, unit, outlet_ids, code_name, password in parsed:
        user = existing.get(username)
        if user is None:
            services.create_user(
                session, actor=actor, username=username, display_name=row.get("display_name", ""),
                password=password, role=Role(role), unit_id=unit.id if unit else None, outlet_ids=outlet_ids,
                code_name=code_name, phone=row.get("phone", ""),
            )
            result.created += 1
        else:
            services.update_user(
                session, actor=actor, user=user, display_name=row.get("display_name", ""), role=Role(role),
                unit_id=unit.id if unit else None, outlet_ids=outlet_ids, code_name=code_name,
                phone=row.get("phone", ""),
            )
            if password:
                services.reset_password(session, actor=actor, user=user, password=password)
            result.updated += 1
    return result
