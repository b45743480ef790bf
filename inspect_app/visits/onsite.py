"""At the outlet, besides the answers: the outlet's person confirming an open inspection's findings
(现场签字确认, or refusing to sign with a reason) and the inspector marking up a finding's photo
(照片标注). Both are written while the visit is being filled, by its assignee, from the phone's
outbox: a retry with the same client id is answered with what is stored, never stored twice.

A secret visit has neither: the outlet must not learn of it on the spot, and its photos are shown
to the outlet only as they were taken.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import permissions
from inspect_app.auth.models import User
from inspect_app.errors import DomainError, NotFound
from inspect_app.evidence import markup as markups
from inspect_app.evidence import signatures
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature
from inspect_app.org.models import Outlet
from inspect_app.visits.models import Visit
from inspect_app.visits.services import require_editable

CONFIRM = "visit_confirm"


def _not_secret(visit: Visit, message: str) -> None:
    if visit.kind == "secret":
        raise DomainError(message)


# --- the outlet's confirmation ---------------------------------------------------------------

def confirm_findings(session: Session, storage, *, actor: User, visit: Visit,
                     sig: signatures.SignatureInput) -> tuple[Signature, bool]:
    """The outlet's person signs the findings on the inspector's phone (name, post, signature), or
    refuses to sign and says why. Signing again before submit replaces the earlier signature (it
    stays in the record). Returns (signature, created)."""
    earlier = signatures.repeat_of(session, actor=actor, sig=sig,
                                   same_object=lambda s: s.purpose == CONFIRM and s.visit_id == visit.id)
    if earlier is not None:
        return earlier, False
    require_editable(session, actor, visit)
    _not_secret(visit, _("A secret visit is never signed by the outlet."))
    sig = signatures.checked(sig, allow_refusal=True)
    stored = signatures.store(session, storage, actor=actor, purpose=CONFIRM, outlet_id=visit.outlet_id, sig=sig,
                              visit_id=visit.id, replace=True)
    return stored, True


def confirmation_of(session: Session, visit: Visit) -> Signature | None:
    """The outlet's current confirmation of a visit's findings (a signature or a refusal)."""
    return signatures.latest_of(session, purpose=CONFIRM, visit_id=visit.id)


def may_view_confirmation(session: Session, user, signature: Signature) -> bool:
    """Whoever may see the visit (the outlet's side once it is released, as the findings)."""
    visit = session.get(Visit, signature.visit_id)
    return visit is not None and visit.kind != "secret" and permissions.can_view_visit(session, user, visit)


# --- photo markup ----------------------------------------------------------------------------

def marked_photo(session: Session, *, actor: User, visit: Visit, photo_id: int | None,
                 photo_client_id: str | None) -> Photo:
    """The finding's photo to mark: by its id, or by the id the phone gave it (a photo still in the
    outbox when it was marked is known by that id only). Another visit's photo does not exist here."""
    query = select(Photo).where(Photo.visit_id == visit.id, Photo.deleted_at.is_(None))
    if photo_id is not None:
        photo = session.exec(query.where(Photo.id == photo_id)).first()
    elif photo_client_id:
        photo = session.exec(query.where(Photo.client_id == photo_client_id[:64],
                                         Photo.uploaded_by_id == actor.id)).first()
    else:
        photo = None
    if photo is None or photo.purpose != "item":
        raise NotFound(_("This photo does not exist, or it is not a finding's photo of this visit."))
    return photo


def mark_up_photo(session: Session, storage, *, actor: User, visit: Visit, data: bytes, shapes: str | None,
                  photo_id: int | None = None, photo_client_id: str | None = None, client_id: str | None = None,
                  plan_only: bool = False,
                  prepared: markups.PreparedMarkup | None = None) -> tuple[PhotoMarkup, bool] | markups.MarkupPlan:
    """Circles, arrows and labels on a finding's photo: the marked copy and the shapes, beside the
    untouched photo. ``plan_only`` checks everything with reads only (the shapes included, so
    malformed marks are refused before a file is written); ``prepared`` is the marked copy
    already checked and written outside the transaction (``evidence.views.upload_outside_the_lock``)."""
    photo = marked_photo(session, actor=actor, visit=visit, photo_id=photo_id, photo_client_id=photo_client_id)
    earlier = markups.repeat_of(session, actor=actor, photo=photo, data=data, client_id=client_id)
    if earlier is not None:  # a retry after a lost reply, even once the visit is submitted
        if plan_only:
            return markups.MarkupPlan(existing=earlier)
        if prepared is not None:
            prepared.discard(storage)
        return earlier, False
    require_editable(session, actor, visit)
    _not_secret(visit, _("A secret visit's photos are not marked up."))
    checked = markups.parse_shapes(shapes, width=photo.width, height=photo.height)
    if not data:
        raise markups.MarkupRejected(_("No marked copy was received. Try again."))
    outlet = session.get(Outlet, visit.outlet_id)
    stamp = markups.stamp_of(photo, outlet, date_only=False)
    if plan_only:
        return markups.MarkupPlan(existing=None, photo=photo, stamp=stamp)
    if prepared is None:
        prepared = markups.prepare(storage, photo=photo, data=data, stamp=stamp)
    return markups.store(session, storage, actor=actor, photo=photo, data=data, shapes=checked, client_id=client_id,
                         prepared=prepared)
