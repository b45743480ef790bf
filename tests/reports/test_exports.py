"""CSV and Excel exports, read back the way their own readers read them (the csv module on the text
after the byte-order mark, openpyxl on the bytes), checked against the database for each role."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from sqlmodel import select

from inspect_app import clock, tabular
from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import Role
from inspect_app.org.models import Window
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.reports import bulletins
from inspect_app.visits import services as visits_services
from inspect_app.visits.models import StarRating, Visit, VisitStatus
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit

FORMATS = ("csv", "xlsx")
INJECTION = '=HYPERLINK("https://evil.example/","点我")'


def open_export(response, fmt: str) -> list[list]:
    """The file's rows as its format's own reader gives them (the header first)."""
    assert response.status_code == 200, response.status_code
    if fmt == "csv":
        assert response.mimetype == "text/csv" and response.data.startswith(codecs.BOM_UTF8)
        text = response.data[len(codecs.BOM_UTF8):].decode("utf-8")
        return list(csv.reader(io.StringIO(text, newline="")))
    assert response.mimetype == tabular.XLSX_MIMETYPE
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    return [[_cell(c) for c in row] for ws in book.worksheets for row in ws.iter_rows()]


def _cell(cell):
    """An xlsx cell as the CSV writes the same value, so both formats compare with one expectation."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if "h" in cell.number_format else value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def records(response, fmt: str) -> list[dict]:
    header, *rows = open_export(response, fmt)
    return [dict(zip(header, row)) for row in rows]


def local(moment: dt.datetime, fmt="%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(clock.zone("Asia/Shanghai")).strftime(fmt)


@pytest.fixture
def world(app, db, org_tree, people, create_user):
    """Released visits at the chief's outlet, at the other chief's, and in the other city; a secret
    visit at the chief's outlet waiting for review."""
    t = org_tree
    nb_inspector = create_user(Role.inspector, unit=t["nb"], username="inspector.nb")
    ours = release_mini_visit(app, db, people["inspector"], t["xihu1"],
                              {"A-01": dict(result="fail", note="@SUM(1+1)"), "A-02": dict(occurrences=2, note=INJECTION)})
    neighbour = release_mini_visit(app, db, people["inspector"], t["xihu2"], {"B-03": dict(result="fail", note="-2+3")})
    elsewhere = release_mini_visit(app, db, nb_inspector, t["haishu1"], {"A-01": dict(result="fail", note="未着工装")})
    pending, failed_code = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=t["xihu1"])
    assert db.get(Visit, pending.id).status == VisitStatus.in_review
    return {"ours": ours, "neighbour": neighbour, "elsewhere": elsewhere, "pending": pending, "secret_item": failed_code}


def release(app, db, people, visit):
    with app.test_request_context():
        visits_services.release_visit(db, actor=people["reviewer"], visit=db.get(Visit, visit.id))
    db.commit()


# --- visits -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("role, expected", [
    ("manager", {"ours", "neighbour", "pending"}),
    ("other_manager", {"elsewhere"}),
    ("chief", {"ours"}),
    ("other_chief", {"neighbour"}),
])
def test_visit_export_holds_what_the_viewer_may_see(world, people, client_as, db, role, expected, fmt):
    rows = records(client_as(people[role]).get(f"/visits/export.{fmt}"), fmt)
    assert sorted(int(r["检查编号"]) for r in rows) == sorted(world[name].id for name in expected)
    ours = db.get(Visit, world["ours"].id)
    if "ours" in expected:
        row = next(r for r in rows if int(r["检查编号"]) == ours.id)
        assert row["网点"] == "西湖区文三路邮政营业所" and row["网点编码"] == "330106001" and row["单位"] == "西湖区"
        assert row["检查表"] == "测试星级表" and row["类型"] == "窗口星级评定" and row["状态"] == "已发布"
        assert row["检查员"] == people["inspector"].display_name
        assert row["得分"] == f"{ours.score:g}" and row["红线"] == "否" and row["不合格项"] == "2"
        assert row["提交时间"] == local(ours.submitted_at)  # the outlet's wall clock, not UTC


