"""屡查屡犯 and 回头看 through the pages: the notice and its PDF, the repeats page and its export as
every role, the fill page's marks (the right items, a fixed number of statements) and secrecy."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.org import services as org
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from tests.secret_helpers import jpeg, secret_visit
from tests.visit_helpers import checked_in_visit, release_mini_visit

FIRST = "2026-08-26T16:30:00Z"  # 2026-08-27 at the outlet


def at(days: int) -> str:
    return (dt.datetime(2026, 8, 26, 16, 30, tzinfo=dt.timezone.utc) + dt.timedelta(days=days)).isoformat()


def notice_of(db, visit) -> RectificationNotice:
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


@pytest.fixture
def wang(app, db, org_tree):
    with app.test_request_context():
        person = org.save_staff(db, actor=None, staff=None, job_number="Z0001", name="王芳", post="营业员",
                                outlet_code=org_tree["xihu1"].code)
    db.commit()
    return person


@pytest.fixture
def repeated(app, db, org_tree, people, clock_at, wang):
    """xihu1: A-01 (with a photo) and A-02 failed on 2026-08-27; A-02 again 60 days on, naming 王芳."""
    clock_at(FIRST)
    first = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {
        "A-01": dict(result="fail", note="未着工装"), "A-02": dict(occurrences=1, note="倚靠柜台")})
    clock_at(at(60))
    again = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=2, note="再次倚靠柜台", staff_id=wang.id)})
    return first, again


# --- the notice, its line and its PDF ---------------------------------------------------------------

def test_the_notice_its_line_and_its_pdf_say_repeated(repeated, db, client_as, people):
    first, again = repeated
    chief = client_as(people["chief"])
    page = chief.get(f"/notices/{notice_of(db, again).id}").get_data(as_text=True)
    assert "屡查屡犯" in page and "前次不合格:2026-08-27" in page
    assert "一般(7天)" in page or "一般" in page  # the severity one step up from 轻微
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == again.id)).one()
    line_page = chief.get(f"/lines/{line.id}").get_data(as_text=True)
    assert "屡查屡犯" in line_page and "上调一级" in line_page
    pdf = chief.get(f"/notices/{notice_of(db, again).id}/pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "屡查屡犯" in text and "2026-08-27" in text
    # the first notice is no repeat
    assert "屡查屡犯" not in chief.get(f"/notices/{notice_of(db, first).id}").get_data(as_text=True)
    first_pdf = chief.get(f"/notices/{notice_of(db, first).id}/pdf")
    assert "屡查屡犯" not in "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(first_pdf.data)).pages)


# --- the repeats page and its export, as every role --------------------------------------------------

@pytest.mark.parametrize("who, status", [
    ("admin", 200), ("director", 200), ("manager", 200), ("reviewer", 200), ("other_manager", 200),
    ("inspector", 403), ("chief", 403), ("shopper", 403), ("handler", 403),
])
def test_the_repeats_page_by_role(who, status, repeated, client_as, people, org_tree):
    response = client_as(people[who]).get("/board/repeats")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert ("西湖区文三路邮政营业所" in page) is (who != "other_manager")  # 宁波 sees none of 杭州
    for fmt in ("csv", "xlsx"):
        assert client_as(people[who]).get(f"/board/repeats/export.{fmt}").status_code == status


@pytest.mark.parametrize("who, unit", [("manager", "nb"), ("other_manager", "hz"), ("other_manager", "xihu")])
def test_a_unit_out_of_scope_is_not_found(who, unit, repeated, client_as, people, org_tree):
    client = client_as(people[who])
    assert client.get(f"/board/repeats?unit={org_tree[unit].id}").status_code == 404
    assert client.get(f"/board/repeats/export.csv?unit={org_tree[unit].id}").status_code == 404


def test_the_page_counts_per_unit_and_per_outlet_and_filters(repeated, client_as, people, org_tree, clock_at, app, db):
    clock_at(at(70))  # A-02 fails a third time, B-03 a first
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                       {"A-02": dict(occurrences=1, note="仍倚靠"), "B-03": dict(result="fail", note="坏了")})
    director = client_as(people["director"])
    page = director.get("/board/repeats").get_data(as_text=True)
    assert "杭州市" in page and "宁波市" not in page  # per city below the province; only cities with repeats
    assert "重复 2 次" in page and "A-02" in page and "B-03" not in page
    county = director.get(f"/board/repeats?unit={org_tree['xihu'].id}").get_data(as_text=True)
    assert "按网点" in county and "西湖区文三路邮政营业所" in county
    assert "A-02" not in director.get("/board/repeats?item=b-03").get_data(as_text=True)
    assert "A-02" in director.get("/board/repeats?item=a-02&from=2026-10&to=2026-11").get_data(as_text=True)
    assert "A-02" not in director.get("/board/repeats?from=2027-01").get_data(as_text=True)
    assert director.get("/board/repeats?from=2026-12").get_data(as_text=True).count("本期间没有屡查屡犯的问题") == 2
    for odd in ("?page=abc", "?page=-3", "?from=garbage&to=2026-13", "?item=" + "x" * 500, "?unit=abc", "?kind=nope"):
        assert director.get("/board/repeats" + odd).status_code == 200, odd
    board = director.get("/board").get_data(as_text=True)
    assert "/board/repeats" in board  # linked from the board


def test_the_page_runs_a_fixed_number_of_statements(repeated, app, db, client_as, people, org_tree, clock_at,
                                                   create_user):
    inspectors = {"xihu2": people["inspector"], "haishu1": create_user("inspector", unit=org_tree["nb"])}

    def statements() -> int:
        response = client_as(people["director"]).get("/board/repeats")
        assert response.status_code == 200
        return int(response.headers["X-Query-Count"])

    few = statements()
    for outlet in ("xihu2", "haishu1"):
        for day in (61, 70):
            clock_at(at(day))
            release_mini_visit(app, db, inspectors[outlet], org_tree[outlet], {
                "A-02": dict(occurrences=1, note="倚靠"), "B-03": dict(result="fail", note="坏了")})
    assert "宁波市" in client_as(people["director"]).get("/board/repeats").get_data(as_text=True)
    assert statements() == few


def test_the_export_has_the_rows_of_every_page_and_is_audited(repeated, client_as, people, db, org_tree):
    manager = client_as(people["manager"])
    response = manager.get("/board/repeats/export.csv")
    assert response.status_code == 200 and "text/csv" in response.headers["Content-Type"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:7] == ["单位", "网点编码", "网点", "检查表", "检查项", "检查项内容", "屡犯次数"]
    assert rows[1][0] == "西湖区" and rows[1][1] == "330106001" and rows[1][4] == "A-02" and rows[1][6] == "1"
    assert rows[1][8] == "2026-08-27"
    xlsx = manager.get(f"/board/repeats/export.xlsx?unit={org_tree['xihu'].id}")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[2]][1:5] == ["330106001", "西湖区文三路邮政营业所", "测试星级表", "A-02"]
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "export.repeats")).all()
    other = client_as(people["other_manager"]).get("/board/repeats/export.csv").get_data(as_text=True)
    assert "330106001" not in other


# --- the fill page: 回头看 ---------------------------------------------------------------------------

def marked(page: str) -> dict[str, str]:
    """Item code → the item's HTML, for the items the page marks."""
    found = {}
    for match in re.finditer(r'<article class="item[^"]*" id="item-([A-Z0-9-]+)"([^>]*)>', page):
        if re.search(r"\sdata-past\s", match.group(2) + " "):
            end = page.find("</article>", match.end())
            found[match.group(1)] = page[match.start():end]
    return found


