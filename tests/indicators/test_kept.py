"""The kept composite: the worker computes every node's ranking, pages only read it (whatever its
age, saying when it was computed), an import and the 重新计算 button ask the worker again, and a
page with nothing kept yet queues the work instead of doing it."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlmodel import select

from inspect_app.indicators import services
from inspect_app.indicators.models import IndicatorSnapshot
from inspect_app.jobs import queue
from inspect_app.jobs.models import Job, JobStatus
from inspect_app.org.models import Unit
from tests.visit_helpers import release_mini_visit

PINNED = "2026-12-01T16:30:00Z"  # 00:30 on 2 December in Shanghai (1 December in UTC): November is over


@pytest.fixture(autouse=True)
def pinned(clock_at):
    clock_at(PINNED)


def refresh_jobs(db) -> list[Job]:
    db.expire_all()
    return list(db.exec(select(Job).where(Job.name == services.JOB).order_by(Job.id)).all())


def run_refresh(app) -> int:
    return queue.run_pending(app, names=(services.JOB,))


def kept(db, period: str) -> dict[int, IndicatorSnapshot]:
    db.expire_all()
    return {s.node_id: s for s in db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == period)).all()}


class Statements:
    """The SQL a block runs on the app's engine."""

    def __init__(self, app):
        self.engine, self.seen = app.extensions["db_engine"], []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)

    def reading(self, table: str) -> list[str]:
        return [s for s in self.seen if re.search(rf"\bFROM {table}\b", s)]


def test_the_periodic_job_keeps_every_node_and_leaves_frozen_figures(app, db, org_tree, people, client_as, clock_at):
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})  # today, i.e. in December
    clock_at("2026-11-10T04:00:00Z")
    release_mini_visit(app, db, people["inspector"], org_tree["xihu2"], {"A-02": dict(occurrences=1, note="倚靠")})
    clock_at(PINNED)
    # October published before the worker ever ran: its figures stay as they were frozen
    director = client_as(people["director"])
    director.post(f"/indicators/publish?period=2026-10&unit={org_tree['province'].id}", {})
    frozen = kept(db, "2026-10")[org_tree["province"].id]
    assert frozen.frozen_at is not None
    with app.test_request_context():
        services.refresh_slot()
        services.refresh_slot()  # a second worker's scheduler in the same slot: one job
    # (the director's home, opened by the sign-in, asked for the province's place among provinces)
    jobs = [j for j in refresh_jobs(db) if j.key.startswith("indicators:all:")]
    assert len(jobs) == 1 and jobs[0].key == "indicators:all:20261201T1630"
    run_refresh(app)
    assert {j.status for j in refresh_jobs(db)} == {JobStatus.done}
    # every node with units below it, for November, October, the third quarter and the second
    parents = {0} | {u.parent_id for u in db.exec(select(Unit)).all() if u.parent_id}
    assert parents == {0, org_tree["province"].id, org_tree["hz"].id, org_tree["nb"].id}
    for period in ("2026-11", "2026-10", "2026-Q3", "2026-Q2"):
        assert set(kept(db, period)) == parents, period
    november = kept(db, "2026-11")
    assert set(november[org_tree["province"].id].raws) == {str(org_tree["hz"].id), str(org_tree["nb"].id)}
    assert set(november[0].raws) == {str(org_tree["province"].id)}
    # one visit in 西湖区 in November: it counts for the county, the city and the province, none for Ningbo
    def visits(node_id, unit):
        return Decimal(november[node_id].raws[str(unit.id)]["_visits"])

    assert visits(org_tree["hz"].id, org_tree["xihu"]) == 1 and visits(org_tree["province"].id, org_tree["hz"]) == 1
    assert visits(org_tree["province"].id, org_tree["nb"]) == 0 and visits(0, org_tree["province"]) == 1
    # the same figures as computing the province's ranking on its own
    with app.test_request_context():
        alone = services.ranking(db, people["director"], node=org_tree["province"], zone="Asia/Shanghai",
                                 period=services.Period.parse("2026-11"), with_previous=False, fresh=True)
    assert {str(u.key): str(u.total) for u in alone.units} == {
        str(u.key): str(u.total) for u in services.scoring.composite(
            alone.tree, services._decode(november[org_tree["province"].id].raws), {})}
    again = kept(db, "2026-10")[org_tree["province"].id]
    assert (again.id, again.raws, again.computed_at) == (frozen.id, frozen.raws, frozen.computed_at)


