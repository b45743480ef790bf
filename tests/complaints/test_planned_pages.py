"""The complaint pages read by scope and cut in the database show what the whole list, sorted in
Python, showed: the register's pages across the open/closed edge, the 零投诉 streaks' pages in
each sort (and in a zone whose offset moved), the recent outlets at fault, the units' streaks."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.complaints import queries
from inspect_app.org import services as org
from inspect_app.org.models import Outlet
from tests.dashboard.complaint_growth import grow_complaints


@pytest.fixture
def grown(app, db, org_tree, people, create_outlet):
    grow_complaints(app, db, org_tree, people, create_outlet, 9)


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("status", ["", "open", "closed"])
def test_register_pages_are_the_one_order_cut(small, status, grown, db, people, ctx, monkeypatch):
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500 if small else 0)
    user = people["manager"]
    filters = queries.ComplaintFilters(status=status)
    whole = [c.id for c, _o in queries.complaint_rows(db, user, filters, limit=1000)]
    assert len(whole) > 8
    for limit in (4, 7):
        pages = []
        for offset in range(0, len(whole) + limit, limit):
            rows, total = queries.complaint_page(db, user, filters, limit=limit, offset=offset)
            assert total == len(whole)
            pages += [c.id for c, _o in rows]
        assert pages == whole, limit


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("sort", queries.STREAK_SORTS)
def test_streak_pages_are_the_whole_list_cut(small, sort, grown, app, db, org_tree, people, ctx, monkeypatch):
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500 if small else 0)
    user = people["director"]
    whole = queries.outlet_streaks(db, user, sort=sort)
    key = [(r.outlet.id, r.days, r.since, r.last) for r in whole]
    assert any(r.never for r in whole) and not all(r.never for r in whole)
    assert len({r.days for r in whole}) > 3  # the order is more than the codes
    for limit in (3, 5):
        got = []
        for offset in range(0, len(whole) + limit, limit):
            rows, total, never, _start = queries.streak_page(db, user, sort=sort, limit=limit, offset=offset)
            assert (total, never) == (len(whole), sum(r.never for r in whole))
            got += [(r.outlet.id, r.days, r.since, r.last) for r in rows]
        assert got == key


def test_streaks_in_a_zone_whose_offset_moved_are_ordered_as_before(grown, db, people, ctx):
    """New York's offset moves twice a year: SQLite cannot shift it by a fixed amount, so its
    outlets' streaks are ordered in Python, the same as the whole list."""
    outlets = db.exec(select(Outlet).where(Outlet.code.like("7%"))).all()
    for outlet in outlets[:3]:
        outlet.timezone = "America/New_York"
        db.add(outlet)
    db.commit()
    user = people["director"]
    whole = queries.outlet_streaks(db, user)
    rows, total, never, _start = queries.streak_page(db, user, limit=4, offset=4)
    assert [(r.outlet.id, r.days) for r in rows] == [(r.outlet.id, r.days) for r in whole[4:8]]
    assert total == len(whole)


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("who", ["manager", "director", "admin"])
def test_recent_outlets_at_fault_are_the_newest_of_the_scope(small, who, grown, db, people, ctx, monkeypatch):
    """The newest at-fault outlets of the viewer's scope, read from the kept last ones, are those
    the complaints say, whether the scope is read by its outlets or by the clause."""
    import sqlalchemy as sa

    from inspect_app import permissions
    from inspect_app.complaints.models import AT_FAULT, Complaint

    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500 if small else 0)
    user = people[who]
    seen = select(Outlet.id).where(permissions.outlets_clause(db, user))
    expected = [outlet_id for outlet_id, _last in db.execute(
        select(Complaint.outlet_id, sa.func.max(Complaint.received_at).label("last"))
        .where(Complaint.verdict.in_(AT_FAULT), Complaint.outlet_id.in_(seen)).group_by(Complaint.outlet_id)
        .order_by(sa.desc("last"), Complaint.outlet_id).limit(5)).all()]
    assert queries.recent_at_fault(db, user, limit=5) == expected
    assert len(expected) == 5


@pytest.mark.parametrize("small", [True, False])
def test_units_streaks_in_one_go_are_each_units_own(small, grown, db, org_tree, people, ctx, monkeypatch):
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500 if small else 0)
    units = [org_tree[name] for name in ("hz", "nb", "xihu", "haishu")]
    expected = {u.id: queries.unit_streak(db, u) for u in units}
    assert queries.unit_streaks(db, units) == expected
    assert expected[org_tree["xihu"].id] is not None and expected[org_tree["haishu"].id] is None