def finding(item_html: str) -> str:
    """The last-finding block of a marked item."""
    start = item_html.index('<div class="past-finding">')
    return item_html[start:item_html.index("</div>", start)]


def test_the_fill_page_marks_the_right_items_with_the_last_finding(repeated, app, db, client_as, people, org_tree,
                                                                     clock_at, wang):
    first, again = repeated
    clock_at(at(75))
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)
    page = client_as(people["inspector"]).get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    marks = marked(page)
    assert set(marks) == {"A-01", "A-02"}  # B-01, B-02, B-03 never failed here
    assert "回头看" in page and "只看这 2 项" in page
    a02 = marks["A-02"]  # the last finding is the later visit's
    assert "上次不合格" in a02 and "整改中" in a02 and "2026-10-26" in a02 and "再次倚靠柜台" in a02
    assert "扣 4 分" in a02 and "近期检查中 2 次不合格" in a02
    a01 = marks["A-01"]
    assert "未着工装" in a01 and "2026-08-27" in a01 and "扣 10 分" in a01
    photo = db.exec(select(Photo).where(Photo.visit_id == first.id, Photo.item_code == "A-01")).one()
    assert f"/photos/{photo.id}/thumb" in a01
    assert "Z0001 · 王芳" in finding(a02) and "王芳" not in finding(a01)  # the staff member a finding named


