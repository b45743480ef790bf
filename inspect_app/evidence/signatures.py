"""Signatures (签字) drawn on a phone, as evidence: the PNG checked by its content like a photo
(``imaging.check_signature``: decoded within size limits, enough ink to be a signature), hashed,
stored privately, and served only with the owning domain's check, as photos are.

A person may also refuse to sign (拒绝签字): the refusal is recorded with its reason, as paper forms
allow. Evidence knows no domain: the visit or rectification service checks who may sign what and
when, and registers (``register_owner``) who may see the signatures of its purpose.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.actors import Actor
from inspect_app.audit.services import record
from inspect_app.db import on_rollback
from inspect_app.errors import Conflict, DomainError
from inspect_app.evidence import imaging
from inspect_app.evidence.models import Signature
from inspect_app.evidence.storage import Storage, new_prefix

PURPOSES = ("visit_confirm", "notice_ack", "line_verify")
MAX_NAME = 40
MAX_POST = 40
MAX_REASON = 300
FILE = "signature.png"


@dataclass
class SignatureInput:
    """What the phone sent: the name and post written beside the signature, the PNG (none for a
    refusal), the refusal's reason, the phone's moment of signing and the id of this signing."""

    name: str = ""
    post: str = ""
    image: bytes | None = None
    refused: bool = False
    reason: str = ""
    signed_at: dt.datetime | None = None
    client_id: str | None = None

    @property
    def given(self) -> bool:
        """Whether anything was signed (or refused) at all."""
        return bool(self.image) or self.refused


def checked(sig: SignatureInput, *, allow_refusal: bool) -> SignatureInput:
    """The input with its texts trimmed, or the refusal in the user's words (before any file)."""
    name, post, reason = (sig.name or "").strip(), (sig.post or "").strip(), (sig.reason or "").strip()
    if not name:
        raise DomainError(_("Write the name of the person signing."))
    if len(name) > MAX_NAME or len(post) > MAX_POST:
        raise DomainError(_("The name and the post may have at most %(n)d characters each.", n=MAX_NAME))
    if sig.refused:
        if not allow_refusal:
            raise DomainError(_("A signature is needed here."))
        if len(reason) < 2:
            raise DomainError(_("Write why the person refuses to sign."))
        if len(reason) > MAX_REASON:
            raise DomainError(_("The reason may have at most %(n)d characters.", n=MAX_REASON))
        image = None
    else:
        image = sig.image
        if not image:
            raise imaging.PhotoRejected(_("The signature is empty: sign in the box first."))
        imaging.check_signature(image)
    now = clock.now()
    signed_at = sig.signed_at
    if signed_at is not None and not (now - dt.timedelta(days=7) <= signed_at <= now + dt.timedelta(minutes=10)):
        signed_at = None  # a phone's clock far off: the server's receipt time is what counts then
    return SignatureInput(name=name, post=post, image=image, refused=sig.refused, reason=reason if sig.refused else "",
                          signed_at=signed_at, client_id=(sig.client_id or None) and sig.client_id[:64])


def repeat_of(session: Session, *, actor: Actor, sig: SignatureInput,
              same_object: Callable[[Signature], bool]) -> Signature | None:
    """The signature this request repeats (the same client id): a retry after a lost reply, answered
    with what is stored. The same id for another object or another image is refused."""
    if not sig.client_id:
        return None
    earlier = session.exec(select(Signature).where(Signature.recorded_by_id == actor.id,
                                                   Signature.client_id == sig.client_id)).first()
    if earlier is None:
        return None
    same_image = (earlier.refused and sig.refused) or (
        sig.image is not None and earlier.sha256 == hashlib.sha256(sig.image).hexdigest())
    if not same_object(earlier) or not same_image:
        raise Conflict(_("This signature id was already used for another signature."))
    return earlier


def store(session: Session, storage: Storage, *, actor: Actor, purpose: str, outlet_id: int, sig: SignatureInput,
          visit_id: int | None = None, notice_id: int | None = None, line_id: int | None = None,
          event_id: int | None = None, replace: bool = False) -> Signature:
    """Record a checked signature (``checked``) for one object; ``replace`` marks the current one
    of the same purpose and object replaced (signed again before the visit was submitted). The
    file is written before the row and removed again if the request rolls back."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    now = clock.now()
    if replace:
        for earlier in current_of(session, purpose=purpose, visit_id=visit_id, notice_id=notice_id, line_id=line_id):
            earlier.replaced_at = now
            session.add(earlier)
    signature = Signature(
        purpose=purpose, visit_id=visit_id, notice_id=notice_id, line_id=line_id, event_id=event_id,
        outlet_id=outlet_id, signer_name=sig.name, signer_post=sig.post, refused=sig.refused,
        refusal_reason=sig.reason, signed_at=sig.signed_at, received_at=now, recorded_by_id=actor.id,
        client_id=sig.client_id)
    written: list[str] = []
    if sig.image is not None:
        width, height = imaging.check_signature(sig.image)
        prefix = new_prefix("signatures")
        storage.put(f"{prefix}/{FILE}", sig.image, "image/png")
        written.append(f"{prefix}/{FILE}")
        on_rollback(session, lambda: [storage.delete(k) for k in written])
        signature.storage_key, signature.sha256 = prefix, hashlib.sha256(sig.image).hexdigest()
        signature.width, signature.height, signature.size_bytes = width, height, len(sig.image)
    session.add(signature)
    session.flush()
    record(session, actor=actor, action="signature.refused" if sig.refused else "signature.added", obj=signature,
           after={"purpose": purpose, "visit_id": visit_id, "notice_id": notice_id, "line_id": line_id,
                  "name": sig.name, "post": sig.post, "sha256": signature.sha256, "signed_at": sig.signed_at},
           note=sig.reason[:200] if sig.refused else "")
    return signature


def current_of(session: Session, *, purpose: str, visit_id: int | None = None, notice_id: int | None = None,
               line_id: int | None = None) -> list[Signature]:
    """The signatures of one object and purpose not replaced, oldest first."""
    query = select(Signature).where(Signature.purpose == purpose, Signature.replaced_at.is_(None))
    for column, value in ((Signature.visit_id, visit_id), (Signature.notice_id, notice_id),
                          (Signature.line_id, line_id)):
        if value is not None:
            query = query.where(column == value)
    return list(session.exec(query.order_by(Signature.id)).all())


def latest_of(session: Session, **where) -> Signature | None:
    found = current_of(session, **where)
    return found[-1] if found else None


def by_event(session: Session, line_ids: Iterable[int]) -> dict[int, Signature]:
    """The on-site 复查 signatures of these lines, by the verification event they sign."""
    ids = list(line_ids)
    if not ids:
        return {}
    rows = session.exec(select(Signature).where(Signature.purpose == "line_verify", Signature.line_id.in_(ids),
                                                Signature.event_id.is_not(None))).all()
    return {s.event_id: s for s in rows}


def key(signature: Signature) -> str:
    return f"{signature.storage_key}/{FILE}"


# --- who may see them: the owning domain answers (registered at start-up) ---------------------

def register_owner(app: Flask, purpose: str, may_view: Callable[[Session, Actor, Signature], bool]) -> None:
    app.extensions.setdefault("signature_owners", {})[purpose] = may_view


def can_view(session: Session, user: Actor, signature: Signature) -> bool:
    may_view = current_app.extensions.get("signature_owners", {}).get(signature.purpose)
    if may_view is None:
        return permissions.is_admin(user)
    return may_view(session, user, signature)
