"""CSV import of outlets and users: all rows or none.

Every row is checked first; one bad row gives a line-numbered list of every problem and nothing is
written. A re-import updates existing rows by their code (outlet code, username) instead of adding
duplicates. Files from Chinese Excel come as GB18030 as often as UTF-8, so both are read.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app.auth import services as auth_services
from inspect_app.auth.models import UNIT_SCOPED_ROLES, Role, User, UserOutlet
from inspect_app.errors import DomainError
from inspect_app.org import services
from inspect_app.org.models import Outlet, Unit, Window

MAX_IMPORT_BYTES = 5 * 1024 * 1024

OUTLET_COLUMNS = ["code", "name", "address", "lat", "lon", "unit_code", "timezone", "windows"]
USER_COLUMNS = ["username", "display_name", "role", "unit_code", "outlet_codes", "code_name", "phone", "password"]


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFailed([_("The file is larger than 5 MB.")])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([_("The file is neither UTF-8 nor GB18030 text. Save it as CSV (UTF-8).")])


def read_rows(data: bytes, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    text = decode(data)
    if "\x00" in text:
        raise ImportFailed([_("This is not a CSV text file.")])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFailed([_("Line 1: missing columns: %(cols)s.", cols=", ".join(missing))])
    reader.fieldnames = header
    rows = []
    for row in reader:
        clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(clean.values()):
            rows.append((reader.line_num, clean))
    if not rows:
        raise ImportFailed([_("The file has no data rows.")])
    return rows


def _float(value: str, line: int, column: str, errors: list[str]) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(_("Line %(line)d: %(col)s is not a number: %(value)s", line=line, col=column, value=value))
        return None


def import_outlets(session: Session, *, actor: User, data: bytes) -> ImportResult:
    rows = read_rows(data, ["code", "name", "unit_code"])
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    existing = {o.code: o for o in session.exec(select(Outlet)).all()}
    errors: list[str] = []
    seen: dict[str, int] = {}
    parsed = []
    for line, row in rows:
        code = row.get("code", "")
        if not code:
            errors.append(_("Line %(line)d: the outlet code is empty.", line=line))
        elif code in seen:
            errors.append(_("Line %(line)d: outlet code %(code)s repeats line %(first)d.", line=line, code=code, first=seen[code]))
        seen.setdefault(code, line)
        if not row.get("name"):
            errors.append(_("Line %(line)d: the name is empty.", line=line))
        unit = units.get(row.get("unit_code", ""))
        if unit is None:
            errors.append(_("Line %(line)d: unknown unit code %(code)s.", line=line, code=row.get("unit_code", "")))
        lat = _float(row.get("lat", ""), line, "lat", errors)
        lon = _float(row.get("lon", ""), line, "lon", errors)
        try:
            services.validate_location(lat, lon)
            tz = services.validate_timezone(row.get("timezone", ""))
        except DomainError as exc:
            errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
            tz = None
        windows = [w.strip() for w in row.get("windows", "").replace("；", ";").split(";") if w.strip()]
        if len(set(windows)) != len(windows):
            errors.append(_("Line %(line)d: a window number repeats.", line=line))
        parsed.append((line, row, unit, lat, lon, tz, windows))
    if errors:
        raise ImportFailed(errors)

    result = ImportResult()
    for line, row, unit, lat, lon, tz, windows in parsed:
        outlet = existing.get(row["code"])
        outlet = services.save_outlet(
            session, actor=actor, outlet=outlet, code=row["code"], name=row["name"],
            address=row.get("address", ""), lat=lat, lon=lon, unit_id=unit.id, timezone=tz,
            active=outlet.active if outlet else True,
        )
        if row["code"] in existing:
            result.updated += 1
        else:
            result.created += 1
        have = {w.number for w in session.exec(select(Window).where(Window.outlet_id == outlet.id)).all()}
        for number in windows:
            if number not in have:
                services.save_window(session, actor=actor, outlet=outlet, window=None, number=number, name="")
    return result


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
                auth_services.check_password_strength(password)
            except DomainError as exc:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
        parsed.append((row, username, role, unit, outlet_ids, code_name, password))
    if errors:
        raise ImportFailed(errors)

    result = ImportResult()
    for row, username, role, unit, outlet_ids, code_name, password in parsed:
        user = existing.get(username)
        if user is None:
            auth_services.create_user(
                session, actor=actor, username=username, display_name=row.get("display_name", ""),
                password=password, role=Role(role), unit_id=unit.id if unit else None, outlet_ids=outlet_ids,
                code_name=code_name, phone=row.get("phone", ""),
            )
            result.created += 1
        else:
            auth_services.update_user(
                session, actor=actor, user=user, display_name=row.get("display_name", ""), role=Role(role),
                unit_id=unit.id if unit else None, outlet_ids=outlet_ids, code_name=code_name,
                phone=row.get("phone", ""),
            )
            if password:
                auth_services.reset_password(session, actor=actor, user=user, password=password)
            result.updated += 1
    return result


def branch_outlet_codes(session: Session, user: User) -> list[str]:
    ids = session.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)).all()
    return sorted(session.exec(select(Outlet.code).where(Outlet.id.in_(ids))).all()) if ids else []
