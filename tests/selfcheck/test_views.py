"""The self-inspection pages as every role: the chief's home, starting, checking in, handing over,
closing a line, the managers' page and the month bulletin. Out of scope is 404, off the role 403,
bad input never a 500, and every POST needs its CSRF token."""
from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from inspect_app.auth.models import Role
from inspect_app.evidence.models import Photo
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits.models import Visit, VisitStatus
from tests.images import jpeg
from tests.selfcheck.helpers import PINNED, inspect, self_inspect, self_plan


@pytest.fixture
def planned(app, db, clock_at, people, org_tree):
    clock_at(PINNED)
    plan, _made = self_plan(app, db, people["manager"], org_tree["xihu"], [org_tree["xihu1"], org_tree["xihu2"]])
    return plan


def todays(db, people, org_tree):
    return db.exec(select(Visit).where(Visit.assignee_id == people["chief"].id, Visit.outlet_id == org_tree["xihu1"].id)
                   .order_by(Visit.due_from)).first()


def test_the_chiefs_home_shows_todays_check_and_the_missed_ones(app, db, clock_at, planned, people, org_tree, client_as):
    today = todays(db, people, org_tree)
    page = client_as(people["chief"]).get("/home").get_data(as_text=True)
    assert "今日自查" in page and f"/visits/{today.id}/checkin" in page and "网点每日开门检查表" in page
    assert "本周漏查" not in page
    clock_at("2026-12-02T16:30:00Z")  # Thursday 3 December: the 1st and the 2nd were missed
    page = client_as(people["chief"]).get("/home").get_data(as_text=True)
    assert "本周漏查" in page and "2026-12-01" in page and "2026-12-02" in page
    other = client_as(people["other_chief"]).get("/home").get_data(as_text=True)
    assert org_tree["xihu1"].name not in other  # each chief sees their own outlets only


def test_starting_a_self_inspection(app, db, planned, people, org_tree, client_as):
    chief = client_as(people["chief"])
    today = todays(db, people, org_tree)
    response = chief.post("/self-checks/start", {"outlet_id": org_tree["xihu1"].id, "checklist": "daily_opening"})
    assert response.status_code == 302 and response.location.endswith(f"/visits/{today.id}/checkin")
    # another outlet, a made-up one, garbage: never a 500
    assert chief.post("/self-checks/start", {"outlet_id": org_tree["xihu2"].id, "checklist": "daily_opening"}).status_code == 404
    assert chief.post("/self-checks/start", {"outlet_id": 999999, "checklist": "daily_opening"}).status_code == 404
    assert chief.post("/self-checks/start", {"outlet_id": "x", "checklist": "daily_opening"}).status_code in (302, 404)
    # a number past 64 bits was an OverflowError from SQLite's driver
    assert chief.post("/self-checks/start", {"outlet_id": "9" * 23, "checklist": "daily_opening"}).status_code in (302, 404)
    refused = chief.post("/self-checks/start", {"outlet_id": org_tree["xihu1"].id, "checklist": "open_inspection"},
                         follow_redirects=True)
    assert refused.status_code == 200 and "请选择自查表" in refused.get_data(as_text=True)
    assert chief.post("/self-checks/start", {"outlet_id": org_tree["xihu1"].id, "checklist": "daily_opening"},
                      csrf=False).status_code == 400
    for who in ("inspector", "manager", "shopper", "handler", "admin"):
        assert client_as(people[who]).post("/self-checks/start", {"outlet_id": org_tree["xihu1"].id,
                                                                  "checklist": "daily_opening"}).status_code == 403, who


def test_check_in_fill_and_submit_on_the_phone(app, db, planned, people, org_tree, client_as):
    chief = client_as(people["chief"])
    today = todays(db, people, org_tree)
    assert chief.get(f"/visits/{today.id}/fill").location.endswith(f"/visits/{today.id}/checkin")
    page = chief.get(f"/visits/{today.id}/checkin").get_data(as_text=True)
    assert "开始自查" in page and "无法定位也可以直接开始" in page
    response = chief.post(f"/visits/{today.id}/checkin", {"lat": "", "lon": "", "accuracy": "", "no_location_reason": ""})
    assert response.status_code == 302 and response.location.endswith(f"/visits/{today.id}/fill")
    assert chief.get(f"/visits/{today.id}/fill").status_code == 200
    today = db.get(type(today), today.id)
    assert today.status == VisitStatus.in_progress


@pytest.mark.parametrize("who, status", [("chief", 200), ("other_chief", 404), ("manager", 200), ("director", 200),
                                         ("inspector", 200), ("reviewer", 200), ("admin", 200), ("shopper", 404),
                                         ("handler", 404), ("other_manager", 404)])
def test_who_sees_a_self_inspection(app, db, planned, people, org_tree, client_as, who, status):
    today = todays(db, people, org_tree)
    assert client_as(people[who]).get(f"/visits/{today.id}").status_code == status


