"""Self-inspections count apart from inspections: not in the averages, red lines, coverage,
bulletins or the indicators' inspection sources, unless the network counts them in
(SELF_INSPECTION_IN_RANKINGS=1); their own share done on time is the source inspections.self_done."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inspect_app import clock
from inspect_app.indicators import sources
from inspect_app.indicators.definition import parse
from inspect_app.plans import coverage
from inspect_app.reports import bulletins
from inspect_app.visits import queries as visit_queries
from tests.selfcheck.helpers import DEC_1, PINNED, self_inspect, self_plan
from tests.visit_helpers import release_mini_visit

TREE = {
    "code": "t", "title_zh": "测试", "title_en": "Test",
    "areas": [{"code": "A", "name_zh": "检查", "name_en": "Inspections", "indicators": [
        {"code": "COV", "name_zh": "覆盖率", "name_en": "Coverage", "source": "inspections.coverage", "weight": 25,
         "rule": "linear", "floor": 0, "target": 100},
        {"code": "PLAN", "name_zh": "计划完成率", "name_en": "Plan", "source": "inspections.plan_done", "weight": 25,
         "rule": "linear", "floor": 0, "target": 100, "missing": "skip"},
        {"code": "SELF", "name_zh": "自查完成率", "name_en": "Self", "source": "inspections.self_done", "weight": 25,
         "rule": "linear", "floor": 0, "target": 100, "missing": "skip"},
        {"code": "AVG", "name_zh": "自查平均分", "name_en": "Self avg", "source": "inspections.avg_score",
         "checklist": "daily_opening", "weight": 25, "rule": "linear", "floor": 0, "target": 100, "missing": "skip"},
    ]}],
}


@pytest.fixture
def two_kinds(app, db, clock_at, people, org_tree):
    """1 December: xihu1's chief did the day's self-inspection (90: one failure); xihu2's chief did
    not. Then an inspection of xihu2 (mini sheet). Read on the 2nd."""
    clock_at(PINNED)
    self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"], org_tree["xihu2"]])
    self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-04": "叫号机卡纸"})
    inspected = release_mini_visit(app, db, people["inspector"], org_tree["xihu2"], {})
    clock_at("2026-12-01T16:30:00Z")  # 00:30 on the 2nd at the outlets: the 1st is over
    return inspected


def raw(app, db, org_tree, network_counts_self=False):
    app.config["SELF_INSPECTION_IN_RANKINGS"] = int(network_counts_self)
    with app.test_request_context():
        tree = parse(TREE, "t.toml")
        since = clock.day_start(DEC_1, "Asia/Shanghai")
        values = sources.raw_values(db, tree, [org_tree["xihu"]], since=since, until=clock.now(),
                                    period=sources.Period.parse("2026-12"))
    return values[org_tree["xihu"].id]


def test_inspection_figures_leave_self_inspections_out(app, db, two_kinds, org_tree):
    values = raw(app, db, org_tree)
    assert values["_visits"] == 1  # the inspection only
    assert values["COV"] == Decimal("50")  # xihu2 of two outlets: the self-checked xihu1 is not "inspected"
    assert values["PLAN"] is None  # no inspection was planned; the 26 self-inspections are not
    # the month's planned self-inspections (their day ends in it: 26 made so far), one done by now
    assert values["SELF"] == Decimal("3.8462")
    assert values["AVG"] is None  # even named in the tree, a self-inspection is no inspection by default
    with app.test_request_context():
        stats = visit_queries.visit_stats(db, clock.day_start(DEC_1, "Asia/Shanghai"), clock.now())
        assert [(outlet, n) for outlet, n, *_rest in stats] == [(org_tree["xihu2"].id, 1)]
        assert coverage.outlet_rows(db, DEC_1, dt.date(2027, 1, 1)) == []
        planned = {o: (p, d, m) for o, p, d, m in coverage.outlet_rows(db, DEC_1, dt.date(2027, 1, 1),
                                                                       self_inspection=True)}
        assert planned[org_tree["xihu1"].id][1:] == (1, 0) and planned[org_tree["xihu2"].id][1:] == (0, 1)


def test_a_network_may_count_them_in(app, db, two_kinds, org_tree):
    values = raw(app, db, org_tree, network_counts_self=True)
    assert values["_visits"] == 2 and values["COV"] == Decimal("100") and values["AVG"] == Decimal("90")
    assert values["PLAN"] == Decimal("3.8462")  # the planned self-inspections count as planned visits now
    app.config["SELF_INSPECTION_IN_RANKINGS"] = 0


@pytest.mark.parametrize("count_in", [False, True])
def test_the_month_bulletin_counts_them_apart(app, db, two_kinds, people, org_tree, count_in):
    app.config["SELF_INSPECTION_IN_RANKINGS"] = int(count_in)
    with app.test_request_context():
        b = bulletins.build(db, people["manager"], node=org_tree["xihu"],
                            period=bulletins.Period.around("month", DEC_1))
    app.config["SELF_INSPECTION_IN_RANKINGS"] = 0
    assert b.total_visits == (2 if count_in else 1)
    assert {r.name: r.visits for r in b.rows}[org_tree["xihu1"].name] == (1 if count_in else 0)
    assert [p[1] for p in b.problems] == (["OPN-04"] if count_in else [])  # the inspection found nothing
    assert (b.self_total.planned, b.self_total.done, b.self_total.missed) == (26, 1, 1)
    assert b.coverage_total.planned == (26 if count_in else 0)
