"""What the complaint domain registers at start-up (called by the app factory): its settings are
checked, its investigation photos are its own to guard, and the board gets a complaint section."""
from __future__ import annotations

from flask import Flask
from sqlmodel import Session, select

from inspect_app import clock, permissions, signals
from inspect_app.complaints import queries, settings, stats  # stats: its flush listeners keep the counts
from inspect_app.complaints.lifecycle import COMPLAINT
from inspect_app.complaints.models import Complaint
from inspect_app.errors import PermissionDenied
from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo
from inspect_app.org.models import Unit
from inspect_app.rectifications.views import register_board_panel


def _may_view(session: Session, user, photo: Photo) -> bool:
    if not permissions.may_view_complaint_photos(user):
        return False  # a waybill in the picture carries the customer's name, phone and address
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
    register_board_panel(app, _board_panel)
    signals.outlets_moved.connect(stats.move_outlets)


def _board_panel(session: Session, user, node, filters):
    """The board's complaint section: per unit below the board's node, over the board's months
    (this month when none is chosen)."""
    if not permissions.can_see_complaints(user):
        return None
    zone = clock.default_zone()
    first = clock.today(zone).replace(day=1)
    since = filters.since or clock.day_start(first, zone)
    until = filters.until or clock.day_start(clock.add_months(first, 1), zone)
    if node is not None and node.level == "county":
        children = [node]
    else:
        children = session.exec(select(Unit).where(
            Unit.parent_id == node.id if node is not None else Unit.parent_id.is_(None)).order_by(Unit.code)).all()
        children = [u for u in children if permissions.unit_in_scope(session, user, u)]
    rows = queries.by_child_units(session, user, list(children), since=since, until=until)
    return "complaints/_board_panel.html", {"complaint_rows": rows, "since": since, "until": until}
