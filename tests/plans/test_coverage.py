"""Coverage agrees everywhere: recomputed from the indicator's rows behind ``inspections.plan_done``,
it is the coverage page's figure, the indicator's raw value and the export's; missed visits are
listed (a visit handed in after its window counts as missed) and counted on the board and in the
week and month bulletins; an ad hoc visit is no planned one, a cancelled one not counted."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.auth.models import Role, User
from inspect_app.indicators import rows as indicator_rows
from inspect_app.indicators import services as indicators
from inspect_app.org.models import Window
from inspect_app.plans import coverage
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests.plans.helpers import PINNED, make_plan

ANSWERS = {"A-01": dict(result="pass"), "A-02": dict(occurrences=0), "B-01": dict(scale_value=4),
           "B-02": dict(result="pass"), "B-03": dict(result="pass")}
AT_DEC_22 = "2026-12-21T16:30:00Z"  # 00:30 on 22 December in Shanghai


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(4, 0), dt.timezone.utc)  # 12:00 in Shanghai


def complete(app, db, clock_at, visit, when: dt.datetime):
    clock_at(when)
    inspector = db.get(User, visit.assignee_id)
    window = db.exec(select(Window).where(Window.outlet_id == visit.outlet_id)).first()
    with app.test_request_context():
        visits.check_in(db, actor=inspector, visit=visit, lat=30.26, lon=120.13, accuracy=10, window_id=window.id)
        for code, kw in ANSWERS.items():
            visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
        visits.submit_visit(db, actor=inspector, visit=visit, token=f"t{visit.id}")
    db.commit()


@pytest.fixture
def december(app, db, clock_at, people, org_tree, create_outlet, create_user):
    """A December plan of 西湖区 (six outlets, 'mini'); on 22 December: two done in their window,
    one handed in late, one cancelled, the rest missed or still open; plus a 宁波 plan visit."""
    clock_at(PINNED)
    for _n in range(4):
        create_outlet(org_tree["xihu"])
    second = create_user(Role.inspector, unit=org_tree["hz"])
    plan, _made = make_plan(app, db, people["manager"], org_tree["xihu"], checklist_code="mini",
                            member_ids=[people["inspector"].id, second.id])
    nb = create_user(Role.inspector, unit=org_tree["nb"])
    make_plan(app, db, people["other_manager"], org_tree["haishu"], name="海曙月检", member_ids=[nb.id])
    dec = sorted(db.exec(select(Visit).where(Visit.plan_id == plan.id,
                                             Visit.plan_period == dt.date(2026, 12, 1))).all(),
                 key=lambda v: v.due_from)
    complete(app, db, clock_at, dec[0], noon(dec[0].due_from))
    complete(app, db, clock_at, dec[1], noon(dec[1].due_until))
    complete(app, db, clock_at, dec[2], noon(dec[2].due_until + dt.timedelta(days=1)))  # late: missed
    with app.test_request_context():
        visits.cancel_visit(db, actor=people["manager"], visit=dec[3], reason="网点装修")
    db.commit()
    clock_at(AT_DEC_22)
    return plan, dec


def expected(db, dec):
    """What the arranged December says, worked out here by hand from the visits' dates."""
    today = dt.date(2026, 12, 22)
    counted = [v for v in dec if v.status != VisitStatus.cancelled]
    done = [dec[0], dec[1]]
    missed = [v for v in counted if v not in done and v.due_until < today]
    return len(counted), len(done), len(missed)


