"""Months and days typed into filters at the ends of the calendar (a slip: 0001, 9999) are no month:
the page shows its default period, never a 500 from date arithmetic past year 9999 or before year 1
(a board month starts at midnight in Shanghai, which for 0001-01-01 is still year 0 in UTC)."""
from __future__ import annotations

import pytest

from inspect_app import clock

URLS = [
    "/board?from={m}&to={m}", "/board?from={m}", "/board?to={m}", "/board/lines?from={m}&to={m}",
    "/board/export.csv?from={m}&to={m}", "/board/export.xlsx?from={m}", "/board/lines/export.csv?to={m}",
    "/board/repeats?from={m}", "/board/self-checks?month={m}", "/complaints?month={m}",
    "/complaints/hotspots?month={m}", "/complaints/hotspots/export.csv?month={m}", "/complaints/export.csv?month={m}",
    "/indicators?period={m}", "/indicators?period={y}-Q4", "/bulletins?kind=month&date={m}-01",
    "/bulletins?kind=week&date={m}-28", "/bulletins/ranking/export.csv?kind=month&date={m}-01",
    "/plans/coverage?period={m}", "/plans/missed?period={m}",
]


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2101-01", "2026-13", "26-1", "２０２６-１１"])
def test_a_month_no_calendar_holds_is_no_month(client_as, people, month):
    director = client_as(people["director"])
    for url in URLS:
        response = director.get(url.format(m=month, y=month[:4]))
        response.get_data()  # an export streams: read it to the end
        response.close()
        assert response.status_code in (200, 302, 404), (url, month, response.status_code)


def test_month_named():
    assert clock.month_named("2026-11").isoformat() == "2026-11-01"
    assert clock.month_named("2026-11-30").isoformat() == "2026-11-01"  # a full date counts as its month
    assert [clock.month_named(t) for t in ("9999-12", "0001-01", "2026-13", "", None, "abc")] == [None] * 6
