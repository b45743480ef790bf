"""Kept bulletins (issue 22): a finished period's bulletin is composed once (by the worker ahead, or
its first reader) and read afterwards; 数据计算于… and 重新计算 say and change that; a running period,
a row that does not verify and a viewer who does not share the unit's view are composed live."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.jobs import queue
from inspect_app.reports import kept
from inspect_app.reports.bulletins import latest_complete
from inspect_app.reports.models import KeptBulletin
from tests.visit_helpers import release_mini_visit

ZONE = "Asia/Shanghai"


@pytest.fixture
def last_month():
    return latest_complete("month", clock.today(ZONE))


def _released_in(app, db, people, outlet, day, failures=None):
    visit = release_mini_visit(app, db, people["inspector"], outlet, failures or {"B-03": dict(result="fail", note="坏了")})
    visit.released_at = clock.day_start(day, ZONE) + dt.timedelta(hours=10)
    db.add(visit)
    db.commit()
    return visit


def _article(page: str) -> str:
    return page[page.index('<article class="card bulletin">'):page.index("</article>")]


def _note(page: str) -> str:
    """What the page says above the bulletin about when it was composed (数据计算于, 正在计算…)."""
    return page[:page.index('<article class="card bulletin">')]


def _rows(db):
    db.expire_all()
    return db.exec(select(KeptBulletin).order_by(KeptBulletin.id)).all()


def test_the_first_reader_keeps_it_the_next_reads_it_and_recompute_brings_new_data(
        app, db, client_as, org_tree, people, last_month):
    _released_in(app, db, people, org_tree["xihu1"], last_month)
    manager = client_as(people["manager"])
    url = f"/bulletins?kind=month&unit={org_tree['hz'].id}"
    first = manager.get(url).get_data(as_text=True)
    assert "数据计算于" not in _note(first)  # composed for this reader just now
    (row,) = _rows(db)
    assert (row.node_id, row.kind, row.period_start, row.locale, row.format) == (
        org_tree["hz"].id, "month", last_month.replace(day=1), "zh_Hans_CN", kept.shape())
    second = manager.get(url).get_data(as_text=True)
    when = clock.local_now(ZONE).strftime("%m-%d %H:%M")[:-1]  # the minute may tick over
    assert "数据计算于 " + when in second
    assert _article(second) == _article(first)  # the same bulletin, read instead of added up
    # a visit released into that month later: the kept bulletin says what it said until recomputed
    _released_in(app, db, people, org_tree["xihu2"], last_month, {"A-02": dict(occurrences=1, note="倚靠")})
    assert _article(manager.get(url).get_data(as_text=True)) == _article(first)
    assert 'action="/bulletins/recompose' in second
    answer = manager.post(f"/bulletins/recompose?kind=month&date={last_month.isoformat()}&unit={org_tree['hz'].id}", {})
    assert answer.status_code == 302
    waiting = manager.get(url).get_data(as_text=True)
    assert "正在计算" in _note(waiting) and 'action="/bulletins/recompose' not in waiting
    queue.run_pending(app, names=(kept.JOB,))
    after = manager.get(url).get_data(as_text=True)
    assert "正在计算" not in _note(after) and "数据计算于" in _note(after)
    assert re.search(r"<th>检查</th><td>1 ", _article(first)) and re.search(r"<th>检查</th><td>2 ", _article(after))
    assert len(_rows(db)) == 1  # composed again in place


def test_a_running_period_is_always_composed_live(db, client_as, org_tree, people):
    today = clock.today(ZONE)
    director = client_as(people["director"])
    page = director.get(f"/bulletins?kind=month&date={today.isoformat()}&unit={org_tree['province'].id}")
    assert page.status_code == 200 and "数据计算于" not in page.get_data(as_text=True)
    assert _rows(db) == []
    answer = director.post(f"/bulletins/recompose?kind=month&date={today.isoformat()}&unit={org_tree['province'].id}",
                           {}, follow_redirects=True).get_data(as_text=True)
    assert "仍在进行" in answer and _rows(db) == []


def test_who_reads_and_who_recomputes_a_kept_bulletin(app, db, client_as, org_tree, people, last_month):
    province, hz = org_tree["province"], org_tree["hz"]
    day = last_month.isoformat()
    client_as(people["director"]).get(f"/bulletins?kind=month&unit={province.id}")
    # the province's reviewer reads the kept bulletin, may not press 重新计算
    reviewer = client_as(people["reviewer"])
    page = reviewer.get(f"/bulletins?kind=month&unit={province.id}").get_data(as_text=True)
    assert "数据计算于" in page and 'action="/bulletins/recompose' not in page
    assert reviewer.post(f"/bulletins/recompose?kind=month&date={day}&unit={province.id}", {}).status_code == 403
    # a city's manager reaches neither the province's bulletin nor another city's
    manager = client_as(people["manager"])
    assert manager.get(f"/bulletins?kind=month&unit={province.id}").status_code == 404
    assert manager.post(f"/bulletins/recompose?kind=month&date={day}&unit={province.id}", {}).status_code == 404
    assert client_as(people["other_manager"]).post(
        f"/bulletins/recompose?kind=month&date={day}&unit={hz.id}", {}).status_code == 404
    # a chief never sees bulletins, kept or not
    assert client_as(people["chief"]).get(f"/bulletins?kind=month&unit={hz.id}").status_code == 403
    assert [r.node_id for r in _rows(db)] == [province.id]
    # another language is its own bulletin (the chart's words)
    people["director"].locale = "en"
    db.add(people["director"])
    db.commit()
    client_as(people["director"]).get(f"/bulletins?kind=month&unit={province.id}")
    assert sorted(r.locale for r in _rows(db)) == ["en", "zh_Hans_CN"]


def test_a_row_that_does_not_verify_or_is_of_another_shape_is_composed_again(db, client_as, org_tree, people):
    director = client_as(people["director"])
    url = f"/bulletins?kind=month&unit={org_tree['province'].id}"
    director.get(url)
    (row,) = _rows(db)
    row.data = bytes(row.data) + b"."  # changed behind the app's back: not loaded
    db.add(row)
    db.commit()
    assert "数据计算于" not in director.get(url).get_data(as_text=True)
    (row,) = _rows(db)
    assert "数据计算于" in director.get(url).get_data(as_text=True)  # written again, signed
    row.format = kept.shape() - 1
    db.add(row)
    db.commit()
    assert "数据计算于" not in director.get(url).get_data(as_text=True)
    assert _rows(db)[0].format == kept.shape()


def test_the_worker_composes_ahead_top_down_and_again_while_the_period_settles(app, db, org_tree, people, clock_at):
    clock_at("2026-11-02T01:00:00Z")  # 09:00 on 2 November in Shanghai: October is over
    app.config["BULLETIN_KEEP_SECONDS"] = 0  # one per job
    with app.app_context():
        kept.keep_slot()
    queue.run_pending(app, names=(kept.JOB,))
    (first,) = _rows(db)
    assert (first.node_id, first.kind, first.period_start) == (0, "month", dt.date(2026, 10, 1))  # the nation first
    app.config["BULLETIN_KEEP_SECONDS"] = 300
    clock_at.shift(minutes=10)
    with app.app_context():
        kept.keep_slot()
    queue.run_pending(app, names=(kept.JOB,))
    rows = _rows(db)
    nodes = {org_tree[k].id for k in ("province", "hz", "nb")}  # where managers and reviewers are
    assert {(r.node_id, r.kind) for r in rows} == {(n, k) for n in nodes | {0} for k in ("month", "week")}
    computed = {r.id: r.computed_at for r in rows}
    # a day later, within the settling days: October's are composed again (complaints judged since)
    clock_at.shift(days=1)
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        assert kept.keep_due(session, zone=ZONE, kinds=["month"]) == 4
    assert all(r.computed_at > computed[r.id] for r in _rows(db) if r.kind == "month")
    # once composed after the settling days, a period stays as it is
    clock_at("2026-11-09T01:00:00Z")
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        assert kept.keep_due(session, zone=ZONE, kinds=["month"]) == 4
    clock_at("2026-11-20T01:00:00Z")
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        assert kept.keep_due(session, zone=ZONE, kinds=["month"]) == 0


def test_the_unit_picker_lists_cities_and_the_counties_near_the_one_shown(client_as, org_tree, people):
    director = client_as(people["director"])

    def listed(unit):
        page = director.get(f"/bulletins?kind=month&unit={unit.id}").get_data(as_text=True)
        picker = page[page.index('<select name="unit"'):page.index("</select>")]
        return {name for name in ("浙江省", "杭州市", "宁波市", "西湖区", "海曙区") if name in picker}

    assert listed(org_tree["province"]) == {"浙江省", "杭州市", "宁波市"}
    assert listed(org_tree["hz"]) == {"浙江省", "杭州市", "宁波市", "西湖区"}  # its counties
    assert listed(org_tree["xihu"]) == {"浙江省", "杭州市", "宁波市", "西湖区"}  # it and its siblings
    # an administrator's bulletin of every unit is chosen as 全部单位, not shown under the first province
    page = client_as(people["admin"]).get("/bulletins?kind=month").get_data(as_text=True)
    assert '<option value="" selected>全部单位</option>' in page
    assert '<option value="">全部单位</option>' not in director.get("/bulletins?kind=month").get_data(as_text=True)


def test_bad_recompute_requests_get_a_message_and_queue_nothing_twice(app, db, client_as, org_tree, people, last_month):
    from inspect_app.jobs.models import Job

    manager = client_as(people["manager"])
    hz = org_tree["hz"].id

    def jobs():
        db.expire_all()
        return db.exec(select(Job).where(Job.name == kept.JOB)).all()

    url = f"/bulletins/recompose?kind=month&date={last_month.isoformat()}&unit={hz}"
    stale = manager.post(url, csrf=False)  # a stale form: no token
    assert stale.status_code == 400 and "表单已过期" in stale.get_data(as_text=True) and jobs() == []
    assert manager.get(url).status_code == 405
    assert manager.post(f"/bulletins/recompose?kind=month&date=2026-13-45&unit={hz}").status_code == 302  # last month
    assert manager.post(f"/bulletins/recompose?kind=year&date=x&unit={hz}").status_code == 302  # the month, again
    assert manager.post("/bulletins/recompose?kind=month&unit=999999").status_code == 404
    assert client_as(people["admin"]).get("/bulletins?kind=month&unit=999999").status_code == 404
    assert manager.post(f"/bulletins/recompose?kind=month&unit={org_tree['nb'].id}").status_code == 404
    (job,) = jobs()  # double submits while one waits: one job
    assert job.params == {"node": hz, "kind": "month", "start": last_month.replace(day=1).isoformat()}
