"""The complaint counts kept per county and month (``ComplaintStatsMonth``) are the live counts: the
board reads them for whole months, and they must say what the complaints say after every kind of
change — registered, taken, handed on, concluded, reopened, a verdict changed, a complaint moved to
another outlet or deleted, a column set without being read — and after a full recount. So must each
outlet's and unit's newest complaint at fault (``ComplaintLastFault``, the 零投诉 streaks). Periods are
months where the network is: a complaint received at 00:10 on 2 December in Shanghai (16:10 UTC on
the 1st) is December's."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints import queries, stats
from inspect_app.complaints.models import (
    AT_FAULT,
    Complaint,
    ComplaintLastFault,
    ComplaintLastFaultUnit,
    ComplaintStatsMonth,
)
from inspect_app.org.models import Outlet, Unit
from tests.complaints.test_complaint_figures import table_after

MONTHS = [(2026, 10, 2026, 11), (2026, 11, 2026, 12), (2026, 12, 2027, 1), (2026, 10, 2027, 1), (2026, 9, 2026, 10)]


def _figures(db, user, children, *, kept):
    zone = clock.default_zone()
    out = {}
    for y1, m1, y2, m2 in MONTHS:
        since, until = clock.day_start(dt.date(y1, m1, 1), zone), clock.day_start(dt.date(y2, m2, 1), zone)
        rows = queries.by_child_units(db, user, children, since=since, until=until, kept=kept)
        out[(y1, m1, y2, m2)] = [(r.unit.code, r.received, r.at_fault, r.appeals, r.open, r.overdue, r.concluded,
                                  r.first_contact, sorted(r.categories.items())) for r in rows]
    return out


def _scope_totals(db, user, units):
    zone = clock.default_zone()
    out = {}
    for y1, m1, y2, m2 in MONTHS:
        since, until = clock.day_start(dt.date(y1, m1, 1), zone), clock.day_start(dt.date(y2, m2, 1), zone)
        t = queries.scope_totals(db, user, units, since=since, until=until)
        out[(y1, m1, y2, m2)] = (t.received, t.at_fault, t.appeals, t.open, t.overdue, t.concluded, t.first_contact)
    return out


def _summed(figures):
    return {period: tuple(sum(row[i] for row in rows) for i in range(1, 8)) for period, rows in figures.items()}


def _stored(db):
    return sorted((r.unit_id, r.month, r.category, r.received, r.at_fault, r.appeals, r.concluded, r.first_contact)
                  for r in db.exec(select(ComplaintStatsMonth)).all() if any(
                      (r.received, r.at_fault, r.appeals, r.concluded, r.first_contact)))


def _stored_last(db):
    """The kept newest at fault: (outlet id → moment), (unit id → moment)."""
    return tuple({key: moment for key, moment in db.execute(select(model.__table__)).all()}
                 for model in (ComplaintLastFault, ComplaintLastFaultUnit))


def _live_last(db):
    """The same, from the complaints themselves."""
    outlets, units = {}, {}
    for outlet_id, path, moment in db.execute(select(Complaint.outlet_id, Unit.path, Complaint.received_at)
                                              .join(Outlet, Outlet.id == Complaint.outlet_id)
                                              .join(Unit, Unit.id == Outlet.unit_id)
                                              .where(Complaint.verdict.in_(AT_FAULT))).all():
        outlets[outlet_id] = max(moment, outlets.get(outlet_id, moment))
        for unit_id in stats.units_on(path):
            units[unit_id] = max(moment, units.get(unit_id, moment))
    return outlets, units


def _check(app, db, people, org_tree):
    db.expire_all()
    assert _stored_last(db) == _live_last(db), "the kept newest at fault is not the complaints' newest"
    tops = list(db.exec(select(Unit).where(Unit.parent_id.is_(None))).all())
    cities = list(db.exec(select(Unit).where(Unit.parent_id == org_tree["province"].id).order_by(Unit.code)).all())
    counties = list(db.exec(select(Unit).where(Unit.level == "county").order_by(Unit.code)).all())
    with app.test_request_context():
        own = [u for u in counties if u.path.startswith(org_tree["hz"].path)]  # the city manager's counties
        for user, children in ((people["admin"], tops), (people["director"], cities), (people["manager"], own),
                               (people["director"], counties)):
            assert _figures(db, user, children, kept=True) == _figures(db, user, children, kept=False)
        # home's figures of a whole scope (no split by child) are the children's, added up
        for user, units in ((people["admin"], tops), (people["director"], [org_tree["province"]]),
                            (people["manager"], [org_tree["hz"]]), (people["manager"], counties)):
            assert _scope_totals(db, user, units) == _summed(_figures(db, user, units, kept=False))
        # counties the manager sees only in part (the other city's): counted live, not from whole units
        assert _figures(db, people["manager"], counties, kept=None) == _figures(db, people["manager"], counties,
                                                                                kept=False)
    kept = _stored(db), _stored_last(db)
    stats.rebuild(db)
    db.flush()
    assert (_stored(db), _stored_last(db)) == kept, "a full recount differs from the counts kept change by change"
    db.rollback()


def test_kept_counts_are_the_live_counts_through_every_change(app, db, history, people, org_tree, clock_at):
    assert db.exec(select(ComplaintStatsMonth)).first() is not None
    _check(app, db, people, org_tree)
    a, d, e = (history[k] for k in "ADE")
    # reopened after a callback (no longer resolved at first contact), a verdict changed, a complaint
    # moved to another county's outlet, one received back into November
    a = db.get(Complaint, a.id)
    a.reopened += 1
    a.verdict = "unfounded"
    db.add(a)
    moved = db.get(Complaint, d.id)
    moved.outlet_id = org_tree["xihu2"].id
    db.add(moved)
    early = db.get(Complaint, e.id)
    early.received_at = dt.datetime(2026, 11, 30, 15, 50, tzinfo=dt.timezone.utc)  # 23:50 on the 30th in Shanghai
    db.add(early)
    db.commit()
    _check(app, db, people, org_tree)
    # a complaint written by the ORM alone, then deleted (the register keeps its complaints; the
    # counts must not care how a row went)
    moment = dt.datetime(2026, 11, 12, 2, 0, tzinfo=dt.timezone.utc)
    plain = Complaint(source="appeal", received_at=moment, outlet_id=org_tree["haishu1"].id, category="时限",
                      account="申诉", contact_due_at=moment, resolve_due_at=moment, verdict="partly",
                      concluded_at=moment + dt.timedelta(days=3))
    db.add(plain)
    db.commit()
    _check(app, db, people, org_tree)
    db.delete(db.get(Complaint, plain.id))
    db.commit()
    _check(app, db, people, org_tree)


def test_a_column_set_unread_is_counted_from_the_database(app, db, history, people, org_tree):
    with Session(db.get_bind()) as other:
        complaint = other.get(Complaint, history["C"].id)
        other.expire(complaint, ["verdict", "concluded_at"])  # set without loading: no history to read
        complaint.verdict = "unfounded"
        complaint.concluded_at = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)
        other.add(complaint)
        other.commit()
    _check(app, db, people, org_tree)


def test_a_rolled_back_change_counts_nothing(app, db, history, people, org_tree):
    complaint = db.get(Complaint, history["A"].id)
    complaint.verdict = "unfounded"
    db.add(complaint)
    db.flush()
    db.rollback()
    _check(app, db, people, org_tree)
    assert db.get(Complaint, history["A"].id).verdict == "substantiated"


def test_the_board_reads_whole_months_from_the_kept_counts(app, db, history, people, client_as, org_tree):
    """A row changed in the kept counts only shows on the board's months (so the board reads them):
    each unit's row counts its whole subtree, the city's row is the city's figure."""
    # C: 乱收费 at haishu1 (宁波市) on 10 November, counted for its county, its city and the province
    for unit in ("haishu", "nb", "province"):
        assert db.get(ComplaintStatsMonth, (org_tree[unit].id, dt.date(2026, 11, 1), "乱收费")).received == 1
    row = db.get(ComplaintStatsMonth, (org_tree["nb"].id, dt.date(2026, 11, 1), "乱收费"))
    row.received += 5
    db.add(row)
    db.commit()
    rows = table_after(client_as(people["director"]).get("/board?from=2026-11&to=2026-11").get_data(as_text=True), "投诉")
    assert rows["宁波市"][0] == "7"  # the 2 received, and the 5 written into the kept row


