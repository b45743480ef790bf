"""The checklist registry: files validated at start-up and recorded as versions; the current
version of each checklist is its newest published one (see ``versions``)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlmodel import Session, select

from inspect_app.checklists import versions
from inspect_app.checklists.definition import Checklist, from_dict, load_directory
from inspect_app.checklists.models import ChecklistVersion
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import get_engine, get_session

KIND_ORDER = ["open", "secret", "star", "etiquette", "fives", "self"]


def init_app(app: Flask) -> None:
    """Load and validate every checklist file; a bad file stops the app from starting."""
    folder = Path(app.config.get("CHECKLIST_DIR") or PROJECT_ROOT / "forms")
    app.extensions["checklists"] = load_directory(folder)
    app.extensions.pop("checklist_file_definitions", None)


def record_files() -> None:
    """Record the files in forms/ not recorded yet (run before each request's own work)."""
    versions.record_files_early(ChecklistVersion, _file_definitions)


def files() -> dict[str, Checklist]:
    """The checklists as the files in ``forms/`` say (validated at start-up)."""
    return current_app.extensions["checklists"]


def _file_definitions() -> list[versions.FileDefinition]:
    """The files as versions would record them: built once per app (the files are read at start and
    never again; every request asks)."""
    found = current_app.extensions.get("checklist_file_definitions")
    if found is None:
        found = current_app.extensions["checklist_file_definitions"] = [
            versions.FileDefinition(c.code, _content_hash(c), c.to_dict(), {"kind": c.kind}) for c in files().values()]
    return found


def current_refs(session: Session | None = None) -> dict[str, versions.VersionRef]:
    return versions.current_refs(session or get_session(), ChecklistVersion, _file_definitions)


def registry(session: Session | None = None) -> dict[str, Checklist]:
    """The current (newest published) definition of every checklist."""
    session = session or get_session()
    return {code: _definition_of_ref(session, ref) for code, ref in current_refs(session).items()}


def available(kinds: set[str] | None = None) -> list[Checklist]:
    items = [c for c in registry().values() if kinds is None or c.kind in kinds]
    return sorted(items, key=lambda c: (KIND_ORDER.index(c.kind) if c.kind in KIND_ORDER else 99, c.code))


def current_version(session: Session, code: str) -> ChecklistVersion:
    """The current version row of a checklist (the one a visit started now is filled with)."""
    ref = current_refs(session)[code]
    row = session.get(ChecklistVersion, ref.id)
    if row is None:  # recorded by a page's own short write after this session's snapshot began
        with Session(get_engine(), expire_on_commit=False) as fresh:
            row = fresh.get(ChecklistVersion, ref.id)
            fresh.expunge(row)
    return row


_hashes: dict[int, tuple[Checklist, str]] = {}


def _content_hash(checklist: Checklist) -> str:
    """The file's hash, computed once per loaded definition (they are frozen)."""
    found = _hashes.get(id(checklist))
    if found is None or found[0] is not checklist:
        found = _hashes[id(checklist)] = (checklist, checklist.content_hash())
    return found[1]


_definitions: dict[tuple[int, str], Checklist] = {}


def _definition_of_ref(session: Session, ref: versions.VersionRef) -> Checklist:
    key = (ref.id, ref.sha256)
    found = _definitions.get(key)
    if found is None:
        on_disk = files().get(ref.code)
        if on_disk is not None and _content_hash(on_disk) == ref.sha256:
            found = _definitions[key] = on_disk  # the same content as the file: no need to read it
        else:
            found = definition(session.get(ChecklistVersion, ref.id))
    return found


def definition_of_version(session: Session, version_id: int) -> Checklist:
    """The definition of a version row by id, reading the stored JSON only the first time: the
    hash is enough to know a parsed copy is this row's (ids repeat across databases, hashes not)."""
    digest = session.exec(select(ChecklistVersion.sha256).where(ChecklistVersion.id == version_id)).one()
    found = _definitions.get((version_id, digest))
    if found is None:
        found = definition(session.get(ChecklistVersion, version_id))
    return found


def definitions_of_versions(session: Session, version_ids) -> dict[int, Checklist]:
    """Several versions' definitions at once (version id → definition): one query for their
    hashes, and one more for the rows not parsed yet, however many versions are asked for."""
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    digests = dict(session.exec(select(ChecklistVersion.id, ChecklistVersion.sha256)
                                .where(ChecklistVersion.id.in_(ids))).all())
    unparsed = [i for i, digest in digests.items() if (i, digest) not in _definitions]
    if unparsed:
        for version in session.exec(select(ChecklistVersion).where(ChecklistVersion.id.in_(unparsed))).all():
            definition(version)
    return {i: _definitions[(i, digest)] for i, digest in digests.items()}


def definition(version: ChecklistVersion) -> Checklist:
    """The definition a visit was filled with (from the database, never the file on disk).

    Version rows never change, so the parsed form is kept per (id, hash).
    """
    key = (version.id, version.sha256)
    found = _definitions.get(key)
    if found is None:
        found = _definitions[key] = from_dict(version.definition)
    return found
