"""The notice list, the line lists and the reminders as managers read them: the notices most
urgent first in three parts and paged by a cursor, the lines by deadline through every plan."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.org import services as org
from inspect_app.rectifications import queries
from inspect_app.rectifications import views as rect_views
from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from inspect_app.rectifications.services import deadline_instant
from tests.dashboard.test_query_counts import grow

ZONE = "Asia/Shanghai"
S = LineStatus
#: per notice (in the order made), its two lines as (status, deadline in days from today)
STATES = [
    [(S.acknowledged, -3), (S.closed, -20)],   # 0: overdue by 3 days
    [(S.issued, -8), (S.issued, 5)],           # 1: overdue by 8 days: the first
    [(S.returned, 0), (S.closed, -9)],         # 2: due today
    [(S.acknowledged, 0), (S.answered, -30)],  # 3: due today too (the answered line does not count): after 2
    [(S.answered, -5), (S.closed, -6)],        # 4: awaiting verification
    [(S.disputed, -2), (S.withdrawn, -6)],     # 5: awaiting a decision, a later deadline than 4
    [(S.closed, -40), (S.closed, -40)],        # 6: settled
    [(S.closed, -40), (S.withdrawn, -40)],     # 7: settled, newer than 6: before it
]
OPEN_ORDER = [1, 0, 2, 3, 4, 5]
ALL_ORDER = OPEN_ORDER + [7, 6]


@pytest.fixture
def notices(app, db, org_tree, people, create_outlet):
    """Eight notices of two lines each, in the states above; their ids in the order made."""
    grow(app, db, org_tree, people, create_outlet, len(STATES))
    made = db.exec(select(RectificationNotice).order_by(RectificationNotice.id)).all()[-len(STATES):]
    today = clock.today(ZONE)
    for notice, states in zip(made, STATES):
        lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                        .order_by(RectificationLine.id)).all()
        assert len(lines) == len(states)
        for line, (status, days) in zip(lines, states):
            day = today + dt.timedelta(days=days)
            line.status, line.deadline_date, line.deadline_at = status, day, deadline_instant(day, ZONE)
            line.closed_at = clock.now() if status == S.closed else None
            db.add(line)
    db.commit()
    return [n.id for n in made]


def _listed(client, url) -> tuple[list[int], str | None, str]:
    text = client.get(url).get_data(as_text=True)
    ids = [int(n) for n in re.findall(r'href="/notices/(\d+)"', text)]
    following = re.search(r'href="([^"]*after=[^"]*)"', text)
    return ids, following and following.group(1).replace("&amp;", "&"), text


def _pages(client, url) -> list[int]:
    """Every page of the list, following its "next" links."""
    seen, pages = [], 0
    while url:
        ids, url, text = _listed(client, url)
        if pages:
            assert "/notices?" in text and ">« " in text  # a way back to the first page
        seen += ids
        pages += 1
        assert pages < 20
    return seen


@pytest.mark.parametrize("scope_first", [500, 0])
def test_notices_most_urgent_first_in_three_parts(scope_first, notices, client_as, people, monkeypatch):
    """Overdue first (the longest overdue first), then by the next deadline in the outlet's turn
    (ties by notice), then those awaiting the inspection side, then the settled newest first;
    the same through the scope's outlets and through the country's lines."""
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", scope_first)
    director = client_as(people["director"])
    assert _listed(director, "/notices")[0] == [notices[k] for k in ALL_ORDER]
    assert _listed(director, "/notices?open=1")[0] == [notices[k] for k in OPEN_ORDER]
    first = _listed(director, "/notices")[2].split('class="list-item')[1]  # notice 1: one line late of two
    assert "1 项逾期" in first and "2 项" in first and "is-late" in first


@pytest.mark.parametrize("scope_first", [500, 0])
@pytest.mark.parametrize("per_page", [1, 2, 3, 5])
def test_notice_pages_follow_on_without_gaps(scope_first, per_page, notices, client_as, people, monkeypatch):
    """Page by page (the cursor crossing the parts' edges) the list is the one list."""
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", scope_first)
    monkeypatch.setattr(queries, "NOTICES_PER_PAGE", per_page)
    director = client_as(people["director"])
    assert _pages(director, "/notices") == [notices[k] for k in ALL_ORDER]
    assert _pages(director, "/notices?open=1") == [notices[k] for k in OPEN_ORDER]


def test_a_cursor_that_is_no_cursor_is_the_first_page(notices, client_as, people):
    director = client_as(people["director"])
    first = _listed(director, "/notices")[0]
    for bad in ("x", "1.2", "9.1.1", "1.99999999999999999999999.3", "3.-", ""):
        response = director.get(f"/notices?after={bad}")
        assert response.status_code == 200, bad
        assert _listed(director, f"/notices?after={bad}")[0] == first, bad


def test_the_notice_list_keeps_to_the_viewer(notices, client_as, people, org_tree, db):
    """A chief sees their outlet's notices only; a complaint handler no visit's notices."""
    chief = people["chief"]  # xihu1: none of the eight
    assert _listed(client_as(chief), "/notices")[0] == []
    assert _listed(client_as(people["handler"]), "/notices")[0] == []
    assert _listed(client_as(people["other_manager"]), "/notices")[0] == []  # Ningbo: none


def _line_order(db, where) -> list[int]:
    lines = db.exec(select(RectificationLine).where(where)).all()
    return [line.id for line in sorted(lines, key=lambda line: (line.deadline_at, line.id))]


@pytest.mark.parametrize("scope_first", [500, 100, 0])  # own outlets; closed lines walked (dense); all walked
def test_line_lists_by_deadline_through_every_plan(scope_first, notices, client_as, people, db, monkeypatch):
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", scope_first)
    director = client_as(people["director"])
    expected = {
        "": _line_order(db, RectificationLine.id > 0),
        "?state=open": _line_order(db, RectificationLine.status.in_([s.value for s in queries.OPEN_STATUSES])),
        "?state=closed": _line_order(db, RectificationLine.status == S.closed),
        "?state=answered": _line_order(db, RectificationLine.status == S.answered),
    }
    for query, ids in expected.items():
        text = director.get(f"/board/lines{query}").get_data(as_text=True)
        assert [int(n) for n in re.findall(r'href="/lines/(\d+)"', text)] == ids, query
    # pages of a merged list (the statuses' ranges each stop at the page's end)
    user = people["director"]
    whole = queries.line_rows(db, user, filters=queries.BoardFilters(), limit=100)
    paged = [row for k in range(0, 16, 3) for row in queries.line_rows(db, user, filters=queries.BoardFilters(),
                                                                           limit=3, offset=k)]
    assert [r[0].id for r in paged] == [r[0].id for r in whole] == expected[""]


def test_reminders_show_the_first_and_link_to_the_rest(notices, client_as, people, monkeypatch):
    """Two lines late (notices 1, 0), two due today (2, 3): the first of each, the rest a link away."""
    monkeypatch.setattr(rect_views, "REMINDERS_SHOWN", 1)
    text = client_as(people["director"]).get("/reminders").get_data(as_text=True)
    due, late = text.split('class="home-block is-overdue"')
    late_line = db_first = re.findall(r'href="/lines/(\d+)"', late)
    assert len(late_line) == 1 and 'href="/board/lines?state=overdue"' in late
    assert len(re.findall(r'href="/lines/\d+"', due)) == 1 and 'href="/board/lines?state=due_soon"' in due
    monkeypatch.setattr(rect_views, "REMINDERS_SHOWN", 2)
    text = client_as(people["director"]).get("/reminders").get_data(as_text=True)
    due, late = text.split('class="home-block is-overdue"')
    assert "state=overdue" not in late and "state=due_soon" not in due
    assert len(re.findall(r'href="/lines/\d+"', due)) == 2
    assert re.findall(r'href="/lines/(\d+)"', late)[0] == db_first[0]  # the most late first
    assert len(re.findall(r'href="/lines/\d+"', late)) == 2


def test_a_large_share_of_a_large_country_walks_the_country(notices, app, db, people, org_tree, monkeypatch):
    """11 outlets in all: past ``SCOPE_FIRST_OUTLETS`` (10) a scope of ten walks the country's
    rows (more than a tenth of it), a scope of one still reads its own outlet; a country within
    the threshold is always read through the scope's outlets."""
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 10)
    with app.test_request_context():
        assert queries.list_scope(db, people["manager"], None) is None  # Hangzhou: 10 of 11
        assert queries.list_scope(db, people["other_manager"], None) == [org_tree["haishu1"].id]
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 11)
    with app.test_request_context():
        assert len(queries.list_scope(db, people["manager"], None)) == 10


