"""Operating-data files through the import page: every bad file is answered in Chinese on the page
(200, never 500) with the line where it makes sense, and nothing is written; Excel cells are read
as they show (a percent cell, a date in the month column); a failure while writing leaves nothing
behind; the templates (CSV and Excel) carry a unit of the importer's own and the last complete month."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import func, select

from inspect_app.audit.models import AuditEvent
from inspect_app.indicators import importing
from inspect_app.indicators.models import OperatingValue

#: 01:00 on 1 December in Shanghai, still 30 November in UTC: November is the last complete month
#: in the viewer's zone, October on the host's.
PINNED = "2026-11-30T17:00:00Z"
HEADER = "单位编码,月份,指标编码,数值"
GOOD = "330106,2026-11,signed_on_time,95"


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


def csv_file(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "\n" + "".join(r + "\n" for r in rows)).encode(encoding)


def xlsx_file(*rows, header=("单位编码", "月份", "指标编码", "数值"), formats: dict | None = None) -> bytes:
    """A workbook; ``formats`` gives number formats by (row, column), 1-based as in Excel."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for (r, c), number_format in (formats or {}).items():
        sheet.cell(r, c).number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(db) -> tuple[int, int]:
    return (db.exec(select(func.count()).select_from(OperatingValue)).one(),
            db.exec(select(func.count()).select_from(AuditEvent)).one())


def upload(client, data: bytes, name: str = "ops.csv"):
    return client.post("/indicators/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def refused(client, db, data: bytes, name: str, *words: str) -> str:
    """Posts the file and checks the page: 200, each of ``words`` shown, nothing written."""
    client.get("/indicators/import")  # a first request records the checklist files as versions
    before = counts(db)
    response = upload(client, data, name)
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:500]
    assert "未导入任何数据" in text, text[:2000]
    for word in words:
        assert word in text, (word, text[text.find("flash-error"):][:1500])
    assert counts(db) == before
    return text


@pytest.fixture
def director(client_as, people):
    return client_as(people["director"])


# --- files that are not what the page takes ---------------------------------------------------

def _ole2() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _zip_of(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def _too_big_xlsx() -> bytes:
    """A readable workbook over 5 MB (a large picture in it): its size alone refuses it."""
    out = io.BytesIO(xlsx_file(GOOD.split(",")))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/media/image1.bin", bytes(range(256)) * (5 * 4096 + 100))
    return out.getvalue()


@pytest.mark.parametrize("data, name, words", [
    pytest.param(csv_file(GOOD, encoding="utf-16-le"), "ops.csv", ["UTF-16", "UTF-8"], id="utf16-without-bom"),
    pytest.param("unit_code,month,metric,value\nCafé Münchën,2026-11,délivery,97\n".encode("latin-1"), "ops.csv",
                 ["既不是 UTF-8 也不是 GB18030"], id="latin1"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, "ops.png", ["PNG 图片", "CSV 或 Excel"], id="png"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "ops.pdf", ["PDF 文档"], id="pdf"),
    pytest.param(_ole2(), "ops.xls", [".xls", ".xlsx"], id="old-xls"),
    pytest.param(_zip_of(**{"readme.txt": b"hello", "data.csv": b"a,b\n"}), "ops.zip", ["ZIP 压缩包"], id="zip"),
    pytest.param(xlsx_file(GOOD.split(","))[:900], "ops.xlsx", ["无法读取该 Excel", "损坏或不完整"], id="truncated-xlsx"),
    pytest.param(b"", "ops.csv", ["文件是空的"], id="empty"),
    pytest.param(b"\xef\xbb\xbf\r\n \r\n", "ops.csv", ["文件是空的"], id="blank-lines"),
    pytest.param(csv_file(), "ops.csv", ["没有数据行"], id="header-only-csv"),
    pytest.param(xlsx_file(), "ops.xlsx", ["没有数据行"], id="header-only-xlsx"),
    pytest.param(csv_file("330106,2026-11,95", header="单位编码,月份,数值"), "ops.csv",
                 ["第 1 行", "缺少列:指标编码"], id="missing-column"),
    pytest.param(xlsx_file(["330106", "2026-11", "95"], header=("单位编码", "月份", "数值")), "ops.xlsx",
                 ["第 1 行", "缺少列:指标编码"], id="missing-column-xlsx"),
    pytest.param(csv_file(GOOD + ",上月偏低", header=HEADER + ",备注"), "ops.csv",
                 ["第 1 行", "未知列:备注", "只能有"], id="unknown-column"),
    pytest.param(csv_file(GOOD + ",96", header=HEADER + ",数值"), "ops.csv", ["第 1 行", "数值", "出现了两次"],
                 id="column-twice"),
    pytest.param(csv_file(GOOD) + b"#" * (5 * 1024 * 1024), "ops.csv", ["5 MB"], id="too-big-csv"),
    pytest.param(_too_big_xlsx(), "ops.xlsx", ["5 MB"], id="too-big-xlsx"),
])
def test_a_bad_file_is_refused_on_the_page(director, db, org_tree, data, name, words):
    refused(director, db, data, name, *words)


def test_gb18030_is_read(director, db, org_tree):
    data = csv_file("330106,2026年11月,signed_on_time,95.5", encoding="gb18030")
    assert upload(director, data).status_code == 302
    assert [(v.metric, v.month, v.value) for v in db.exec(select(OperatingValue))] == [
        ("signed_on_time", dt.date(2026, 11, 1), Decimal("95.5"))]


def test_columns_without_a_name_are_ignored(director, db, org_tree):
    """Excel writes empty columns after a formatted cell: "单位编码,月份,指标编码,数值,,"."""
    assert upload(director, csv_file(GOOD + ",,", header=HEADER + ",,")).status_code == 302
    assert counts(db)[0] == 1


# --- rows ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, words", [
    (["9999,2026-11,delivery_on_time,95"], ["第 3 行", "未知单位编码 9999"]),
    (["3302,2026-11,delivery_on_time,95"], ["第 3 行", "不在您的管辖范围"]),
    (["3301,2026-11xyz,delivery_on_time,95"], ["第 3 行", "应写作 YYYY-MM", "2026-11xyz"]),
    (["3301,2026-13,delivery_on_time,95"], ["第 3 行", "应写作 YYYY-MM", "2026-13"]),
    (["3301,2026-11-31,delivery_on_time,95"], ["第 3 行", "应写作 YYYY-MM"]),
    (["3301,2027-01,delivery_on_time,95"], ["第 3 行", "尚未开始"]),
    (["3301,2026-11,happiness,95"], ["第 3 行", "未知指标 happiness"]),
    (["3301,2026-11,delivery_on_time,很好"], ["第 3 行", "不是数字"]),
    (["3301,2026-11,delivery_on_time,120"], ["第 3 行", "超出"]),
    (["330106,2026-11,delivery_on_time,95", "330106,2026/11,delivery_on_time,96"], ["第 4 行", "与第 3 行"]),
])
def test_a_bad_row_is_named_by_its_line(client_as, people, db, org_tree, rows, words):
    manager = client_as(people["manager"])  # 杭州市 (3301) and below
    refused(manager, db, csv_file(GOOD, *rows), "ops.csv", *words)