@pytest.mark.parametrize("fmt", FORMATS)
def test_pending_secret_visit_is_never_exported_to_the_outlet_side(app, world, people, client_as, db, fmt):
    chief = client_as(people["chief"])
    shopper = people["shopper"]
    urls = [f"/visits/export.{fmt}", f"/visits/failed-items/export.{fmt}", f"/board/lines/export.{fmt}"]
    before = {url: open_export(chief.get(url), fmt) for url in urls}
    assert [int(r[0]) for r in before[urls[0]][1:]] == [world["ours"].id]
    assert {int(r[0]) for r in before[urls[1]][1:]} == {world["ours"].id}
    for rows in before.values():
        text = repr(rows)
        assert shopper.code_name not in text and shopper.display_name not in text
        assert world["secret_item"] not in text
    # the inspection side sees it waiting, with the shopper named
    manager_rows = records(client_as(people["manager"]).get(f"/visits/export.{fmt}"), fmt)
    waiting = next(r for r in manager_rows if int(r["检查编号"]) == world["pending"].id)
    assert waiting["状态"] == "待审核" and waiting["检查员"] == f"{shopper.display_name} · {shopper.code_name}"

    release(app, db, people, world["pending"])
    released = db.get(Visit, world["pending"].id)
    rows = records(chief.get(f"/visits/export.{fmt}"), fmt)
    row = next(r for r in rows if int(r["检查编号"]) == released.id)
    assert row["检查员"] == shopper.code_name  # the code name, never the person
    assert row["提交时间"] == local(released.submitted_at, "%Y-%m-%d")  # the date only: no time of day
    for url in urls:
        text = repr(open_export(chief.get(url), fmt))
        assert shopper.display_name not in text and shopper.username not in text
    items = records(chief.get(f"/visits/failed-items/export.{fmt}"), fmt)
    assert world["secret_item"] in {r["检查项"] for r in items if int(r["检查编号"]) == released.id}


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_items_export(world, people, client_as, db, fmt):
    rows = records(client_as(people["chief"]).get(f"/visits/failed-items/export.{fmt}"), fmt)
    ours = world["ours"]
    assert [(int(r["检查编号"]), r["检查项"]) for r in rows] == [(ours.id, "A-01"), (ours.id, "A-02")]
    a01, a02 = rows
    assert a01["检查项内容"] == "着装统一" and a02["检查项内容"] == "倚靠柜台"
    assert a02["次数 / 测量值"] == "2" and a01["次数 / 测量值"] == ""
    assert a01["网点"] == "西湖区文三路邮政营业所" and a01["日期"] == local(db.get(Visit, ours.id).released_at, "%Y-%m-%d")
    assert {r["检查编号"] for r in records(client_as(people["other_chief"]).get(
        f"/visits/failed-items/export.{fmt}"), fmt)} == {str(world["neighbour"].id)}


def test_formula_cells_come_out_inert_in_csv(world, people, client_as):
    rows = records(client_as(people["manager"]).get("/visits/failed-items/export.csv"), "csv")
    notes = {r["检查项"]: r["备注"] for r in rows if int(r["检查编号"]) in (world["ours"].id, world["neighbour"].id)}
    assert notes == {"A-01": "'@SUM(1+1)", "A-02": "'" + INJECTION, "B-03": "'-2+3"}


