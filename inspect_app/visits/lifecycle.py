"""A visit's life as one table: scheduled → in progress → (secret: in review → returned /
released) → released; cancelled before submit. Who may act is the visit side from
``permissions.visit_sides``: the assignee, a reviewer of secret visits, a manager of the region.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspect_app import permissions
from inspect_app.visits.models import VISIT_STATUS_LABELS, VisitStatus
from inspect_app.workflow import Lifecycle, Transition

S = VisitStatus
NOT_YOURS = _l("This visit is assigned to someone else.")
NOT_STARTED = _l("Check in at the outlet first.")
REVIEWERS_ONLY = _l("Only reviewers review secret visits.")

VISIT = Lifecycle("visit", [
    Transition("check_in", frozenset({S.scheduled}), S.in_progress, "assignee",
               refused=_l("This visit has already started."), forbidden=NOT_YOURS),
    # answers, photos, notes, timers and the counter number while the visit is being filled
    Transition("edit", frozenset({S.in_progress, S.returned}), None, "assignee",
               refused=_l("This visit has been submitted and can no longer be changed."),
               refused_in={S.scheduled: NOT_STARTED}, forbidden=NOT_YOURS),
    Transition("submit", frozenset({S.in_progress}), S.released, "assignee",
               refused=_l("This visit has already been submitted."), refused_in={S.scheduled: NOT_STARTED},
               forbidden=NOT_YOURS),
    Transition("submit_secret", frozenset({S.in_progress, S.returned}), S.in_review, "assignee",
               refused=_l("This visit has already been submitted."), refused_in={S.scheduled: NOT_STARTED},
               forbidden=NOT_YOURS),
    Transition("correct", frozenset({S.in_review}), None, "reviewer",
               refused=_l("Only a visit waiting for review can be corrected."), forbidden=REVIEWERS_ONLY),
    Transition("return", frozenset({S.in_review}), S.returned, "reviewer",
               refused=_l("Only a visit waiting for review can be returned."), forbidden=REVIEWERS_ONLY),
    Transition("release", frozenset({S.in_review}), S.released, "reviewer",
               refused=_l("Only a visit waiting for review can be released."), forbidden=REVIEWERS_ONLY),
    # a planned visit's new date window or new assignee (the plan's manager), before it starts
    Transition("reschedule", frozenset({S.scheduled}), None, "manager",
               refused=_l("This visit has started (it is %(status)s): it can no longer be moved or reassigned."),
               forbidden=_l("You cannot change this visit.")),
    # a self-inspection (自查) not yet started, from its chief to another chief of the outlet
    Transition("hand_over", frozenset({S.scheduled}), None, "assignee",
               refused=_l("This self-inspection has started: it stays with the one who started it."),
               forbidden=NOT_YOURS),
    Transition("cancel", frozenset({S.scheduled, S.in_progress}), S.cancelled, "manager",
               refused=_l("Only a visit that is not submitted can be cancelled."),
               forbidden=_l("You cannot cancel this visit.")),
], sides=permissions.visit_sides, status_label=lambda status: str(VISIT_STATUS_LABELS.get(status, status)))