def test_months_as_quality_offices_write_them(director, db, org_tree):
    rows = ["330106,2026/10,delivery_on_time,95", "330106,2026年9月,delivery_on_time,94",
            "330106,２０２６－０８,delivery_on_time,93", "330106,2026-07-01,delivery_on_time,92"]
    assert upload(director, csv_file(*rows)).status_code == 302
    assert sorted(v.month for v in db.exec(select(OperatingValue))) == [
        dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)]


def test_excel_cells_are_read_as_they_show(director, db, org_tree):
    """A percent cell holds 0.985 and shows 98.5 %: the metric is in % (0–100), so 98.5. A date
    cell in the month column is its month. A float is taken as Excel shows it (15 digits)."""
    data = xlsx_file(["330106", dt.datetime(2026, 11, 1), "delivery_on_time", 0.985],
                     ["330106", dt.date(2026, 10, 15), "call_answer_rate", 98.49999999999999],
                     ["330106", "2026-11", "appeal_rate", 3],
                     formats={(2, 4): "0.0%"})
    assert upload(director, data, "ops.xlsx").status_code == 302
    values = {(v.metric, v.month): v.value for v in db.exec(select(OperatingValue))}
    assert values == {("delivery_on_time", dt.date(2026, 11, 1)): Decimal("98.5"),
                      ("call_answer_rate", dt.date(2026, 10, 1)): Decimal("98.5"),
                      ("appeal_rate", dt.date(2026, 11, 1)): Decimal("3")}
    logged = {e.after["metric"]: e.after["value"] for e in db.exec(select(AuditEvent).where(
        AuditEvent.action == "operating_value.imported"))}
    assert logged == {"delivery_on_time": "98.5", "call_answer_rate": "98.5", "appeal_rate": "3"}


def test_a_percent_cell_out_of_range_is_named_by_its_excel_row(director, db, org_tree):
    data = xlsx_file(["330106", "2026-11", "delivery_on_time", 0.97], [], ["330106", "2026-10", "delivery_on_time", 1.2],
                     formats={(2, 4): "0%", (4, 4): "0.00%"})
    text = refused(director, db, data, "ops.xlsx", "第 4 行", "120 超出")
    assert "120.0000" not in text


def test_a_literal_percent_sign_in_a_format_does_not_scale(director, db, org_tree):
    data = xlsx_file(["330106", "2026-11", "delivery_on_time", 97.5], formats={(2, 4): '0.0"%"'})
    assert upload(director, data, "ops.xlsx").status_code == 302
    assert db.exec(select(OperatingValue.value)).one() == Decimal("97.5")


def test_a_text_month_in_excel_is_checked_like_csv(director, db, org_tree):
    data = xlsx_file(["330106", "2026-11xyz", "delivery_on_time", 97])
    refused(director, db, data, "ops.xlsx", "第 2 行", "应写作 YYYY-MM")


