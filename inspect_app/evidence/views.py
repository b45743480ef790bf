from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.db import get_session, on_rollback, writing
from inspect_app.errors import DomainError
from inspect_app.evidence import imaging, markup, services, signatures
from inspect_app.evidence.imaging import MAX_BYTES
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature
from inspect_app.evidence.storage import get_storage
from inspect_app.http import Payload, run_json

bp = Blueprint("evidence", __name__)


def upload_outside_the_lock(service: Callable[..., Any], data: bytes, *, to_json: Callable[[Any], dict] | None = None,
                            name: str = "photo"):
    """One photo upload in three steps, so the slow part holds no database lock (the view is
    decorated with ``db.lock_on_write_only``):

    1. ``service(db, plan_only=True)``: every check, with reads only; a retry is answered at once;
    2. the read ends; the photo is decoded, copied and written to storage (100–150 ms for 12 MP);
    3. ``service(db, prepared=…)`` inside ``writing()``: the checks again (quick) and the row, the
       only part under the write lock. A refusal there removes the files of step 2.

    The plan prepares the files (``plan.prepare(storage, data)``): a photo's copies, or a marked
    copy's (``to_json`` and ``name`` say how the stored object is answered).
    """
    to_json = to_json or photo_json
    db = get_session()
    try:
        plan = service(db, plan_only=True, prepared=None)
        existing = to_json(plan.existing) if plan.existing is not None else None
    except DomainError as exc:
        db.rollback()
        return jsonify(error=exc.message), exc.status_code
    db.rollback()  # the read ends here: nothing below holds a lock while the photo is worked on
    if existing is not None:
        return jsonify({name: existing, "created": False}), 200
    storage = get_storage()
    try:
        prepared = plan.prepare(storage, data)
    except DomainError as exc:
        return jsonify(error=exc.message), exc.status_code
    on_rollback(db, lambda: prepared.discard(storage))
    with writing():
        return run_json(lambda db: service(db, plan_only=False, prepared=prepared),
                        lambda stored: {name: to_json(stored[0]), "created": stored[1]},
                        status=lambda stored: 201 if stored[1] else 200)


def read_upload() -> bytes | None:
    """The photo file of a multipart upload, read up to one byte over the limit (the pipeline
    refuses what is too large with a clear message); None when no file came."""
    upload_file = request.files.get("file")
    return None if upload_file is None else upload_file.read(MAX_BYTES + 1)


def photo_json(photo: Photo) -> dict:
    return {"id": photo.id, "item_code": photo.item_code, "purpose": photo.purpose, "sha256": photo.sha256,
            "thumb": photo_url(photo, "thumb"), "display": photo_url(photo, "display"),
            "plain": url_for("evidence.photo", photo_id=photo.id, variant="display"),
            "original": url_for("evidence.photo", photo_id=photo.id, variant="original"),
            "width": photo.width, "height": photo.height, "markup_id": photo.markup_id,
            "delete": url_for("evidence.delete", photo_id=photo.id),
            "taken_at": photo.taken_at.isoformat() if photo.taken_at else None, "client_id": photo.client_id}


def markup_json(markup: PhotoMarkup) -> dict:
    return {"id": markup.id, "photo_id": markup.photo_id, "sha256": markup.sha256, "client_id": markup.client_id,
            "thumb": url_for("evidence.marked", photo_id=markup.photo_id, markup_id=markup.id, variant="thumb"),
            "display": url_for("evidence.marked", photo_id=markup.photo_id, markup_id=markup.id, variant="display"),
            "shapes": markup.shapes}


def signature_json(found: Signature) -> dict:
    return {"id": found.id, "purpose": found.purpose, "name": found.signer_name, "post": found.signer_post,
            "refused": found.refused, "reason": found.refusal_reason, "client_id": found.client_id,
            "image": url_for("evidence.signature", signature_id=found.id) if found.storage_key else None,
            "signed_at": (found.signed_at or found.received_at).isoformat(), "received_at": found.received_at.isoformat()}


