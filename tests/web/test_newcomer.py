"""What a newcomer on a phone met in the first minutes, each checked through the pages."""
from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.evidence.storage import get_storage
from inspect_app.rectifications.models import RectificationLine
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests import images
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit


@pytest.fixture
def in_review(app, db, org_tree, people):
    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    return visit


def test_review_page_speaks_answers_not_codes(client_as, people, in_review):
    page = client_as(people["reviewer"]).get(f"/review/{in_review.id}").get_data(as_text=True)
    answers = page[page.index("id=\"item-"):]
    assert re.search(r">合格\s+·", answers) and re.search(r">不合格\s+·", answers)
    assert not re.search(r">\s*(pass|fail|na)\s*[·<]", answers)


def test_visit_detail_shows_no_internal_codes(app, db, client_as, people, org_tree):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    page = client_as(people["manager"]).get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "mini ·" not in page and f"#{visit.checklist_version_id}" not in page
    assert "第 1 版" in page


@pytest.mark.parametrize("user, path, active", [
    ("manager", "/stars", "星级"), ("manager", "/visits", "检查"), ("inspector", "/visits/new", "发起"),
    ("inspector", "/visits", "我的任务"), ("manager", "/board", "整改看板"),
])
def test_one_tab_is_lit_per_page(client_as, people, user, path, active):
    page = client_as(people[user]).get(path).get_data(as_text=True)
    lit = re.findall(r'class="tab active"[^>]*>\s*<span class="tab-icon"[^>]*>[^<]*</span><span>([^<]+)</span>', page)
    assert lit == [active]


@pytest.mark.parametrize("path", ["/admin/outlets/import", "/admin/users/import"])
def test_import_page_labels_in_chinese(client_as, people, path):
    page = client_as(people["admin"]).get(path).get_data(as_text=True)
    assert "CSV 文件" in page and ">File<" not in page
    refused = client_as(people["admin"]).post(path, {}).get_data(as_text=True)
    assert "请选择要导入的 CSV 文件" in refused


def test_deadline_zone_said_only_when_it_differs(app, db, client_as, people, org_tree, create_unit, create_outlet):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    page = client_as(people["chief"]).get(f"/lines/{line.id}").get_data(as_text=True)
    assert "Asia/Shanghai" not in page and "北京时间" not in page
    # the same line at an outlet in Urumqi, seen by a manager who works in Beijing time
    far = create_outlet(create_unit("乌鲁木齐", parent=org_tree["province"], code="6501"), code="650101001")
    far.timezone = "Asia/Urumqi"
    line.outlet_id = far.id
    db.add_all([far, line])
    db.commit()
    assert "UTC+06:00 Asia/Urumqi" in client_as(people["director"]).get(f"/lines/{line.id}").get_data(as_text=True)
    # a network that works in Urumqi time sees a Shanghai outlet's deadline as 北京时间
    app.config["DEFAULT_TIMEZONE"] = "Asia/Urumqi"
    line.outlet_id = org_tree["xihu1"].id
    db.add(line)
    db.commit()
    assert "北京时间" in client_as(people["director"]).get(f"/lines/{line.id}").get_data(as_text=True)


def test_every_form_error_names_its_field(app, db, client_as, people, org_tree):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    chief = client_as(people["chief"])
    response = chief.post(f"/lines/{line.id}/answer", {"description": "  ", "version": line.row_version},
                          follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "请填写“整改措施及结果”。" in page
    assert "该字段是必填字段" not in page
    manager = client_as(people["manager"])
    page = manager.post(f"/lines/{line.id}/deadline", {"new_deadline": "", "reason": "", "version": line.row_version},
                        follow_redirects=True).get_data(as_text=True)
    assert "请填写“新的整改期限”。" in page and "请填写“原因”。" in page


def test_an_ad_hoc_visit_offers_the_planned_one_first(ctx_app, db, client_as, people, org_tree):
    outlet = org_tree["xihu1"]
    today = clock.today(outlet.timezone)
    with ctx_app.test_request_context():
        planned = visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                         outlet_ids=[outlet.id], assignee=people["inspector"],
                                         due_from=today, due_until=today)[0]
    db.commit()
    inspector = client_as(people["inspector"])
    page = inspector.get(f"/visits/new?outlet={outlet.id}").get_data(as_text=True)
    assert "已为您安排的检查" in page and f"/visits/{planned.id}/checkin" in page
    # a post that did not see the offer is refused, and the offer is shown
    response = inspector.post(f"/visits/new?outlet={outlet.id}", {"outlet_id": outlet.id, "checklist": "fives"})
    assert response.status_code == 200 and "已为您安排了此网点的检查" in response.get_data(as_text=True)
    assert len(db.exec(select(Visit).where(Visit.outlet_id == outlet.id)).all()) == 1
    # choosing "another, unplanned one" starts it
    response = inspector.post(f"/visits/new?outlet={outlet.id}", {"outlet_id": outlet.id, "checklist": "fives",
                                                                  "despite_planned": "1"})
    assert response.status_code == 302 and "/checkin" in response.headers["Location"]
    assert len(db.exec(select(Visit).where(Visit.outlet_id == outlet.id)).all()) == 2
    # a visit planned for tomorrow is not offered today
    other = org_tree["xihu2"]
    with ctx_app.test_request_context():
        visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection", outlet_ids=[other.id],
                               assignee=people["inspector"], due_from=today + dt.timedelta(days=1),
                               due_until=today + dt.timedelta(days=2))
    db.commit()
    assert "已为您安排的检查" not in inspector.get(f"/visits/new?outlet={other.id}").get_data(as_text=True)


