"""Dates and numbers typed into the planning and check-in forms: what cannot be read is said so,
and what can be read but makes no sense (a window in 9999, an accuracy of NaN) is refused."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.org.models import OutletBlackout
from inspect_app.visits.models import Visit, VisitStatus


def schedule(client, people, org_tree, due_from: str, due_until: str):
    return client.post("/schedule", {
        "checklist": "open_inspection", "assignee_id": people["inspector"].id, "outlet_ids": [org_tree["xihu1"].id],
        "due_from": due_from, "due_until": due_until})


def test_an_unreadable_date_is_not_called_missing(client_as, people, org_tree, db):
    manager = client_as(people["manager"])
    text = schedule(manager, people, org_tree, "2026-13-01", "2026-12-05").get_data(as_text=True)
    assert "“开始日期”不是有效日期：2026-13-01" in text and "请填写“开始日期”" not in text
    assert not db.exec(select(Visit)).all()


@pytest.mark.parametrize("due_from, due_until, words", [
    ("9999-12-01", "9999-12-31", "最多只能从今天起 366 天内开始"),
    (None, "2099-01-01", "最多持续 366 天"),
])
def test_a_window_far_away_or_too_long_is_refused(client_as, people, org_tree, db, due_from, due_until, words):
    today = clock.today("Asia/Shanghai")
    text = schedule(client_as(people["manager"]), people, org_tree, due_from or today.isoformat(),
                    due_until).get_data(as_text=True)
    assert words in text
    assert not db.exec(select(Visit)).all()


def test_a_window_within_the_year_is_planned(client_as, people, org_tree, db):
    today = clock.today("Asia/Shanghai")
    start = today + dt.timedelta(days=300)
    response = schedule(client_as(people["manager"]), people, org_tree, start.isoformat(),
                        (start + dt.timedelta(days=30)).isoformat())
    assert response.status_code == 302
    assert db.exec(select(Visit)).one().status == VisitStatus.scheduled


def test_a_blackout_in_9999_is_refused(client_as, people, org_tree, db):
    outlet = org_tree["xihu1"]
    client_as(people["manager"]).post(f"/outlets/{outlet.id}/blackouts", {
        "date_from": "9999-01-01", "date_until": "9999-01-02", "reason": "盘点"}, follow_redirects=True)
    assert not db.exec(select(OutletBlackout)).all()


def test_a_blackout_sent_twice_is_kept_once(client_as, people, org_tree, db):
    """A double tap (or a reload of the POST) wrote the same period twice; a period inside one already
    listed is refused in words, a longer one is still added."""
    outlet = org_tree["xihu1"]
    manager = client_as(people["manager"])
    start = clock.today("Asia/Shanghai") + dt.timedelta(days=10)
    form = {"date_from": start.isoformat(), "date_until": (start + dt.timedelta(days=2)).isoformat(), "reason": "盘点"}
    assert manager.post(f"/outlets/{outlet.id}/blackouts", form).status_code == 302
    again = manager.post(f"/outlets/{outlet.id}/blackouts", form, follow_redirects=True)
    assert f"{outlet.name} 在 {start} 至 {start + dt.timedelta(days=2)} 已不安排检查" in again.get_data(as_text=True)
    assert len(db.exec(select(OutletBlackout)).all()) == 1
    longer = {**form, "date_until": (start + dt.timedelta(days=5)).isoformat()}
    assert manager.post(f"/outlets/{outlet.id}/blackouts", longer).status_code == 302
    assert len(db.exec(select(OutletBlackout)).all()) == 2


@pytest.mark.parametrize("field, value", [("accuracy", "nan"), ("accuracy", "inf"), ("lat", "nan"), ("lon", "-inf")])
def test_a_check_in_position_that_is_not_a_number_is_refused(client_as, people, org_tree, db, field, value):
    inspector = client_as(people["inspector"])
    inspector.post("/visits/new", {"outlet_id": org_tree["xihu1"].id, "checklist": "open_inspection"})
    visit = db.exec(select(Visit)).one()
    position = {"lat": "30.26", "lon": "120.13", "accuracy": "15", field: value}
    page = inspector.post(f"/visits/{visit.id}/checkin", position)
    assert page.status_code == 200 and "不是数字" in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(Visit, visit.id).checkin_at is None



def test_an_outlet_named_past_64_bits_is_refused_not_a_500(client_as, people, db):
    """The outlet of a new visit, tampered with a number past 64 bits: the query's driver raised
    OverflowError (a 500); now the select's "invalid choice", and no visit."""
    page = client_as(people["inspector"]).post("/visits/new", {"outlet_id": "9" * 23, "checklist": "open_inspection"},
                                               follow_redirects=True)
    assert page.status_code == 200 and not db.exec(select(Visit)).all()
