"""Planning by scope: a small scope's pages read through its outlets, a large one's through the
country's rows in index order. Both plans must show the same thing with the same statements."""
from __future__ import annotations

import re

import pytest

from inspect_app.org import services as org
from tests.dashboard.test_query_counts import forget_kept_bulletins, grow, statements

PAGES = ["/board", "/board?from=2026-01&to=2030-12", "/board/lines?state=overdue", "/board/lines?state=due_soon",
         "/board?unit={xihu}", "/bulletins?kind=month", "/bulletins?kind=week", "/home", "/notices", "/notices?open=1",
         "/board/lines", "/board/lines?state=open", "/board/lines?state=closed", "/reminders", "/visits",
         "/visits?q=90000", "/visits/checkin-flags", "/schedule"]


AS_OF = re.compile(r'<p class="muted small" data-overdue-as-of>[^<]*</p>')


def _body(client, url, *, kept: bool = False) -> str:
    """The page without its CSRF token; a board read from the kept late-line counts says when they
    were counted (``kept``: it must), which the live count does not. A bulletin is composed each
    time (not read from what the view before kept): the plans are what is compared."""
    forget_kept_bulletins(client.application)
    response = client.get(url)
    assert response.status_code == 200, url
    text = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]*"', "", response.get_data(as_text=True))
    board = url.startswith("/board") and "/board/lines" not in url and "unit=" not in url  # a county: per outlet
    assert bool(AS_OF.search(text)) == (kept and board), url
    return AS_OF.sub("", text)


def _same_by_both_plans(app, client, monkeypatch, url: str, *, kept: bool = False) -> None:
    """The page read through the scope's outlets and through the country's rows (``kept``: the
    country's plan reads the kept late counts): the same page with the same statements."""
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500)
    by_outlets, n_outlets = _body(client, url), statements(app, client, url)
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 0)
    by_country, n_country = _body(client, url, kept=kept), statements(app, client, url)
    assert by_outlets == by_country, url
    assert n_outlets == n_country, url


@pytest.mark.parametrize("role", ["manager", "director"])
def test_both_plans_show_the_same_with_the_same_statements(role, app, db, org_tree, people, create_outlet,
                                                           client_as, monkeypatch):
    grow(app, db, org_tree, people, create_outlet, 4)
    client = client_as(people[role])
    for url in PAGES:
        _same_by_both_plans(app, client, monkeypatch, url.format(xihu=org_tree["xihu"].id), kept=True)
    late = _body(client, "/board/lines?state=overdue")
    assert late.count("逾期 10 天") == 8  # the late lines are there to compare (4 outlets, 2 each)


LEAN, SMILE = dict(occurrences=1, note="倚靠"), (lambda n: dict(scale_value=n, note="少笑"))
#: scores 100, 96, 92, 92, 88, 84, 76, 100 of 25 points: five, four, three, two and one star
STAR_ANSWERS = [{}, {"B-01": SMILE(3)}, {"A-02": LEAN}, {"B-01": SMILE(2)}, {"B-01": SMILE(3), "A-02": LEAN},
                {"B-01": SMILE(0)}, {"B-03": dict(result="fail", note="坏了")}, {}]


@pytest.mark.parametrize("role", ["director", "admin"])
def test_star_board_by_levels_shows_the_same_pages(role, app, db, org_tree, people, create_outlet, client_as,
                                                   monkeypatch):
    """The nation's star board takes each page level by level (the outlets walked in code order
    within a level); a small scope sorts its ratings: every page, across the levels' edges, and
    every level's own list the same with the same statements."""
    from inspect_app.visits import queries as visit_queries
    from tests.visit_helpers import release_mini_visit

    for k, failures in enumerate(STAR_ANSWERS):
        outlet = create_outlet(org_tree["xihu"], code=f"8{(k * 7) % 10:05d}")  # codes not in id order
        release_mini_visit(app, db, people["inspector"], outlet, failures)
    monkeypatch.setattr(visit_queries, "STAR_PAGE", 2)
    client = client_as(people[role])
    from sqlmodel import select

    from inspect_app.visits.models import StarRating

    levels = set(db.exec(select(StarRating.stars).where(StarRating.ended_at.is_(None))).all())
    urls = [f"/stars?page={n}" for n in range(1, 6)] + [f"/stars?stars={n}&page={p}" for n in range(1, 6) for p in (1, 2)]
    for url in urls:
        _same_by_both_plans(app, client, monkeypatch, url)
    assert len(levels) >= 3, levels  # the pages cross the levels' edges