def test_coverage_recomputed_from_the_rows_is_the_pages_and_the_indicators(app, db, people, org_tree, client_as,
                                                                           december):
    _plan, dec = december
    planned, done, missed = expected(db, dec)
    assert (planned, done) == (5, 2) and missed >= 1
    period = indicators.Period.parse("2026-12")
    with app.test_request_context():
        _ranking, score = indicators.unit_score(db, people["director"], unit=org_tree["hz"], period=period,
                                                zone="Asia/Shanghai", fresh=True, with_previous=False)
        plan_done = next(s for s in score.scores if s.indicator.source == "inspections.plan_done")
        table = indicator_rows.rows_behind(db, plan_done.indicator, org_tree["hz"], period, "Asia/Shanghai")
    db.commit()  # the tree's version recorded on the way
    from_rows = Decimal(sum(table.counted) * 100) / table.total
    assert (table.total, sum(table.counted)) == (planned, done)
    assert abs(plan_done.raw - from_rows) < Decimal("0.0001")

    manager = client_as(people["manager"])
    page = manager.get("/plans/coverage?period=2026-12").get_data(as_text=True)
    figures = {label: value for value, label in re.findall(r'<b>([\d.—]+)%?</b><span>([^<]+)</span>', page)}
    assert figures["计划检查数"] == str(planned) and figures["已完成"] == str(done) and figures["漏检"] == str(missed)
    assert Decimal(figures["覆盖率"]) == (from_rows).quantize(Decimal("0.1"))
    export = manager.get("/plans/coverage/export.csv?period=2026-12").get_data(as_text=True)
    total_row = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))[-1]
    assert total_row[4:7] == [str(planned), str(done), str(missed)]
    assert Decimal(total_row[8]) == from_rows.quantize(Decimal("0.1"))
    # the same count for the whole province (the 宁波 plan's visits are still open)
    with app.test_request_context():
        rows = coverage.outlet_rows(db, dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert sum(r[1] for r in rows) == planned + 1


def test_the_missed_visits_list_board_and_exports(app, db, people, org_tree, client_as, december):
    _plan, dec = december
    _planned, _done, missed = expected(db, dec)
    manager = client_as(people["manager"])
    page = manager.get(f"/plans/missed?period=2026-12&unit={org_tree['xihu'].id}").get_data(as_text=True)
    assert page.count('class="list-item"') == missed
    assert "逾期提交" in page  # the one handed in a day late is missed, and says so
    board = manager.get("/board").get_data(as_text=True)
    assert re.search(rf'<b>{missed}</b><span>计划漏检（2026-12）</span>', board), board[board.find("stats"):][:2000]
    export = manager.get("/plans/missed/export.xlsx?period=2026-12").status_code
    assert export == 200
    # scope: 宁波's manager sees none of 杭州's; out-of-scope unit → 404; other roles → 403
    other = client_as(people["other_manager"])
    theirs = other.get("/plans/missed?period=2026-12").get_data(as_text=True)
    assert "海曙区鼓楼邮政营业所" in theirs and "西湖区" not in theirs  # their own missed visit, none of 杭州's
    assert other.get(f"/plans/coverage?unit={org_tree['hz'].id}").status_code == 404
    assert other.get(f"/plans/missed?unit={org_tree['xihu'].id}").status_code == 404
    for role in ("inspector", "chief", "shopper", "handler"):
        assert client_as(people[role]).get("/plans/coverage").status_code == 403
        assert client_as(people[role]).get("/plans/missed/export.csv").status_code == 403
    assert client_as(people["reviewer"]).get("/plans/coverage").status_code == 200
    assert client_as(people["admin"]).get("/plans/coverage?period=2026-Q4").status_code == 200


def test_the_bulletins_count_coverage(app, db, people, org_tree, client_as, december):
    _plan, dec = december
    planned, done, missed = expected(db, dec)
    director = client_as(people["director"])
    for kind, day in (("month", "2026-12-22"), ("week", "2026-12-22")):
        page = director.get(f"/bulletins?kind={kind}&date={day}&unit={org_tree['hz'].id}").get_data(as_text=True)
        assert "计划检查覆盖" in page, kind
    month = director.get(f"/bulletins?kind=month&date=2026-12-22&unit={org_tree['hz'].id}").get_data(as_text=True)
    section = month[month.find("计划检查覆盖"):]
    assert f"<td class=\"num\">{planned}</td>" in section and f"<td class=\"num\">{missed}</td>" in section


def test_an_ad_hoc_visit_is_not_a_planned_one(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                         checklist_code="open_inspection")
    db.commit()
    assert visit.due_from is None
    with app.test_request_context():
        assert coverage.outlet_rows(db, dt.date(2026, 12, 1), dt.date(2027, 1, 1)) == []
    assert clock.today("Asia/Shanghai") == dt.date(2026, 12, 1)
