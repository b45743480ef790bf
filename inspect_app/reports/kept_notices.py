"""Notice PDFs kept once rendered (整改通知书): the same document is served again, not rendered again.

The same notice is downloaded again and again (the chief, the inspector, the manager chasing it)
while it changes a few times in its life; a 100-line notice costs Typst about 0.1 s of CPU (over a
second while WeasyPrint set it), its kept copy a read. Each render is kept with a digest of
everything that decides its bytes:

- the viewer's own paper data (``notice_paper``), which already holds what differs between viewers
  (a shopper's code name or name) and what changes with time (days late, statuses, acknowledgement,
  reviews);
- the stored files it prints: photos, their current markups and the signatures (ids, storage
  keys and checksums: a new markup or signature is a new row, a new file a new key);
- the renderer: the Typst template, this package's notice and PDF code and Typst's version
  (``renderer_version``).

A download whose digest is kept gets the kept bytes; any other renders (or, when long, is made by
the worker) and is kept. Since the digest is of the viewer's own HTML, a copy is never served to a
viewer whose document would differ, and the permission checks run before any of this (the view
loads the notice first). One copy is kept per notice and *audience* (how the viewer's paper names
people: ``reports.views._audience``): a new render for the same audience replaces the old copy and
removes its file, so a notice holds at most a few copies whatever its history.
"""
from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable

import typst
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import writing
from inspect_app.evidence.storage import new_prefix
from inspect_app.reports.models import KeptNoticePdf

log = logging.getLogger(__name__)

#: Raise when the rendering changes in a way the files hashed by ``renderer_version`` do not show.
FORMAT = "2"
_RENDERER_FILES = ("templates/reports/notice.typ", "inspect_app/reports/notice_paper.py", "inspect_app/reports/pdf.py")


@functools.cache
def renderer_version() -> str:
    """What turns the paper's data into bytes, as a digest: read once per process (a deploy restarts it)."""
    digest = hashlib.sha256(f"{FORMAT}\0{typst.__version__}\0".encode())
    for name in _RENDERER_FILES:
        digest.update(name.encode() + b"\0" + (PROJECT_ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()


def digest_of(source: str, *, photos: Iterable, markups: Iterable, signatures: Iterable) -> str:
    """The digest of a notice's PDF for one viewer: their paper data and the stored files it prints."""
    digest = hashlib.sha256(renderer_version().encode() + b"\0" + source.encode() + b"\0")
    for kind, rows in (("photo", photos), ("markup", markups), ("signature", signatures)):
        for row in sorted(rows, key=lambda r: r.id):
            digest.update(f"{kind}\0{row.id}\0{row.storage_key or ''}\0{row.sha256 or ''}\0".encode())
    return digest.hexdigest()


def find(session: Session, notice_id: int, digest: str) -> KeptNoticePdf | None:
    return session.exec(select(KeptNoticePdf).where(KeptNoticePdf.notice_id == notice_id,
                                                    KeptNoticePdf.digest == digest)).first()


def read(storage, kept: KeptNoticePdf) -> bytes | None:
    """The kept bytes, or None when the file cannot be read (then the notice is rendered again)."""
    try:
        return storage.get(kept.storage_key)
    except Exception:  # a missing or unreadable file is a cache miss, not an error page
        log.warning("kept notice PDF %s unreadable (%s); rendering again", kept.id, kept.storage_key, exc_info=True)
        return None


def keep(engine, storage, *, notice_id: int, audience: str, digest: str, data: bytes) -> None:
    """Keep ``data`` as this audience's copy of the notice, replacing (and removing) the one
    before. The file is stored before its row commits; a row that does not land removes it again.
    Written in its own short transaction: the download is a GET and writes nothing else."""
    key = f"{new_prefix('kept')}/notice.pdf"
    storage.put(key, data, "application/pdf")
    old_key = None
    try:
        with writing(), Session(engine) as session:
            row = session.exec(select(KeptNoticePdf).where(KeptNoticePdf.notice_id == notice_id,
                                                           KeptNoticePdf.audience == audience)).first()
            if row is not None and row.digest == digest:  # kept meanwhile by another render
                storage.delete(key)
                return
            if row is None:
                row = KeptNoticePdf(notice_id=notice_id, audience=audience, digest=digest, storage_key=key)
            else:
                old_key = row.storage_key
            row.digest, row.storage_key, row.size, row.kept_at = digest, key, len(data), clock.now()
            session.add(row)
            session.commit()
    except IntegrityError:  # the same audience's copy, kept by another process a moment ago
        log.info("notice %s: a copy for this audience was kept concurrently", notice_id)
        storage.delete(key)
        return
    except Exception:
        storage.delete(key)
        raise
    if old_key:
        storage.delete(old_key)
