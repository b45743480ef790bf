"""From an in-app notification to e-mails and group messages, each a delivery with its attempts.

The request that caused a notification only enqueues one ``route`` job (the ``notified`` signal's
receiver in ``hooks``); the worker then decides who and where (people's e-mail as they chose it,
the units' channels that listen to the event), writes one delivery per place and a ``deliver`` job
for each, so a failing channel is retried alone and never holds up the others.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import User
from inspect_app.auth.services import zone_of
from inspect_app.channels import clients, events
from inspect_app.channels.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    DigestMode,
    NotificationPreference,
)
from inspect_app.db import writing
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.jobs import queue
from inspect_app.jobs.queue import GiveUp, JobRun
from inspect_app.notifications import services as notifications
from inspect_app.org.models import Unit

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
#: A bulletin's PDF rides along in e-mail up to this size; above it the link does.
MAX_ATTACHMENT = 10 * 1024 * 1024


def _engine():
    return current_app.extensions["db_engine"]


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


# --- masking: what admins may read back -----------------------------------------------------------------

def mask_email(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def mask_url(url: str) -> str:
    """The host and path, with every query value (the robot's key, access token) cut to its last
    four characters: enough to tell two robots apart, never enough to use one."""
    parts = urlsplit(url)
    query = "&".join(f"{k}=…{v[-4:]}" if v else k for k, _eq, v in
                     (pair.partition("=") for pair in parts.query.split("&") if pair))
    path = parts.path if len(parts.path) <= 40 else parts.path[:20] + "…" + parts.path[-8:]
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def mask_target(channel: Channel) -> str:
    if channel.kind == ChannelKind.email:
        return ", ".join(mask_email(a) for a in addresses(channel.target))
    return mask_url(channel.target)


def addresses(text: str) -> list[str]:
    return [a.strip() for a in re.split(r"[,;，；\s]+", text or "") if a.strip()]


# --- a person's e-mail --------------------------------------------------------------------------------------

def preference_of(session: Session, user_id: int) -> NotificationPreference:
    return session.get(NotificationPreference, user_id) or NotificationPreference(user_id=user_id)


def save_preference(session: Session, *, actor: User, email: str, mode: str) -> NotificationPreference:
    email = (email or "").strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise DomainError(_("Enter a valid e-mail address, or leave it empty for no e-mail."))
    if mode not in (DigestMode.immediate, DigestMode.daily):
        raise DomainError(_("Choose when to receive e-mail."))
    pref = session.get(NotificationPreference, actor.id)
    before = {"email": mask_email(pref.email) if pref and pref.email else "", "mode": pref.mode if pref else None}
    if pref is None:
        pref = NotificationPreference(user_id=actor.id)
    pref.email, pref.mode, pref.updated_at = email, mode, clock.now()
    session.add(pref)
    session.flush()
    record(session, actor=actor, action="notifications.preference", obj=actor, before=before,
           after={"email": mask_email(email) if email else "", "mode": mode})
    return pref


# --- units' channels -----------------------------------------------------------------------------------------

def validate_target(kind: str, target: str) -> str:
    target = (target or "").strip()
    if kind == ChannelKind.email:
        found = addresses(target)
        if not found or any(not EMAIL.match(a) for a in found) or len(found) > 20:
            raise DomainError(_("Enter one to twenty e-mail addresses, separated by commas."))
        return ", ".join(found)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(target) > 1000:
        raise DomainError(_("Enter the robot's webhook address (https://…), as the group's robot settings show it."))
    return target


def save_channel(session: Session, *, actor: User, channel: Channel | None, unit_id: int | None, name: str,
                 kind: str, target: str, secret: str, topics: list[str], subunits: bool, active: bool) -> Channel:
    """Create or change a unit's channel. An empty ``target``/``secret`` on a change keeps the
    stored one (they are never shown back); audited without them."""
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators set up notification channels."))
    if kind not in set(ChannelKind):
        raise DomainError(_("Choose the kind of channel."))
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        raise DomainError(_("Choose the unit whose events the channel hears."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the channel a name (the group it posts to)."))
    unknown = [t for t in topics if t not in events.TOPIC_BY_CODE]
    if unknown or not topics:
        raise DomainError(_("Choose at least one event for the channel."))
    is_new = channel is None
    before = None if is_new else _snapshot(channel)
    if is_new:
        channel = Channel(unit_id=unit.id, name=name, kind=kind, target="")
    elif kind != channel.kind and not target:
        raise DomainError(_("A channel of another kind needs its address again."))
    if target or is_new:
        channel.target = validate_target(kind, target)
    if secret:
        channel.secret = secret.strip()[:255]
    elif kind not in (ChannelKind.dingtalk, ChannelKind.webhook):
        channel.secret = ""
    channel.unit_id, channel.name, channel.kind = unit.id, name[:64], kind
    channel.events = [t.code for t in events.TOPICS if t.code in topics]
    channel.subunits, channel.active, channel.updated_at = bool(subunits), bool(active), clock.now()
    session.add(channel)
    session.flush()
    record(session, actor=actor, action="channel.created" if is_new else "channel.changed", obj=channel,
           before=before, after=_snapshot(channel))
    return channel


def _snapshot(channel: Channel) -> dict:
    return {"unit_id": channel.unit_id, "name": channel.name, "kind": channel.kind, "target": mask_target(channel),
            "secret": "set" if channel.secret else "", "events": list(channel.events or []),
            "subunits": channel.subunits, "active": channel.active}


def send_test(session: Session, *, actor: User, channel: Channel) -> Delivery:
    """A test message to the channel now (through the queue, logged like any other)."""
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators set up notification channels."))
    with force_locale(_locale()):
        payload = {"title": events.title("test"),
                   "text": _("A test message from the outlet inspection app for %(name)s.", name=channel.name),
                   "link": "", "url": _absolute("/")}
    delivery = Delivery(event="test", channel_id=channel.id, channel=channel.kind, target=channel.name[:120],
                        payload=payload)
    session.add(delivery)
    session.flush()
    queue.enqueue(session, "deliver", {"delivery_id": delivery.id}, key=f"deliver:{delivery.id}",
                  requested_by_id=actor.id)
    record(session, actor=actor, action="channel.tested", obj=channel)
    return delivery


def load_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(_("This page does not exist, or you cannot see it."))
    return channel


def channels_listed(session: Session) -> list[tuple[Channel, Unit]]:
    return [tuple(r) for r in session.execute(
        select(Channel, Unit).join(Unit, Unit.id == Channel.unit_id).order_by(Unit.path, Channel.name)).all()]


def deliveries_listed(session: Session, *, status: str | None, page: int, per_page: int = 50):
    query = select(Delivery)
    if status:
        query = query.where(Delivery.status == status)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Delivery.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


# --- routing (the ``route`` job) -------------------------------------------------------------------------------

def _locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def _absolute(link: str) -> str:
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}{link}" if link else base


def render_message(kind: str, params: dict, link: str) -> dict:
    """The message in the network's language (Chinese by default): a title, the in-app text with
    any typed text left in the app, the link into the app."""
    safe = {k: (_("see the app") if k in events.FREE_TEXT else v) for k, v in (params or {}).items()}
    with force_locale(_locale()):
        return {"title": events.title(kind), "text": notifications.text(kind, safe), "link": link,
                "url": _absolute(link)}


def route(run: JobRun) -> None:
    """Write the deliveries of one notification event and enqueue their sending."""
    p = run.params
    kind, user_ids, unit_id = p["kind"], p.get("user_ids") or [], p.get("unit_id")
    message = render_message(kind, p.get("params") or {}, p.get("link") or "")
    if p.get("attachment"):
        message["attachment"] = p["attachment"]
    with writing(), Session(_engine()) as session:
        made = []
        if user_ids and smtp_configured():
            people = session.exec(select(User, NotificationPreference)
                                  .join(NotificationPreference, NotificationPreference.user_id == User.id)
                                  .where(User.id.in_(user_ids), User.active.is_(True),
                                         NotificationPreference.email != "")).all()
            for user, pref in people:
                held = pref.mode == DigestMode.daily
                made.append(Delivery(event=kind, user_id=user.id, channel=ChannelKind.email,
                                     target=mask_email(pref.email), payload=message,
                                     status=DeliveryStatus.held if held else DeliveryStatus.queued))
        for channel in listening_channels(session, kind, unit_id):
            if channel.kind == ChannelKind.email and not smtp_configured():
                continue
            made.append(Delivery(event=kind, channel_id=channel.id, channel=channel.kind,
                                 target=channel.name[:120], payload=message))
        for delivery in made:
            session.add(delivery)
        session.flush()
        for delivery in made:
            if delivery.status == DeliveryStatus.queued:
                queue.enqueue(session, "deliver", {"delivery_id": delivery.id}, key=f"deliver:{delivery.id}")
        session.commit()


def listening_channels(session: Session, kind: str, unit_id: int | None) -> list[Channel]:
    """The active channels whose topics hold ``kind``, set on the event's unit or, listening to
    the units below, on a unit above it. Kinds outside the group topics (a secret visit to review,
    complaints) reach no channel, whatever it is set to."""
    topic = events.GROUP_KINDS.get(kind)
    if topic is None or not unit_id:
        return []
    unit = session.get(Unit, unit_id)
    if unit is None:
        return []
    path_ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    found = session.exec(select(Channel).where(Channel.active.is_(True), Channel.unit_id.in_(path_ids))).all()
    return [c for c in found if topic in (c.events or []) and (c.unit_id == unit.id or c.subunits)]


# --- sending (the ``deliver`` job) ----------------------------------------------------------------------------

def deliver(run: JobRun) -> None:
    delivery_id = run.params["delivery_id"]
    with Session(_engine()) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise GiveUp(f"delivery {delivery_id} is gone")
        if delivery.status in (DeliveryStatus.sent, DeliveryStatus.digested, DeliveryStatus.skipped):
            return
        send = _sender(session, delivery)
    if send is None:
        _finish(delivery_id, DeliveryStatus.skipped, "")
        return
    try:
        send()
    except clients.SendError as exc:
        _finish(delivery_id, DeliveryStatus.dead if run.final else DeliveryStatus.failed, str(exc), attempted=True)
        raise
    _finish(delivery_id, DeliveryStatus.sent, "", attempted=True)


def on_dead(run: JobRun, error: str) -> None:
    """The job's last attempt failed some other way than sending (say, the attachment is gone)."""
    _finish(run.params["delivery_id"], DeliveryStatus.dead, error[:500])


def _finish(delivery_id: int, status: str, error: str, *, attempted: bool = False) -> None:
    with writing(), Session(_engine()) as session:
        values = {"status": status, "error": error[:500]}
        if attempted:
            values.update(attempts=Delivery.attempts + 1, last_attempt_at=clock.now())
        if status == DeliveryStatus.sent:
            values["sent_at"] = clock.now()
        session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(**values))
        session.commit()


