"""The app's one clock at the instants where a host on UTC and an outlet in Shanghai disagree.

From 16:00 to 24:00 UTC the host's date is a day behind Asia/Shanghai. Every test here pins the
clock, so each passes at any wall-clock hour.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from inspect_app import clock, demo
from inspect_app.errors import DomainError
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine
from inspect_app.reports import bulletins
from inspect_app.visits import services as visits
from inspect_app.visits.models import StarRating
from tests.visit_helpers import release_mini_visit

SHANGHAI = "Asia/Shanghai"

#: (instant, the date in Shanghai then) — the host's UTC date differs in all but the first.
INSTANTS = [
    ("2026-12-01T15:59:00Z", dt.date(2026, 12, 1)),   # 23:59 in Shanghai
    ("2026-12-01T16:01:00Z", dt.date(2026, 12, 2)),   # 00:01 in Shanghai, still 1 December on the host
    ("2026-11-30T16:30:00Z", dt.date(2026, 12, 1)),   # last day of a month on the host, next month in Shanghai
    ("2026-12-31T16:30:00Z", dt.date(2027, 1, 1)),    # last day of the year on the host
    ("2028-02-28T16:30:00Z", dt.date(2028, 2, 29)),   # 29 February in Shanghai
    ("2028-02-29T16:30:00Z", dt.date(2028, 3, 1)),    # 29 February on the host
]


@pytest.mark.parametrize("instant, shanghai_day", INSTANTS)
def test_today_is_the_outlets_date(clock_at, instant, shanghai_day):
    moment = clock_at(instant)
    assert clock.now() == moment
    assert clock.today(SHANGHAI) == shanghai_day
    assert clock.today("UTC") == moment.date()
    assert clock.day_start(shanghai_day, SHANGHAI) <= moment < clock.day_end(shanghai_day, SHANGHAI)


@pytest.mark.parametrize("day, months, expected", [
    (dt.date(2026, 3, 15), 12, dt.date(2027, 3, 15)),
    (dt.date(2028, 2, 29), 12, dt.date(2029, 3, 1)),   # no 29 February: the day after 28 February
    (dt.date(2028, 2, 29), 48, dt.date(2032, 2, 29)),
    (dt.date(2026, 1, 31), 1, dt.date(2026, 3, 1)),
    (dt.date(2026, 12, 31), 1, dt.date(2027, 1, 31)),
    (dt.date(2026, 12, 15), -12, dt.date(2025, 12, 15)),
])
def test_add_months(day, months, expected):
    assert clock.add_months(day, months) == expected


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


# --- scheduling ----------------------------------------------------------------------------------

@pytest.mark.parametrize("instant, shanghai_day", INSTANTS)
def test_a_manager_schedules_today_at_any_hour(ctx, db, org_tree, people, clock_at, instant, shanghai_day):
    clock_at(instant)
    visit = visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                   outlet_ids=[org_tree["xihu1"].id], assignee=people["inspector"],
                                   due_from=shanghai_day, due_until=shanghai_day)[0]
    assert visit.due_until == shanghai_day
    yesterday = shanghai_day - dt.timedelta(days=1)
    with pytest.raises(DomainError, match="计划时间已经过去"):
        visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                               outlet_ids=[org_tree["xihu1"].id], assignee=people["inspector"],
                               due_from=yesterday, due_until=yesterday)


@pytest.mark.parametrize("instant, shanghai_day", INSTANTS[:4])
def test_schedule_form_offers_the_users_today(client_as, people, clock_at, instant, shanghai_day):
    clock_at(instant)
    page = client_as(people["manager"]).get("/schedule").get_data(as_text=True)
    assert re.search(rf'<input[^>]*name="due_from"[^>]*value="{shanghai_day.isoformat()}"', page)
    assert re.search(rf'<input[^>]*name="due_until"[^>]*value="{shanghai_day + dt.timedelta(days=7)}"', page)


def test_check_in_is_on_time_by_the_outlets_calendar(ctx, db, org_tree, people, clock_at):
    outlet = org_tree["xihu1"]
    clock_at("2026-12-01T12:00:00Z")
    planned = visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                     outlet_ids=[outlet.id], assignee=people["inspector"],
                                     due_from=dt.date(2026, 12, 2), due_until=dt.date(2026, 12, 2))[0]
    clock_at("2026-12-01T15:59:00Z")  # 23:59 on 1 December in Shanghai: a day early
    early = visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                   outlet_ids=[org_tree["xihu2"].id], assignee=people["inspector"],
                                   due_from=dt.date(2026, 12, 2), due_until=dt.date(2026, 12, 2))[0]
    visits.check_in(db, actor=people["inspector"], visit=early, lat=30.26, lon=120.13, accuracy=10)
    assert visits.window_flag(early, org_tree["xihu2"]) == "early"
    clock_at("2026-12-01T16:01:00Z")  # 00:01 on 2 December in Shanghai (the host: still 1 December)
    visits.check_in(db, actor=people["inspector"], visit=planned, lat=30.26, lon=120.13, accuracy=10)
    assert visits.window_flag(planned, outlet) is None
    clock_at("2026-12-03T16:01:00Z")  # 00:01 on 4 December: a visit still not done is late
    unstarted = visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                       outlet_ids=[outlet.id], assignee=people["inspector"],
                                       due_from=dt.date(2026, 12, 4), due_until=dt.date(2026, 12, 4))[0]
    assert visits.window_flag(unstarted, outlet) is None
    clock_at("2026-12-04T16:01:00Z")
    assert visits.window_flag(unstarted, outlet) == "late"


# --- deadlines and overdue -----------------------------------------------------------------------

def _lines(db, visit) -> dict[str, RectificationLine]:
    return {line.item_code: line for line in
            db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).all()}


@pytest.mark.parametrize("instant, shanghai_day", INSTANTS)
def test_deadlines_by_severity_count_from_the_outlets_date(app, db, org_tree, people, clock_at, instant, shanghai_day):
    clock_at(instant)
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {
        "A-01": dict(result="fail", note="未着工装"),        # general: 7 days
        "A-02": dict(occurrences=2, note="倚靠柜台两次"),    # minor: 15 days
        "B-02": dict(result="fail", note="与顾客争吵"),      # on the spot: the day itself
    })
    lines = _lines(db, visit)
    assert lines["A-01"].deadline_date == shanghai_day + dt.timedelta(days=7)
    assert lines["A-02"].deadline_date == shanghai_day + dt.timedelta(days=15)
    assert lines["B-02"].deadline_date == shanghai_day
    for line in lines.values():
        assert line.deadline_at == clock.day_end(line.deadline_date, SHANGHAI)
    notice_number = db.exec(sa.text("SELECT number FROM rectification_notice")).scalar()
    assert notice_number.startswith(f"ZG{shanghai_day:%Y%m}-")


def test_a_secret_visits_shortest_deadline_is_a_working_day_after_release(ctx, db, org_tree):
    outlet = org_tree["xihu1"]
    released = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.timezone.utc)  # Friday 1 January 2027 in Shanghai
    assert rect.default_deadline("on_spot", released, outlet) == dt.date(2027, 1, 1)
    assert rect.default_deadline("on_spot", released, outlet, secret=True) == dt.date(2027, 1, 4)  # Monday
    assert rect.default_deadline("serious", released, outlet, secret=True) == dt.date(2027, 1, 4)
    tuesday = dt.datetime(2027, 1, 5, 2, 0, tzinfo=dt.timezone.utc)
    assert rect.default_deadline("on_spot", tuesday, outlet, secret=True) == dt.date(2027, 1, 6)
    assert rect.default_deadline("general", tuesday, outlet, secret=True) == dt.date(2027, 1, 5) + dt.timedelta(
        days=rect.SEVERITY_DAYS["general"])


def test_overdue_turns_at_the_outlets_midnight(app, db, org_tree, people, clock_at):
    outlet = org_tree["xihu1"]
    clock_at("2026-12-01T16:30:00Z")
    visit = release_mini_visit(app, db, people["inspector"], outlet, {"A-01": dict(result="fail", note="未着工装")})
    line = _lines(db, visit)["A-01"]
    assert line.deadline_date == dt.date(2026, 12, 9)  # 2 December + 7
    clock_at("2026-12-09T15:59:00Z")  # 23:59 on the deadline day in Shanghai
    assert not rect.is_overdue(line) and rect.days_left(line, outlet) == 0
    clock_at("2026-12-09T16:01:00Z")  # 00:01 the next day; the host still says 9 December
    assert rect.is_overdue(line) and rect.days_left(line, outlet) == -1
    clock_at("2026-12-05T16:01:00Z")  # 6 December in Shanghai, 5 December on the host
    with app.test_request_context():
        with pytest.raises(DomainError, match="不能早于今天"):
            rect.change_deadline(db, actor=people["manager"], line=line, new_deadline=dt.date(2026, 12, 5),
                                 reason="按主机日期仍是今天")
        rect.change_deadline(db, actor=people["manager"], line=line, new_deadline=dt.date(2026, 12, 6),
                             reason="问题简单,今天完成")
    db.commit()
    assert line.deadline_at == clock.day_end(dt.date(2026, 12, 6), SHANGHAI)
    clock_at("2026-12-06T15:59:00Z")
    assert not rect.is_overdue(line)


# --- stars ---------------------------------------------------------------------------------------

def test_a_star_awarded_on_29_february_holds_through_28_february(app, db, org_tree, people, clock_at):
    clock_at("2028-02-28T16:30:00Z")  # 29 February 2028 in Shanghai
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    rating = db.exec(select(StarRating).where(StarRating.visit_id == visit.id)).one()
    assert rating.stars == 5
    assert visits.star_last_day(rating, SHANGHAI) == dt.date(2029, 2, 28)

    def current() -> bool:
        with Session(app.extensions["db_engine"]) as s:
            return s.exec(visits.current_stars_query().where(StarRating.id == rating.id)).first() is not None

    clock_at("2029-02-28T15:59:00Z")
    assert current()
    clock_at("2029-02-28T16:01:00Z")  # 1 March in Shanghai
    assert not current()


# --- bulletins -----------------------------------------------------------------------------------

@pytest.mark.parametrize("instant, kind, start, end", [
    ("2026-11-30T16:30:00Z", "month", "2026-11-01", "2026-11-30"),   # 1 December in Shanghai: November
    ("2026-11-30T15:30:00Z", "month", "2026-10-01", "2026-10-31"),   # still 30 November: October
    ("2026-11-30T16:30:00Z", "day", "2026-11-30", "2026-11-30"),     # yesterday in Shanghai
    ("2026-12-01T16:30:00Z", "week", "2026-11-23", "2026-11-29"),    # Wednesday 2 December: last week
    ("2026-12-31T16:30:00Z", "month", "2026-12-01", "2026-12-31"),   # New Year's Day: December
    ("2026-12-31T16:30:00Z", "day", "2026-12-31", "2026-12-31"),
    ("2028-02-29T16:30:00Z", "month", "2028-02-01", "2028-02-29"),   # 1 March 2028: a 29-day February
])
def test_bulletin_defaults_to_the_last_complete_period(client_as, people, clock_at, instant, kind, start, end):
    clock_at(instant)
    page = client_as(people["manager"]).get(f"/bulletins?kind={kind}").get_data(as_text=True)
    assert f"{start}至{end}" in page


def test_bulletin_period_bounds_are_local_midnights():
    period = bulletins.Period.around("month", dt.date(2028, 2, 10))
    since, until = period.bounds(SHANGHAI)
    assert since == dt.datetime(2028, 1, 31, 16, 0, tzinfo=dt.timezone.utc)
    assert until == dt.datetime(2028, 2, 29, 16, 0, tzinfo=dt.timezone.utc)


# --- the demo ------------------------------------------------------------------------------------

def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for name, table in SQLModel.metadata.tables.items()}


@pytest.mark.parametrize("instant", [i for i, _day in INSTANTS])
def test_the_demo_loads_at_any_hour_and_twice_changes_nothing(app, clock_at, instant):
    clock_at(instant, tick=True)
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as session:
        assert demo.load_demo(session)
        assert demo.load_demo_visits(session, per_city=3) > 0
    first = _row_counts(engine)
    assert first["visit"] > 0 and first["rectification_line"] > 0
    with app.test_request_context(), Session(engine) as session:
        assert demo.load_demo(session) == []
        assert demo.load_demo_visits(session, per_city=3) == 0
    assert _row_counts(engine) == first
    # the inspector's "today" list is today's by the outlets' calendar
    with Session(engine) as session:
        today = clock.today(SHANGHAI)
        due = session.exec(sa.text("SELECT due_from, due_until FROM visit WHERE status = 'scheduled' "
                                   "AND due_from IS NOT NULL")).all()
        assert any(dt.date.fromisoformat(str(a)) <= today <= dt.date.fromisoformat(str(b)) for a, b in due)


def test_nothing_in_the_app_reads_the_hosts_clock():
    """Every now and today goes through inspect_app/clock.py (the only module that may)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "inspect_app"
    pattern = re.compile(r"date\.today\(\)|datetime\.(now|today|utcnow)\(\s*\)|time\.time\(\)|utcnow\(")
    offenders = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
