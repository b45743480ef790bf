"""The nation's board reads its late lines from counts the worker keeps (a scope that large cannot
count half a million late lines in a request); it says when they were counted, in the viewer's
local time, follows the lines at every sweep, and counts again itself when no worker ran."""
from __future__ import annotations

import datetime as dt
import re

from sqlmodel import select

from inspect_app import worker
from inspect_app.checklists.definition import SEVERITY_DAYS
from inspect_app.org import services as org
from inspect_app.org.models import Unit
from inspect_app.rectifications.models import LineOverdue, LineOverdueBelow, RectificationLine
from tests.dashboard.test_query_counts import grow

AS_OF = re.compile(r"data-overdue-as-of>逾期数统计于 ([0-9-]+ [0-9:]+)")
OVERDUE = re.compile(r'state=overdue"><b>(\d+)</b>')


def _board(client):
    body = client.get("/board").get_data(as_text=True)
    as_of = AS_OF.search(body)
    return int(OVERDUE.search(body).group(1)), as_of.group(1) if as_of else None


def _summed_below(db) -> None:
    """The kept late counts below each unit are the counties' summed over the units below it."""
    paths = {u.id: u.path for u in db.exec(select(Unit)).all()}
    below: dict = {}
    for row in db.exec(select(LineOverdue)).all():
        for above_id, path in paths.items():
            if above_id != row.unit_id and paths[row.unit_id].startswith(path):
                n, oldest = below.get((above_id, row.month), (0, row.oldest_deadline_at))
                below[(above_id, row.month)] = (n + row.overdue, min(oldest, row.oldest_deadline_at))
    kept = {(r.unit_id, r.month): (r.overdue, r.oldest_deadline_at) for r in db.exec(select(LineOverdueBelow)).all()}
    assert below and kept == below


def _close_one(db) -> None:
    line = db.exec(select(RectificationLine).where(RectificationLine.status == "issued")).first()
    line.status = "closed"
    db.add(line)
    db.commit()


def test_the_nations_board_reads_kept_counts_and_says_when(app, db, org_tree, people, create_outlet, client_as,
                                                          clock_at, monkeypatch):
    # 16:30 UTC is 00:30 the next day in Shanghai: the note shows the Shanghai date
    clock_at(dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.timezone.utc))
    grow(app, db, org_tree, people, create_outlet, 3)  # 3 outlets, 2 late lines each
    director = client_as(people["director"])
    assert _board(director) == (6, None)  # a small scope counts live, and says nothing
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 0)  # now the scope counts as the nation's
    assert _board(director) == (6, "12-07 00:30")  # no counts kept yet: the page counted them
    assert sum(r.overdue for r in db.exec(select(LineOverdue))) == 6
    _summed_below(db)

    _close_one(db)
    clock_at(dt.datetime(2026, 12, 6, 16, 40, tzinfo=dt.timezone.utc))
    assert _board(director) == (6, "12-07 00:30")  # kept counts, ten minutes old: as counted
    with app.app_context():
        worker.run_sweep()  # the worker's sweep counts again
    assert _board(director) == (5, "12-07 00:40")
    db.expire_all()
    _summed_below(db)

    _close_one(db)
    clock_at(dt.datetime(2026, 12, 6, 16, 54, tzinfo=dt.timezone.utc))
    assert _board(director) == (5, "12-07 00:40")
    clock_at(dt.datetime(2026, 12, 6, 16, 56, tzinfo=dt.timezone.utc))  # three sweeps missed: no worker
    assert _board(director) == (4, "12-07 00:56")


def test_kept_counts_follow_filters_by_issue_month_kind_and_severity(app, db, org_tree, people, create_outlet,
                                                                    client_as, clock_at, monkeypatch):
    clock_at(dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.timezone.utc))
    grow(app, db, org_tree, people, create_outlet, 2)
    director = client_as(people["director"])
    urls = [f"/board?severity={s}" for s in SEVERITY_DAYS] + ["/board?from=2026-12&to=2026-12",
                                                               "/board?from=2026-01&to=2026-11"]
    live = [OVERDUE.search(director.get(u).get_data(as_text=True)).group(1) for u in urls]
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 0)
    kept = [OVERDUE.search(director.get(u).get_data(as_text=True)).group(1) for u in urls]
    assert kept == live
    assert sum(map(int, live[:len(SEVERITY_DAYS)])) == 4 and live[-2:] == ["4", "0"]
