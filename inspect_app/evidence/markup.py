"""Photo markup (标注): circles, arrows and short labels an inspector draws on a finding's photo.

The photo is never touched. The phone sends the marked copy it drew and the shapes as data; the
copy goes through the photo pipeline (decoded by its content within the photo limits, display and
thumbnail copies stamped like the photo's own) and is stored beside the photo under its own
prefix, hashed; the shapes are checked and kept in the photo's pixel coordinates, so the marks
can be drawn again. Evidence knows no domain: the visit service decides who may mark what.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.actors import Actor
from inspect_app.audit.services import record
from inspect_app.db import on_rollback
from inspect_app.errors import Conflict, DomainError
from inspect_app.evidence import imaging
from inspect_app.evidence.models import Photo, PhotoMarkup
from inspect_app.evidence.storage import Storage, new_prefix
from inspect_app.org.models import Outlet

MAX_SHAPES = 40
MAX_LABEL = 20
MAX_JSON = 32 * 1024
#: How far the picture the marks were drawn on may differ in shape from the photo (rounding when
#: the phone scaled it down).
ASPECT_TOLERANCE = 0.02
DEFAULT_COLOUR = "#e11d48"
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
FIELDS = {"circle": ("x", "y", "r"), "arrow": ("x1", "y1", "x2", "y2"), "text": ("x", "y")}
VARIANTS = {"original": "original", "display": "display.jpg", "thumb": "thumb.jpg"}


class MarkupRejected(DomainError):
    status_code = 422


def _unreadable() -> MarkupRejected:
    return MarkupRejected(_("The marks could not be read. Draw them again."))


def parse_shapes(raw: str | None, *, width: int, height: int) -> dict[str, Any]:
    """The shapes as stored, in the photo's coordinates (``width`` × ``height``), or the refusal
    of the whole markup in the user's words. Nothing partial is ever kept."""
    if not raw or len(raw) > MAX_JSON:
        raise _unreadable()
    try:
        data = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise _unreadable() from None
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise _unreadable()
    w, h = _number(data.get("w")), _number(data.get("h"))
    if w <= 0 or h <= 0:
        raise _unreadable()
    if abs(w / h - width / height) > ASPECT_TOLERANCE * (width / height):
        raise MarkupRejected(_("The marks were drawn on a picture of another shape than this photo."))
    if not data["shapes"]:
        raise MarkupRejected(_("Draw at least one circle, arrow or label."))
    if len(data["shapes"]) > MAX_SHAPES:
        raise MarkupRejected(_("At most %(n)d marks on one photo.", n=MAX_SHAPES))
    scale = width / w
    return {"w": width, "h": height, "shapes": [_shape(s, w, h, scale) for s in data["shapes"]]}


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _unreadable()
    return float(value)


def _shape(raw, w: float, h: float, scale: float) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") not in FIELDS:
        raise _unreadable()
    kind = raw["type"]
    shape: dict[str, Any] = {"type": kind}
    for name in FIELDS[kind]:
        value = _number(raw.get(name))
        limit = max(w, h) if name == "r" else (w if name.startswith("x") else h)
        low = 1 if name == "r" else -0.05 * limit
        if not low <= value <= 1.05 * limit:
            raise MarkupRejected(_("A mark lies outside the photo. Draw it again."))
        shape[name] = round(value * scale, 1)
    colour = raw.get("color", DEFAULT_COLOUR)
    if not isinstance(colour, str) or not COLOUR.match(colour):
        raise _unreadable()
    shape["color"] = colour.lower()
    if kind == "text":
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip() or "\x00" in text:
            raise MarkupRejected(_("A label needs a few words."))
        if len(text.strip()) > MAX_LABEL:
            raise MarkupRejected(_("A label may have at most %(n)d characters.", n=MAX_LABEL))
        shape["text"] = text.strip()
    return shape


def stamp_of(photo: Photo, outlet: Outlet, *, date_only: bool) -> str:
    """The stamp the photo's own display copy carries: the marked copy shows the same."""
    local = photo.received_at.astimezone(clock.zone(outlet.timezone))
    return f"{outlet.code}  {local:%Y-%m-%d}" if date_only else f"{outlet.code}  {local:%Y-%m-%d %H:%M}"


@dataclass
class PreparedMarkup:
    """The marked copy checked, copied and written, before any row (outside the write lock)."""

    processed: imaging.Processed
    prefix: str
    keys: list[str] = field(default_factory=list)

    def discard(self, storage: Storage) -> None:
        for key in self.keys:
            storage.delete(key)
        self.keys = []