@pytest.fixture
def ctx_app(app):
    return app


def test_review_lists_open_the_review(client_as, people, in_review):
    reviewer = client_as(people["reviewer"])
    home = reviewer.get("/home").get_data(as_text=True)
    assert 'href="/review"' in home  # the "in review" count opens the queue
    listed = reviewer.get("/visits?status=in_review").get_data(as_text=True)
    assert f'href="/review/{in_review.id}"' in listed and f'href="/visits/{in_review.id}"' not in listed
    assert f'href="/review/{in_review.id}"' in reviewer.get("/review").get_data(as_text=True)


def test_review_flags_name_each_photo_and_its_time(app, db, client_as, people, org_tree):
    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"],
                                  submit=False)
    taken = (visit.checkin_at - dt.timedelta(days=2)).astimezone(clock.zone("Asia/Shanghai"))
    data = images.jpeg(seed=5, exif=images.exif_block(taken=f"{taken:%Y:%m:%d %H:%M:%S}", offset="+08:00"))
    with app.test_request_context():
        visits.add_visit_photo(db, get_storage(), actor=people["shopper"], visit=visit, data=data, item_code=None,
                                 purpose="general")
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="flags")
    db.commit()
    page = client_as(people["reviewer"]).get(f"/review/{visit.id}").get_data(as_text=True)
    assert "照片 凭证(小票) #1 没有拍摄时间。" in page
    assert "照片 门头、大厅、柜台 #3 没有拍摄时间。" in page
    assert f"照片 门头、大厅、柜台 #4 拍摄于 {taken:%Y-%m-%d %H:%M}，不在检查时段" in page
    flagged = re.findall(r'<a href="#photo-(\d+)">照片', page)
    assert len(flagged) == 5 and all(f'id="photo-{n}"' in page for n in flagged)


def test_bulletin_kinds_switch_to_their_latest_period(client_as, people, clock_at):
    clock_at("2026-12-01T16:30:00Z")  # 2 December in Shanghai
    manager = client_as(people["manager"])
    page = manager.get("/bulletins?kind=month&date=2026-11-01").get_data(as_text=True)
    tabs = re.findall(r'<nav class="segmented"[^>]*>(.*?)</nav>', page, re.S)[0]
    hrefs = re.findall(r'href="([^"]+)"', tabs)
    assert len(hrefs) == 3 and all("date=" not in h for h in hrefs)
    day = manager.get(hrefs[0].replace("&amp;", "&")).get_data(as_text=True)
    assert "2026-12-01至2026-12-01" in day


def test_pdf_rendering_logs_no_library_progress(app, db, client_as, people, org_tree, caplog):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    caplog.set_level(logging.DEBUG)
    response = client_as(people["manager"]).get(f"/notices/{line.notice_id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert not [r for r in caplog.records if r.name.startswith(("weasyprint", "fontTools"))]


def test_clearing_an_answer_leaves_the_item_unanswered(app, db, org_tree, people):
    with app.test_request_context():
        visit = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu2"],
                                         checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=visit, lat=30.26, lon=120.13, accuracy=10)
        checklist = visits.checklist_of(db, visit)
        by_rule = {}
        for item in checklist.items:
            by_rule.setdefault(item.rule, item)
        for rule, item in by_rule.items():
            if rule == "timer":
                continue
            kwargs = {"scale": dict(scale_value=item.scale_max), "per_occurrence": dict(occurrences=0)}.get(
                rule, dict(result="pass"))
            answer = visits.save_answer(db, actor=people["inspector"], visit=visit, item_code=item.code, **kwargs)
            cleared = visits.save_answer(db, actor=people["inspector"], visit=visit, item_code=item.code, clear=True,
                                         base_version=answer.version)
            assert cleared.result is None and cleared.occurrences is None and cleared.scale_value is None
            result = visits.score_visit(checklist, visits.answers_of(db, visit), visit)
            assert not result.items[item.code].answered
        assert visit.status == VisitStatus.in_progress