def read_signature() -> signatures.SignatureInput:
    """A signature sent with a form or from the outbox: the fields ``signer_name``, ``signer_post``,
    ``refused`` ("1"), ``refusal_reason``, ``signed_at`` (ISO, the phone's clock), ``signature_client_id``
    and the PNG as the file ``signature`` or a ``data:image/png;base64,…`` field ``signature_png``
    (a plain form's hidden field). Nothing is checked here but the sizes: the service checks it."""
    form = request.form
    image = None
    upload_file = request.files.get("signature")
    if upload_file is not None:
        image = upload_file.read(imaging.SIGNATURE_MAX_BYTES + 1)
    elif form.get("signature_png", "").startswith("data:image/png;base64,"):
        encoded = form["signature_png"].split(",", 1)[1]
        try:
            image = base64.b64decode(encoded, validate=True)  # the form's size is capped by Flask
        except (ValueError, binascii.Error):
            image = b"not a png"  # refused by the check in the user's words, not here
    try:
        signed_at = Payload({"at": form.get("signed_at") or None}).datetime("at")
    except DomainError:
        signed_at = None
    return signatures.SignatureInput(
        name=form.get("signer_name", "")[:200], post=form.get("signer_post", "")[:200], image=image or None,
        refused=form.get("refused") == "1", reason=form.get("refusal_reason", "")[:1000], signed_at=signed_at,
        client_id=(form.get("signature_client_id") or "")[:64] or None)


def photo_url(photo: Photo, variant: str) -> str:
    """The copy to show: a photo marked up is shown (and printed) as its marked copy; the plain
    one stays one tap away (``variant`` "display" through ``evidence.photo``)."""
    if photo.markup_id and variant in ("thumb", "display"):
        return url_for("evidence.marked", photo_id=photo.id, markup_id=photo.markup_id, variant=variant)
    return url_for("evidence.photo", photo_id=photo.id, variant=variant)


@bp.route("/api/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete(photo_id: int):
    db = get_session()
    photo = db.get(Photo, photo_id)
    if photo is None or not services.can_view_photo(db, current_user, photo):
        abort(404)
    return run_json(lambda db: services.remove_photo(db, actor=current_user, photo=photo), lambda _photo: {"ok": True})


def _file_response(read, *, etag: str, mimetype: str, filename: str) -> Response:
    """A stored file whose content never changes under its URL: cached privately, never sniffed."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(read(), mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=604800, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route("/photos/<int:photo_id>/marked/<int:markup_id>/<any(thumb, display):variant>")
@login_required
def marked(photo_id: int, markup_id: int, variant: str):
    """A marked copy of a photo: whoever may see the photo may see its marks."""
    db = get_session()
    photo = db.get(Photo, photo_id)
    found = db.get(PhotoMarkup, markup_id)
    if photo is None or found is None or found.photo_id != photo.id or not services.can_view_photo(db, current_user, photo):
        abort(404)
    return _file_response(lambda: get_storage().get(markup.key(found, variant)), etag=f"{found.sha256[:32]}-m{variant}",
                          mimetype="image/jpeg", filename=f"photo-{photo.id}-marked-{variant}.jpg")


@bp.route("/signatures/<int:signature_id>.png")
@login_required
def signature(signature_id: int):
    """A signature's image, for whoever may see the object it signs (the owning domain says)."""
    db = get_session()
    found = db.get(Signature, signature_id)
    if found is None or found.storage_key is None or not signatures.can_view(db, current_user, found):
        abort(404)
    return _file_response(lambda: get_storage().get(signatures.key(found)), etag=f"{found.sha256[:32]}-sig",
                          mimetype="image/png", filename=f"signature-{found.id}.png")


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
    extension = "jpg" if variant != "original" else photo.content_type.split("/")[1]
    return _file_response(lambda: get_storage().get(services.key(photo, variant)), etag=f"{photo.sha256[:32]}-{variant}",
                          mimetype=photo.content_type if variant == "original" else "image/jpeg",
                          filename=f"photo-{photo.id}-{variant}.{extension}")
