"""Versioned definitions: the checklists and the indicator tree are both kept this way.

A definition is recorded as a numbered version that never changes; the current one is the highest
number. The files under ``forms/`` seed the versions: a file whose content has not been recorded
for its code yet becomes the next version ("editing a file makes a new version"), while a file
already recorded (even as an older version) changes nothing, so a version an administrator
published from the configuration page is not undone by the unchanged file on disk.

Which version is current is read once per request (one small query over the version rows, not
their definitions); parsed definitions are kept per (row id, hash), since rows never change.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.audit.services import record
from inspect_app.db import get_engine, uncounted, wants_write_lock, writing


@dataclass(frozen=True)
class VersionRef:
    """What a list of versions needs of a row, without its (large) definition."""

    id: int
    code: str
    version: int
    sha256: str
    created_at: dt.datetime


@dataclass(frozen=True)
class FileDefinition:
    """A definition read from a file in ``forms/``, as it would be recorded."""

    code: str
    sha256: str
    definition: dict[str, Any]
    extra: dict[str, Any]


def _refs(session: Session, model) -> list[VersionRef]:
    rows = session.exec(select(model.id, model.code, model.version, model.sha256, model.created_at)).all()
    return [VersionRef(*row) for row in rows]


def add_version(session: Session, model, *, code: str, sha256: str, definition: dict[str, Any], source: str,
                actor=None, note: str = "", **extra):
    """The next version of ``code``. Two processes may race for the same number: the unique
    (code, version) lets one win and the other take the number after."""
    for _attempt in range(5):
        latest = session.exec(select(sa.func.max(model.version)).where(model.code == code)).one()
        row = model(code=code, version=(latest or 0) + 1, sha256=sha256, definition=definition, source=source,
                    published_by_id=getattr(actor, "id", None), note=note[:500], created_at=clock.now(), **extra)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        record(session, actor=actor, action=f"{model.__tablename__}.published", obj=row,
               after={"code": code, "version": row.version, "source": source, "sha256": sha256})
        return row
    raise RuntimeError(f"could not number a new version of {code}")


def _record_files(session: Session, model, files: list[FileDefinition], refs: list[VersionRef]) -> bool:
    recorded = {(r.code, r.sha256) for r in refs}
    missing = [f for f in files if (f.code, f.sha256) not in recorded]
    for found in missing:
        add_version(session, model, code=found.code, sha256=found.sha256, definition=found.definition,
                    source="file", note="forms/", **found.extra)
    return bool(missing)


def all_refs(session: Session, model, files: Callable[[], list[FileDefinition]]) -> list[VersionRef]:
    """Every version (without definitions), after recording any file not recorded yet.

    A page (a GET, whose session never takes SQLite's write lock) records in a short write of its
    own, and its own snapshot may not see that row yet: these refs do. A form or a script records
    in the session it was given."""
    key = f"versions:{model.__tablename__}"
    request_session = has_request_context() and g.get("db_session") is session
    if request_session and key in g:
        return g.get(key)
    refs = _refs(session, model)
    wanted = files()
    recorded = {(r.code, r.sha256) for r in refs}
    if any((f.code, f.sha256) not in recorded for f in wanted):
        with uncounted():
            refs = _record_missing(session, model, wanted, refs, request_session)
    if request_session:
        setattr(g, key, refs)
    return refs


def _record_missing(session: Session, model, wanted: list[FileDefinition], refs: list[VersionRef],
                    request_session: bool) -> list[VersionRef]:
    if not (request_session and not wants_write_lock()):
        _record_files(session, model, wanted, refs)
        return _refs(session, model)
    with writing(), Session(get_engine()) as write:
        _record_files(write, model, wanted, _refs(write, model))
        try:
            write.commit()
        except IntegrityError:
            write.rollback()  # another process recorded it a moment before
        refs = _refs(write, model)
    if not (session.new or session.dirty or session.deleted):
        # the page's own read began before that write: begin again so it sees the new rows
        session.rollback()
    return refs


_recorded: set[tuple[int, str, str, str, str]] = set()


def record_files_early(model, files: Callable[[], list[FileDefinition]]) -> None:
    """At the start of a request, before its own session reads anything: record any file not
    recorded yet in a short session of its own (once per process and database; the page then finds
    the rows in its own snapshot and needs no second look)."""
    engine = get_engine()
    wanted = files()
    keys = {(id(engine), str(engine.url), model.__tablename__, f.code, f.sha256) for f in wanted}
    if keys <= _recorded:
        return
    with uncounted(), writing(), Session(engine) as write:
        refs = _refs(write, model)
        if _record_files(write, model, wanted, refs):
            try:
                write.commit()
            except IntegrityError:
                write.rollback()  # another process recorded it a moment before
                return
    _recorded.update(keys)


def current_refs(session: Session, model, files: Callable[[], list[FileDefinition]]) -> dict[str, VersionRef]:
    """``{code: the current (newest) version}``."""
    current: dict[str, VersionRef] = {}
    for ref in all_refs(session, model, files):
        if ref.code not in current or ref.version > current[ref.code].version:
            current[ref.code] = ref
    return current


def forget_current(model) -> None:
    """After a publish, the request reads the current versions again."""
    if has_request_context():
        g.pop(f"versions:{model.__tablename__}", None)


def history(session: Session, model, code: str) -> list:
    """Every version of ``code``, newest first (with definitions: for the configuration page)."""
    return list(session.exec(select(model).where(model.code == code).order_by(model.version.desc())).all())
