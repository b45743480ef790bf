"""Published bulletins (issue 16): numbered in the network's style, figures and PDF kept so that a
reprint later is the same document; seen by the units it concerns; published from cron once."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.reports.bulletins import latest_complete
from inspect_app.reports.models import PublishedBulletin
from tests.jobs_helpers import fetch
from tests.visit_helpers import release_mini_visit

ZONE = "Asia/Shanghai"


@pytest.fixture
def last_month():
    return latest_complete("month", clock.today(ZONE))


def _publish(client, unit, day, kind="month"):
    return client.post(f"/bulletins/publish?kind={kind}&date={day.isoformat()}&unit={unit.id}", {})


def test_a_published_bulletin_is_numbered_kept_and_reprinted_unchanged(app, db, client_as, org_tree, people, last_month):
    director = client_as(people["director"])
    response = _publish(director, org_tree["province"], last_month)
    assert response.status_code == 302 and response.headers["Location"].endswith("/bulletins/published")
    first = db.exec(select(PublishedBulletin)).one()
    year = clock.today(ZONE).year
    assert first.number == f"浙江省质通〔{year}〕1号" and first.kind == "month"
    assert first.period_start == last_month.replace(day=1)
    original = director.get(f"/bulletins/published/{first.id}.pdf")
    assert original.status_code == 200 and hashlib.sha256(original.data).hexdigest() == first.sha256
    # months later the data has moved on (a visit released into that month); the reprint does not
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    visit.released_at = clock.day_start(last_month, ZONE) + dt.timedelta(hours=10)
    db.add(visit)
    db.commit()
    assert director.get(f"/bulletins/published/{first.id}.pdf").data == original.data
    live = fetch(app, director, f"/bulletins/pdf?kind=month&date={last_month.isoformat()}&unit={org_tree['province'].id}")
    assert live.mimetype == "application/pdf" and live.data != original.data  # made by the worker, from today's data
    # publishing the same period again gives the same bulletin; the next one is number 2
    _publish(director, org_tree["province"], last_month)
    assert len(db.exec(select(PublishedBulletin)).all()) == 1
    _publish(director, org_tree["province"], last_month - dt.timedelta(days=40))
    numbers = sorted(b.number for b in db.exec(select(PublishedBulletin)).all())
    assert numbers == [f"浙江省质通〔{year}〕1号", f"浙江省质通〔{year}〕2号"]
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "bulletin.published")).all()
    assert first.figures["visits"] == 0 and "rows" in first.figures


def test_a_running_period_is_not_published(db, client_as, org_tree, people):
    today = clock.today(ZONE)
    director = client_as(people["director"])
    page = director.post(f"/bulletins/publish?kind=month&date={today.isoformat()}&unit={org_tree['province'].id}", {},
                         follow_redirects=True).get_data(as_text=True)
    assert "尚未结束" in page
    assert db.exec(select(PublishedBulletin)).all() == []
    running = director.get(f"/bulletins?kind=month&date={today.isoformat()}&unit={org_tree['province'].id}")
    assert 'action="/bulletins/publish' not in running.get_data(as_text=True)  # no publish button for it
    done = director.get(f"/bulletins?kind=month&unit={org_tree['province'].id}")
    assert 'action="/bulletins/publish' in done.get_data(as_text=True)


def test_who_sees_a_published_bulletin(db, client_as, org_tree, people, last_month):
    _publish(client_as(people["director"]), org_tree["province"], last_month)
    _publish(client_as(people["manager"]), org_tree["hz"], last_month)
    province, hz = (db.exec(select(PublishedBulletin).where(PublishedBulletin.unit_id == u.id)).one()
                    for u in (org_tree["province"], org_tree["hz"]))
    # the province's bulletin concerns both cities; 杭州's own only 杭州 and the province above it
    for role, sees in (("manager", {province.id, hz.id}), ("other_manager", {province.id}),
                       ("director", {province.id, hz.id}), ("admin", {province.id, hz.id})):
        page = client_as(people[role]).get("/bulletins/published").get_data(as_text=True)
        for b in (province, hz):
            assert (b.number in page) == (b.id in sees), (role, b.number)
            status = client_as(people[role]).get(f"/bulletins/published/{b.id}.pdf").status_code
            assert status == (200 if b.id in sees else 404), (role, b.number)
    for role in ("chief", "inspector", "shopper"):
        assert client_as(people[role]).get(f"/bulletins/published/{province.id}.pdf").status_code == 404, role
    # a manager publishes only for a unit in their scope
    assert _publish(client_as(people["other_manager"]), org_tree["hz"], last_month).status_code == 404
    assert _publish(client_as(people["inspector"]), org_tree["hz"], last_month - dt.timedelta(days=40)).status_code in (302, 403)
    assert len(db.exec(select(PublishedBulletin)).all()) == 2


def test_cron_publishes_each_scheduled_unit_once(app, db, org_tree):
    app.config["BULLETIN_SCHEDULE"] = "33=month,week;3301=month;9999=month"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["publish-bulletins"], catch_exceptions=False)
    assert "33 month: 浙江省质通" in first.output and "(published)" in first.output and "9999: no such unit" in first.output
    assert len(db.exec(select(PublishedBulletin)).all()) == 3
    again = runner.invoke(args=["publish-bulletins"], catch_exceptions=False)
    assert again.output.count("already published") == 3
    assert len(db.exec(select(PublishedBulletin)).all()) == 3
