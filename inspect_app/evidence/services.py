"""Taking photos in: checks, dedupe of retries, files written before the row, cleanup on failure."""
from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.actors import Actor
from inspect_app.audit.services import record
from inspect_app.db import on_rollback
from inspect_app.errors import Conflict, PermissionDenied
from inspect_app.evidence import checks, imaging
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature
from inspect_app.evidence.storage import Storage, StorageFull, new_prefix
from inspect_app.org.models import Outlet

MAX_PHOTOS_PER_ITEM = 6
MAX_PHOTOS_PER_VISIT = 60
PURPOSES = ("item", "receipt", "general")

VARIANTS = {"original": "original", "display": "display.jpg", "thumb": "thumb.jpg"}


def key(photo: Photo, variant: str) -> str:
    return f"{photo.storage_key}/{VARIANTS[variant]}"


def sized_copy(storage: Storage, photo: Photo, variant: str, box: tuple[int, int]) -> bytes:
    """The ``variant`` copy of a photo resized to cover ``box`` pixels (what a PDF shows), made
    once and kept beside the photo's other copies, keyed by the photo's hash and the size: a
    second render reads it back instead of decoding and resizing again. Removing the photo's
    folder removes it too. A copy that cannot be kept (storage full) is still returned."""
    return sized_copy_of(storage, key(photo, variant), photo.storage_key, photo.sha256, variant, box)


def sized_copy_of(storage: Storage, source: str, folder: str, sha256: str, variant: str,
                  box: tuple[int, int]) -> bytes:
    """``sized_copy`` for any stored image (a photo's copy, a marked copy): ``source`` resized to
    cover ``box``, kept in ``folder`` under the image's hash and the size."""
    cached = f"{folder}/{variant}{box[0]}x{box[1]}{sha256[:16]}.jpg"
    if storage.exists(cached):
        return storage.get(cached)
    data = imaging.sized_copy(storage.get(source), box)
    try:
        storage.put(cached, data, "image/jpeg")
    except StorageFull:
        pass
    return data


PHOTO_THREAD_NICE = 10
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PHOTO_THREAD_NICE)  # this thread only (Linux)
    except (AttributeError, OSError):  # not on this platform: the photo is still processed
        pass


