"""The quality office's configuration page: checklists and the indicator tree with their versions,
an upload (TOML or Excel) validated, compared with the current version and published; a visit
keeps the version it was filled with, a finished period the tree of its end."""
from __future__ import annotations

import io
import tomllib

import openpyxl
import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.checklists import config as checklist_config
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import load_directory, parse
from inspect_app.checklists.models import ChecklistVersion, ConfigDraft
from inspect_app.config import PROJECT_ROOT
from inspect_app.indicators import config, services
from inspect_app.indicators.definition import load_file
from inspect_app.indicators.definition import parse as parse_tree
from inspect_app.indicators.models import IndicatorSnapshot, IndicatorTreeVersion
from inspect_app.visits.models import Visit
from tests.visit_helpers import release_mini_visit

PINNED = "2026-12-01T16:30:00Z"  # 00:30 on 2 December in Shanghai


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


def _file(path) -> bytes:
    return path.read_bytes()


def _upload(client, kind: str, data: bytes, name: str):
    return client.post("/admin/config/upload", {"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _mini_with_changes() -> bytes:
    text = (PROJECT_ROOT / "tests" / "fixtures" / "mini.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["sections"][0]["items"][0]["points"] = 7
    data["sections"][0]["items"].append({
        "code": "A-09", "text_zh": "投诉电话公示", "text_en": "Complaint number displayed", "points": 2,
        "rule": "pass_fail", "severity": "general", "requirement_zh": "公示局长热线", "requirement_en": "Display it"})
    return checklist_config.to_toml(parse(data, "mini.toml").to_dict())


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "forms").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_checklist_round_trips_through_toml_and_excel(path):
    checklist = load_directory(path.parent)[path.stem]
    again = parse(tomllib.loads(checklist_config.to_toml(checklist.to_dict()).decode()), path.name)
    assert again.content_hash() == checklist.content_hash()
    from_excel = parse(checklist_config.checklist_from_workbook(checklist_config.to_workbook(checklist.to_dict())),
                       path.name)
    assert from_excel.content_hash() == checklist.content_hash()


def test_the_shipped_tree_round_trips_through_toml_and_excel():
    tree = load_file(PROJECT_ROOT / "forms" / "indicators" / "province.toml")
    again = parse_tree(tomllib.loads(config.to_toml(tree.raw).decode()), "province.toml")
    assert again == tree  # the dataclasses compare by meaning (the raw table aside)
    from_excel = parse_tree(config.tree_from_workbook(config.to_workbook(tree.raw)), "province.xlsx")
    assert from_excel == tree


def test_only_administrators_see_the_configuration(client_as, people):
    for role in ("manager", "director", "inspector", "chief", "reviewer", "handler"):
        assert client_as(people[role]).get("/admin/config").status_code == 403
        assert client_as(people[role]).post("/admin/config/upload", {}).status_code in (400, 403)
    page = client_as(people["admin"]).get("/admin/config").get_data(as_text=True)
    assert "检查表与指标体系" in page and "测试星级表" in page and "第 1 版" in page and "服务质量综合考核" in page


def test_a_checklist_item_and_an_indicator_in_full(client_as, people):
    admin = client_as(people["admin"])
    page = admin.get("/admin/config/checklists/mini").get_data(as_text=True)
    assert "A-01" in page and "下载 Excel" in page
    item = admin.get("/admin/config/checklists/mini/items/B-02").get_data(as_text=True)
    assert "是：不合格则整次检查不合格" in item  # B-02 is the red line
    assert admin.get("/admin/config/checklists/mini/items/NOPE").status_code == 404
    assert admin.get("/admin/config/checklists/nope").status_code == 404
    indicator = admin.get("/admin/config/tree/indicators/A1").get_data(as_text=True)
    assert "明察检查平均分" in indicator and "检查平均分" in indicator and "open_inspection" in indicator


def test_an_upload_is_compared_then_published_and_visits_keep_their_version(app, db, client_as, people, org_tree):
    admin = client_as(people["admin"])
    before = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    first = db.exec(select(ChecklistVersion).where(ChecklistVersion.code == "mini")).one()
    response = _upload(admin, "checklist", _mini_with_changes(), "mini.toml")
    assert response.status_code == 302
    draft = db.exec(select(ConfigDraft)).one()
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "与当前第 1 版相比：2 处改动" in page and "A-09" in page and "新增" in page
    assert "分值" not in page or "Points" not in page  # labels are translated
    assert "<del>3" in page.replace(".0", "") or "<del>" in page
    # nothing changes for anyone until it is published
    assert db.exec(select(ChecklistVersion).where(ChecklistVersion.code == "mini")).one().id == first.id
    published = admin.post(f"/admin/config/drafts/{draft.id}/publish", {"seen_version": "1", "note": "加投诉电话"})
    assert published.status_code == 302
    rows = db.exec(select(ChecklistVersion).where(ChecklistVersion.code == "mini").order_by(ChecklistVersion.version)).all()
    assert [r.version for r in rows] == [1, 2] and rows[1].source == "upload" and rows[1].published_by_id == people["admin"].id
    assert db.get(ConfigDraft, draft.id).state == "published"
    with app.test_request_context():
        assert checklists.registry(db)["mini"].item("A-09") is not None
    after = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-09": dict(result="pass")})
    db.expire_all()
    assert db.get(Visit, before.id).checklist_version_id == first.id
    assert db.get(Visit, after.id).checklist_version_id == rows[1].id
    actions = {e.action for e in db.exec(select(AuditEvent)).all()}
    assert {"config.uploaded", "config.published", "checklist_version.published"} <= actions
    # the unchanged file on disk does not undo the published version at the next start
    with app.test_request_context():
        assert checklists.current_version(db, "mini").version == 2


def test_an_excel_sheet_edited_and_uploaded(db, client_as, people):
    admin = client_as(people["admin"])
    sheet = admin.get("/admin/config/checklist/mini/download.xlsx")
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(sheet.data))
    items = book["评分项"]
    header = [c.value for c in items[1]]
    items.cell(row=2, column=header.index("分值") + 1, value=6)
    items.cell(row=2, column=header.index("一票否决") + 1, value="否")
    out = io.BytesIO()
    book.save(out)
    response = _upload(admin, "checklist", out.getvalue(), "评分表.xlsx")
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 处改动" in page and "A-01" in page


@pytest.mark.parametrize("name, data, message", [
    ("photo.toml", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "既不是 UTF-8 编码的 TOML 文本，也不是 Excel"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "旧版 Excel 文件（.xls）"),
    ("empty.toml", b"  \n", "文件为空"),
    ("broken.toml", b'code = "mini"\nkind = [', "不是有效的 TOML"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 60, "无法读取此 Excel 文件"),
    ("gbk.toml", 'code = "mini"\ntitle_zh = "测试"\n'.encode("gb18030"), "既不是 UTF-8"),
    ("huge.toml", b"#" * (3 * 1024 * 1024), "文件超过 2 MB"),
])
def test_a_bad_file_says_why_and_keeps_nothing(db, client_as, people, name, data, message):
    page = _upload(client_as(people["admin"]), "checklist", data, name)
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert db.exec(select(ConfigDraft)).all() == []


def test_bad_content_is_named_by_sheet_row_and_item(db, client_as, people):
    admin = client_as(people["admin"])
    book = openpyxl.load_workbook(io.BytesIO(admin.get("/admin/config/checklist/mini/download.xlsx").data))
    items = book["评分项"]
    header = [c.value for c in items[1]]
    items.cell(row=3, column=header.index("分值") + 1, value="十分")
    items.cell(row=4, column=header.index("严重程度") + 1, value="很严重")
    out = io.BytesIO()
    book.save(out)
    page = _upload(admin, "checklist", out.getvalue(), "s.xlsx").get_data(as_text=True)
    assert "工作表“评分项”第 3 行" in page and "“分值”应为数字，而不是“十分”" in page
    assert "工作表“评分项”第 4 行" in page and "很严重" in page
    del book["检查表"]
    out = io.BytesIO()
    book.save(out)
    assert "没有名为 检查表 的工作表" in _upload(admin, "checklist", out.getvalue(), "s.xlsx").get_data(as_text=True)
    # the parser's own checks, with the file and the item named
    data = tomllib.loads((PROJECT_ROOT / "tests" / "fixtures" / "mini.toml").read_text(encoding="utf-8"))
    data["sections"][0]["items"][0]["rule"] = "vibes"
    import tomli_w
    page = _upload(admin, "checklist", tomli_w.dumps(data).encode(), "mini.toml").get_data(as_text=True)
    assert "检查表未通过校验" in page and "item A-01: rule（评分方式） must be one of" in page
    # a new version may not change a checklist's kind; the same content is nothing to publish
    data = tomllib.loads((PROJECT_ROOT / "tests" / "fixtures" / "mini.toml").read_text(encoding="utf-8"))
    data["kind"] = "open"
    assert "不能改变类型" in _upload(admin, "checklist", tomli_w.dumps(data).encode(), "m.toml").get_data(as_text=True)
    same = (PROJECT_ROOT / "tests" / "fixtures" / "mini.toml").read_bytes()
    assert "与当前第 1 版内容相同" in _upload(admin, "checklist", same, "mini.toml").get_data(as_text=True)
    assert db.exec(select(ConfigDraft)).all() == []


def test_a_stale_comparison_is_not_published_and_a_draft_is_decided_once(db, client_as, people):
    admin = client_as(people["admin"])
    _upload(admin, "checklist", _mini_with_changes(), "one.toml")
    other = tomllib.loads(_mini_with_changes().decode())
    other["title_zh"] = "测试星级表（新）"
    _upload(admin, "checklist", checklist_config.to_toml(parse(other, "m").to_dict()), "two.toml")
    one, two = db.exec(select(ConfigDraft).order_by(ConfigDraft.id)).all()
    admin.post(f"/admin/config/drafts/{one.id}/publish", {"seen_version": "1"})
    refused = admin.post(f"/admin/config/drafts/{two.id}/publish", {"seen_version": "1"}, follow_redirects=True)
    assert "此期间已有其他版本发布" in refused.get_data(as_text=True)
    again = admin.post(f"/admin/config/drafts/{one.id}/publish", {"seen_version": "2"}, follow_redirects=True)
    assert "此上传已发布或已放弃" in again.get_data(as_text=True)
    admin.post(f"/admin/config/drafts/{two.id}/discard", {})
    db.expire_all()
    assert db.get(ConfigDraft, two.id).state == "discarded"
    assert sorted(r.version for r in db.exec(select(ChecklistVersion).where(ChecklistVersion.code == "mini"))) == [1, 2]
    assert admin.post(f"/admin/config/drafts/{one.id}/publish", {"seen_version": "2"}, csrf=False).status_code == 400


def _tree_with(change) -> bytes:
    data = tomllib.loads((PROJECT_ROOT / "forms" / "indicators" / "province.toml").read_text(encoding="utf-8"))
    change(data)
    return config.to_toml(data)


def _shift_weight(data):
    a1, a2 = data["areas"][0]["indicators"][0], data["areas"][0]["indicators"][1]
    a1["weight"], a2["weight"] = a1["weight"] + 2, a2["weight"] - 2


def test_a_new_tree_scores_the_running_period_and_a_finished_one_keeps_its_tree(app, db, client_as, people, org_tree,
                                                                                clock_at):
    director, admin = client_as(people["director"]), client_as(people["admin"])
    assert director.get("/indicators?period=2026-10").status_code == 200  # the first version recorded now
    director.post(f"/indicators/publish?period=2026-10&unit={org_tree['province'].id}", {})
    clock_at("2026-12-01T17:00:00Z")
    # a tree of another code, a weight total off 100, an unknown checklist: refused, nothing kept
    wrong = _tree_with(lambda d: d.update(code="city"))
    assert "本系统按指标体系 province 排名" in _upload(admin, "indicator_tree", wrong, "t.toml").get_data(as_text=True)
    off = _tree_with(lambda d: d["areas"][0]["indicators"][0].update(weight=99))
    assert "add up to" in _upload(admin, "indicator_tree", off, "t.toml").get_data(as_text=True)
    section = _tree_with(lambda d: d["areas"][0]["indicators"][0].update(section="NOPE"))
    assert "has no section &#39;NOPE&#39;" in _upload(admin, "indicator_tree", section, "t.toml").get_data(as_text=True)
    assert db.exec(select(ConfigDraft)).all() == []
    response = _upload(admin, "indicator_tree", _tree_with(_shift_weight), "province.toml")
    draft = db.exec(select(ConfigDraft)).one()
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 处改动" in page and "权重" in page
    admin.post(f"/admin/config/drafts/{draft.id}/publish", {"seen_version": "1"})
    versions_ = db.exec(select(IndicatorTreeVersion).order_by(IndicatorTreeVersion.version)).all()
    assert [v.version for v in versions_] == [1, 2]
    with app.test_request_context():
        running = services.ranking(db, people["director"], node=org_tree["province"],
                                   period=services.Period.parse("2026-12"), zone="Asia/Shanghai", fresh=True, with_previous=False)
        november = services.ranking(db, people["director"], node=org_tree["province"],
                                    period=services.Period.parse("2026-11"), zone="Asia/Shanghai", fresh=True, with_previous=False)
        october = services.ranking(db, people["director"], node=org_tree["province"],
                                   period=services.Period.parse("2026-10"), zone="Asia/Shanghai", fresh=True, with_previous=False)
    first = load_file(PROJECT_ROOT / "forms" / "indicators" / "province.toml").indicator("A1").weight
    assert running.tree.indicator("A1").weight == first + 2 and running.tree_version_id == versions_[1].id
    # November ended before version 2 was published: it keeps the tree of its end
    assert november.tree.indicator("A1").weight == first and november.tree_version_id == versions_[0].id
    # October was published (frozen) with version 1
    frozen = db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == "2026-10",
                                                     IndicatorSnapshot.frozen_at.is_not(None))).one()
    assert frozen.tree_version_id == versions_[0].id and october.tree.indicator("A1").weight == first
    # a month that ends after the publish is scored with the new tree once it is over
    clock_at("2027-01-01T17:00:00Z")
    with app.test_request_context():
        december = services.ranking(db, people["director"], node=org_tree["province"],
                                    period=services.Period.parse("2026-12"), zone="Asia/Shanghai", fresh=True, with_previous=False)
    assert december.tree_version_id == versions_[1].id