def _sender(session: Session, delivery: Delivery):
    """What sends this delivery now, with the current address and secret (changed since it was
    queued, they are the ones that count); None when there is nowhere to send it any more."""
    config = current_app.config
    timeout = float(config.get("CHANNEL_TIMEOUT", 15))
    payload = dict(delivery.payload or {})
    title, text, url = payload.get("title", ""), payload.get("text", ""), payload.get("url", "")
    if delivery.user_id is not None:
        pref = session.get(NotificationPreference, delivery.user_id)
        user = session.get(User, delivery.user_id)
        if pref is None or not pref.email or user is None or not user.active:
            return None
        to = [pref.email]
        attachment = _attachment(payload)
        return lambda: clients.send_email(config, to=to, subject=_subject(title), text=_email_text(payload),
                                          attachment=attachment)
    channel = session.get(Channel, delivery.channel_id) if delivery.channel_id else None
    if channel is None or not channel.active:
        return None
    target, secret = channel.target, channel.secret
    if channel.kind == ChannelKind.email:
        to, attachment = addresses(target), _attachment(payload)
        return lambda: clients.send_email(config, to=to, subject=_subject(title), text=_email_text(payload),
                                          attachment=attachment)
    if channel.kind == ChannelKind.wecom:
        return lambda: clients.send_wecom(target, title=title, text=text, link=url, timeout=timeout)
    if channel.kind == ChannelKind.dingtalk:
        return lambda: clients.send_dingtalk(target, secret, title=title, text=text, link=url, timeout=timeout)
    body = {"event": delivery.event, "title": title, "text": text, "link": url,
            "unit_id": channel.unit_id, "sent_at": clock.now().isoformat()}
    return lambda: clients.send_webhook(target, secret, body, timeout=timeout)


