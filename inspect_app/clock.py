"""The app's one clock (时钟): every "now" and every "today" comes from here.

Instants are aware UTC datetimes and are stored that way. A calendar date that a person sees or a
rule checks (a visit's date window, a deadline day, a bulletin's period, a star's validity) is the
local date of the outlet or unit it concerns, never the host's: a host on UTC is still in
yesterday from 16:00 to 24:00 while Shanghai is already in tomorrow.

Tests pin this clock with time-machine (``tests/conftest.py``: the ``clock`` fixture, and
``--clock`` for a whole run); nothing else in the app reads the host's time of day.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"

#: Zones that keep Beijing time; a Chinese reader knows them as 北京时间, not by a tz name.
BEIJING_TIME_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def default_zone() -> str:
    """The network's zone (``DEFAULT_TIMEZONE``): for units, and people not tied to one outlet."""
    if has_app_context():
        return current_app.config.get("DEFAULT_TIMEZONE") or DEFAULT_ZONE
    return DEFAULT_ZONE


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone(name: str | None = None) -> ZoneInfo:
    """The zone by name; the default zone when none is given."""
    return _zone(name or default_zone())


def local_now(tz: str | None = None) -> dt.datetime:
    return now().astimezone(zone(tz))


def today(tz: str | None = None) -> dt.date:
    """Today's date in ``tz`` (the outlet's or the unit's zone), whatever the host's zone."""
    return local_now(tz).date()


def local_date(moment: dt.datetime, tz: str | None = None) -> dt.date:
    """The local calendar date of an instant."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the clock")
    return moment.astimezone(zone(tz)).date()


def day_start(day: dt.date, tz: str | None = None) -> dt.datetime:
    """The UTC instant at which a local calendar day begins."""
    return dt.datetime.combine(day, dt.time(0, 0), zone(tz)).astimezone(dt.timezone.utc)


def day_end(day: dt.date, tz: str | None = None) -> dt.datetime:
    """The UTC instant at which a local calendar day ends (local midnight after it)."""
    return day_start(day + dt.timedelta(days=1), tz)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; a day the target month lacks (31st, 29 February) rolls on
    to the first of the next month, so "12 months from 2024-02-29" covers all of 2025-02-28."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
        return first_next


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


#: The years a month typed into a filter may name: a typing slip (0001, 9999) is no month, and no
#: date arithmetic is done at the ends of the calendar.
MONTH_YEARS = (2000, 2100)


def month_named(text: str | None) -> dt.date | None:
    """The first day of the month ``text`` names (``2026-11``; a full date counts as its month), or
    None when it names none (malformed, or a year outside ``MONTH_YEARS``)."""
    try:
        first = dt.date.fromisoformat(f"{(text or '')[:7]}-01")
    except ValueError:
        return None
    return first if MONTH_YEARS[0] <= first.year <= MONTH_YEARS[1] else None


def is_beijing_time(name: str) -> bool:
    return name in BEIJING_TIME_ZONES