def test_a_tree_from_excel_with_a_section_average(app, db, client_as, people, org_tree, clock_at):
    admin = client_as(people["admin"])
    book = openpyxl.load_workbook(io.BytesIO(admin.get("/admin/config/indicator_tree/province/download.xlsx").data))
    sheet = book["指标"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=header.index("指标编码") + 1).value == "A1")
    sheet.cell(row=row, column=header.index("分区") + 1, value="ETQ")
    sheet.cell(row=row, column=header.index("指标名称") + 1, value="明察服务礼仪分区平均分")
    out = io.BytesIO()
    book.save(out)
    response = _upload(admin, "indicator_tree", out.getvalue(), "指标体系.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)
    draft = db.exec(select(ConfigDraft)).one()
    assert draft.definition["areas"][0]["indicators"][0]["section"] == "ETQ"
    admin.post(f"/admin/config/drafts/{draft.id}/publish", {"seen_version": "1"})
    with app.test_request_context():
        assert services.tree(db).indicator("A1").section == "ETQ"


def test_visits_keep_section_scores_for_the_section_average(app, db, people, org_tree):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=2, note="倚靠")})
    db.expire_all()
    stored = db.get(Visit, visit.id).section_scores
    assert set(stored) == {"A", "B"} and stored["A"] < 100 and stored["B"] == 100

