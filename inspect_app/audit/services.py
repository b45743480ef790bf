from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlmodel import Session

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


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}
