from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app.db import get_session
from inspect_app.errors import DomainError
from inspect_app.evidence import services
from inspect_app.evidence.imaging import MAX_BYTES
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.visits.views import load_visit

bp = Blueprint("evidence", __name__)


def photo_json(photo: Photo) -> dict:
    return {"id": photo.id, "item_code": photo.item_code, "purpose": photo.purpose, "sha256": photo.sha256,
            "thumb": url_for("evidence.photo", photo_id=photo.id, variant="thumb"),
            "display": url_for("evidence.photo", photo_id=photo.id, variant="display"),
            "delete": url_for("evidence.delete", photo_id=photo.id),
            "taken_at": photo.taken_at.isoformat() if photo.taken_at else None, "client_id": photo.client_id}


@bp.route("/api/visits/<int:visit_id>/photos", methods=["POST"])
@login_required
def upload(visit_id: int):
    visit = load_visit(visit_id)
    upload_file = request.files.get("file")
    if upload_file is None:
        return jsonify(error=_("No photo was received. Try again.")), 400
    data = upload_file.read(MAX_BYTES + 1)
    db = get_session()
    try:
        photo, created = services.add_visit_photo(
            db, get_storage(), actor=current_user, visit=visit, data=data,
            item_code=request.form.get("item_code") or None, purpose=request.form.get("purpose") or "item",
            client_id=(request.form.get("client_id") or "")[:64] or None,
        )
    except DomainError as exc:
        db.rollback()
        return jsonify(error=exc.message), exc.status_code
    db.commit()
    return jsonify(photo=photo_json(photo), created=created), 201 if created else 200


@bp.route("/api/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete(photo_id: int):
    db = get_session()
    photo = db.get(Photo, photo_id)
    if photo is None or not services.can_view_photo(db, current_user, photo):
        abort(404)
    try:
        services.delete_visit_photo(db, actor=current_user, photo=photo)
    except DomainError as exc:
        return jsonify(error=exc.message), exc.status_code
    db.commit()
    return jsonify(ok=True)


@bp.route("/photos/<int:photo_id>/<any(thumb, display, original):variant>")
@login_required
def photo(photo_id: int, variant: str):
    """Photos only through here: the viewer's right to the visit is checked on every request."""
    db = get_session()
    photo = db.get(Photo, photo_id)
    if photo is None or not services.can_view_photo(db, current_user, photo):
        abort(404)
    if variant == "original" and not services.may_download_original(current_user):
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
