"""A plan's periods (days, weeks from Monday, months, quarters, years) as local calendar days."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from inspect_app import clock

MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class PlanPeriod:
    kind: str  # day | week | month | quarter | year
    start: dt.date
    end: dt.date  # the first day after it

    @classmethod
    def around(cls, kind: str, day: dt.date) -> PlanPeriod:
        if kind == "day":  # a self-inspection's daily opening check (每日开门检查)
            return cls(kind, day, day + dt.timedelta(days=1))
        if kind == "week":
            start = day - dt.timedelta(days=day.weekday())
            return cls(kind, start, start + dt.timedelta(days=7))
        months = MONTHS[kind]
        start = dt.date(day.year, (day.month - 1) // months * months + 1, 1)
        return cls(kind, start, clock.add_months(start, months))

    @classmethod
    def parse(cls, text: str, today: dt.date) -> PlanPeriod:
        """``2026-11`` (a month), ``2026-Q4`` (a quarter), ``2026`` (a year); empty: this month."""
        text = (text or "").strip().upper()
        if not text:
            return cls.around("month", today)
        if not (text[:4].isdigit() and 2000 <= int(text[:4]) <= 2100):
            raise ValueError(text)  # a typing slip, and no date arithmetic near year 9999
        if "-Q" in text:
            year, quarter = text.split("-Q", 1)
            if not (year.isdigit() and len(year) == 4 and quarter in ("1", "2", "3", "4")):
                raise ValueError(text)
            return cls.around("quarter", dt.date(int(year), 3 * int(quarter) - 2, 1))
        if text.isdigit() and len(text) == 4:
            return cls.around("year", dt.date(int(text), 1, 1))
        return cls.around("month", dt.date.fromisoformat(f"{text}-01"))

    def previous(self) -> PlanPeriod:
        return PlanPeriod.around(self.kind, self.start - dt.timedelta(days=1))

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def next(self) -> PlanPeriod:
        return PlanPeriod.around(self.kind, self.end)

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "day":
            return f"{self.start}"
        if self.kind == "week":
            year, week, _day = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"


def periods(kind: str, first: dt.date, last: dt.date) -> Iterator[PlanPeriod]:
    """Every period of this kind that has a day in [first, last]."""
    period = PlanPeriod.around(kind, first)
    while period.start <= last:
        yield period
        period = period.next()


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