def test_formula_cells_come_out_inert_in_xlsx(world, people, client_as):
    data = client_as(people["manager"]).get("/visits/failed-items/export.xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    notes = {row[header.index("检查项")].value: row[header.index("备注")] for row in sheet.iter_rows(min_row=2)}
    for code, text in (("A-01", "@SUM(1+1)"), ("A-02", INJECTION), ("B-03", "-2+3")):
        assert notes[code].value == text and notes[code].data_type == "s", code  # text, not a formula
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml


# --- rectification lines and the board ------------------------------------------------------------

def lines_of(db, *outlets):
    return db.exec(select(RectificationLine, RectificationNotice)
                   .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
                   .where(RectificationLine.outlet_id.in_([o.id for o in outlets]))
                   .order_by(RectificationLine.deadline_at, RectificationLine.id)).all()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("role, outlets", [("manager", ["xihu1", "xihu2"]), ("chief", ["xihu1"]),
                                           ("other_manager", ["haishu1"])])
def test_line_export_matches_the_database(world, people, client_as, db, org_tree, role, outlets, fmt):
    rows = records(client_as(people[role]).get(f"/board/lines/export.{fmt}"), fmt)
    expected = lines_of(db, *(org_tree[o] for o in outlets))
    assert [(r["通知书"], r["检查项"]) for r in rows] == [(n.number, line.item_code) for line, n in expected]
    for row, (line, _notice) in zip(rows, expected):
        assert row["状态"] == "已下发" and row["整改期限"] == line.deadline_date.isoformat()
        assert row["下发时间"] == local(line.issued_at) and row["签收时间"] == "" and row["逾期天数"] == ""
        assert row["问题"] == line.problem and row["整改要求"] == line.requirement


def test_line_export_follows_the_page_filters_and_counts_days_late(world, people, client_as, db, org_tree):
    line, _notice = lines_of(db, org_tree["xihu1"])[0]
    late_day = clock.today("Asia/Shanghai") - dt.timedelta(days=4)
    line.deadline_date, line.deadline_at = late_day, clock.day_end(late_day, "Asia/Shanghai")
    db.add(line)
    db.commit()
    manager = client_as(people["manager"])
    page = manager.get("/board/lines?state=overdue").get_data(as_text=True)
    links = re.findall(r'href="(/board/lines/export\.(?:csv|xlsx)[^"]*)"', page)
    assert links == ["/board/lines/export.csv?state=overdue", "/board/lines/export.xlsx?state=overdue"]
    for link in links:
        rows = records(manager.get(link.replace("&amp;", "&")), link.split("?")[0].rsplit(".", 1)[1])
        assert [(r["检查项"], r["逾期天数"]) for r in rows] == [(line.item_code, "4")]
    # a status filter: only those lines
    assert records(manager.get("/board/lines/export.csv?state=closed"), "csv") == []
    assert len(records(manager.get("/board/lines/export.csv?state=issued"), "csv")) == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_board_export_as_the_page_shows_it(world, people, client_as, db, org_tree, fmt):
    manager = client_as(people["manager"])
    rows = open_export(manager.get(f"/board/export.{fmt}"), fmt)
    assert rows[0][:3] == ["单位", "已下发", "已签收"]
    assert [r[:2] for r in rows[1:]] == [["西湖区", "3"], ["合计", "3"]]
    by_outlet = records(manager.get(f"/board/export.{fmt}?unit={org_tree['xihu'].id}"), fmt)
    counts = {r["网点"]: r["已下发"] for r in by_outlet}
    assert counts == {"西湖区文三路邮政营业所": "2", "西湖区古荡邮政支局": "1", "合计": "3"}
    assert records(client_as(people["other_manager"]).get(f"/board/export.{fmt}"), fmt)[0]["单位"] == "海曙区"


@pytest.mark.parametrize("fmt", FORMATS)
def test_ranking_export_holds_the_bulletin_rows(app, world, people, client_as, db, org_tree, fmt):
    today = clock.today("Asia/Shanghai")
    rows = records(client_as(people["director"]).get(f"/bulletins/ranking/export.{fmt}?kind=day&date={today}"), fmt)
    with app.test_request_context():
        built = bulletins.build(db, db.get(type(people["director"]), people["director"].id), node=org_tree["province"],
                                period=bulletins.Period.around("day", today))
    number = lambda value: "" if value is None else f"{float(value):g}"  # noqa: E731
    expected = [["" if r.rank is None else str(r.rank), r.name, str(r.visits) if r.visits else "未检查",
                 number(r.coverage), number(r.average), "否决" if r.vetoed else "",
                 number(r.raw_average) if r.vetoed else "", str(r.red_lines),
                 "表扬" if r.commended else "批评" if r.named else ""] for r in built.rows]
    got = [list(r.values()) for r in rows]
    for row in got:  # the numbers as numbers: 60 and 60.0 are the same figure
        for i in (3, 4, 6):
            row[i] = number(row[i]) if row[i] not in ("", None) else ""
    assert got == expected
    assert {r["单位"] for r in rows} == {"杭州市", "宁波市"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_star_board_export(app, world, people, client_as, db, org_tree, fmt):
    release_mini_visit(app, db, people["inspector"], org_tree["xihu2"], {})  # all passed: five stars
    rating = db.exec(select(StarRating).where(StarRating.outlet_id == org_tree["xihu2"].id,
                                             StarRating.ended_at.is_(None))).one()
    window = db.get(Window, rating.window_id)
    rows = records(client_as(people["manager"]).get(f"/stars/export.{fmt}"), fmt)
    assert rows == [{"网点编码": "330106002", "网点": "西湖区古荡邮政支局", "窗口": window.number, "单位": "西湖区",
                     "星级": "5", "得分": f"{rating.score:g}", "评定日期": local(rating.awarded_at, "%Y-%m-%d"),
                     "有效期至": visits_services.star_last_day(rating, "Asia/Shanghai").isoformat()}]
    assert records(client_as(people["manager"]).get(f"/stars/export.{fmt}?stars=3"), fmt) == []
    assert records(client_as(people["other_manager"]).get(f"/stars/export.{fmt}"), fmt) == []


# --- checks, names, audit, the files themselves -------------------------------------------------------

@pytest.mark.parametrize("role, url, status", [
    ("chief", "/board/export.csv", 403),
    ("chief", "/stars/export.xlsx", 403),
    ("chief", "/bulletins/ranking/export.csv", 403),
    ("shopper", "/board/lines/export.csv", 403),
    ("inspector", "/board/export.xlsx", 403),
    ("other_manager", "/board/lines/export.csv?outlet={xihu1}", 404),
    ("other_manager", "/board/export.csv?unit={xihu}", 404),
    ("chief", "/board/lines/export.xlsx?outlet={xihu2}", 404),
    ("other_manager", "/bulletins/ranking/export.xlsx?unit={hz}", 404),
])
def test_exports_are_refused_as_their_pages_are(world, people, client_as, org_tree, role, url, status):
    url = url.format(**{k: v.id for k, v in org_tree.items()})
    client = client_as(people[role])
    assert client.get(url).status_code == status
    page = re.sub(r"/export\.(csv|xlsx)", "", url).replace("/ranking", "")
    assert client.get(page).status_code == status  # the same answer as the page's


def test_export_is_named_by_the_viewers_date_audited_and_streamed(app, clock_at, org_tree, people, client_as, db):
    clock_at("2026-12-01T16:30:00Z")  # UTC is still on the 1st; Shanghai is on the 2nd
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    response = client_as(people["manager"]).get("/visits/export.csv?status=released&kind=star")
    assert response.is_streamed and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "检查-20261202.csv"
    assert len(records(response, "csv")) == 1
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "export.visits")).one()
    assert event.actor_id == people["manager"].id and event.object_type == "export"
    assert event.after == {"format": "csv", "filters": {"status": "released", "kind": "star"}}
    xlsx = client_as(people["chief"]).get("/board/lines/export.xlsx")
    assert unquote(xlsx.headers["Content-Disposition"].split("filename*=UTF-8''")[1]) == "整改事项-20261202.xlsx"
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data)).properties.created == dt.datetime(2026, 12, 1, 16, 0)


