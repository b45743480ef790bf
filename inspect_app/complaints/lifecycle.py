"""A complaint's life and an accountability record's, as transition tables (``workflow``).

Complaint: registered → handling (taken: 首问负责) → closed (concluded) → called_back (``callback``:
the customer satisfied), or back to handling (``reopen``: the callback found the customer not
satisfied). The owner hands it on, with a reason, while handling.

Accountability: proposed → decided (a manager: grade and amount) → acknowledged (the chief) or
appealed (once) → decided again (upheld or revised) or revoked.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspect_app import permissions
from inspect_app.complaints.models import (
    ACCOUNTABILITY_STATUS_LABELS,
    COMPLAINT_STATUS_LABELS,
    AccountabilityStatus,
    ComplaintStatus,
)
from inspect_app.workflow import Lifecycle, Transition

C = ComplaintStatus
HANDLERS_ONLY = _l("Only the complaint handlers of this outlet's region handle its complaints.")
OWNER_ONLY = _l("Only the person who holds this complaint (首问负责人) may do this; ask them to hand it on.")
NOT_HANDLING = _l("This complaint is not being handled now (it is %(status)s).")

COMPLAINT = Lifecycle("complaint", [
    Transition("take", frozenset({C.registered}), C.handling, "handler",
               refused=_l("This complaint was already taken (it is %(status)s)."), forbidden=HANDLERS_ONLY),
    Transition("contact", frozenset({C.handling}), None, "owner", refused=NOT_HANDLING, forbidden=OWNER_ONLY),
    Transition("note", frozenset({C.handling}), None, "owner", refused=NOT_HANDLING, forbidden=OWNER_ONLY),
    Transition("photo", frozenset({C.handling}), None, "owner", refused=NOT_HANDLING, forbidden=OWNER_ONLY),
    Transition("hand_on", frozenset({C.handling}), C.handling, "owner", refused=NOT_HANDLING, forbidden=OWNER_ONLY),
    Transition("conclude", frozenset({C.handling}), C.closed, "owner",
               refused=_l("Only a complaint being handled can be concluded (it is %(status)s)."),
               refused_in={C.registered: _l("Take the complaint first.")}, forbidden=OWNER_ONLY),
    Transition("raise_lines", frozenset({C.closed, C.called_back}), None, "handler",
               refused=_l("Rectification is raised once the complaint is concluded (it is %(status)s)."),
               forbidden=HANDLERS_ONLY),
    # 回访: a satisfied (or basically satisfied) customer finishes it ...
    Transition("callback", frozenset({C.closed}), C.called_back, "handler",
               refused=_l("A callback comes after the complaint is concluded (it is %(status)s)."),
               refused_in={C.called_back: _l("The customer was already called back.")}, forbidden=HANDLERS_ONLY),
    # ... a customer not satisfied sends it back to its owner, with new deadlines (不满意 → 重办)
    Transition("reopen", frozenset({C.closed}), C.handling, "handler",
               refused=_l("A callback comes after the complaint is concluded (it is %(status)s)."),
               refused_in={C.called_back: _l("The customer was already called back.")}, forbidden=HANDLERS_ONLY),
], sides=permissions.complaint_sides, status_label=lambda s: str(COMPLAINT_STATUS_LABELS.get(s, s)))

A = AccountabilityStatus
MANAGERS_ONLY = _l("Only the managers of this outlet's region decide accountability.")
CHIEF_ONLY = _l("Only the outlet's branch chief acknowledges or appeals.")

ACCOUNTABILITY = Lifecycle("accountability", [
    Transition("decide", frozenset({A.proposed}), A.decided, "manager",
               refused=_l("This record was already decided (it is %(status)s)."), forbidden=MANAGERS_ONLY),
    Transition("drop", frozenset({A.proposed}), A.revoked, "manager",
               refused=_l("Only a proposed record can be dropped (it is %(status)s)."), forbidden=MANAGERS_ONLY),
    Transition("acknowledge", frozenset({A.decided}), A.acknowledged, "outlet",
               refused=_l("Only a decision can be acknowledged (it is %(status)s)."), forbidden=CHIEF_ONLY),
    Transition("appeal", frozenset({A.decided}), A.appealed, "outlet",
               refused=_l("Only a decision can be appealed (it is %(status)s)."), forbidden=CHIEF_ONLY),
    Transition("decide_appeal", frozenset({A.appealed}), None, "manager",
               refused=_l("Only an appealed record takes an appeal decision (it is %(status)s)."),
               forbidden=MANAGERS_ONLY),
], sides=permissions.accountability_sides, status_label=lambda s: str(ACCOUNTABILITY_STATUS_LABELS.get(s, s)))
