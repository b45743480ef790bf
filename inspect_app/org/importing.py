"""CSV import of outlets and of the staff register: every row checked first, then written in batches.

One bad row gives a line-numbered list of every problem and nothing is written. A re-import
updates existing outlets by their code (staff by their job number) instead of adding duplicates. Files from Chinese Excel come
as GB18030 as often as UTF-8, so both are read.

The check reads the units once and checks every row; a batch then writes its outlets, windows and
audit events as a handful of bulk statements, so the write lock is held for well under a
millisecond per row.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import clock, permissions, signals
from inspect_app.actors import Actor
from inspect_app.audit.services import record_many, snapshot
from inspect_app.csv_import import BATCH_ROWS, CheckedRow, ImportFailed, ImportResult, read_rows
from inspect_app.csv_import import number as decimal
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.org import services
from inspect_app.org.models import Outlet, StaffMember, Unit, Window
from inspect_app.text import identifier, max_length


@dataclass
class OutletRow:
    code: str
    name: str
    address: str
    lat: float | None
    lon: float | None
    unit_id: int
    timezone: str
    windows: list[str]


class OutletImporter:
    batch_rows = BATCH_ROWS

    def check(self, session: Session, *, actor: Actor, data: bytes) -> list[CheckedRow]:
        if not permissions.can_manage_org(actor):
            raise PermissionDenied(_("Only an administrator may change the organisation."))
        rows = read_rows(data, ["code", "name", "unit_code"])
        units = {u.code: u.id for u in session.exec(select(Unit)).all()}
        errors: list[str] = []
        seen: dict[str, int] = {}
        checked = []
        window_limit = max_length(Window, "number")
        for line, row in rows:
            def refuse(message: str, line: int = line) -> None:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=message))

            try:
                code, name = services.check_outlet_text(code=row.get("code", ""), name=row.get("name", ""),
                                                        address=row.get("address", ""))
            except DomainError as exc:
                refuse(exc.message)
                code, name = row.get("code", ""), row.get("name", "")
            if not code:
                errors.append(_("Line %(line)d: the outlet code is empty.", line=line))
            elif code in seen:
                errors.append(_("Line %(line)d: outlet code %(code)s repeats line %(first)d.", line=line, code=code,
                                first=seen[code]))
            seen.setdefault(code, line)
            if not name:
                errors.append(_("Line %(line)d: the name is empty.", line=line))
            unit_id = units.get(row.get("unit_code", ""))
            if unit_id is None:
                errors.append(_("Line %(line)d: unknown unit code %(code)s.", line=line, code=row.get("unit_code", "")))
            lat = decimal(row.get("lat", ""), line, "lat", errors)
            lon = decimal(row.get("lon", ""), line, "lon", errors)
            tz = None
            try:
                services.validate_location(lat, lon)
                tz = services.validate_timezone(row.get("timezone", ""))
            except DomainError as exc:
                refuse(exc.message)
            windows = []
            for number in row.get("windows", "").replace("；", ";").split(";"):
                try:
                    number = identifier(number, label=_l("A window number"), max_length=window_limit)
                except DomainError as exc:
                    refuse(exc.message)
                    continue
                if number:
                    windows.append(number)
            if len(set(windows)) != len(windows):
                errors.append(_("Line %(line)d: a window number repeats.", line=line))
            checked.append(CheckedRow(line, OutletRow(code, name, row.get("address", "").strip(), lat, lon,
                                                      unit_id or 0, tz or "", windows)))
        if errors:
            raise ImportFailed(errors)
        return checked

    def write(self, session: Session, *, actor: Actor, rows: Sequence[CheckedRow]) -> ImportResult:
        # Read again inside the batch's transaction: an outlet made or renamed since the check is
        # updated, not doubled (the code column is unique either way). Rows go in as bulk
        # statements: building a table object per outlet, window and audit event cost more than
        # the writes (about 1 ms a row, under the write lock).
        values_by_code = {r.values.code: r.values for r in rows}
        existing = {o.code: o for o in session.exec(select(Outlet).where(Outlet.code.in_(list(values_by_code))))}
        result = ImportResult()
        created, updates, events = [], [], []
        moves: dict[int, tuple[int, int]] = {}
        now = clock.now()
        for code, values in values_by_code.items():
            fields = {"code": code, "name": values.name, "address": values.address, "lat": values.lat,
                      "lon": values.lon, "unit_id": values.unit_id, "timezone": values.timezone}
            outlet = existing.get(code)
            if outlet is None:
                created.append({**fields, "active": True, "created_at": now})
                result.created += 1
                continue
            result.updated += 1
            before = snapshot(outlet, services.OUTLET_FIELDS)
            after = {**before, **fields}
            if after != before:
                updates.append({"id": outlet.id, **fields})
                events.append(("outlet.updated", outlet.id, before, after))
                if after["unit_id"] != before["unit_id"]:
                    moves[outlet.id] = (before["unit_id"], after["unit_id"])
        ids = {o.code: o.id for o in existing.values()}
        if created:
            made = session.execute(sa.insert(Outlet).returning(Outlet.id, Outlet.code), created).all()
            ids.update({code: outlet_id for outlet_id, code in made})
            events += [("outlet.created", ids[row["code"]], None,
                        {f: row[f] for f in services.OUTLET_FIELDS}) for row in created]
        if updates:
            session.execute(sa.update(Outlet), updates)
        if moves:
            signals.outlets_moved.send("org", session=session, moves=moves)
        record_many(session, actor=actor, object_type=Outlet.__tablename__, events=events)
        have: dict[int, set[str]] = {}
        if existing:
            for outlet_id, number in session.exec(select(Window.outlet_id, Window.number)
                                                  .where(Window.outlet_id.in_([o.id for o in existing.values()]))):
                have.setdefault(outlet_id, set()).add(number)
        windows = [{"outlet_id": ids[code], "number": number, "name": "", "active": True}
                   for code, values in values_by_code.items() for number in values.windows
                   if number not in have.get(ids[code], set())]
        if windows:
            made = session.execute(sa.insert(Window).returning(Window.id, Window.number), windows).all()
            record_many(session, actor=actor, object_type=Window.__tablename__, events=[
                ("window.created", window_id, None, {"number": number, "name": "", "active": True})
                for window_id, number in made])
        session.expire_all()  # objects read above are older than the rows now
        return result


OUTLETS = OutletImporter()


@dataclass
class StaffRow:
    job_number: str
    name: str
    post: str
    outlet_id: int
    active: bool | None  # None: not given (a new person is active, a known one keeps theirs)


#: The ``active`` column: 1/0 or 是/否; empty leaves it as it is.
ACTIVE_VALUES = {"1": True, "0": False, "是": True, "否": False}


class StaffImporter:
    """The staff register (营业员, 投递员, 大堂经理) by job number: columns job_number, name, post,
    outlet_code and, optionally, active."""

    batch_rows = BATCH_ROWS

    def check(self, session: Session, *, actor: Actor, data: bytes) -> list[CheckedRow]:
        if not permissions.can_manage_org(actor):
            raise PermissionDenied(_("Only an administrator may change the organisation."))
        rows = read_rows(data, ["job_number", "name", "outlet_code"])
        outlets = dict(session.execute(select(Outlet.code, Outlet.id)).all())
        errors: list[str] = []
        seen: dict[str, int] = {}
        checked = []
        for line, row in rows:
            try:
                job_number, name, post = services.check_staff_text(
                    job_number=row.get("job_number", ""), name=row.get("name", ""), post=row.get("post", ""))
            except DomainError as exc:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=exc.message))
                job_number, name, post = row.get("job_number", ""), row.get("name", ""), ""
            if not job_number:
                errors.append(_("Line %(line)d: the job number is empty.", line=line))
            elif job_number in seen:
                errors.append(_("Line %(line)d: job number %(number)s repeats line %(first)d.", line=line,
                                number=job_number, first=seen[job_number]))
            seen.setdefault(job_number, line)
            if not name:
                errors.append(_("Line %(line)d: the person's name is empty.", line=line))
            outlet_id = outlets.get(row.get("outlet_code", ""))
            if outlet_id is None:
                errors.append(_("Line %(line)d: unknown outlet code %(code)s.", line=line,
                                code=row.get("outlet_code", "")))
            given = row.get("active", "")
            active = ACTIVE_VALUES.get(given) if given else None
            if given and active is None:
                errors.append(_("Line %(line)d: active must be 1 or 0 (是 or 否), not %(value)s.", line=line,
                                value=given))
            checked.append(CheckedRow(line, StaffRow(job_number, name, post, outlet_id or 0, active)))
        if errors:
            raise ImportFailed(errors)
        return checked

    def write(self, session: Session, *, actor: Actor, rows: Sequence[CheckedRow]) -> ImportResult:
        # As for outlets: read again inside the batch's transaction, then bulk statements.
        values_by_number = {r.values.job_number: r.values for r in rows}
        existing = {s.job_number: s for s in session.exec(
            select(StaffMember).where(StaffMember.job_number.in_(list(values_by_number))))}
        result = ImportResult()
        created, updates, events = [], [], []
        now = clock.now()
        for job_number, values in values_by_number.items():
            fields = {"job_number": job_number, "name": values.name, "post": values.post,
                      "outlet_id": values.outlet_id}
            staff = existing.get(job_number)
            if staff is None:
                created.append({**fields, "active": values.active is not False, "created_at": now})
                result.created += 1
                continue
            result.updated += 1
            fields["active"] = staff.active if values.active is None else values.active
            before = snapshot(staff, services.STAFF_FIELDS)
            after = {**before, **fields}
            if after != before:
                updates.append({"id": staff.id, **fields})
                events.append(("staff.updated", staff.id, before, after))
        if created:
            made = session.execute(sa.insert(StaffMember).returning(StaffMember.id, StaffMember.job_number),
                                   created).all()
            ids = {number: staff_id for staff_id, number in made}
            events += [("staff.created", ids[row["job_number"]], None,
                        {f: row[f] for f in services.STAFF_FIELDS}) for row in created]
        if updates:
            session.execute(sa.update(StaffMember), updates)
        record_many(session, actor=actor, object_type=StaffMember.__tablename__, events=events)
        session.expire_all()  # objects read above are older than the rows now
        return result


STAFF = StaffImporter()