def test_xlsx_temp_file_is_removed(world, people, client_as):
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("export-*.xlsx")) | set(folder.glob("xlsx-*"))
    response = client_as(people["manager"]).get("/board/lines/export.xlsx")
    assert len(open_export(response, "xlsx")) == 4
    response.close()
    assert set(folder.glob("export-*.xlsx")) | set(folder.glob("xlsx-*")) == before


def test_status_filter_carried_from_the_visit_list(world, people, client_as):
    manager = client_as(people["manager"])
    page = manager.get("/visits?status=in_review&page=1").get_data(as_text=True)
    assert 'href="/visits/export.xlsx?status=in_review"' in page  # the page number is not carried
    assert 'href="/visits/failed-items/export.csv?status=in_review"' in page
    rows = records(manager.get("/visits/export.xlsx?status=in_review"), "xlsx")
    assert [(int(r["检查编号"]), r["状态"]) for r in rows] == [(world["pending"].id, "待审核")]
    assert {r["检查编号"] for r in records(manager.get("/visits/export.csv?status=released&q=古荡"), "csv")} == {
        str(world["neighbour"].id)}


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit():
    out = io.BytesIO()
    rows = [[n, f"={n}", dt.datetime(2026, 12, 2, 9, 30), None] for n in range(5)]
    assert tabular.write_xlsx(out, ["n", "text", "at", "empty"], rows, sheet="表[1/2]", max_rows=2) == 5
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["表_1_2_", "表_1_2_ (2)", "表_1_2_ (3)"]
    values = [[c.value for c in row] for ws in book.worksheets for row in ws.iter_rows()]
    assert values[0] == ["n", "text", "at", "empty"] and values[3] == ["n", "text", "at", "empty"]
    assert values[1] == [0, "=0", dt.datetime(2026, 12, 2, 9, 30), None]


def test_csv_cells():
    assert [tabular.csv_cell(v) for v in ("=1", "+1", "-1", "@x", "\tx", "\rx", "a=b", None, 2.5, 3.0, 10, True)] == [
        "'=1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "a=b", "", "2.5", "3", "10", "1"]
    assert tabular.attachment("检查-1.csv") == (
        "attachment; filename=\"__-1.csv\"; filename*=UTF-8''%E6%A3%80%E6%9F%A5-1.csv")