def _subject(title: str) -> str:
    with force_locale(_locale()):
        return f"[{_('Outlet inspection')}] {title}"


def _email_text(payload: dict) -> str:
    parts = [payload.get("text", "")]
    if payload.get("url"):
        parts += ["", payload["url"]]
    return "\n".join(parts)


def _attachment(payload: dict) -> tuple[str, bytes, str] | None:
    found = payload.get("attachment")
    if not found:
        return None
    data = get_storage().get(found["key"])
    if len(data) > MAX_ATTACHMENT:
        return None  # the link in the text is enough
    return found.get("filename") or "document.pdf", data, found.get("mimetype") or "application/pdf"


# --- the daily digest ----------------------------------------------------------------------------------------------

def digests_due(session: Session) -> list[tuple[int, str]]:
    """(user, key) for each person with held e-mail whose digest is due: at ``DIGEST_HOUR`` (8)
    in their zone, once a day; at once for someone who no longer wants a digest."""
    hour = int(current_app.config.get("DIGEST_HOUR", 8))
    user_ids = session.exec(select(Delivery.user_id).where(Delivery.status == DeliveryStatus.held)
                            .group_by(Delivery.user_id)).all()
    due = []
    for user_id in user_ids:
        user = session.get(User, user_id)
        if user is None:
            continue
        pref = preference_of(session, user_id)
        if pref.mode != DigestMode.daily:
            due.append((user_id, f"digest:{user_id}:now:{clock.now():%Y%m%d%H%M}"))
            continue
        local = clock.local_now(zone_of(session, user))
        if local.hour >= hour:
            due.append((user_id, f"digest:{user_id}:{local.date().isoformat()}"))
    return due