@pytest.mark.parametrize("role", ["manager", "director", "admin"])
def test_visit_list_plans_show_the_same_pages(role, app, db, org_tree, people, create_outlet, client_as, monkeypatch):
    """The visit list, newest first by (submitted, started, made): by the scope's outlets (each
    outlet's newest), by the country's walk kept to the scope's outlet ids, or to its clause; plus
    the visits the viewer holds outside the scope. Every page the same with the same statements,
    and the same as the list sorted whole; the count stops at ``COUNT_CAP`` and says so."""
    import datetime as dt

    from inspect_app import clock
    from inspect_app.visits import queries as visit_queries
    from inspect_app.visits import services as visit_services
    from inspect_app.visits.models import Visit

    grow(app, db, org_tree, people, create_outlet, 4)
    today = clock.today("Asia/Shanghai")
    with app.test_request_context():  # scheduled: listed by when they were made
        for outlet, person in ((org_tree["xihu1"], people["inspector"]), (org_tree["haishu1"], people["other_manager"])):
            visit = visit_services.schedule_visits(db, actor=people["admin"], checklist_code="mini", outlet_ids=[outlet.id],
                                                   assignee=person, due_from=today,
                                                   due_until=today + dt.timedelta(days=3))[0]
    visit.assignee_id = people["manager"].id  # 宁波's visit held by 杭州's manager (a cross-inspection)
    db.add(visit)
    db.commit()
    user = people[role]
    monkeypatch.setattr(visit_queries, "PER_PAGE", 2)
    client = client_as(user)
    with app.test_request_context():
        reference = [v.id for v in db.exec(visit_queries.visits_query(db, user).order_by(
            *visit_queries.visit_order(user))).all()]
    # the newest: 宁波's visit, in the province's and the nation's scope, held by 杭州's manager
    assert db.get(Visit, reference[0]).assignee_id == people["manager"].id
    pages = (len(reference) + 1) // 2
    for url in [f"/visits?page={n}" for n in range(1, pages + 2)] + ["/visits?q=9000&page=2"]:
        seen = []
        for first, by_outlets in ((500, 400), (500, 0), (0, 400)):
            monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", first)
            monkeypatch.setattr(visit_queries, "LIST_BY_OUTLETS", by_outlets)
            seen.append((_body(client, url), statements(app, client, url)))
        assert seen[0] == seen[1] == seen[2], url
    listed = []
    for n in range(1, pages + 1):
        body = _body(client, f"/visits?page={n}")
        listed += [int(i) for i in re.findall(r'href="/visits/(\d+)"', body)]
    assert listed == reference
    monkeypatch.setattr(visit_queries, "COUNT_CAP", 3)
    body = _body(client, "/visits")
    assert "1 / 2+" in body and "多于 3 次检查" in body


COMPLAINT_PAGES = ["/complaints", "/complaints?page=2", "/complaints?status=open", "/complaints/streaks",
                   "/complaints/streaks?sort=shortest", "/complaints/streaks?sort=code&page=2",
                   "/complaints/hotspots", "/callbacks", "/callbacks?page=2", "/bulletins?kind=day", "/board/self-checks",
                   "/board/self-checks?unit={xihu}"]


@pytest.mark.parametrize("role", ["manager", "director"])
def test_complaint_pages_show_the_same_by_both_plans(role, app, db, org_tree, people, create_outlet, client_as,
                                                     monkeypatch):
    """Complaints, callbacks, streaks and hotspots read through a small scope's outlets or the
    country's rows in index order: the same page with the same statements."""
    from tests.dashboard.complaint_growth import grow_complaints

    grow(app, db, org_tree, people, create_outlet, 2)
    grow_complaints(app, db, org_tree, people, create_outlet, 12)
    client = client_as(people[role])
    assert "大客户3" in _body(client, "/callbacks")  # the callbacks are there to compare
    from inspect_app.complaints import views as complaint_views

    monkeypatch.setattr(complaint_views, "PER_PAGE", 2)  # the callbacks' second page holds some
    log = _body(client, "/callbacks?page=2").split('class="section-title"')[-1]
    assert log.count('<li class="list-item">') == 2
    for url in COMPLAINT_PAGES:
        _same_by_both_plans(app, client, monkeypatch, url.format(xihu=org_tree["xihu"].id))