def test_a_page_reads_a_stale_kept_snapshot_without_computing(app, db, org_tree, people, client_as, clock_at):
    with app.test_request_context():
        services.refresh_slot()
    run_refresh(app)
    computed = kept(db, "2026-11")[org_tree["province"].id].computed_at
    # hours later, a visit released for November (late): the kept figures are old, and shown as they are
    clock_at("2026-11-20T04:00:00Z")
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    clock_at("2026-12-02T05:00:00Z")
    director = client_as(people["director"])
    before = len(refresh_jobs(db))
    with Statements(app) as statements:
        ranking = director.get("/indicators?period=2026-11").get_data(as_text=True)
        bulletin = director.get("/bulletins?kind=month&date=2026-11-01").get_data(as_text=True)
        home = client_as(people["manager"]).get("/home").get_data(as_text=True)
    # nothing read the sources of the composite (complaints and callbacks are read only by raw_values)
    assert statements.reading("callback") == [] and statements.reading("operating_value") == []
    assert kept(db, "2026-11")[org_tree["province"].id].computed_at == computed
    assert len(refresh_jobs(db)) == before  # kept after November ended, for these units: nothing to ask
    for page in (ranking, bulletin, home):
        assert "数据计算于 12-02 00:30" in page and "正在计算" not in page
    assert "杭州市" in ranking and "重新计算" in ranking
    assert "重新计算" in bulletin  # the director manages the province whose ranking it shows
    assert "重新计算" not in home  # the city's place among the province's cities: not the city manager's to recompute


def test_with_nothing_kept_a_page_queues_the_work_and_says_so(app, db, org_tree, people, client_as):
    director = client_as(people["director"])
    with Statements(app) as statements:
        page = director.get("/indicators?period=2026-11").get_data(as_text=True)
    assert statements.reading("callback") == []
    assert "正在计算" in page and "杭州市" not in page and kept(db, "2026-11") == {}
    jobs = refresh_jobs(db)
    assert [j.params for j in jobs] == [{"periods": ["2026-11"], "node": org_tree["province"].id},
                                        {"periods": ["2026-10"], "node": org_tree["province"].id}]
    director.get("/indicators?period=2026-11")
    assert len(refresh_jobs(db)) == 2  # the same work waiting: not asked twice
    home = client_as(people["manager"]).get("/home").get_data(as_text=True)
    assert "正在计算" in home
    drill = director.get(f"/indicators/units/{org_tree['hz'].id}/A1?period=2026-11")
    assert drill.status_code == 302 and f"/indicators/units/{org_tree['hz'].id}" in drill.location
    unit_page = director.get(drill.location)
    assert unit_page.status_code == 200 and "正在计算" in unit_page.get_data(as_text=True)
    run_refresh(app)
    page = director.get("/indicators?period=2026-11").get_data(as_text=True)
    assert "正在计算" not in page and "杭州市" in page and "数据计算于 12-02 00:30" in page
    assert set(kept(db, "2026-11")) == {org_tree["province"].id, org_tree["hz"].id, org_tree["nb"].id}


