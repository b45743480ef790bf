"""Manager pages run a fixed number of SQL statements, however much data there is."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from inspect_app import clock
from tests.jobs_helpers import keep_composite
from tests.visit_helpers import release_mini_visit

PAGES = ["/board", "/board?from=2026-01&to=2030-12&severity=minor", "/board/lines?state=overdue", "/board/lines?state=open",
         "/stars", "/bulletins?kind=month", "/home", "/visits", "/notices", "/notices?open=1", "/reminders",
         "/board/lines", "/board/lines?state=closed", "/board/repeats", "/board/self-checks", "/visits?q=9000",
         "/visits/checkin-flags", "/schedule"]


def statements(app, client, url):
    keep_composite(app)  # the worker keeps the composite (home, the month summary) as it runs
    forget_kept_bulletins(app)  # the bulletin composed, not read from what the first view kept
    response = client.get(url)
    assert response.status_code == 200, url
    return int(response.headers["X-Query-Count"])


def forget_kept_bulletins(app):
    from sqlmodel import Session, delete

    from inspect_app.reports.models import KeptBulletin

    with Session(app.extensions["db_engine"]) as session:
        session.exec(delete(KeptBulletin))
        session.commit()


def grow(app, db, org_tree, people, create_outlet, n, start=0):
    for k in range(start, start + n):
        outlet = create_outlet(org_tree["xihu"], code=f"9{k:05d}")
        visit = release_mini_visit(app, db, people["inspector"], outlet,
                                   {"A-02": dict(occurrences=1, note="倚靠"), "B-03": dict(result="fail", note="坏了")})
        from sqlmodel import select

        from inspect_app.rectifications.models import RectificationLine
        from inspect_app.rectifications.services import deadline_instant

        for line in db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).all():
            day = clock.today("Asia/Shanghai") - dt.timedelta(days=10)  # late, escalated
            line.deadline_date, line.deadline_at = day, deadline_instant(day, "Asia/Shanghai")
            db.add(line)
        db.commit()


@pytest.mark.parametrize("url", PAGES)
def test_statement_count_does_not_grow_with_data(url, app, db, org_tree, people, create_outlet, client_as):
    director = client_as(people["director"])
    grow(app, db, org_tree, people, create_outlet, 1)
    small = statements(app, director, url)
    grow(app, db, org_tree, people, create_outlet, 6, start=1)
    large = statements(app, director, url)
    assert small == large, f"{url}: {small} statements with 1 visit, {large} with 7"


def flag_checkins(db, n: int) -> None:
    """The newest ``n`` check-ins not flagged yet made far from their outlet (as ``check_in``
    flags one), so the flagged check-ins page has people and rows to show."""
    from sqlmodel import select

    from inspect_app.visits.models import Visit

    for visit in db.exec(select(Visit).where(Visit.checkin_flag == "", Visit.checkin_at.is_not(None))
                         .order_by(Visit.id.desc()).limit(n)).all():
        visit.checkin_flag, visit.checkin_distance_m, visit.checkin_far_reason = "far", 900.0, "在对面楼下签到"
        db.add(visit)
    db.commit()


def test_flagged_checkins_read_in_statements_that_do_not_grow(app, db, org_tree, people, create_outlet, client_as):
    director = client_as(people["director"])
    grow(app, db, org_tree, people, create_outlet, 2)
    flag_checkins(db, 1)
    small = statements(app, director, "/visits/checkin-flags")
    grow(app, db, org_tree, people, create_outlet, 6, start=2)
    flag_checkins(db, 4)
    large = statements(app, director, "/visits/checkin-flags")
    assert small == large, f"{small} statements with 1 flagged check-in, {large} with 5"
    body = director.get("/visits/checkin-flags").get_data(as_text=True)
    assert body.count("在对面楼下签到") == 5 and "<td>8</td><td>5</td><td>0</td>" in body  # 8 check-ins, 5 far


def test_schedule_reads_its_people_in_statements_that_do_not_grow(app, db, org_tree, people, create_unit, create_user,
                                                                  client_as):
    """The schedule's picker read each person's unit one by one (3,599 statements for a county's
    manager on the national network): its statements must not grow with people and units."""
    from inspect_app.auth.models import Role

    manager = client_as(people["manager"])  # 杭州市

    def add(n: int, start: int) -> None:
        for k in range(start, start + n):
            for city in (org_tree["hz"], org_tree["nb"]):
                county = create_unit(f"区{city.code}{k}", parent=city, code=f"{city.code}9{k}")
                create_user(Role.inspector, unit=county, username=f"insp{city.code}{k}")
                create_user(Role.manager, unit=county, username=f"mgr{city.code}{k}")

    add(1, 0)
    small = statements(app, manager, "/schedule")
    add(8, 1)
    large = statements(app, manager, "/schedule")
    assert small == large, f"{small} statements with 4 more people, {large} with 36"
    body = manager.get("/schedule").get_data(as_text=True)
    from sqlmodel import select

    from inspect_app.auth.models import User

    names = {u.username: u.display_name for u in db.exec(select(User)).all()}
    for k in range(9):
        assert f">{names[f'insp3301{k}']}</option>" in body and f">{names[f'mgr3301{k}']}</option>" in body
        assert f">{names[f'insp3302{k}']}</option>" not in body  # 宁波市's people are not this manager's
    assert f">{names['shopper']} · 暗访员A07</option>" in body  # shoppers from anywhere


def test_a_kept_bulletin_is_read_in_a_few_statements(app, db, org_tree, people, create_outlet, client_as):
    director = client_as(people["director"])
    grow(app, db, org_tree, people, create_outlet, 3)
    composed = statements(app, director, "/bulletins?kind=month")
    kept = int(director.get("/bulletins?kind=month").headers["X-Query-Count"])
    assert kept < composed / 2, f"kept {kept}, composed {composed}"


def test_budget_fails_loudly(app, client_as, people):
    from inspect_app.db import QueryBudgetExceeded

    app.config["QUERY_BUDGET"] = 2
    with pytest.raises(QueryBudgetExceeded):
        client_as(people["manager"]).get("/home")


def test_schedule_unit_filter_lists_units_as_the_other_pickers(org_tree, people, create_user, client_as):
    """Provinces and cities, and the counties beside and below the unit shown (the filtered one,
    else the viewer's own): the nation's 2,800 counties are not one select."""
    from inspect_app.auth.models import Role

    def options(client, url="/schedule"):
        body = client.get(url).get_data(as_text=True)
        return {name.strip("\u3000") for name in re.findall(r'<option value="\d+"(?: selected)?>([^<]+)</option>',
                                                              body.split('name="unit"')[1].split("</select>")[0])}

    assert options(client_as(people["admin"])) == {"浙江省", "杭州市", "宁波市"}
    assert options(client_as(people["admin"]), f"/schedule?unit={org_tree['hz'].id}") == {
        "浙江省", "杭州市", "宁波市", "西湖区"}
    assert options(client_as(people["manager"])) == {"杭州市", "西湖区"}
    county = create_user(Role.manager, unit=org_tree["xihu"], username="mgr.xihu")
    assert options(client_as(county)) == {"西湖区"}


COMPLAINT_PAGES = ["/complaints", "/complaints?page=2", "/complaints?status=closed", "/complaints/streaks",
                   "/complaints/streaks?sort=shortest&page=2", "/complaints/hotspots", "/callbacks",
                   "/bulletins?kind=day", "/board/self-checks"]


@pytest.mark.parametrize("url", COMPLAINT_PAGES)
@pytest.mark.parametrize("role", ["manager", "admin"])
def test_complaint_pages_statement_count_does_not_grow(url, role, app, db, org_tree, people, create_outlet,
                                                       client_as):
    """The complaint pages (and the day bulletin, the self-inspections) read as many statements
    with one outlet's complaints as with seven's: no read per unit, outlet, key or row."""
    from tests.dashboard.complaint_growth import grow_complaints

    client = client_as(people[role])
    grow(app, db, org_tree, people, create_outlet, 1)
    grow_complaints(app, db, org_tree, people, create_outlet, 1)
    small = statements(app, client, url)
    grow(app, db, org_tree, people, create_outlet, 6, start=1)
    grow_complaints(app, db, org_tree, people, create_outlet, 6, start=1)
    large = statements(app, client, url)
    assert small == large, f"{url}: {small} statements with 1 outlet's complaints, {large} with 7"
