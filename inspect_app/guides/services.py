"""The guides rendered from ``docs/`` (Python-Markdown), the first-login tour's seen-state, and what
the administrators' system page shows."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import User
from inspect_app.config import PROJECT_ROOT
from inspect_app.guides.content import GUIDES, TOURS, TourStep
from inspect_app.guides.models import TourSeen
from inspect_app.jobs.models import Job, JobStatus

DOCS = PROJECT_ROOT / "docs"
IMAGES = DOCS / "images"

#: ``[see the admin guide](admin.md#system)`` in a guide becomes the in-app ``/help/admin#system``, and
#: ``images/x.png`` the in-app ``/help/images/x.png`` (absolute: the index lives at ``/help`` itself).
_MD_LINK = re.compile(r'href="([a-z-]+)\.md(#[a-z0-9-]+)?"')
_IMAGE_SRC = re.compile(r'src="images/')


@dataclass(frozen=True)
class RenderedGuide:
    title: str
    html: str
    anchors: frozenset[str]


def guide_path(slug: str) -> Path:
    return DOCS / ("README.md" if slug == "index" else f"{slug}.md")


def render_guide(slug: str, base: str = "/help") -> RenderedGuide | None:
    """The guide as HTML, its links under ``base`` (None when there is no such guide); re-read when
    its file changes."""
    if slug != "index" and slug not in GUIDES:
        return None
    path = guide_path(slug)
    if not path.is_file():
        return None
    return _render(path, path.stat().st_mtime_ns, base.rstrip("/"))


@lru_cache(maxsize=32)
def _render(path: Path, _mtime: int, base: str) -> RenderedGuide:
    md = markdown.Markdown(extensions=["toc", "attr_list", "tables", "sane_lists"])
    html = _MD_LINK.sub(lambda m: f'href="{base}/{m.group(1)}{m.group(2) or ""}"', md.convert(path.read_text("utf-8")))
    html = _IMAGE_SRC.sub(f'src="{base}/images/', html)
    title = md.toc_tokens[0]["name"] if md.toc_tokens else path.stem
    return RenderedGuide(title=title, html=html, anchors=frozenset(_ids(md.toc_tokens)))


def _ids(tokens) -> list[str]:
    out = []
    for token in tokens:
        out.append(token["id"])
        out.extend(_ids(token["children"]))
    return out


def image_path(name: str) -> Path | None:
    """A screenshot of ``docs/images`` by its bare file name (nothing outside the folder)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*\.png", name):
        return None
    path = IMAGES / name
    return path if path.is_file() else None


# --- the first-login tour (新手导览) -----------------------------------------------------------

def tour_of(role: str) -> list[TourStep]:
    return TOURS.get(role, [])


def tour_due(session: Session, user: User) -> bool:
    """True until the person has finished or skipped the tour of their current role."""
    if not tour_of(user.role):
        return False
    return session.get(TourSeen, (user.id, str(user.role))) is None


def mark_tour_seen(session: Session, *, user: User, skipped: bool) -> TourSeen:
    """Remember that the tour was seen (or skipped); seeing it again later only updates the time."""
    seen = session.get(TourSeen, (user.id, str(user.role)))
    if seen is None:
        seen = TourSeen(user_id=user.id, role=str(user.role))
    seen.skipped, seen.seen_at = skipped, clock.now()
    session.add(seen)
    session.flush()
    return seen


# --- the administrators' system page -------------------------------------------------------

@dataclass
class SystemStatus:
    version: str
    database: str
    schema: str | None
    storage: str
    jobs: dict[str, int]
    last_backup: dt.datetime | None
    backup_folder: str


def app_version() -> str:
    try:
        return importlib.metadata.version("inspect_app")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def database_label(url: str) -> str:
    """The database in use, never its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite · {parsed.database or ':memory:'}"
    return f"PostgreSQL · {parsed.render_as_string(hide_password=True)}" if parsed.get_backend_name() == "postgresql" \
        else parsed.render_as_string(hide_password=True)


def storage_label(config) -> str:
    if config.get("STORAGE_BACKEND", "local") == "s3":
        endpoint = config.get("S3_ENDPOINT_URL") or "AWS"
        return f"S3 · {config.get('S3_BUCKET')} ({endpoint})"
    return f"local · {Path(config['MEDIA_ROOT']).resolve()}"


#: The queue's states as the job queue names them (shown as they are when it names others).
JOB_STATE_LABELS = {JobStatus.queued: _l("waiting"), JobStatus.running: _l("running"), JobStatus.done: _l("done"),
                    JobStatus.dead: _l("failed for good")}


def job_counts(session: Session) -> dict[str, int]:
    """Jobs by status (the job queue's ``job`` table)."""
    rows = session.exec(select(Job.status, sa.func.count()).group_by(Job.status)).all()
    return {status: count for status, count in rows}


def last_backup(folder: Path) -> dt.datetime | None:
    """The time of the newest archive ``inspect-app backup`` wrote into its default folder."""
    if not folder.is_dir():
        return None
    stamps = [p.stat().st_mtime for p in folder.glob("inspect-*.tar.gz") if p.is_file()]
    return dt.datetime.fromtimestamp(max(stamps), dt.timezone.utc) if stamps else None


def schema_revision(session: Session) -> str | None:
    try:
        return session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError:
        session.rollback()
        return None


def system_status(app: Flask, session: Session) -> SystemStatus:
    folder = Path(app.instance_path) / "backups"
    return SystemStatus(
        version=app_version(), database=database_label(app.config["DATABASE_URL"]), schema=schema_revision(session),
        storage=storage_label(app.config), jobs=job_counts(session), last_backup=last_backup(folder),
        backup_folder=str(folder))