def test_line_pages_stop_at_their_bound(notices, client_as, people, monkeypatch):
    """A page past ``LINE_PAGES`` is the last one, without a next page (16 lines, pages of 100:
    with a bound of 1 the first page is the last)."""
    director = client_as(people["director"])
    first = director.get("/board/lines").get_data(as_text=True)
    far = director.get("/board/lines?page=99999999").get_data(as_text=True)
    assert "/lines/" not in far.split('class="list"')[1].split("</ul>")[0]  # past the end: nothing, no 500
    monkeypatch.setattr(rect_views, "LINE_PAGES", 1)
    bounded = director.get("/board/lines?page=99999999").get_data(as_text=True)
    ids = re.findall(r'href="/lines/(\d+)"', bounded)
    assert ids == re.findall(r'href="/lines/(\d+)"', first) and len(ids) == 16


def test_the_next_deadline_is_the_deadline_day_itself(app, db, notices, people, client_as):
    """A deadline is stored as the midnight that closes its day: the list names the day, not the
    day after (notice 1's earliest open deadline is 8 days ago, notice 0's 3 days ago)."""
    today = clock.today(ZONE)
    _ids, _next, text = _listed(client_as(people["director"]), "/notices?open=1")
    for days in (-8, -3, 0):
        assert f"最近期限 {(today + dt.timedelta(days=days)):%m-%d}" in text
    assert f"最近期限 {(today + dt.timedelta(days=-7)):%m-%d}" not in text  # the day after notice 1's
