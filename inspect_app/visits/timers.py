"""Secret-visit timers: the five taps a shopper makes and the durations scored from them.

Pure functions of the visit's stored taps; the rules for tapping are in ``visits.secret``.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

from inspect_app.visits.models import Visit

TIMERS = ("entry", "queue_start", "service_start", "service_end", "exit")
TIMER_LABELS = {
    "entry": _l("Entered"),
    "queue_start": _l("Queue start"),
    "service_start": _l("Service start"),
    "service_end": _l("Service end"),
    "exit": _l("Left"),
}
#: Which measured duration a checklist timer item is scored on.
DURATIONS = {"queue_wait": ("queue_start", "service_start"), "service_time": ("service_start", "service_end")}

def _parse(value) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def timer_moments(visit: Visit) -> dict[str, dt.datetime]:
    return {name: _parse(entry["at"]) for name, entry in (visit.timers or {}).items() if entry and entry.get("at")}


def durations(visit: Visit) -> dict[str, float | None]:
    """Seconds of queue wait and service, derived from the taps (never typed in)."""
    moments = timer_moments(visit)
    result = {}
    for key, (start, end) in DURATIONS.items():
        result[key] = (moments[end] - moments[start]).total_seconds() if start in moments and end in moments else None
    return result