def test_an_import_queues_a_recompute_of_its_months(app, db, org_tree, people, client_as, clock_at):
    with app.test_request_context():
        services.refresh_slot()
    run_refresh(app)
    snapshot = kept(db, "2026-11")[org_tree["province"].id]
    assert snapshot.raws[str(org_tree["hz"].id)]["D1"] is None
    computed = snapshot.computed_at
    clock_at("2026-12-01T17:00:00Z")
    director = client_as(people["director"])
    data = "\ufeff单位编码,月份,指标编码,数值\n3301,2026-11,delivery_on_time,97\n".encode()
    response = director.post("/indicators/import", {"file": (io.BytesIO(data), "ops.csv")},
                             content_type="multipart/form-data")
    assert response.status_code == 302
    waiting = [j for j in refresh_jobs(db) if j.status == JobStatus.queued]
    assert [j.params for j in waiting] == [{"periods": ["2026-11", "2026-Q4"], "node": None}]
    assert waiting[0].requested_by_id == people["director"].id
    run_refresh(app)
    after = kept(db, "2026-11")[org_tree["province"].id]
    assert after.computed_at > computed and Decimal(after.raws[str(org_tree["hz"].id)]["D1"]) == 97
    assert org_tree["province"].id in kept(db, "2026-Q4")  # the running quarter, as of now


def test_the_recompute_button(app, db, org_tree, people, client_as):
    with app.test_request_context():
        services.refresh_slot()
    run_refresh(app)
    before = len(refresh_jobs(db))
    manager = client_as(people["manager"])  # 杭州市
    hz_url = f"/indicators/refresh?period=2026-11&unit={org_tree['hz'].id}"
    # no CSRF token: refused, nothing queued
    assert manager.post(hz_url, csrf=False).status_code in (302, 400)
    assert len(refresh_jobs(db)) == before
    # another city's manager: the unit is not theirs to see
    assert client_as(people["other_manager"]).post(hz_url).status_code == 404
    assert client_as(people["inspector"]).post(hz_url).status_code == 403
    assert client_as(people["reviewer"]).post(hz_url).status_code == 403  # sees rankings, recomputes none
    assert len(refresh_jobs(db)) == before
    response = manager.post(hz_url, {}, follow_redirects=True)
    assert "正在重新计算" in response.get_data(as_text=True)
    waiting = [j for j in refresh_jobs(db) if j.status == JobStatus.queued]
    assert [j.params for j in waiting] == [{"periods": ["2026-11", "2026-10"], "node": org_tree["hz"].id}]
    manager.post(hz_url, {})
    assert len(refresh_jobs(db)) == before + 1  # pressed twice: one job waits
    run_refresh(app)
    assert kept(db, "2026-11")[org_tree["hz"].id].computed_at > kept(db, "2026-11")[org_tree["province"].id].computed_at \
        or kept(db, "2026-11")[org_tree["hz"].id].computed_at == kept(db, "2026-11")[org_tree["province"].id].computed_at
    # back where the button was pressed
    assert manager.post(hz_url + "&next=/home", {}).location.endswith("/home")
    assert manager.post(hz_url + "&next=//evil.example/", {}).location.endswith(
        f"/indicators?period=2026-11&unit={org_tree['hz'].id}")


def test_the_worker_computes_a_bulletin_when_the_kept_figures_are_old(app, db, org_tree, people, clock_at):
    with app.test_request_context():
        services.refresh_slot()
    run_refresh(app)
    clock_at("2026-12-02T05:00:00Z")  # hours after the worker kept them
    with app.test_request_context(environ_base={queue.IN_JOB: "bulletins"}):
        assert services.in_background()
        with Statements(app) as statements:
            result = services.ranking(db, people["director"], node=org_tree["province"], zone="Asia/Shanghai",
                                      period=services.Period.parse("2026-11"), with_previous=False)
    assert statements.reading("callback") and result.computed_at.isoformat().startswith("2026-12-02T05:00")
    with app.test_request_context():
        assert not services.in_background()


def test_a_period_not_begun_asks_nothing_of_the_worker(app, db, org_tree, people, client_as):
    page = client_as(people["director"]).get("/indicators?period=2027-03").get_data(as_text=True)
    assert "未检查" in page and "杭州市" in page and "正在计算" not in page
    assert refresh_jobs(db) == [] or all(j.params["periods"] != ["2027-03"] for j in refresh_jobs(db))
