"""What the rectification domain registers at start-up (called by the app factory): a released
visit's failures become a notice (its repeats a step graver, what the outlet's self-inspection
had passed marked 自查不实, shown on the visit's page too), the after-photos of an answer and the
signatures of a 签收 or an on-site 复查 are this domain's to guard, and the fill page shows the
items' past at the outlet (回头看)."""
from __future__ import annotations

from flask import Flask

from inspect_app import signals
from inspect_app.evidence import services as evidence
from inspect_app.evidence import signatures
from inspect_app.rectifications.queries import notice_of_visit
from inspect_app.rectifications.repeats import issue_notice_on_release, past_findings
from inspect_app.rectifications.selfcheck import marks_of_visit
from inspect_app.rectifications.services import ACKNOWLEDGED, PHOTO_OWNER, VERIFIED_ON_SITE, may_view_signature
from inspect_app.rectifications.stats import move_outlets
from inspect_app.visits.views import register_past_findings, register_self_check_marks, register_visit_notice


def init_app(app: Flask) -> None:
    evidence.register_owner(app, "line", PHOTO_OWNER)
    signatures.register_owner(app, ACKNOWLEDGED, may_view_signature)
    signatures.register_owner(app, VERIFIED_ON_SITE, may_view_signature)
    # a module-level function: blinker keeps a weak reference, and connecting it again is a no-op
    signals.visit_released.connect(issue_notice_on_release)
    signals.outlets_moved.connect(move_outlets)
    register_past_findings(app, past_findings)
    register_self_check_marks(app, marks_of_visit)
    register_visit_notice(app, notice_of_visit)
