"""A rectification line's life as one table, and its notice's (签收). Who may act is the side
from ``permissions.line_sides``: the outlet (its branch chief) or the inspection side of the
outlet's region; on a self-inspection's line (自查) the outlet's chief is its owner instead.

Line: issued → acknowledged (签收, per notice) → answered → closed (verified) or returned (answer
again); issued / acknowledged / returned → disputed → acknowledged (finding upheld: back to the
outlet) or withdrawn (the finding falls and the visit is re-scored).

A self-inspection's line is the chief's own from finding to closing: issued acknowledged (the
chief wrote it), its owner stages an after-photo and closes it (close_own: what was done, with
the photo as evidence). Nobody verifies it, nobody disputes it; the inspection side still moves
its deadline and its responsible chief. An inspection that later finds the item failed says so
(自查不实).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspect_app import permissions
from inspect_app.rectifications.models import LINE_STATUS_LABELS, OPEN_STATUSES, OUTLET_TURN, LineStatus
from inspect_app.workflow import Lifecycle, Transition

L = LineStatus
OUTLET_ONLY = _l("Only the outlet's branch chief answers its notices.")
INSPECTION_ONLY = _l("Only the inspection side of this outlet's region verifies rectifications.")
CANNOT_ANSWER = _l("This item cannot be answered now (it is %(status)s).")


def _status_label(status: str) -> str:
    return str(LINE_STATUS_LABELS.get(status, status))


LINE = Lifecycle("line", [
    Transition("acknowledge", frozenset({L.issued}), L.acknowledged, "outlet", forbidden=OUTLET_ONLY),
    # an after-photo staged before the answer is sent
    Transition("stage_photo", frozenset({L.acknowledged, L.returned}), None, frozenset({"outlet", "owner"}),
               refused=CANNOT_ANSWER, forbidden=OUTLET_ONLY),
    Transition("answer", frozenset({L.acknowledged, L.returned}), L.answered, "outlet",
               refused=CANNOT_ANSWER, refused_in={L.issued: _l("Acknowledge the notice first.")}, forbidden=OUTLET_ONLY),
    Transition("dispute", frozenset({L.issued, L.acknowledged, L.returned}), L.disputed, "outlet",
               refused=_l("This item cannot be disputed now (it is %(status)s)."), forbidden=OUTLET_ONLY),
    # a self-inspection's line: its owner closes it with what was done and the after-photo
    Transition("close_own", frozenset({L.acknowledged}), L.closed, "owner",
               refused=CANNOT_ANSWER, forbidden=_l("Only the outlet's branch chief closes the items of its "
                                                   "self-inspection.")),
    Transition("verify", frozenset({L.answered}), L.closed, "inspection",
               refused=_l("Only an answered item can be verified (it is %(status)s)."), forbidden=INSPECTION_ONLY),
    Transition("return", frozenset({L.answered}), L.returned, "inspection",
               refused=_l("Only an answered item can be verified (it is %(status)s)."), forbidden=INSPECTION_ONLY),
    Transition("uphold", frozenset({L.disputed}), L.acknowledged, "inspection",
               refused=_l("Only a disputed item can be decided (it is %(status)s)."), forbidden=INSPECTION_ONLY),
    Transition("withdraw", frozenset({L.disputed}), L.withdrawn, "inspection",
               refused=_l("Only a disputed item can be decided (it is %(status)s)."), forbidden=INSPECTION_ONLY),
    Transition("change_deadline", frozenset(OPEN_STATUSES), None, "inspection",
               refused=_l("This item is finished; its deadline no longer matters."),
               forbidden=_l("Only the inspection side changes deadlines.")),
    # 延期申请: asked by the outlet while the deadline runs against it; decided by the side that verifies
    Transition("request_extension", frozenset(OUTLET_TURN), None, "outlet",
               refused=_l("No extension can be asked for now (the item is %(status)s)."),
               forbidden=_l("Only the outlet's branch chief asks for an extension.")),
    Transition("decide_extension", frozenset(OPEN_STATUSES), None, "inspection",
               refused=_l("This item is finished; its deadline no longer matters."),
               forbidden=_l("Only the inspection side of this outlet's region decides extensions.")),
    Transition("assign", frozenset(OPEN_STATUSES), None, "inspection",
               refused=_l("This item is finished; its deadline no longer matters."),
               forbidden=_l("Only the inspection side assigns responsible persons.")),
], sides=permissions.line_sides, status_label=_status_label)


def notice_status(notice) -> str:
    return "acknowledged" if notice.acknowledged_at is not None else "issued"


NOTICE = Lifecycle("notice", [
    Transition("acknowledge", frozenset({"issued"}), "acknowledged", "outlet",
               forbidden=_l("Only the outlet's branch chief acknowledges its notices.")),
], sides=permissions.notice_sides, status_label=lambda status: str(LINE_STATUS_LABELS.get(status, status)),
    status_of=notice_status)
