"""Which notifications a unit's group channel may carry, and how a message reads.

A unit's group (a WeCom or DingTalk group, a mailbox) is read by whoever is in it, the outlet side
included. So a channel carries only the topics below: rectification's and the bulletins, which the
outlet side sees anyway. A secret visit waiting for review, a returned secret visit and everything
about complaints (handlers only) reach no group, whatever a channel is set to: they go to the
people the app tells in-app (reviewers, handlers), by their own e-mail.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Topic:
    code: str
    label: object
    kinds: tuple[str, ...]


#: What an admin may route to a unit's channel (the notifications' kinds behind each).
TOPICS = (
    Topic("notice_issued", _l("New rectification notice"), ("notice_issued",)),
    Topic("due_soon", _l("Item due tomorrow"), ("due_soon",)),
    Topic("line_overdue", _l("Item overdue"), ("line_overdue",)),
    Topic("escalated", _l("Late item escalated to the unit above"), ("escalated",)),
    Topic("line_answered", _l("Answer waiting for verification"), ("line_answered",)),
    Topic("line_returned", _l("Answer returned"), ("line_returned",)),
    Topic("dispute_decided", _l("Dispute decided"), ("dispute_upheld", "dispute_withdrawn")),
    Topic("repeat_found", _l("Repeated problem"), ("repeat_found",)),
    Topic("notice_unacknowledged", _l("Notice not acknowledged in time"), ("notice_unacknowledged", "notice_escalated")),
    Topic("extension", _l("Extension requests and decisions"),
          ("extension_requested", "extension_approved", "extension_refused")),
    Topic("bulletin_published", _l("Bulletin published"), ("bulletin_published",)),
)
TOPIC_BY_CODE = {t.code: t for t in TOPICS}
GROUP_KINDS = {kind: t.code for t in TOPICS for kind in t.kinds}

#: A short title per kind for the message's first line (the in-app text follows).
TITLES = {
    "notice_issued": _l("New rectification notice"),
    "due_soon": _l("Item due tomorrow"),
    "line_overdue": _l("Item overdue"),
    "escalated": _l("Late item escalated"),
    "line_answered": _l("Answer waiting for verification"),
    "line_returned": _l("Answer returned"),
    "line_closed": _l("Item closed"),
    "line_disputed": _l("Finding disputed"),
    "dispute_upheld": _l("Dispute decided"),
    "dispute_withdrawn": _l("Dispute decided"),
    "deadline_changed": _l("Deadline changed"),
    "repeat_found": _l("Repeated problem"),
    "notice_unacknowledged": _l("Notice not acknowledged"),
    "notice_escalated": _l("Unacknowledged notice escalated"),
    "extension_requested": _l("Extension requested"),
    "extension_approved": _l("Extension approved"),
    "extension_refused": _l("Extension refused"),
    "visit_review": _l("Secret visit waiting for review"),
    "visit_returned": _l("Secret visit returned"),
    "complaint_assigned": _l("Complaint assigned"),
    "complaint_due": _l("Complaint due"),
    "complaint_escalated": _l("Complaint escalated"),
    "complaint_contact_due": _l("First contact due"),
    "complaint_contact_missed": _l("First contact missed"),
    "accountability_decided": _l("Accountability decided"),
    "accountability_appealed": _l("Accountability appealed"),
    "plan_problem": _l("Inspection plan problem"),
    "self_check_handed": _l("Self-inspection handed to you"),
    "self_check_false": _l("Self-check not true"),
    "bulletin_published": _l("Bulletin published"),
    "file_ready": _l("File ready"),
    "file_failed": _l("File not made"),
    "test": _l("Test message"),
}

#: Parameters that hold text someone typed (a reason, a note): they stay in the app. Contact
#: details can only hide in typed text or in the contact fields, which no notification carries.
FREE_TEXT = frozenset({"reason", "note", "problem", "comment"})


def title(kind: str) -> str:
    return str(TITLES.get(kind, kind))