def test_kept_counts_refuse_a_period_that_is_not_whole_months(app, db, history, people):
    since = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)  # midnight in UTC, 08:00 in Shanghai
    with pytest.raises(ValueError):
        queries.by_child_units(db, people["admin"], list(db.exec(select(Unit).where(Unit.parent_id.is_(None)))),
                               since=since, until=since + dt.timedelta(days=30), kept=True)


def _line_stats(db):
    """The lines' running totals as rows (read from the table, not through the session's objects)."""
    from inspect_app.rectifications.models import LineStats, LineStatsBelow, LineStatsMonth

    return tuple(sorted(tuple(row) for row in db.execute(select(model.__table__)).all() if row.issued)
                 for model in (LineStats, LineStatsMonth, LineStatsBelow))


def _recounted_the_same(app, db, people, org_tree):
    """The kept counts (complaints and lines) after the move are what a full recount finds."""
    from inspect_app.rectifications import stats as line_stats

    _check(app, db, people, org_tree)
    kept = _line_stats(db)
    assert kept[0] and kept[1] and kept[2], "no lines counted"
    line_stats.rebuild(db)
    db.flush()
    assert _line_stats(db) == kept, "the lines' running totals differ from a recount after the move"
    db.rollback()


def test_an_outlet_moved_to_another_unit_takes_its_counts_along(app, db, history, people, org_tree, client_as):
    """xihu1 (杭州市) has complaints and, from a released visit, lines: edited into 海曙区 (宁波市)
    by an administrator, then moved back by the outlet import; every kept count follows."""
    from inspect_app.org import services as org
    from tests.org.test_org import upload
    from tests.visit_helpers import release_mini_visit

    outlet = org_tree["xihu1"]
    release_mini_visit(app, db, people["inspector"], outlet, {"B-03": dict(result="fail", note="坏了")})
    before = _figures(db, people["admin"], [org_tree["hz"], org_tree["nb"]], kept=False)
    with app.test_request_context():
        org.save_outlet(db, actor=people["admin"], outlet=outlet, code=outlet.code, name=outlet.name,
                        address=outlet.address, lat=outlet.lat, lon=outlet.lon, unit_id=org_tree["haishu"].id,
                        timezone=outlet.timezone)
    db.commit()
    moved = _figures(db, people["admin"], [org_tree["hz"], org_tree["nb"]], kept=True)
    assert moved != before and moved == _figures(db, people["admin"], [org_tree["hz"], org_tree["nb"]], kept=False)
    _recounted_the_same(app, db, people, org_tree)

    csv = f"code,name,address,lat,lon,unit_code,timezone,windows\n{outlet.code},{outlet.name},{outlet.address},,,330106,,\n"
    assert upload(client_as(people["admin"]), "/admin/outlets/import", csv).status_code == 302
    db.expire_all()
    assert db.get(type(outlet), outlet.id).unit_id == org_tree["xihu"].id
    assert _figures(db, people["admin"], [org_tree["hz"], org_tree["nb"]], kept=True) == before
    _recounted_the_same(app, db, people, org_tree)