def _photo_threads() -> ThreadPoolExecutor:
    """Per process, made on first use (after gunicorn forks its workers)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo", initializer=_lower_priority)
        return _pool


@dataclass
class PreparedPhoto:
    """A photo decoded, copied and written to storage, before any row exists: the slow part of an
    upload (100–150 ms for 12 MP) runs outside the database transaction, so it holds no lock."""

    processed: imaging.Processed
    prefix: str
    keys: list[str]
    received_at: dt.datetime

    def discard(self, storage: Storage) -> None:
        discard(storage, self)


@dataclass
class PhotoPlan:
    """What an upload will be, found with reads only: the photo it repeats (a retry), or the
    outlet facts its copies are stamped with."""

    existing: Photo | None
    outlet_code: str
    zone: str
    date_only_stamp: bool

    def prepare(self, storage: Storage, data: bytes) -> PreparedPhoto:
        return prepare_photo(storage, outlet_code=self.outlet_code, zone=self.zone, data=data,
                             date_only_stamp=self.date_only_stamp)


def prepare_photo(storage: Storage, *, outlet_code: str, zone: str, data: bytes,
                  date_only_stamp: bool = False) -> PreparedPhoto:
    """Check and decode the upload, make its display and thumbnail copies and write all three.
    A refusal (``PhotoRejected``, ``StorageFull``) leaves nothing behind."""
    now = clock.now()
    local = now.astimezone(clock.zone(zone))
    stamp = f"{outlet_code}  {local:%Y-%m-%d}" if date_only_stamp else f"{outlet_code}  {local:%Y-%m-%d %H:%M}"
    # Decoding runs in threads of lower CPU priority: on a busy server the people saving answers
    # go first, and a photo takes a little longer (Pillow releases the GIL while it decodes).
    # The request's context goes along (a refusal speaks the user's language).
    context = contextvars.copy_context()
    processed = _photo_threads().submit(context.run, imaging.process, data, stamp_text=stamp, zone=zone).result()
    prefix = new_prefix()
    prepared = PreparedPhoto(processed=processed, prefix=prefix, keys=[], received_at=now)
    try:
        for variant, content, content_type in (("original", data, processed.content_type),
                                               ("display.jpg", processed.display, "image/jpeg"),
                                               ("thumb.jpg", processed.thumb, "image/jpeg")):
            storage.put(f"{prefix}/{variant}", content, content_type)
            prepared.keys.append(f"{prefix}/{variant}")
    except BaseException:
        discard(storage, prepared)
        raise
    return prepared


def discard(storage: Storage, prepared: PreparedPhoto) -> None:
    for key in prepared.keys:
        storage.delete(key)
    prepared.keys = []


def stored_already(session: Session, *, actor: Actor, data: bytes, client_id: str | None, same_place) -> Photo | None:
    """The photo this upload repeats (same upload id, or the same bytes at the same place): a retry
    after a lost reply, answered with what is stored. The same id with other bytes is refused."""
    if client_id:
        earlier = session.exec(select(Photo).where(Photo.uploaded_by_id == actor.id, Photo.client_id == client_id)).first()
        if earlier is not None:
            if earlier.deleted_at is None and earlier.sha256 == hashlib.sha256(data).hexdigest():
                return earlier
            raise Conflict(_("This upload id was already used for another photo."))
    digest = hashlib.sha256(data).hexdigest()
    return session.exec(same_place(select(Photo)).where(Photo.sha256 == digest, Photo.deleted_at.is_(None))).first()


def plan_photo(session: Session, *, actor: Actor, outlet: Outlet, data: bytes, client_id: str | None, same_place,
               date_only_stamp: bool = False) -> PhotoPlan:
    return PhotoPlan(existing=stored_already(session, actor=actor, data=data, client_id=client_id, same_place=same_place),
                     outlet_code=outlet.code, zone=outlet.timezone, date_only_stamp=date_only_stamp)


def store_photo(
    session: Session,
    storage: Storage,
    *,
    actor: Actor,
    outlet: Outlet,
    data: bytes,
    client_id: str | None,
    visit_id: int | None = None,
    item_code: str | None = None,
    purpose: str = "item",
    response_id: int | None = None,
    line_id: int | None = None,
    complaint_id: int | None = None,
    same_place,
    date_only_stamp: bool = False,
    prepared: PreparedPhoto | None = None,
) -> tuple[Photo, bool]:
    """Decode, copy, store and record one photo; returns (photo, created).

    ``date_only_stamp``: the display copy is stamped with the date, not the time (a secret
    visit's photos must not date the shopper's visit to the minute). ``same_place`` filters existing photos to the ones a retry would have produced (the same
    visit item, or the same rectification response). Files are written before the row; if
    anything fails afterwards, the request's rollback removes them again.
    """
    earlier = stored_already(session, actor=actor, data=data, client_id=client_id, same_place=same_place)
    if earlier is not None:
        if prepared is not None:
            discard(storage, prepared)  # the same photo landed meanwhile (a retry racing the first try)
        return earlier, False
    digest = hashlib.sha256(data).hexdigest()
    if prepared is None:
        prepared = prepare_photo(storage, outlet_code=outlet.code, zone=outlet.timezone, data=data,
                                 date_only_stamp=date_only_stamp)
    processed, prefix, written, now = prepared.processed, prepared.prefix, prepared.keys, prepared.received_at
    try:
        photo = Photo(
            visit_id=visit_id, item_code=item_code, purpose=purpose, response_id=response_id, line_id=line_id,
            complaint_id=complaint_id, outlet_id=outlet.id,
            sha256=digest, storage_key=prefix, content_type=processed.content_type, width=processed.width,
            height=processed.height, size_bytes=len(data), taken_at=processed.taken_at, gps_lat=processed.gps_lat,
            gps_lon=processed.gps_lon, device=processed.device, uploaded_by_id=actor.id, received_at=now,
            client_id=client_id,
        )
        session.add(photo)
        session.flush()
    except BaseException:
        discard(storage, prepared)
        raise
    on_rollback(session, lambda: [storage.delete(k) for k in written])
    record(session, actor=actor, action="photo.added", obj=photo,
           after={"visit_id": visit_id, "item_code": item_code, "purpose": purpose, "sha256": digest,
                  "taken_at": photo.taken_at, "device": photo.device})
    return photo, True


# --- owners ------------------------------------------------------------------------------------
# Evidence serves every domain and knows none: the domain a photo belongs to (a visit's answer, a
# rectification answer) registers, at start-up, who may see and who may remove its photos.


@dataclass(frozen=True)
class PhotoOwner:
    """How the owning domain answers for its photos."""

    may_view: Callable[[Session, Actor, Photo], bool]
    #: Raises a ``DomainError`` (usually ``PermissionDenied``) when the actor may not remove it.
    check_remove: Callable[[Session, Actor, Photo], None]


#: Files of a photo are written before its row commits (outside the write lock); a folder younger
#: than this may belong to an upload still on its way to the database.
ORPHAN_GRACE = dt.timedelta(hours=1)


def sweep_orphan_files(session: Session, storage: Storage, older_than: dt.timedelta = ORPHAN_GRACE) -> int:
    """Remove photo, marked-copy and signature folders no row points to: what a killed process (an
    upload, a demo load cut short) wrote for a transaction that never committed. Returns how many
    folders went."""
    removed = 0
    for kind, column in (("photos", Photo.storage_key), ("markups", PhotoMarkup.storage_key),
                         ("signatures", Signature.storage_key)):
        candidates = list(storage.prefixes(kind, older_than))
        for start in range(0, len(candidates), 500):
            chunk = candidates[start:start + 500]
            kept = set(session.exec(select(column).where(column.in_(chunk))).all())
            for prefix in chunk:
                if prefix not in kept:
                    storage.delete_prefix(prefix)
                    removed += 1
    return removed


def register_owner(app: Flask, kind: str, owner: PhotoOwner) -> None:
    app.extensions.setdefault("photo_owners", {})[kind] = owner


def owner_kind(photo: Photo) -> str | None:
    """Which domain a photo belongs to, by the row it hangs on."""
    if photo.visit_id is not None:
        return "visit"
    if photo.line_id is not None:
        return "line"
    if photo.complaint_id is not None:
        return "complaint"
    return None


def _owner(photo: Photo) -> PhotoOwner | None:
    return current_app.extensions.get("photo_owners", {}).get(owner_kind(photo))


def can_view_photo(session: Session, user: Actor, photo: Photo) -> bool:
    if photo.deleted_at is not None and not permissions.is_admin(user):
        return False
    owner = _owner(photo)
    if owner is None:
        return permissions.is_admin(user)
    return owner.may_view(session, user, photo)


def remove_photo(session: Session, *, actor: Actor, photo: Photo) -> Photo:
    """A photo taken back before it was sent: the row stays (audited), marked deleted."""
    owner = _owner(photo)
    if owner is None:
        raise PermissionDenied(_("This photo cannot be removed here."))
    owner.check_remove(session, actor, photo)
    if photo.deleted_at is None:
        photo.deleted_at = clock.now()
        session.add(photo)
        record(session, actor=actor, action="photo.deleted", obj=photo)
    return photo


def reused_elsewhere(session: Session, photos: list[Photo]) -> dict[int, int]:
    """Photo id → how many other visits, answers or complaints hold the same picture (``checks``)."""
    return {pid: len(others) for pid, others in checks.same_picture_elsewhere(session, photos).items()}


def capture_time_flag(photo: Photo, visit) -> str | None:
    """'no_time' / 'before' / 'after' when the EXIF time does not fit the visit (``checks``)."""
    return checks.time_check(photo.taken_at, start=visit.checkin_at or visit.started_at,
                             end=visit.submitted_at or photo.received_at)
