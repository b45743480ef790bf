from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from inspect_app import clock
from inspect_app.audit.models import AuditEvent

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def record(
    session: Session,
    *,
    actor,
    action: str,
    obj,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    """Write one audit event for ``obj`` (any table object with an ``id``)."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        before=_jsonable(before),
        after=_jsonable(after),
        note=note[:500],
    )
    session.add(event)
    log.info("%s %s#%s by %s", action, event.object_type, obj.id, getattr(actor, "username", "system"))
    return event


def record_many(session: Session, *, actor, object_type: str,
                events: list[tuple[str, int, dict[str, Any] | None, dict[str, Any] | None]]) -> int:
    """Write many audit events at once, each ``(action, object_id, before, after)``: for bulk work
    (an import of 10,000 outlets) where one table object per event would cost more than the
    writes it records. One log line says how many."""
    if not events:
        return 0
    now = clock.now()
    actor_id, actor_name = getattr(actor, "id", None), getattr(actor, "username", "") or ""
    session.execute(sa.insert(AuditEvent), [
        {"at": now, "actor_id": actor_id, "actor_name": actor_name, "action": action, "object_type": object_type,
         "object_id": object_id, "before": _jsonable(before), "after": _jsonable(after), "note": ""}
        for action, object_id, before, after in events])
    log.info("%d audit events on %s by %s", len(events), object_type, actor_name or "system")
    return len(events)


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def record_export(session: Session, *, actor, what: str, fmt: str, filters: dict[str, Any]) -> AuditEvent:
    """A list taken out of the app as a file: who, which list, which format and filters. Pages
    are not logged; an export is, since it carries a whole list away at once."""
    event = AuditEvent(actor_id=getattr(actor, "id", None), actor_name=getattr(actor, "username", "") or "",
                       action=f"export.{what}", object_type="export", object_id=None,
                       after={"format": fmt, "filters": _jsonable(filters)})
    session.add(event)
    log.info("export %s (%s) by %s with %s", what, fmt, event.actor_name or "system", filters)
    return event
