"""The checklist registry: files validated at start-up, versions recorded on first use."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app.checklists.definition import Checklist, from_dict, load_directory
from inspect_app.checklists.models import ChecklistVersion
from inspect_app.config import PROJECT_ROOT

KIND_ORDER = ["open", "secret", "star", "etiquette", "fives"]


def init_app(app: Flask) -> None:
    """Load and validate every checklist; a bad file stops the app from starting."""
    folder = Path(app.config.get("CHECKLIST_DIR") or PROJECT_ROOT / "forms")
    app.extensions["checklists"] = load_directory(folder)


def registry() -> dict[str, Checklist]:
    return current_app.extensions["checklists"]


def available(kinds: set[str] | None = None) -> list[Checklist]:
    items = [c for c in registry().values() if kinds is None or c.kind in kinds]
    return sorted(items, key=lambda c: (KIND_ORDER.index(c.kind) if c.kind in KIND_ORDER else 99, c.code))


def current_version(session: Session, code: str) -> ChecklistVersion:
    """The version row for the checklist file as it is now, created when the file changed.

    Two processes may race to create it; the unique constraints let one win and the other
    simply reads the winner's row.
    """
    checklist = registry()[code]
    digest = _content_hash(checklist)
    for _attempt in range(3):
        row = session.exec(select(ChecklistVersion).where(ChecklistVersion.code == code,
                                                          ChecklistVersion.sha256 == digest)).first()
        if row is not None:
            return row
        latest = session.exec(select(sa.func.max(ChecklistVersion.version)).where(ChecklistVersion.code == code)).one()
        row = ChecklistVersion(code=code, version=(latest or 0) + 1, kind=checklist.kind, sha256=digest,
                               definition=checklist.to_dict())
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        return row
    raise RuntimeError(f"could not record a version of checklist {code}")


_hashes: dict[int, tuple[Checklist, str]] = {}


def _content_hash(checklist: Checklist) -> str:
    """The file's hash, computed once per loaded definition (they are frozen)."""
    found = _hashes.get(id(checklist))
    if found is None or found[0] is not checklist:
        found = _hashes[id(checklist)] = (checklist, checklist.content_hash())
    return found[1]


_definitions: dict[tuple[int, str], Checklist] = {}


def definition_of_version(session: Session, version_id: int) -> Checklist:
    """The definition of a version row by id, reading the stored JSON only the first time: the
    hash is enough to know a parsed copy is this row's (ids repeat across databases, hashes not)."""
    digest = session.exec(select(ChecklistVersion.sha256).where(ChecklistVersion.id == version_id)).one()
    found = _definitions.get((version_id, digest))
    if found is None:
        found = definition(session.get(ChecklistVersion, version_id))
    return found


def definition(version: ChecklistVersion) -> Checklist:
    """The definition a visit was filled with (from the database, never the file on disk).

    Version rows never change, so the parsed form is kept per (id, hash).
    """
    key = (version.id, version.sha256)
    found = _definitions.get(key)
    if found is None:
        found = _definitions[key] = from_dict(version.definition)
    return found