@pytest.mark.parametrize("role", ["manager", "director", "admin"])
def test_star_changes_are_the_newest_awards_and_ends(role, app, db, org_tree, people, create_outlet, create_user,
                                                    monkeypatch):
    """The star board's changes: the newest ``limit`` ratings by the later of their award and
    end, since a moment, in the viewer's outlets; read from the two time indexes at once, the
    same as every rating sorted whole, by either plan, at every cut."""
    import datetime as dt

    from sqlmodel import select

    from inspect_app import clock
    from inspect_app.auth.models import Role
    from inspect_app.visits import queries as visit_queries
    from inspect_app.visits.models import StarRating
    from tests.visit_helpers import release_mini_visit

    inspector = create_user(Role.inspector, unit=org_tree["province"], username="inspector.zj")
    outlets = [create_outlet(org_tree["xihu" if k % 3 else "haishu"], code=f"7{k:05d}") for k in range(8)]
    for k, outlet in enumerate(outlets):  # 杭州 and 宁波: the manager sees some
        release_mini_visit(app, db, inspector, outlet, STAR_ANSWERS[k])
    for outlet in outlets[::2]:  # a second rating replaces the first: ended
        release_mini_visit(app, db, inspector, outlet, {})
    now = clock.now()
    ratings = db.exec(select(StarRating).order_by(StarRating.id)).all()
    for k, rating in enumerate(ratings):  # every moment its own, some before the period, ends after awards
        rating.awarded_at = now - dt.timedelta(days=(k * 37) % 120, hours=k)
        if rating.ended_at is not None:
            rating.ended_at = rating.awarded_at + dt.timedelta(days=(k * 11) % 50)
        db.add(rating)
    db.commit()
    since = now - dt.timedelta(days=90)
    user = people[role]
    mine = set(db.exec(select(visit_queries.Outlet.id).where(
        visit_queries.permissions.outlets_clause(db, user))).all())

    def moment(r):
        return max(r.awarded_at, r.ended_at or r.awarded_at)

    changed = [r for r in ratings if r.outlet_id in mine
               and (r.awarded_at >= since or (r.ended_at is not None and r.ended_at >= since))]
    reference = [r.id for r in sorted(changed, key=lambda r: (moment(r), r.id), reverse=True)]
    assert any(r.ended_at for r in changed) and len(reference) < len([r for r in ratings if r.outlet_id in mine])
    for first in (500, 0):
        monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", first)
        for limit in (1, 2, 3, 5, 30):
            rows = visit_queries.star_changes(db, user, since=since, limit=limit)
            assert [r[0].id for r in rows] == reference[:limit], (first, limit)
            assert all(outlet.id == rating.outlet_id for rating, outlet, _window in rows)


def test_list_scope_follows_its_rule_whatever_the_sizes(app, db, org_tree, people, create_outlet, monkeypatch):
    """A list is planned through the scope's outlets when they are at most ``SCOPE_FIRST_OUTLETS``
    and, in a country of more, no more than a ``WALK_SHARE``-th of it; the statement counts the
    country only as far as that rule looks, and sends the ids back only for a small scope. Every
    limit and share around the sizes at hand, their edges included."""
    from sqlmodel import select

    from inspect_app.org.models import Outlet
    from inspect_app.rectifications import queries as rect_queries

    for k in range(3):
        create_outlet(org_tree["xihu"], code=f"6{k:05d}")
    country = len(db.exec(select(Outlet.id)).all())
    scopes = []
    for role in ("manager", "director", "admin", "other_manager"):
        user = people[role]
        scopes.append((user, None, sorted(db.exec(select(Outlet.id).where(
            rect_queries.permissions.outlets_clause(db, user))).all())))
    xihu = org_tree["xihu"]
    scopes.append((people["manager"], xihu, sorted(db.exec(select(Outlet.id).where(Outlet.unit_id == xihu.id)).all())))
    assert sorted({len(ids) for _u, _n, ids in scopes}) == [1, 5, 6] and country == 6
    for first in range(country + 2):
        for share in range(1, country + 2):
            monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", first)
            monkeypatch.setattr(rect_queries, "WALK_SHARE", share)
            for user, node, ids in scopes:
                large = len(ids) > first or (country > first and len(ids) * share > country)
                assert rect_queries.list_scope(db, user, node) == (None if large else ids), (first, share, len(ids))