@dataclass
class MarkupPlan:
    """What a markup upload will be, found with reads only: the markup it repeats, or how to
    prepare its copies."""

    existing: PhotoMarkup | None
    photo: Photo | None = None
    stamp: str = ""

    def prepare(self, storage: Storage, data: bytes) -> PreparedMarkup:
        return prepare(storage, photo=self.photo, data=data, stamp=self.stamp)


def prepare(storage: Storage, *, photo: Photo, data: bytes, stamp: str) -> PreparedMarkup:
    """Check the marked copy like a photo (and that it is this photo's shape), make its display
    and thumbnail copies and write the three files. A refusal leaves nothing behind."""
    try:
        processed = imaging.process(data, stamp_text=stamp)
    except imaging.PhotoRejected as exc:
        raise MarkupRejected(_("The marked copy is not a usable image: %(why)s", why=exc.message)) from None
    if abs(processed.width / processed.height - photo.width / photo.height) > ASPECT_TOLERANCE * (photo.width / photo.height):
        raise MarkupRejected(_("The marked copy does not match this photo."))
    prepared = PreparedMarkup(processed=processed, prefix=new_prefix("markups"))
    try:
        for variant, content, content_type in (("original", data, processed.content_type),
                                               ("display.jpg", processed.display, "image/jpeg"),
                                               ("thumb.jpg", processed.thumb, "image/jpeg")):
            storage.put(f"{prepared.prefix}/{variant}", content, content_type)
            prepared.keys.append(f"{prepared.prefix}/{variant}")
    except BaseException:
        prepared.discard(storage)
        raise
    return prepared


def repeat_of(session: Session, *, actor: Actor, photo: Photo, data: bytes, client_id: str | None) -> PhotoMarkup | None:
    """The markup this upload repeats (same client id): a retry after a lost reply."""
    if not client_id:
        return None
    earlier = session.exec(select(PhotoMarkup).where(PhotoMarkup.created_by_id == actor.id,
                                                     PhotoMarkup.client_id == client_id)).first()
    if earlier is None:
        return None
    if earlier.photo_id != photo.id or earlier.sha256 != hashlib.sha256(data).hexdigest():
        raise Conflict(_("This markup id was already used for other marks."))
    return earlier


def store(session: Session, storage: Storage, *, actor: Actor, photo: Photo, data: bytes, shapes: dict[str, Any],
          client_id: str | None, prepared: PreparedMarkup) -> tuple[PhotoMarkup, bool]:
    """Record a markup (shapes checked by ``parse_shapes``, copies by ``prepare``) and show it in
    the photo's place; the one it replaces stays, marked replaced. Returns (markup, created)."""
    earlier = repeat_of(session, actor=actor, photo=photo, data=data, client_id=client_id)
    if earlier is not None:
        prepared.discard(storage)  # the same markup landed meanwhile (a retry racing the first try)
        return earlier, False
    now = clock.now()
    processed = prepared.processed
    try:
        markup = PhotoMarkup(photo_id=photo.id, shapes=shapes, sha256=hashlib.sha256(data).hexdigest(),
                             storage_key=prepared.prefix, content_type=processed.content_type,
                             width=processed.width, height=processed.height, size_bytes=len(data),
                             created_by_id=actor.id, received_at=now, client_id=client_id)
        session.add(markup)
        session.flush()
    except BaseException:
        prepared.discard(storage)
        raise
    written = list(prepared.keys)
    on_rollback(session, lambda: [storage.delete(k) for k in written])
    before = photo.markup_id
    if before is not None:
        replaced = session.get(PhotoMarkup, before)
        if replaced is not None:
            replaced.replaced_at = now
            session.add(replaced)
    photo.markup_id = markup.id
    session.add(photo)
    session.flush()
    record(session, actor=actor, action="photo.marked", obj=photo,
           before={"markup_id": before}, after={"markup_id": markup.id, "sha256": markup.sha256,
                                               "shapes": len(shapes["shapes"])})
    return markup, True


def key(markup: PhotoMarkup, variant: str) -> str:
    return f"{markup.storage_key}/{VARIANTS[variant]}"


def current_of(session: Session, photos: list[Photo]) -> dict[int, PhotoMarkup]:
    """The markups shown in these photos' place, by markup id (for a PDF's allowed files)."""
    ids = {p.markup_id for p in photos if p.markup_id}
    if not ids:
        return {}
    return {m.id: m for m in session.exec(select(PhotoMarkup).where(PhotoMarkup.id.in_(ids))).all()}
