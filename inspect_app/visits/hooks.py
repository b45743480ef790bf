"""What the visits domain registers at start-up (called by the app factory)."""
from __future__ import annotations

from flask import Flask

from inspect_app.evidence import services as evidence
from inspect_app.evidence import signatures
from inspect_app.visits.onsite import CONFIRM, may_view_confirmation
from inspect_app.visits.services import PHOTO_OWNER


def init_app(app: Flask) -> None:
    evidence.register_owner(app, "visit", PHOTO_OWNER)
    signatures.register_owner(app, CONFIRM, may_view_confirmation)
