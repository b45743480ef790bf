"""Rectification pages through the client: who sees what, forms refusing stale or bad input."""
from __future__ import annotations

import html
import io
import re
import urllib.parse

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from tests.visit_helpers import release_mini_visit


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 100, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def notice(app, db, org_tree, people):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠")})
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


def test_who_sees_the_notice(notice, client_as, people):
    for role, expected in [("chief", 200), ("inspector", 200), ("manager", 200), ("director", 200), ("reviewer", 200),
                           ("admin", 200), ("other_chief", 404), ("other_manager", 404)]:
        assert client_as(people[role]).get(f"/notices/{notice.id}").status_code == expected, role
    assert client_as(people["shopper"]).get("/notices").status_code == 403
    assert client_as(people["chief"]).get("/board").status_code == 403
    listed = client_as(people["other_chief"]).get("/notices").get_data(as_text=True)
    assert notice.number not in listed



def test_the_visit_page_leads_to_its_notice(notice, client_as, people):
    """Submitted with failures, the visit's page says a notice was issued and links to it, for
    whoever may open the notice; a visit without failures has none to show."""
    for role in ("inspector", "chief", "manager"):
        page = client_as(people[role]).get(f"/visits/{notice.visit_id}").get_data(as_text=True)
        assert f'href="/notices/{notice.id}"' in page and notice.number in page, role

