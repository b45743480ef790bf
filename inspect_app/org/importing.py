"""CSV import of outlets and users: all rows or none.

Every row is checked first; one bad row gives a line-numbered list of every problem and nothing is
written. A re-import updates existing rows by their code (outlet code, username) instead of adding
duplicates. Files from Chinese Excel come as GB18030 as often as UTF-8, so both are read.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app.actors import Actor
from inspect_app.csv_import import ImportFailed, ImportResult, read_rows
from inspect_app.csv_import import number as decimal
from inspect_app.errors import DomainError
from inspect_app.org import services
from inspect_app.org.models import Outlet, Unit, Window


def import_outlets(session: Session, *, actor: Actor, data: bytes) -> ImportResult:
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
        lat = decimal(row.get("lat", ""), line, "lat", errors)
        lon = decimal(row.get("lon", ""), line, "lon", errors)
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
