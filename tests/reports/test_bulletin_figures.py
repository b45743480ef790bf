"""Every figure of a bulletin recomputed from the rows, independently of the bulletin's code
(issue 16): for every unit of the demo and of a generated month, as the period ended; and the
running period against the board at the same instant. Plus the ranking rules: the veto, units
never inspected, shared ranks, half-up rounding, commended and named units."""
from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock, demo
from inspect_app.auth.models import User
from inspect_app.checklists import services as checklists
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications.models import (
    OUTLET_TURN,
    LineStatus,
    RectificationEvent,
    RectificationLine,
    RectificationNotice,
)
from inspect_app.rectifications.queries import BoardFilters, board
from inspect_app.reports.bulletins import Period, RankingRules, build
from inspect_app.visits.models import Visit, VisitStatus

ZONE = "Asia/Shanghai"


def _utc(moment):
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def expected(db, node: Unit | None, period: Period, outlets: dict[int, Outlet]) -> dict:
    """The bulletin's figures from the rows, the long way round: one visit and one line at a time."""
    units = {u.id: u for u in db.exec(select(Unit)).all()}
    since, until = period.bounds(ZONE)
    at = min(until, clock.now())
    depth = node.path.count("/") - 1 if node else 0

    def group(outlet: Outlet):
        if node is not None and node.level == "county":
            return outlet.name
        parts = [int(p) for p in units[outlet.unit_id].path.strip("/").split("/")]
        return units[parts[depth]].name if len(parts) > depth else units[outlet.unit_id].name

    inside = {o.id: o for o in outlets.values()
              if node is None or units[o.unit_id].path.startswith(node.path)}
    groups: dict[str, dict] = {}
    for outlet in inside.values():
        g = groups.setdefault(group(outlet), {"outlets": 0, "visited": set(), "scores": [], "reds": 0})
        g["outlets"] += 1
    for visit in db.exec(select(Visit).where(Visit.status == VisitStatus.released)).all():
        released = _utc(visit.released_at)
        if visit.outlet_id not in inside or not since <= released < until:
            continue
        g = groups[group(inside[visit.outlet_id])]
        g["visited"].add(visit.outlet_id)
        g["scores"].append(Decimal(0) if visit.red_line else Decimal(repr(visit.score)))
        g["reds"] += 1 if visit.red_line else 0
    averages = {name: _round(sum(g["scores"]) / len(g["scores"])) for name, g in groups.items() if g["scores"]}
    ranks = {name: 1 + sum(1 for other in averages.values() if other > value) for name, value in averages.items()}
    all_scores = [s for g in groups.values() for s in g["scores"]]

    overdue = issued = closed = 0
    for line in db.exec(select(RectificationLine)).all():
        if line.outlet_id not in inside:
            continue
        issued_at, closed_at = _utc(line.issued_at), _utc(line.closed_at)
        if since <= issued_at < until:
            issued += 1
            closed += 1 if closed_at is not None and closed_at < until else 0
        if issued_at > at or (closed_at is not None and closed_at <= at):
            continue
        events = db.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)
                         .order_by(RectificationEvent.at, RectificationEvent.id)).all()
        status = LineStatus.issued.value
        deadline = _utc(line.deadline_at)
        for event in events:
            if _utc(event.at) <= at:
                status = event.status_after
        later_changes = [e for e in events if _utc(e.at) > at and e.deadline_before is not None]
        if later_changes:
            deadline = clock.day_end(later_changes[0].deadline_before, inside[line.outlet_id].timezone)
        if status in OUTLET_TURN and deadline <= at:
            overdue += 1
    return {
        "visits": len(all_scores), "red_lines": sum(g["reds"] for g in groups.values()),
        "average": _round(sum(all_scores) / len(all_scores)) if all_scores else None,
        "rows": {name: (len(g["scores"]), averages.get(name), ranks.get(name),
                        _round(Decimal(len(g["visited"]) * 100) / g["outlets"]), g["reds"])
                 for name, g in groups.items()},
        "overdue": overdue, "issued": issued, "closed": closed,
    }


def check(db, viewer: User, nodes, periods):
    from inspect_app.org import services as org

    scope = set(org.outlets_in(db, viewer))
    outlets = {o.id: o for o in db.exec(select(Outlet)).all() if o.id in scope}
    compared = 0
    for node in nodes:
        for period in periods:
            b = build(db, viewer, node=node, period=period, zone=ZONE, rules=RankingRules())
            want = expected(db, node, period, outlets)
            got_rows = {r.name: (r.visits, r.average, r.rank, r.coverage, r.red_lines) for r in b.rows}
            where = f"{node.name if node else '全部'} {period.start}"
            assert got_rows == want["rows"], where
            assert (b.total_visits, b.red_lines, b.average) == (want["visits"], want["red_lines"], want["average"]), where
            assert (b.overdue_count, b.lines_issued, b.lines_done) == (want["overdue"], want["issued"], want["closed"]), where
            assert len(b.overdue) == min(30, want["overdue"])
            if period.end > clock.today(ZONE):  # running: the board at the same instant says the same
                _rows, total = board(db, viewer, node=node, filters=BoardFilters(), now=b.as_of)
                assert total.overdue == b.overdue_count, where
            compared += 1
    return compared


