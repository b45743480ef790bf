"""Sending and reading in-app notifications."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock, signals
from inspect_app.notifications.models import Notification

#: Texts by kind; rendered when shown, in the reader's language.
TEXTS = {
    "notice_issued": _l("New rectification notice %(number)s for %(outlet)s: %(lines)s items."),
    "line_answered": _l("%(outlet)s answered item %(item)s of notice %(number)s: please verify."),
    "line_returned": _l("Item %(item)s of notice %(number)s was returned: %(reason)s"),
    "line_closed": _l("Item %(item)s of notice %(number)s was verified and closed."),
    "line_disputed": _l("%(outlet)s disputes item %(item)s of notice %(number)s: please decide."),
    "dispute_upheld": _l("Your dispute of item %(item)s (notice %(number)s) was not accepted: %(reason)s"),
    "dispute_withdrawn": _l("Item %(item)s of notice %(number)s was withdrawn: %(reason)s"),
    "deadline_changed": _l("The deadline of item %(item)s (notice %(number)s) is now %(deadline)s: %(reason)s"),
    "extension_requested": _l("%(outlet)s asks to extend item %(item)s of notice %(number)s until %(deadline)s: %(reason)s"),
    "extension_approved": _l("Extension approved: item %(item)s of notice %(number)s is now due by %(deadline)s."),
    "extension_refused": _l("Extension refused for item %(item)s of notice %(number)s (still due by %(deadline)s): %(reason)s"),
    "notice_unacknowledged": _l("Notice %(number)s (%(outlet)s) is not acknowledged yet (due %(deadline)s): please acknowledge it."),
    "notice_escalated": _l("Escalated: notice %(number)s (%(outlet)s) is not acknowledged, %(days)s days after it was due."),
    "due_soon": _l("Item %(item)s of notice %(number)s (%(outlet)s) is due by %(deadline)s."),
    "escalated": _l("Escalated: item %(item)s of notice %(number)s (%(outlet)s) is %(days)s days overdue."),
    "repeat_found": _l("Repeated problem at %(outlet)s: %(items)s failed again within %(days)s days (notice %(number)s)."),
    "visit_returned": _l("Your secret visit to %(outlet)s was returned: %(reason)s"),
    "complaint_assigned": _l("Complaint %(number)s (%(outlet)s) is yours to handle now."),
    "complaint_due": _l("Complaint %(number)s (%(outlet)s) is due to be resolved by %(deadline)s."),
    "complaint_escalated": _l("Escalated: complaint %(number)s (%(outlet)s) is %(days)s days past its deadline."),
    "complaint_contact_due": _l("Complaint %(number)s (%(outlet)s): call the customer by %(deadline)s (first contact)."),
    "complaint_contact_missed": _l("Escalated: complaint %(number)s (%(outlet)s) missed its first contact (due %(deadline)s)."),
    "accountability_decided": _l("Accountability decided for %(staff)s: %(amount)s yuan. Acknowledge or appeal."),
    "self_check_handed": _l("%(from)s handed you the self-inspection of %(outlet)s (%(day)s)."),
    "self_check_false": _l("Self-check not true at %(outlet)s: %(items)s passed the chief's self-inspection and failed "
                           "notice %(number)s's inspection."),
    "plan_problem": _l("Plan %(plan)s could not place a visit: %(problem)s"),
    "accountability_appealed": _l("%(staff)s's accountability decision was appealed: please decide."),
    "line_overdue": _l("Overdue: item %(item)s of notice %(number)s (%(outlet)s) was due by %(deadline)s."),
    "visit_review": _l("A secret visit to %(outlet)s waits for your review."),
    "bulletin_published": _l("Bulletin %(number)s published: %(title)s"),
    "file_ready": _l("Your file is ready: %(title)s"),
    "file_failed": _l("Your file could not be made: %(title)s"),
}


def notify(session: Session, *, user_ids, kind: str, params: dict, link: str, dedupe_key: str | None = None,
           unit_id: int | None = None, attachment: dict | None = None) -> int:
    """Send one notification to each user; with ``dedupe_key`` a user gets it at most once.

    ``unit_id`` names the unit the event concerns, whose group channels may hear of it too (the
    ``notified`` signal: channels decide who, by their settings); ``attachment`` a stored file an
    e-mail may carry (a bulletin's PDF)."""
    sent: list[int] = []
    for user_id in sorted({u for u in user_ids if u}):
        note = Notification(user_id=user_id, kind=kind, params=params, link=link, dedupe_key=dedupe_key)
        if dedupe_key is None:
            session.add(note)
            sent.append(user_id)
            continue
        exists = session.exec(select(Notification.id).where(Notification.user_id == user_id,
                                                             Notification.dedupe_key == dedupe_key)).first()
        if exists:
            continue
        try:
            with session.begin_nested():
                session.add(note)
                session.flush()
            sent.append(user_id)
        except IntegrityError:  # another process sent the same one a moment ago
            continue
    signals.notified.send(kind, session=session, user_ids=sent, params=params, link=link, unit_id=unit_id,
                          dedupe_key=dedupe_key, attachment=attachment)
    return len(sent)


def render(note: Notification) -> str:
    return text(note.kind, note.params)


def text(kind: str, params: dict) -> str:
    """A notification's words in the current language."""
    template = TEXTS.get(kind)
    if template is None:
        return kind
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))).one()


def recent(session: Session, user_id: int, limit: int = 50) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.user_id == user_id)
                             .order_by(Notification.id.desc()).limit(limit)).all())


def mark_read(session: Session, *, user_id: int, notification_id: int | None = None) -> None:
    query = sa.update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    session.execute(query.values(read_at=clock.now()))