def enqueue_digests() -> int:
    with Session(_engine()) as session:
        due = digests_due(session)
    if not due:
        return 0  # every five minutes: no write when nobody's digest is due
    with writing(), Session(_engine()) as session:
        for user_id, key in due:
            queue.enqueue(session, "digest", {"user_id": user_id}, key=key)
        session.commit()
    return len(due)


def digest(run: JobRun) -> None:
    """One e-mail with every held message of one person (oldest first), sent by a ``deliver`` job."""
    user_id = run.params["user_id"]
    with writing(), Session(_engine()) as session:
        held = session.exec(select(Delivery).where(Delivery.user_id == user_id,
                                                   Delivery.status == DeliveryStatus.held)
                            .order_by(Delivery.id)).all()
        pref = preference_of(session, user_id)
        if not held or not pref.email:
            return
        with force_locale(_locale()):
            lines = [f"{n}. {d.payload.get('title', '')}：{d.payload.get('text', '')}"
                     + (f"\n   {d.payload['url']}" if d.payload.get("url") else "")
                     for n, d in enumerate(held, start=1)]
            payload = {"title": _("Daily digest: %(n)d notifications", n=len(held)), "text": "\n".join(lines),
                       "link": "/notifications", "url": _absolute("/notifications")}
        summary = Delivery(event="digest", user_id=user_id, channel=ChannelKind.email,
                           target=mask_email(pref.email), payload=payload)
        session.add(summary)
        session.flush()
        for d in held:
            d.status, d.digest_id = DeliveryStatus.digested, summary.id
            session.add(d)
        queue.enqueue(session, "deliver", {"delivery_id": summary.id}, key=f"deliver:{summary.id}")
        session.commit()


# --- the signal's receiver -------------------------------------------------------------------------------------------

def on_notified(kind: str, *, session: Session, user_ids: list[int], params: dict, link: str,
                unit_id: int | None, dedupe_key: str | None, attachment: dict | None) -> None:
    """Runs in the notifying transaction: one ``route`` job, written with it (gone if it rolls
    back); the worker does the rest. A reminder a sweep finds again (same ``dedupe_key``) routes once."""
    if not user_ids and kind not in events.GROUP_KINDS:
        return
    if not has_app_context() or "huey_run_job" not in current_app.extensions:
        return  # a script without the app: in-app only
    params_out = {"kind": kind, "user_ids": list(user_ids), "params": params, "link": link, "unit_id": unit_id,
                  "attachment": attachment}
    key = f"route:{kind}:{dedupe_key}" if dedupe_key else None
    queue.enqueue(session, "route", params_out, key=key)