def test_too_many_rows_stop_the_reading_early(director, db, org_tree, monkeypatch):
    """Past the row limit the reading stops: the broken end of this sheet is never reached."""
    monkeypatch.setattr(importing, "MAX_ROWS", 20)
    rows = [["330106", "2026-11", "delivery_on_time", 90]] * 30
    data = xlsx_file(*rows)
    source = io.BytesIO(data)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            body = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body[:body.index(b'<row r="28"')] + b"<row r='28'><c r='A28'><v>not closed"
            new.writestr(item, body)
    refused(director, db, out.getvalue(), "ops.xlsx", "超过 20 行")
    refused(director, db, csv_file(*[GOOD] * 21), "ops.csv", "超过 20 行")


# --- writing: all or nothing, and a re-import -----------------------------------------------------

def _refuse_at_flush(db, unit_id: int) -> None:
    """A real database error at the insert of one unit's December (the check cannot see it)."""
    when = f"NEW.unit_id = {unit_id} AND NEW.month = '2026-12-01'"
    with db.get_bind().begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"CREATE TRIGGER refuse_unit BEFORE INSERT ON operating_value WHEN {when} "
                                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION refuse_unit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                 "RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'check_violation'; END $$")
            conn.exec_driver_sql(f"CREATE TRIGGER refuse_unit BEFORE INSERT ON operating_value FOR EACH ROW "
                                 f"WHEN ({when}) EXECUTE FUNCTION refuse_unit()")


def test_a_database_error_after_the_first_batch_leaves_nothing_written(client_as, people, db, org_tree):
    """600 rows, more than a write batch (500) of the other imports; the database refuses line 597."""
    admin = client_as(people["admin"])
    units = ["33", "3301", "3302", "330106", "330203"]
    metrics = ["delivery_on_time", "signed_on_time", "call_answer_rate", "appeal_rate", "platform_index"]
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    rows = [f"{u},{mo},{me},50" for u in units for mo in months for me in metrics]
    assert len(rows) == 600 and rows[-1].startswith("330203,")
    _refuse_at_flush(db, org_tree["haishu"].id)
    assert rows[595].startswith("330203,2026-12,")  # line 597
    refused(admin, db, csv_file(*rows), "ops.csv", "第 597 行", "数据库拒绝")


def test_a_reimport_replaces_the_value_and_logs_the_old_one(director, db, org_tree):
    assert upload(director, csv_file("330106,2026-11,delivery_on_time,96.5")).status_code == 302
    response = upload(director, csv_file("330106,2026-11,delivery_on_time,97.25"), "again.csv")
    assert response.status_code == 302
    assert "更新 1 条" in director.get(response.headers["Location"]).get_data(as_text=True)
    assert db.exec(select(OperatingValue.value)).all() == [Decimal("97.25")]
    replaced = db.exec(select(AuditEvent).where(AuditEvent.action == "operating_value.replaced")).one()
    assert replaced.before == {"value": "96.5000"} and replaced.after["value"] == "97.25"
    assert replaced.actor_name == "director"


# --- templates ------------------------------------------------------------------------------------

def test_the_page_offers_both_templates(director, org_tree):
    page = director.get("/indicators/import").get_data(as_text=True)
    assert "/indicators/import/template.xlsx" in page and "/indicators/import/template.csv" in page
    assert "5 MB" in page


def test_the_csv_template_has_a_unit_of_the_importers_and_the_last_complete_month(client_as, people, org_tree):
    text = client_as(people["manager"]).get("/indicators/import/template.csv").get_data(as_text=True)
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == HEADER
    assert lines[1].startswith("330106,2026-11,") and len(lines) == 1 + 7  # the shipped tree imports 7 metrics
    # read back by the importer itself: the template is a file it takes
    assert all(line.split(",")[2] in {"delivery_on_time", "signed_on_time", "call_answer_rate", "appeal_rate",
                                      "first_attempt_rate", "false_signoff_rate", "platform_index"}
               for line in lines[1:])


def test_the_excel_template_has_the_data_and_the_notes(client_as, people, db, org_tree):
    manager = client_as(people["manager"])
    response = manager.get("/indicators/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    data, notes = book.worksheets
    rows = list(data.iter_rows(values_only=True))
    assert rows[0] == ("单位编码", "月份", "指标编码", "数值")
    assert {(r[0], r[1]) for r in rows[1:]} == {("330106", "2026-11")} and len(rows) == 1 + 7
    assert notes.title == "说明"
    listed = {r[0]: r for r in notes.iter_rows(values_only=True) if r[0]}
    assert listed["delivery_on_time"][1:4] == ("投递及时率", "%", "0–100")
    assert listed["appeal_rate"][1:4] == ("申诉率(件/百万件)", "件/百万件", "0–1000")
    # the example rows import as they are
    assert upload(manager, response.data, "template.xlsx").status_code == 302
    assert counts(db)[0] == 7


def test_templates_are_for_importers_only(client_as, people, org_tree):
    for fmt in ("csv", "xlsx"):
        assert client_as(people["inspector"]).get(f"/indicators/import/template.{fmt}").status_code == 403