def test_a_closed_finding_older_than_the_last_visits_is_no_longer_marked(app, db, client_as, people, org_tree,
                                                                           clock_at):
    clock_at(FIRST)
    first = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-03": dict(result="fail", note="坏了")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == first.id)).one()
    with app.test_request_context():  # the outlet fixes it, the inspector verifies it
        rect.acknowledge_notice(db, actor=people["chief"], notice=notice_of(db, first))
        rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=line, data=jpeg(), client_id=None)
        rect.answer_line(db, actor=people["chief"], line=line, description="已经修好自助机")
        rect.verify_line(db, actor=people["inspector"], line=line, accept=True)
    db.commit()
    for day in (10, 20):  # two clean visits since: the failure is one of the last three
        clock_at(at(day))
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    clock_at(at(25))
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)
    b03 = marked(client_as(people["inspector"]).get(f"/visits/{visit.id}/fill").get_data(as_text=True))["B-03"]
    assert "上次不合格" in b03 and "整改中</span>" not in b03  # closed: failed, not being rectified
    clock_at(at(30))
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})  # a third clean one
    inspector = client_as(people["inspector"])  # a new sign-in: days went by
    assert not marked(inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True))
    app.config["REVISIT_LOOKBACK_VISITS"] = 4
    assert set(marked(inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True))) == {"B-03"}
    app.config["REVISIT_LOOKBACK_DAYS"] = 20  # the failure was released 30 days ago
    assert not marked(inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True))


def test_an_open_line_is_marked_however_old(app, db, client_as, people, org_tree, clock_at):
    clock_at(FIRST)
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-03": dict(result="fail", note="坏了")})
    for day in (200, 201, 202):
        clock_at(at(day))
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)
    b03 = marked(client_as(people["inspector"]).get(f"/visits/{visit.id}/fill").get_data(as_text=True))["B-03"]
    assert "整改中</span>" in b03 and "上次不合格" not in b03


def test_the_fill_page_runs_a_fixed_number_of_statements(app, db, client_as, people, org_tree, clock_at, wang):
    clock_at(FIRST)
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    clock_at(at(1))
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)

    def statements() -> int:
        response = client_as(people["inspector"]).get(f"/visits/{visit.id}/fill")
        assert response.status_code == 200
        return int(response.headers["X-Query-Count"])

    few = statements()
    for day in range(2, 8):  # six more visits: every item failed, photos, a staff member, open lines
        clock_at(at(day))
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {
            "A-01": dict(result="fail", note="未着工装"), "A-02": dict(occurrences=day, note="倚靠", staff_id=wang.id),
            "B-01": dict(scale_value=1, note="面无笑容"), "B-03": dict(result="fail", note="坏了")})
    many = statements()
    assert len(marked(client_as(people["inspector"]).get(f"/visits/{visit.id}/fill").get_data(as_text=True))) == 4
    assert few == many, f"{few} statements with one past visit, {many} with seven"


