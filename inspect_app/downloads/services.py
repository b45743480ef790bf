"""Files the worker makes for one person (我的文件).

A page whose file would be big (a bulletin's PDF, a long notice, an export of more than
``EXPORT_INLINE_ROWS`` rows) asks for it here instead of rendering it in the request: a row says
who asked, for which page (path and query string), and a ``render`` job replays that page in the
worker, signed in as the same person, through the same view, its checks and its query, with the
request marked as the worker's own so the view renders instead of deferring again. Whatever the
page refuses (403, 404: access lost meanwhile) ends the job without a file. The file is stored
with the photos (local folder or S3), offered to that person only, and removed after a day.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_login import login_user
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import User
from inspect_app.db import writing
from inspect_app.downloads.models import FileStatus, GeneratedFile
from inspect_app.errors import NotFound
from inspect_app.evidence.storage import get_storage, new_prefix
from inspect_app.jobs import queue
from inspect_app.jobs.queue import GiveUp, JobRun
from inspect_app.notifications.services import notify

log = logging.getLogger(__name__)

#: Marks the worker's replay of a page: the view renders the file instead of deferring it again.
DEFERRED = "inspect.deferred"
STORED_NAMES = {"application/pdf": "document.pdf", "text/csv": "export.csv",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "export.xlsx"}


def _engine():
    return current_app.extensions["db_engine"]


def keep_for() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config.get("FILE_KEEP_HOURS", 24)))


def rendering_in_worker() -> bool:
    """True while the worker replays a page to make its file (the view must render, not defer)."""
    return has_request_context() and bool(request.environ.get(DEFERRED))


def request_file(*, user: User, title: str, path: str) -> GeneratedFile:
    """Queue the file of ``path`` (with its query string) for ``user``; the same page asked again
    while its file is being made gives the file already on its way."""
    with writing(), Session(_engine()) as session:
        existing = session.exec(select(GeneratedFile).where(
            GeneratedFile.user_id == user.id, GeneratedFile.path == path,
            GeneratedFile.status == FileStatus.pending)).first()
        if existing is not None:
            return existing
        found = GeneratedFile(user_id=user.id, title=title[:200], path=path[:1000],
                              expires_at=clock.now() + keep_for())
        session.add(found)
        session.flush()
        job = queue.enqueue(session, "render", {"file_id": found.id}, key=f"render:{found.id}",
                            requested_by_id=user.id)
        found.job_id = job.id
        session.add(found)
        session.commit()
        return found


def listed(session: Session, user_id: int) -> list[GeneratedFile]:
    return list(session.exec(select(GeneratedFile).where(GeneratedFile.user_id == user_id,
                                                          GeneratedFile.expires_at > clock.now())
                             .order_by(GeneratedFile.id.desc()).limit(100)).all())


def load_file_for(session: Session, user, file_id: int) -> GeneratedFile:
    """The requester's own file, while it is kept; anyone else (an admin too) gets 404."""
    found = session.get(GeneratedFile, file_id)
    if found is None or found.user_id != getattr(user, "id", None) or found.expires_at <= clock.now():
        raise NotFound(_("This page does not exist, or you cannot see it."))
    return found


# --- the ``render`` job -------------------------------------------------------------------------------

def _filename(disposition: str) -> str:
    found = re.search(r"filename\*=UTF-8''([^;]+)", disposition or "")
    if found:
        return unquote(found.group(1))
    found = re.search(r'filename="([^"]+)"', disposition or "")
    return found.group(1) if found else "download"


def render(run: JobRun) -> None:
    app = current_app._get_current_object()
    file_id = run.params["file_id"]
    with Session(_engine()) as session:
        found = session.get(GeneratedFile, file_id)
        if found is None:
            raise GiveUp(f"file {file_id} is gone")
        if found.status == FileStatus.ready:
            return
        user = session.get(User, found.user_id)
        if user is None or not user.active:
            raise GiveUp("the account that asked for it is switched off")
        session.expunge(user)
        path, _sep, query = found.path.partition("?")
    scratch = Path(tempfile.mkdtemp(prefix="render-"))
    body = scratch / "body"
    try:
        with app.test_request_context(path, query_string=query, environ_overrides={DEFERRED: True}):
            login_user(user)
            response = app.full_dispatch_request()
            try:
                if response.status_code != 200:
                    raise GiveUp(f"the page answered {response.status_code}")
                with open(body, "wb") as out:
                    for chunk in response.iter_encoded():
                        out.write(chunk)
                mimetype = response.mimetype or "application/octet-stream"
                filename = _filename(response.headers.get("Content-Disposition", ""))
            finally:
                response.close()
        size = body.stat().st_size
        key = f"{new_prefix('files')}/{STORED_NAMES.get(mimetype, 'file.bin')}"
        get_storage().put_file(key, body, mimetype)
    finally:
        body.unlink(missing_ok=True)
        os.rmdir(scratch)
    with writing(), Session(_engine()) as session:
        found = session.get(GeneratedFile, file_id)
        found.status, found.storage_key, found.filename, found.mimetype = FileStatus.ready, key, filename[:255], mimetype
        found.size, found.ready_at, found.expires_at = size, clock.now(), clock.now() + keep_for()
        session.add(found)
        notify(session, user_ids=[found.user_id], kind="file_ready", params={"title": found.title},
               link=f"/files/{found.id}")
        log.info("file %s ready for user %s: %s (%d bytes)", file_id, found.user_id, found.title, size)
        session.commit()


def on_dead(run: JobRun, error: str) -> None:
    with writing(), Session(_engine()) as session:
        found = session.get(GeneratedFile, run.params["file_id"])
        if found is None:
            return
        found.status, found.error = FileStatus.failed, error[:300]
        session.add(found)
        notify(session, user_ids=[found.user_id], kind="file_failed", params={"title": found.title}, link="/files")
        session.commit()


# --- removal after a day ---------------------------------------------------------------------------------

def cleanup(run: JobRun | None = None) -> int:
    """Remove the files past their day (row and stored file), and stored files no row names that a
    killed worker left (older than two days)."""
    storage = get_storage()
    removed = 0
    with writing(), Session(_engine()) as session:
        expired = session.exec(select(GeneratedFile).where(GeneratedFile.expires_at <= clock.now())).all()
        for found in expired:
            if found.storage_key:
                storage.delete(found.storage_key)
            session.delete(found)
            removed += 1
        session.commit()
    with Session(_engine()) as session:
        candidates = list(storage.prefixes("files", dt.timedelta(days=2)))
        for start in range(0, len(candidates), 500):
            chunk = candidates[start:start + 500]
            kept = {k.rsplit("/", 1)[0] for k in session.exec(select(GeneratedFile.storage_key).where(
                sa.or_(*[GeneratedFile.storage_key.startswith(p) for p in chunk]))).all()}
            for prefix in chunk:
                if prefix not in kept:
                    storage.delete_prefix(prefix)
                    removed += 1
    return removed