@pytest.fixture
def demo_director(app, db):
    """The demo's organisation and visits, and its province director."""
    with app.test_request_context():
        demo.load_demo(db)
        demo.load_demo_visits(db)
    db.commit()
    return db.exec(select(User).where(User.username == "director")).one()


def test_every_demo_bulletin_figure_is_what_the_rows_say(db, demo_director):
    director = demo_director
    today = clock.today(ZONE)
    periods = [Period.around("month", today), Period.around("month", today.replace(day=1) - dt.timedelta(days=1)),
               Period.around("week", today - dt.timedelta(days=7)), Period.around("day", today - dt.timedelta(days=3))]
    nodes = [None] + db.exec(select(Unit).order_by(Unit.path)).all()
    assert check(db, director, nodes, periods) == len(nodes) * len(periods)
    manager = db.exec(select(User).where(User.username == "manager")).one()
    hz = db.get(Unit, manager.unit_id)
    assert check(db, manager, [hz], periods[:2]) == 2


@pytest.fixture
def version_id(app, db):
    with app.app_context():
        return checklists.current_version(db, "open_inspection").id


def test_a_generated_month_with_late_closes_and_changed_deadlines(db, org_tree, people, version_id):
    """Random visits and lines, some closed or re-dated after the month ended: the bulletin tells the
    month as it ended."""
    rng = random.Random(16)
    today = clock.today(ZONE)
    month = Period.around("month", today.replace(day=1) - dt.timedelta(days=1))
    since, until = month.bounds(ZONE)
    outlets = [org_tree[k] for k in ("xihu1", "xihu2", "haishu1")]
    inspector = people["inspector"]
    for n in range(40):
        outlet = rng.choice(outlets)
        moment = since + dt.timedelta(minutes=rng.randint(0, int((until - since).total_seconds() // 60) - 1))
        red = rng.random() < 0.15
        visit = Visit(checklist_version_id=version_id, checklist_code="open_inspection", kind="open", outlet_id=outlet.id,
                      assignee_id=inspector.id, status=VisitStatus.released, score=round(rng.uniform(70, 100), 2),
                      red_line=red, started_at=moment, checkin_at=moment, submitted_at=moment, released_at=moment)
        db.add(visit)
        db.flush()
        notice = RectificationNotice(visit_id=visit.id, outlet_id=outlet.id, issued_at=moment, issued_by_id=inspector.id,
                                     number=f"G{n:03d}")
        db.add(notice)
        db.flush()
        deadline_day = clock.local_date(moment, ZONE) + dt.timedelta(days=rng.randint(1, 10))
        line = RectificationLine(notice_id=notice.id, visit_id=visit.id, outlet_id=outlet.id, item_code=f"I{n}",
                                 checklist_kind="open", problem="问题", requirement="要求", severity="general",
                                 deadline_date=deadline_day, deadline_at=clock.day_end(deadline_day, ZONE),
                                 issued_at=moment)
        db.add(line)
        db.flush()
        fate = rng.choice(["open", "closed_in", "closed_after", "redated_after", "acknowledged"])
        if fate == "closed_in":
            line.status, line.closed_at = LineStatus.closed, min(moment + dt.timedelta(days=2), until - dt.timedelta(hours=1))
            db.add(RectificationEvent(line_id=line.id, at=line.closed_at, action="verified", status_after="closed"))
        elif fate == "closed_after":  # overdue when the month ended, closed in the next one
            line.status, line.closed_at = LineStatus.closed, until + dt.timedelta(days=3)
            db.add(RectificationEvent(line_id=line.id, at=line.closed_at, action="verified", status_after="closed"))
        elif fate == "redated_after":  # the deadline was moved later, after the month
            new_day = deadline_day + dt.timedelta(days=40)
            db.add(RectificationEvent(line_id=line.id, at=until + dt.timedelta(days=1), action="deadline_changed",
                                      status_after=line.status, deadline_before=deadline_day, deadline_after=new_day))
            line.deadline_date, line.deadline_at = new_day, clock.day_end(new_day, ZONE)
        elif fate == "acknowledged":
            line.status, line.acknowledged_at = LineStatus.acknowledged, moment + dt.timedelta(hours=5)
            db.add(RectificationEvent(line_id=line.id, at=line.acknowledged_at, action="acknowledged",
                                      status_after="acknowledged"))
        db.add(line)
    db.commit()
    nodes = [None, org_tree["province"], org_tree["hz"], org_tree["nb"], org_tree["xihu"], org_tree["haishu"]]
    assert check(db, people["director"], nodes, [month, month.previous()]) == len(nodes) * 2
    # the month as it ended differs from today: lines closed or re-dated since are counted late then
    b = build(db, people["director"], node=None, period=month, zone=ZONE)
    statuses = {line.status for line, *_rest in b.overdue}
    assert LineStatus.closed in statuses  # overdue on the last day, closed since
    moved = [row for row in b.overdue if row[0].deadline_date > month.last_day]
    assert moved and all(deadline <= month.last_day for *_r, deadline in moved)  # with the deadline it had then


def _released(db, outlet, inspector, score, red=False, when=None):
    when = when or clock.now() - dt.timedelta(hours=2)
    db.add(Visit(checklist_version_id=db.info["version_id"], checklist_code="open_inspection", kind="open", outlet_id=outlet.id,
                 assignee_id=inspector.id, status=VisitStatus.released, score=score, red_line=red,
                 started_at=when, checkin_at=when, submitted_at=when, released_at=when))


@pytest.fixture
def counties(db, org_tree, create_unit, create_outlet):
    """Five counties under 杭州, two outlets each, none inspected yet."""
    made = []
    for n in range(5):
        county = create_unit(f"县{n}", parent=org_tree["hz"], code=f"3301{90 + n}")
        made.append((county, [create_outlet(county, code=f"3301{90 + n}{i:03d}", name=f"县{n}网点{i}") for i in range(2)]))
    return made


def test_ranking_rules_veto_ties_rounding_coverage_commend_and_name(db, org_tree, people, counties, version_id):
    db.info["version_id"] = version_id
    inspector = people["inspector"]
    (c0, o0), (c1, o1), (c2, o2), (c3, o3), (c4, o4) = counties
    _released(db, o0[0], inspector, 91.8)
    _released(db, o0[1], inspector, 91.9)   # 91.85 exactly: half-up is 91.9
    _released(db, o1[0], inspector, 91.9)   # ties with 县0 at 91.9: both rank 1
    _released(db, o2[0], inspector, 99.0, red=True)  # a red line: counts 0, the unit is vetoed
    _released(db, o2[1], inspector, 95.0)
    _released(db, o3[0], inspector, 80.0)
    db.commit()  # 县4 is never inspected
    period = Period.around("month", clock.today(ZONE))
    b = build(db, people["manager"], node=org_tree["hz"], period=period, zone=ZONE,
              rules=RankingRules(commend=1, name_bottom=1))
    rows = {r.name: r for r in b.rows}
    assert str(rows["县0"].average) == "91.9" and rows["县0"].rank == rows["县1"].rank == 1
    assert rows["县3"].rank == 3 and rows["县2"].rank == 4
    assert rows["县2"].vetoed and str(rows["县2"].average) == "47.5" and str(rows["县2"].raw_average) == "97.0"
    assert rows["县4"].rank is None and rows["县4"].visits == 0 and str(rows["县4"].coverage) == "0.0"
    assert str(rows["县1"].coverage) == "50.0" and str(rows["县0"].coverage) == "100.0"
    assert {r.name for r in b.rows[-2:]} == {"西湖区", "县4"} and all(r.rank is None for r in b.rows[-2:])
    assert {r.name for r in b.commended} == {"县0", "县1"}  # a shared first place is commended twice
    assert [r.name for r in b.named] == ["县2"]
    # without the veto the red-line unit leads
    plain = build(db, people["manager"], node=org_tree["hz"], period=period, zone=ZONE, rules=RankingRules(veto="off"))
    assert {r.name: r.rank for r in plain.rows}["县2"] == 1
    # "unit": the vetoed unit scores 0 for the period
    strict = build(db, people["manager"], node=org_tree["hz"], period=period, zone=ZONE, rules=RankingRules(veto="unit"))
    assert str({r.name: r for r in strict.rows}["县2"].average) == "0.0"


def test_the_bulletin_page_says_a_capped_list_is_capped(app, db, client_as, org_tree, people, version_id):
    db.info["version_id"] = version_id
    inspector, outlet = people["inspector"], org_tree["xihu1"]
    _released(db, outlet, inspector, 90.0, when=clock.now() - dt.timedelta(days=20))
    db.flush()
    visit = db.exec(select(Visit).where(Visit.outlet_id == outlet.id)).first()
    notice = RectificationNotice(visit_id=visit.id, outlet_id=outlet.id, issued_at=visit.released_at,
                                 issued_by_id=inspector.id, number="CAP-1")
    db.add(notice)
    db.flush()
    late_day = clock.today(ZONE) - dt.timedelta(days=5)
    for n in range(35):
        db.add(RectificationLine(notice_id=notice.id, visit_id=visit.id, outlet_id=outlet.id, item_code=f"C{n}",
                                 checklist_kind="open", problem=f"问题{n}", requirement="要求", severity="general",
                                 deadline_date=late_day, deadline_at=clock.day_end(late_day, ZONE),
                                 issued_at=visit.released_at))
    db.commit()
    today = clock.today(ZONE)
    page = client_as(people["manager"]).get(f"/bulletins?kind=month&date={today.isoformat()}").get_data(as_text=True)
    assert "逾期 35 项" in page and "前 30 项（共 35 项）" in page
    assert page.count("CAP-1") == 30
    with Session(db.get_bind()) as other:
        assert other.execute(sa.select(sa.func.count()).select_from(RectificationLine)).scalar() == 35


def test_day_week_and_month_bulletins_each_do_their_own_job(db, client_as, demo_director):
    director = demo_director
    today = clock.today(ZONE)
    lines = db.exec(select(RectificationLine)).all()
    # the day: its visits one by one, what fell overdue that day and what was closed
    busiest = max({clock.local_date(_utc(v.released_at), ZONE) for v in db.exec(select(Visit).where(
        Visit.status == VisitStatus.released)).all()} - {today},
        key=lambda d: sum(1 for line in lines if line.closed_at and clock.local_date(_utc(line.closed_at), ZONE) == d))
    day = build(db, director, node=None, period=Period.around("day", busiest), zone=ZONE)
    assert len(day.day_visits) == day.total_visits > 0
    assert {line.id for line, *_r in day.closed_lines} == {
        line.id for line in lines if line.status == LineStatus.closed and clock.local_date(_utc(line.closed_at), ZONE) == busiest}
    due_that_day = {line.id for line in lines if line.deadline_date == busiest and line.status in OUTLET_TURN}
    assert {line.id for line, *_r in day.new_overdue} <= due_that_day | {line.id for line in lines if line.deadline_date == busiest}
    assert all(deadline == busiest and late == 1 for *_r, late, deadline in day.new_overdue)
    # the week: this week's problems against the four before, units whose overdue count rose
    week = build(db, director, node=None, period=Period.around("week", today - dt.timedelta(days=7)), zone=ZONE)
    assert len(week.week_starts) == 5 and week.week_starts[-1] == week.period.start
    for kind, code, _text, counts in week.problem_trend:
        since, until = week.period.bounds(ZONE)
        assert counts[-1] == sum(1 for line in lines if line.item_code == code and line.checklist_kind == kind
                                 and since <= _utc(line.issued_at) < until)
    # the month: six months per unit, mean days to close, the problems that came back
    month = build(db, director, node=None, period=Period.around("month", today.replace(day=1) - dt.timedelta(days=1)),
                  zone=ZONE)
    assert len(month.month_starts) == 6 and month.history_svg.startswith("<svg") and 'lang="zh-CN"' in month.history_svg
    for name, values in month.history:
        row = {r.name: r for r in month.rows}[name]
        assert values[-1] == row.average
    since, until = month.period.bounds(ZONE)
    spans = [(_utc(line.closed_at) - _utc(line.issued_at)).total_seconds() / 86400 for line in lines
             if line.status == LineStatus.closed and since <= _utc(line.closed_at) < until]
    assert month.mean_days_to_close == (_round(Decimal(repr(sum(spans) / len(spans)))) if spans else None)
    earlier = Period.around("month", month.month_starts[-4]).bounds(ZONE)[0]
    for outlet_name, kind, code, _text, times in month.repeated:
        outlet = db.exec(select(Outlet).where(Outlet.name == outlet_name)).one()
        here = [line for line in lines if line.outlet_id == outlet.id and line.item_code == code]
        assert any(since <= _utc(line.issued_at) < until for line in here)
        assert any(earlier <= _utc(line.issued_at) < since for line in here)
    # and the pages say different things
    manager = client_as(director)
    pages = {kind: manager.get(f"/bulletins?kind={kind}").get_data(as_text=True) for kind in ("day", "week", "month")}
    assert "当日检查" in pages["day"] and "排名" not in pages["day"]
    assert "高频问题：本周与前四周" in pages["week"] and "当日检查" not in pages["week"]
    assert "各单位近六个月" in pages["month"] and "平均销号天数" in pages["month"] and "本周与前四周" not in pages["month"]