# --- secrecy ------------------------------------------------------------------------------------------

def _secret_failing(app, db, people, outlet, shopper, code, *, release=True):
    visit, _f = secret_visit(app, db, manager=people["manager"], shopper=shopper, outlet=outlet, submit=False,
                             fail_one=False)
    with app.test_request_context():
        visits.save_answer(db, actor=shopper, visit=visit, item_code=code, result="fail", note=f"{code} 不合格")
        visits.submit_visit(db, actor=shopper, visit=visit, token=f"s{visit.id}", accept_warnings=True)
        if release:
            visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    return visit


def test_a_shopper_sees_released_findings_only_and_no_rectification(app, db, client_as, people, org_tree, clock_at,
                                                                   create_user):
    outlet = org_tree["xihu1"]
    clock_at(FIRST)
    released = _secret_failing(app, db, people, outlet, create_user("shopper"), "HAL-03")
    clock_at(at(5))
    in_review = _secret_failing(app, db, people, outlet, create_user("shopper"), "HAL-02", release=False)
    assert in_review.status == "in_review"
    clock_at(at(10))
    mine, _f = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=outlet, submit=False,
                            fail_one=False, complete=False)
    page = client_as(people["shopper"]).get(f"/visits/{mine.id}/fill").get_data(as_text=True)
    marks = marked(page)
    assert set(marks) == {"HAL-03"}  # the released finding; never the one under review
    assert "上次不合格" in marks["HAL-03"] and "HAL-03 不合格" in marks["HAL-03"]
    assert "整改中</span>" not in page  # the outlet's rectification is not a shopper's business
    assert "HAL-02 不合格" not in page
    # the inspector's open inspection at the outlet: nothing of either secret visit
    open_visit = checked_in_visit(app, db, people["inspector"], outlet)
    inspector_page = client_as(people["inspector"]).get(f"/visits/{open_visit.id}/fill").get_data(as_text=True)
    assert not marked(inspector_page) and "HAL-02 不合格" not in inspector_page
    # the branch chief: the released notice, nothing of the visit under review, no repeats page
    chief = client_as(people["chief"])
    assert chief.get(f"/notices/{notice_of(db, released).id}").status_code == 200
    assert db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == in_review.id)).first() is None
    assert "HAL-02" not in chief.get("/notices").get_data(as_text=True)
    assert chief.get("/board/repeats").status_code == 403


def test_a_shopper_sees_no_photo_of_another_shoppers_visit(app, db, client_as, people, org_tree, clock_at, create_user):
    outlet = org_tree["xihu1"]
    clock_at(FIRST)
    other = create_user("shopper")
    visit, _f = secret_visit(app, db, manager=people["manager"], shopper=other, outlet=outlet, submit=False,
                             fail_one=False)
    with app.test_request_context():
        visits.save_answer(db, actor=other, visit=visit, item_code="HAL-01", result="fail", note="地面有垃圾")
        visits.add_visit_photo(db, get_storage(), actor=other, visit=visit, data=jpeg((10, 10, 10)), item_code="HAL-01")
        visits.submit_visit(db, actor=other, visit=visit, token="x", accept_warnings=True)
        visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    photo = db.exec(select(Photo).where(Photo.visit_id == visit.id, Photo.item_code == "HAL-01")).one()
    clock_at(at(10))
    mine, _f = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=outlet, submit=False,
                            fail_one=False, complete=False)
    hal01 = marked(client_as(people["shopper"]).get(f"/visits/{mine.id}/fill").get_data(as_text=True))["HAL-01"]
    assert "地面有垃圾" in hal01 and f"/photos/{photo.id}/" not in hal01
    assert client_as(people["shopper"]).get(f"/photos/{photo.id}/thumb").status_code == 404