def test_handing_over(app, db, planned, people, org_tree, client_as, create_user):
    deputy = create_user(Role.branch_chief, outlets=[org_tree["xihu1"]], username="deputy")
    today = todays(db, people, org_tree)
    chief = client_as(people["chief"])
    page = chief.get(f"/visits/{today.id}/checkin").get_data(as_text=True)
    assert "交给本网点另一位负责人" in page and deputy.display_name in page
    assert client_as(people["other_chief"]).post(f"/visits/{today.id}/hand-over", {"user_id": deputy.id}).status_code == 404
    refused = chief.post(f"/visits/{today.id}/hand-over", {"user_id": people["inspector"].id}, follow_redirects=True)
    assert "只能交给本网点的负责人" in refused.get_data(as_text=True)
    assert chief.post(f"/visits/{today.id}/hand-over", {"user_id": "abc"}).status_code == 302  # refused in words
    assert chief.post(f"/visits/{today.id}/hand-over", {"user_id": "9" * 23}).status_code == 302  # was a 500
    assert chief.post(f"/visits/{today.id}/hand-over", {"user_id": deputy.id}).location.endswith("/home")
    today = db.get(type(today), today.id)
    assert today.assignee_id == deputy.id
    assert client_as(deputy).get(f"/visits/{today.id}/checkin").status_code == 200


def _self_line(app, db, people, org_tree):
    visit = self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-08": "二号摄像头无画面"},
                         visit=todays(db, people, org_tree))
    return db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()


def test_the_chief_closes_the_line_with_a_photo(app, db, planned, people, org_tree, client_as):
    line = _self_line(app, db, people, org_tree)
    chief = client_as(people["chief"])
    page = chief.get(f"/lines/{line.id}").get_data(as_text=True)
    assert "整改好了？拍照销项" in page and "发送复查" not in page and "提出异议" not in page
    manager_page = client_as(people["manager"]).get(f"/lines/{line.id}").get_data(as_text=True)
    assert "整改好了？拍照销项" not in manager_page
    no_photo = chief.post(f"/lines/{line.id}/close", {"description": "已修复摄像头", "version": line.row_version},
                          follow_redirects=True)
    assert "照片" in no_photo.get_data(as_text=True)
    upload = chief.post(f"/api/lines/{line.id}/photos", {"file": (io.BytesIO(jpeg()), "after.jpg"), "client_id": "a1"},
                        content_type="multipart/form-data")
    assert upload.status_code in (200, 201), upload.get_data(as_text=True)
    assert client_as(people["other_chief"]).post(f"/lines/{line.id}/close", {"description": "x"}).status_code == 404
    assert client_as(people["manager"]).post(f"/lines/{line.id}/close", {"description": "已修复摄像头"},
                                             follow_redirects=True).status_code == 200
    line = db.get(type(line), line.id)
    assert line.status == LineStatus.acknowledged  # the manager's attempt was refused
    done = chief.post(f"/lines/{line.id}/close", {"description": "已修复摄像头并回放确认", "version": line.row_version})
    assert done.status_code == 302
    line = db.get(type(line), line.id)
    assert line.status == LineStatus.closed
    assert db.exec(select(Photo).where(Photo.line_id == line.id)).one().response_id is not None


@pytest.mark.parametrize("who, status", [("admin", 200), ("director", 200), ("manager", 200), ("reviewer", 200),
                                         ("inspector", 403), ("shopper", 403), ("chief", 403), ("handler", 403)])
def test_the_managers_page_by_role(app, db, planned, people, client_as, who, status):
    assert client_as(people[who]).get("/board/self-checks").status_code == status


def test_the_managers_page_counts_and_lists(app, db, clock_at, planned, people, org_tree, client_as):
    self_inspect(app, db, people["chief"], org_tree["xihu1"], visit=todays(db, people, org_tree))
    clock_at("2026-12-02T02:00:00Z")  # 2 December: the chief of xihu2 missed the 1st; both the 2nd, still open
    found = inspect(app, db, people["inspector"], org_tree["xihu1"], {"ENV-02": "营业时间牌缺失"})
    manager = client_as(people["manager"])
    page = manager.get(f"/board/self-checks?unit={org_tree['xihu'].id}&month=2026-12").get_data(as_text=True)
    assert org_tree["xihu1"].name in page and org_tree["xihu2"].name in page
    row = re.search(r"西湖区文三路邮政营业所</td>(.*?)</tr>", page, re.S).group(1)
    assert [int(n) for n in re.findall(r'class="num">(\d+)<', row)] == [13, 1, 0, 1]  # planned (made so far), done, missed, 不实
    assert "/lines/" in page and "ENV-02" in page
    assert manager.get("/board/self-checks?month=garbage").status_code == 200
    assert client_as(people["other_manager"]).get(f"/board/self-checks?unit={org_tree['xihu'].id}").status_code == 404
    bulletin = manager.get("/bulletins?kind=month&date=2026-12-02").get_data(as_text=True)
    assert "网点自查与自查不实" in bulletin
    assert found.id


def test_the_chiefs_home_runs_a_fixed_number_of_statements(app, db, clock_at, planned, people, org_tree, client_as):
    chief = client_as(people["chief"])
    first = int(chief.get("/home").headers["X-Query-Count"])
    self_inspect(app, db, people["chief"], org_tree["xihu1"], {"OPN-04": "叫号机卡纸"}, visit=todays(db, people, org_tree))
    clock_at("2026-12-03T16:30:00Z")  # a day missed, a line open, a check to do: the same statements
    later = client_as(people["chief"]).get("/home")
    assert later.status_code == 200 and "本周漏查" in later.get_data(as_text=True)
    assert int(later.headers["X-Query-Count"]) == first
