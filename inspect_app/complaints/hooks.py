"""What the complaint domain registers at start-up (called by the app factory): its settings are
checked, and its investigation photos are its own to guard."""
from __future__ import annotations

from flask import Flask
from sqlmodel import Session

from inspect_app import permissions
from inspect_app.complaints import settings
from inspect_app.complaints.lifecycle import COMPLAINT
from inspect_app.complaints.models import Complaint
from inspect_app.errors import PermissionDenied
from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo


def _may_view(session: Session, user, photo: Photo) -> bool:
    complaint = session.get(Complaint, photo.complaint_id)
    return complaint is not None and permissions.can_view_complaint(session, user, complaint)


def _check_remove(session: Session, actor, photo: Photo) -> None:
    """Taken back while the complaint is being handled, by whoever took it."""
    complaint = session.get(Complaint, photo.complaint_id)
    if complaint is None or photo.uploaded_by_id != actor.id or not COMPLAINT.allows("photo", complaint.status):
        raise PermissionDenied("")


def init_app(app: Flask) -> None:
    try:
        settings.validate(app.config)
    except settings.SettingsError as exc:
        raise SystemExit(f"Complaint settings: {exc}") from None
    evidence.register_owner(app, "complaint", evidence.PhotoOwner(may_view=_may_view, check_remove=_check_remove))
