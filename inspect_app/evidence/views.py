from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.db import get_session, on_rollback, writing
from inspect_app.errors import DomainError
from inspect_app.evidence import services
from inspect_app.evidence.imaging import MAX_BYTES
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.http import run_json

bp = Blueprint("evidence", __name__)


def upload_outside_the_lock(service: Callable[..., Any], data: bytes):
    """One photo upload in three steps, so the slow part holds no database lock (the view is
    decorated with ``db.lock_on_write_only``):

    1. ``service(db, plan_only=True)``: every check, with reads only; a retry is answered at once;
    2. the read ends; the photo is decoded, copied and written to storage (100–150 ms for 12 MP);
    3. ``service(db, prepared=…)`` inside ``writing()``: the checks again (quick) and the row, the
       only part under the write lock. A refusal there removes the files of step 2.
    """
    db = get_session()
    try:
        plan = service(db, plan_only=True, prepared=None)
        existing = photo_json(plan.existing) if plan.existing is not None else None
    except DomainError as exc:
        db.rollback()
        return jsonify(error=exc.message), exc.status_code
    db.rollback()  # the read ends here: nothing below holds a lock while the photo is worked on
    if existing is not None:
        return jsonify(photo=existing, created=False), 200
    storage = get_storage()
    try:
        prepared = services.prepare_photo(storage, outlet_code=plan.outlet_code, zone=plan.zone, data=data,
                                          date_only_stamp=plan.date_only_stamp)
    except DomainError as exc:
        return jsonify(error=exc.message), exc.status_code
    on_rollback(db, lambda: services.discard(storage, prepared))
    with writing():
        return run_json(lambda db: service(db, plan_only=False, prepared=prepared),
                        lambda stored: {"photo": photo_json(stored[0]), "created": stored[1]},
                        status=lambda stored: 201 if stored[1] else 200)


def read_upload() -> bytes | None:
    """The photo file of a multipart upload, read up to one byte over the limit (the pipeline
    refuses what is too large with a clear message); None when no file came."""
    upload_file = request.files.get("file")
    return None if upload_file is None else upload_file.read(MAX_BYTES + 1)


def photo_json(photo: Photo) -> dict:
    return {"id": photo.id, "item_code": photo.item_code, "purpose": photo.purpose, "sha256": photo.sha256,
            "thumb": url_for("evidence.photo", photo_id=photo.id, variant="thumb"),
            "display": url_for("evidence.photo", photo_id=photo.id, variant="display"),
            "delete": url_for("evidence.delete", photo_id=photo.id),
            "taken_at": photo.taken_at.isoformat() if photo.taken_at else None, "client_id": photo.client_id}


@bp.route("/api/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete(photo_id: int):
    db = get_session()
    photo = db.get(Photo, photo_id)
    if photo is None or not services.can_view_photo(db, current_user, photo):
        abort(404)
    return run_json(lambda db: services.remove_photo(db, actor=current_user, photo=photo), lambda _photo: {"ok": True})


@bp.route("/photos/<int:photo_id>/<any(thumb, display, original):variant>")
@login_required
def photo(photo_id: int, variant: str):
    """Photos only through here: the viewer's right to the visit is checked on every request."""
    db = get_session()
    photo = db.get(Photo, photo_id)
    if photo is None or not services.can_view_photo(db, current_user, photo):
        abort(404)
    if variant == "original" and not permissions.may_download_original(current_user):
        abort(404)
    etag = f"{photo.sha256[:32]}-{variant}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(get_storage().get(services.key(photo, variant)),
                            mimetype=photo.content_type if variant == "original" else "image/jpeg")
    response.set_etag(etag)
    # The content under an id never changes; the browser may keep it, shared caches may not.
    response.headers["Cache-Control"] = "private, max-age=604800, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="photo-{photo.id}-{variant}.{"jpg" if variant != "original" else photo.content_type.split("/")[1]}"'
    return response
