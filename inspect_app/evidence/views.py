from __future__ import annotations

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.db import get_session
from inspect_app.evidence import services
from inspect_app.evidence.imaging import MAX_BYTES
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.http import run_json

bp = Blueprint("evidence", __name__)


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