def test_chief_acknowledges_and_answers_through_forms(notice, client_as, people, db):
    chief = client_as(people["chief"])
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    early = chief.post(f"/lines/{line.id}/answer", {"description": "已整改完成", "version": line.row_version},
                       follow_redirects=True)
    assert "请先签收通知书" in early.get_data(as_text=True)
    chief.post(f"/notices/{notice.id}/acknowledge")
    again = chief.post(f"/notices/{notice.id}/acknowledge", follow_redirects=True)
    assert "已于" in again.get_data(as_text=True)
    other = client_as(people["other_chief"])
    assert other.post(f"/notices/{notice.id}/acknowledge").status_code == 404
    assert other.post(f"/api/lines/{line.id}/photos", {"file": (io.BytesIO(jpeg()), "a.jpg")},
                      headers={"X-CSRFToken": other.csrf_token()}, content_type="multipart/form-data").status_code == 404
    upload = chief.post(f"/api/lines/{line.id}/photos", {"file": (io.BytesIO(jpeg()), "a.jpg"), "client_id": "x1"},
                        headers={"X-CSRFToken": chief.csrf_token()}, content_type="multipart/form-data")
    assert upload.status_code == 201
    bad = chief.post(f"/api/lines/{line.id}/photos", {"file": (io.BytesIO(b"<html>no</html>"), "a.jpg")},
                     headers={"X-CSRFToken": chief.csrf_token()}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "不是照片" in bad.get_json()["error"]
    line = db.get(RectificationLine, line.id)
    stale = chief.post(f"/lines/{line.id}/answer", {"description": "已整改完成", "version": line.row_version - 1},
                       follow_redirects=True)
    assert "刚被他人处理" in stale.get_data(as_text=True)
    ok = chief.post(f"/lines/{line.id}/answer", {"description": "已整改完成", "version": line.row_version},
                    follow_redirects=True)
    assert "整改回复已提交" in ok.get_data(as_text=True)
    assert db.get(RectificationLine, line.id).status == LineStatus.answered
    # the chief cannot verify, nor change the deadline
    assert "验证整改" not in chief.get(f"/lines/{line.id}").get_data(as_text=True)
    refused = chief.post(f"/lines/{line.id}/deadline", {"new_deadline": "2030-01-01", "reason": "延长一些时间"},
                         follow_redirects=True)
    assert "只有检查方可以修改整改期限" in refused.get_data(as_text=True)


def test_deadline_in_the_past_refused_with_message(notice, client_as, people, db):
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    manager = client_as(people["manager"])
    page = manager.post(f"/lines/{line.id}/deadline", {"new_deadline": "2020-01-01", "reason": "测试一下过去",
                                                       "version": line.row_version}, follow_redirects=True)
    assert "整改期限不能早于今天" in page.get_data(as_text=True)
    missing = manager.post(f"/lines/{line.id}/deadline", {"new_deadline": "", "reason": ""}, follow_redirects=True)
    assert missing.status_code == 200 and db.get(RectificationLine, line.id).deadline_date == line.deadline_date


def test_notifications_badge_and_read(notice, client_as, people):
    chief = client_as(people["chief"])
    home = chief.get("/home").get_data(as_text=True)
    assert 'class="count" data-unread>1<' in home
    page = chief.get("/notifications").get_data(as_text=True)
    assert notice.number in page
    from inspect_app.notifications.models import Notification

    response = chief.post("/notifications/read", {"id": "1"})
    assert response.headers["Location"].endswith(f"/notices/{notice.id}")
    assert "data-unread" not in chief.get("/home").get_data(as_text=True)
    # someone else's notification id does nothing
    assert client_as(people["other_chief"]).post("/notifications/read", {"id": "1"}).headers["Location"].endswith("/notifications")
    del Notification


def test_board_drill_down_and_filters(notice, client_as, people, org_tree):
    director = client_as(people["director"])
    page = director.get("/board").get_data(as_text=True)
    assert "杭州市" in page
    page = director.get(f"/board?unit={org_tree['xihu'].id}").get_data(as_text=True)
    assert "西湖区文三路邮政营业所" in page
    lines = director.get(f"/board/lines?outlet={org_tree['xihu1'].id}").get_data(as_text=True)
    assert "A-02" in lines
    filtered = director.get(f"/board/lines?outlet={org_tree['xihu1'].id}&severity=urgent").get_data(as_text=True)
    assert "A-02" not in filtered
    assert client_as(people["other_manager"]).get(f"/board?unit={org_tree['xihu'].id}").status_code == 404
    # a unit that does not exist is refused as one out of scope (it showed the board of 全部单位),
    # on the board, its pages and its exports alike
    for url in ("/board?unit=99999999", "/board/repeats?unit=99999999", "/board/lines?unit=99999999"):
        assert director.get(url).status_code == 404, url
    assert director.get("/board?unit=abc").status_code == 200  # unreadable: the viewer's own unit


def test_a_line_list_state_it_does_not_know_lists_every_state_without_echoing_it(notice, client_as, people):
    director = client_as(people["director"])
    every = director.get("/board/lines").get_data(as_text=True)
    for state in ("<script>", "closedx", "OVERDUE"):
        page = director.get("/board/lines", query_string={"state": state}).get_data(as_text=True)
        assert "A-02" in page and "A-02" in every
        assert f"· {html.escape(state)}" not in page


def test_a_board_filter_it_does_not_know_filters_nothing_and_is_not_echoed(notice, client_as, people):
    """An unknown severity or kind showed 0 lines under 全部等级 / 全部类型 (and was written back into
    the drill-down links); a month that is none stayed in the form. Now each counts as not given:
    the board and the line list show what they show unfiltered."""
    director = client_as(people["director"])
    figures = _figures(director.get("/board").get_data(as_text=True))
    assert figures[0] != "0"  # lines issued: an empty board would prove nothing
    for query in ({"severity": "<x>"}, {"kind": "nope"}, {"severity": "URGENT", "kind": "Open"},
                  {"from": "2026-13", "to": "x"}):
        page = director.get("/board", query_string=query).get_data(as_text=True)
        assert _figures(page) == figures, query
        links = " ".join(link for link in re.findall(r'href="([^"]*)"', page) if "/export." not in link)
        for key, value in query.items():  # not in the drill-down links, not in the form
            assert f"{key}={urllib.parse.quote(value)}" not in links and f'value="{html.escape(value)}"' not in page
        assert "A-02" in director.get("/board/lines", query_string=query).get_data(as_text=True)


def _figures(page: str) -> list[str]:
    """The board's figure tiles, in order (issued, open, overdue, extensions, close rate, days)."""
    return re.findall(r'class="stat[^"]*"[^>]*><b>([^<]+)</b>', page)


@pytest.mark.parametrize("typed", ["2026-02-30", "31/12/2026", "明天"])
def test_an_unreadable_deadline_is_said_to_be_no_date(notice, client_as, people, db, typed):
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    page = client_as(people["manager"]).post(f"/lines/{line.id}/deadline", {
        "new_deadline": typed, "reason": "延长一些时间", "version": line.row_version}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert f"“新的整改期限”不是有效日期：{typed}" in text
    assert "请填写“新的整改期限”" not in text
    assert db.get(RectificationLine, line.id).deadline_date == line.deadline_date


def test_a_responsible_person_past_the_databases_range_is_refused_not_a_500(notice, client_as, people, db):
    """The responsible-person select, tampered with a number past 64 bits: was an OverflowError from
    SQLite's driver (a 500); now "choose a person", and the line keeps its responsible person."""
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    page = client_as(people["manager"]).post(f"/lines/{line.id}/responsible", {"user_id": "9" * 23},
                                              follow_redirects=True)
    assert page.status_code == 200 and "请选择" in page.get_data(as_text=True)
    assert db.get(RectificationLine, line.id).responsible_id == line.responsible_id


@pytest.mark.parametrize("typed", ["9" * 23, "abc", "1e999", "-1"])
def test_a_notification_id_no_page_sends_marks_nothing_read(notice, client_as, people, db, typed):
    """``id`` past 64 bits was a 500 from SQLite's driver; a word was read as "no id" and marked
    every notification read."""
    from inspect_app.notifications.models import Notification

    chief = client_as(people["chief"])
    response = chief.post("/notifications/read", {"id": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    unread = db.exec(select(Notification).where(Notification.user_id == people["chief"].id,
                                                Notification.read_at.is_(None))).all()
    assert len(unread) == 1
    assert 'class="count" data-unread>1<' in chief.get("/home").get_data(as_text=True)
