"""Manager pages run a fixed number of SQL statements, however much data there is."""
from __future__ import annotations

import datetime as dt

import pytest

from inspect_app import clock
from tests.jobs_helpers import keep_composite
from tests.visit_helpers import release_mini_visit

PAGES = ["/board", "/board?from=2026-01&to=2030-12&severity=minor", "/board/lines?state=overdue", "/board/lines?state=open",
         "/stars", "/bulletins?kind=month", "/home", "/visits", "/notices", "/notices?open=1", "/reminders",
         "/board/lines", "/board/lines?state=closed", "/board/repeats", "/board/self-checks"]


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
