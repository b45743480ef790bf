"""The indicator system: the tree file's validation, points by each rule recomputed by hand, the
veto, ties and missing values, raw values from the app's own data, imports of operating data with
every bad file refused, and the pages by role."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.complaints import services as complaints
from inspect_app.config import PROJECT_ROOT
from inspect_app.csv_import import ImportFailed, run_import
from inspect_app.indicators import scoring, services
from inspect_app.indicators.definition import IndicatorError, load_file, parse
from inspect_app.indicators.importing import OperatingImporter
from inspect_app.indicators.models import OperatingValue
from inspect_app.jobs import queue
from tests.jobs_helpers import keep_composite
from tests.visit_helpers import release_mini_visit

PINNED = "2026-12-01T16:30:00Z"  # 00:30 on 2 December in Shanghai: November is the last complete month
CHECKLISTS = {"open_inspection", "secret_visit", "window_star", "etiquette", "fives", "mini"}


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


def tree_data(**changes):
    data = {
        "code": "t", "title_zh": "测试", "title_en": "Test", "awards": [100, 50],
        "areas": [
            {"code": "A", "name_zh": "甲", "name_en": "A", "indicators": [
                {"code": "L", "name_zh": "线性", "name_en": "Linear", "source": "inspections.avg_score",
                 "checklist": "mini", "weight": 50, "rule": "linear", "floor": 80, "target": 100},
                {"code": "B", "name_zh": "分档", "name_en": "Bands", "source": "complaints.substantiated", "weight": 30,
                 "direction": "lower", "rule": "bands", "bands": [[0, 1.0], [2, 0.5]], "veto_above": 3},
            ]},
            {"code": "D", "name_zh": "乙", "name_en": "D", "indicators": [
                {"code": "R", "name_zh": "排名", "name_en": "Rank", "source": "import", "metric": "m", "weight": 20,
                 "rule": "rank", "missing": "skip", "min_value": 0, "max_value": 100},
            ]},
        ],
    }
    data.update(changes)
    return data


def test_the_shipped_tree_loads_with_four_areas():
    tree = load_file(PROJECT_ROOT / "forms" / "indicators" / "province.toml", checklists=CHECKLISTS)
    assert len(tree.areas) == 4 and 20 <= len(tree.indicators) <= 44
    assert sum(i.weight for i in tree.indicators) == 100
    assert {i.source.split(".")[0] for i in tree.indicators} == {"inspections", "rectification", "complaints", "import"}
    assert any(i.is_veto for i in tree.indicators) and tree.awards == (50000, 30000, 10000)


def _broken(path, value):
    data = tree_data()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    (("areas", 0, "indicators", 0, "weight"), 40, "add up to 90, not 100"),
    (("areas", 0, "indicators", 0, "source"), "weather", "unknown source"),
    (("areas", 0, "indicators", 0, "target"), 70, "better than the floor"),
    (("areas", 0, "indicators", 0, "checklist"), "nope", "no checklist 'nope'"),
    (("areas", 0, "indicators", 1, "bands"), [[2, 0.5], [0, 1.0]], "from the best threshold"),
    (("areas", 0, "indicators", 1, "bands"), [[0, 1.5]], "between 0 and 1"),
    (("areas", 1, "indicators", 0, "metric"), "", "names its metric"),
    (("areas", 1, "indicators", 0, "code"), "L", "used twice"),
    (("areas", 0, "indicators", 0, "rule"), "magic", "rule must be one of"),
    (("areas", 0, "indicators", 0, "weight"), "ten", "weight must be a number"),
    (("areas", 0, "indicators", 0, "colour"), "red", "unknown keys"),
    (("veto_mode",), "half", "veto_mode"),
    (("awards",), [100, "lots"], "awards"),
])
def test_a_bad_tree_names_file_indicator_and_reason(path, value, message):
    with pytest.raises(IndicatorError, match=message) as refused:
        parse(_broken(path, value), "broken.toml", checklists=CHECKLISTS)
    assert str(refused.value).startswith("broken.toml")


def test_a_bad_tree_file_stops_the_start(app, tmp_path):
    (tmp_path / "bad.toml").write_text('code = "bad"\ntitle_zh = "x"\ntitle_en = "x"\nareas = []\n')
    app.config.update(INDICATOR_DIR=str(tmp_path), INDICATOR_TREE="bad")
    with pytest.raises(IndicatorError, match="bad.toml: no areas"):
        services.init_app(app, CHECKLISTS)
    (tmp_path / "worse.toml").write_text("code = [")
    app.config["INDICATOR_TREE"] = "worse"
    with pytest.raises(IndicatorError, match="not valid TOML"):
        services.init_app(app, CHECKLISTS)


def test_a_composite_recomputed_by_hand():
    tree = parse(tree_data(), "t.toml", checklists=CHECKLISTS)
    d = Decimal
    raws = {
        "X": {"L": d(90), "B": d(1), "R": d(70)},   # 50·(90−80)/20 = 25; band "≤2" → 15; R tied first → 20: 60
        "W": {"L": d(90), "B": d(1), "R": d(70)},   # the same as X: a shared place
        "Y": {"L": d(100), "B": d(0), "R": d(90)},  # 50 + 30 + 20 = 100
        "Z": {"L": d(70), "B": d(5), "R": None},    # 0 + 0 (and vetoed: 5 > 3), R skipped → 0 of 80
    }
    units = {u.key: u for u in scoring.composite(tree, raws, {k: k for k in raws})}
    assert [s.points for s in units["X"].scores] == [d(25), d(15), d(10)]  # R: 70 is second of three values
    assert units["Y"].total == d("100.0")
    assert units["X"].total == units["W"].total == d("50.0")
    assert (units["Y"].rank, units["X"].rank, units["W"].rank, units["Z"].rank) == (1, 2, 2, 4)
    assert units["Z"].vetoes[0].indicator.code == "B" and units["Z"].total == 0
    assert (units["Y"].award, units["X"].award, units["W"].award, units["Z"].award) == (100, 50, 50, None)
    assert units["X"].area_points(tree) == {"A": d("40.0"), "D": d("10.0")}
    assert [s.indicator.code for s in units["X"].costliest()] == ["L", "B", "R"]
    # "cap:60": a veto caps instead of zeroing
    capped = parse(tree_data(veto_mode="cap:60"), "t.toml", checklists=CHECKLISTS)
    lone = scoring.composite(capped, {"Z": {"L": d(100), "B": d(5), "R": d(1)}}, {"Z": "Z"})[0]
    assert (lone.raw_total, lone.total) == (d("70.0"), d(60))


def test_missing_values_count_zero_or_leave_the_total():
    tree = parse(tree_data(), "t.toml", checklists=CHECKLISTS)
    lone = scoring.composite(tree, {"Q": {"L": None, "B": Decimal(0), "R": None}}, {"Q": "Q"})[0]
    # L has no value and counts 0 of 50; R is skipped: 30 of 80 → 37.5
    assert lone.total == Decimal("37.5") and lone.scores[0].points is None


@pytest.fixture
def small_tree(app, tmp_path):
    lines = ['code = "small"', 'title_zh = "小"', 'title_en = "Small"', 'awards = [100]', '']
    for area in tree_data()["areas"]:
        lines += ["[[areas]]", f'code = "{area["code"]}"', f'name_zh = "{area["name_zh"]}"', f'name_en = "{area["name_en"]}"']
        for item in area["indicators"]:
            lines.append("  [[areas.indicators]]")
            for key, value in item.items():
                lines.append(f"  {key} = {value!r}".replace("'", '"') if not isinstance(value, list) else f"  {key} = {value}")
        lines.append("")
    (tmp_path / "small.toml").write_text("\n".join(lines))
    app.config.update(INDICATOR_DIR=str(tmp_path), INDICATOR_TREE="small")
    services.init_app(app, CHECKLISTS)
    return app.extensions["indicator_tree"]


def test_raw_values_come_from_the_apps_own_data(app, db, org_tree, people, small_tree, clock_at):
    clock_at("2026-11-10T04:00:00Z")
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=2, note="倚靠")})
    with app.test_request_context():
        complaint = complaints.register_complaint(db, actor=people["handler"], outlet=org_tree["xihu1"], source="phone",
                                                  received_at=clock.now(), category="时限", account="邮件延误")
        complaints.take(db, actor=people["handler"], complaint=complaint)
        complaints.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="属实",
                            grade=1)
    db.add(OperatingValue(unit_id=org_tree["hz"].id, month=dt.date(2026, 11, 1), metric="m", value=Decimal(80)))
    db.add(OperatingValue(unit_id=org_tree["haishu"].id, month=dt.date(2026, 11, 1), metric="m", value=Decimal(60)))
    db.commit()
    clock_at(PINNED)
    with app.test_request_context():
        result = services.ranking(db, people["director"], node=org_tree["province"], period=services.Period.parse("2026-11"),
                                  zone="Asia/Shanghai", fresh=True)
    by_name = {u.name: u for u in result.units}
    hz, nb = by_name["杭州市"], by_name["宁波市"]
    raw = {s.indicator.code: s.raw for s in hz.scores}
    assert raw["L"] == Decimal(repr(round(visit.score, 4))) and raw["B"] == 1 and raw["R"] == 80
    expected = min(Decimal(50), max(Decimal(0), 50 * (raw["L"] - 80) / 20)) + 15 + 20
    assert hz.total == expected.quantize(Decimal("0.1"))
    # Ningbo: no visit (L counts 0), no complaint (B full), R from its county (60, second of two: 0)
    assert [s.points for s in nb.scores] == [None, Decimal(30), Decimal(0)] and nb.total == Decimal("30.0")
    assert hz.rank == 1 and hz.award == 100


def _csv(rows, header="单位编码,月份,指标编码,数值"):
    return ("\ufeff" + header + "\n" + "\n".join(rows) + "\n").encode("utf-8")


def test_an_import_writes_then_replaces_with_an_audit_entry(app, db, org_tree, people):
    with app.test_request_context():
        tree = services.tree()
        result = run_import(db, OperatingImporter(tree), actor=people["director"],
                            data=_csv(["3301,2026-11,delivery_on_time,96.5", "3302,2026-11,call_answer_rate,91%"]))
        assert (result.created, result.updated) == (2, 0)
        result = run_import(db, OperatingImporter(tree), actor=people["director"],
                            data=_csv(["3301,2026-11,delivery_on_time,97.1", "3302,2026-11,call_answer_rate,91"]))
    assert (result.created, result.updated) == (0, 1)
    value = db.exec(select(OperatingValue).where(OperatingValue.metric == "delivery_on_time")).one()
    assert value.value == Decimal("97.1")
    replaced = db.exec(select(AuditEvent).where(AuditEvent.action == "operating_value.replaced")).one()
    assert replaced.before == {"value": "96.5000"} and replaced.after["value"] == "97.1"


def test_an_import_reads_gb18030_and_excel(app, db, org_tree, people):
    gb = "单位编码,月份,指标编码,数值\n330106,2026-10,signed_on_time,93.2\n".encode("gb18030")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["单位编码", "月份", "指标编码", "数值"])
    sheet.append(["330203", dt.date(2026, 11, 1), "platform_index", 88])
    out = io.BytesIO()
    book.save(out)
    with app.test_request_context():
        tree = services.tree()
        assert run_import(db, OperatingImporter(tree), actor=people["admin"], data=gb).created == 1
        assert run_import(db, OperatingImporter(tree), actor=people["admin"], data=out.getvalue()).created == 1
    assert {(v.metric, v.month) for v in db.exec(select(OperatingValue))} == {
        ("signed_on_time", dt.date(2026, 10, 1)), ("platform_index", dt.date(2026, 11, 1))}


@pytest.mark.parametrize("rows, message", [
    (["9999,2026-11,delivery_on_time,95"], "未知单位编码 9999"),
    (["3302,2026-11,delivery_on_time,95"], "不在您的管辖范围"),
    (["3301,11/2026,delivery_on_time,95"], "应写作 YYYY-MM"),
    (["3301,2027-01,delivery_on_time,95"], "尚未开始"),
    (["3301,2026-11,happiness,95"], "未知指标 happiness"),
    (["3301,2026-11,delivery_on_time,很好"], "不是数字"),
    (["3301,2026-11,delivery_on_time,NaN"], "不是数字"),
    (["3301,2026-11,delivery_on_time,120"], "超出"),
    (["3301,2026-11,delivery_on_time,95", "3301,2026-11,delivery_on_time,96"], "与第 3 行"),
])
def test_every_bad_row_is_named_and_nothing_is_written(app, db, org_tree, people, rows, message):
    with app.test_request_context():
        with pytest.raises(ImportFailed) as refused:
            run_import(db, OperatingImporter(services.tree()), actor=people["manager"],
                       data=_csv(["3301,2026-11,signed_on_time,95"] + rows))
    assert any(message in e for e in refused.value.errors), refused.value.errors
    assert db.exec(select(OperatingValue)).all() == []


@pytest.mark.parametrize("data, message", [
    (b"", "没有数据"),
    (_csv([], header="单位编码,月份,数值"), "缺少列:指标编码"),
    (b"PK\x03\x04 not really a workbook", "无法读取该 Excel"),
    (b"\x00\x01\x02binary", "不是 CSV"),
])
def test_a_bad_file_is_refused_whole(app, db, people, org_tree, data, message):
    with app.test_request_context():
        with pytest.raises(ImportFailed) as refused:
            run_import(db, OperatingImporter(services.tree()), actor=people["admin"], data=data)
    assert any(message in e for e in refused.value.errors), refused.value.errors


def test_pages_by_role(app, client_as, people, org_tree, db):
    for role in ("chief", "inspector", "shopper", "handler"):
        assert client_as(people[role]).get("/indicators").status_code == 403
        assert client_as(people[role]).get("/indicators/import").status_code == 403
    director = client_as(people["director"])
    keep_composite(app)  # the worker's figures: pages only read them
    page = director.get("/indicators?period=2026-11").get_data(as_text=True)
    assert "杭州市" in page and "宁波市" in page and "综合考核" in page
    assert "期间应为月份" in director.get("/indicators?period=someday").get_data(as_text=True)
    assert director.get(f"/indicators/units/{org_tree['hz'].id}?period=2026-Q4").status_code == 200
    assert client_as(people["other_manager"]).get(f"/indicators/units/{org_tree['hz'].id}").status_code == 404
    assert client_as(people["reviewer"]).get("/indicators/import").status_code == 403
    template = director.get("/indicators/import/template.csv")
    assert template.status_code == 200 and "单位编码,月份,指标编码,数值" in template.get_data(as_text=True)
    response = director.post("/indicators/import", {"file": (io.BytesIO(_csv(["3301,2026-11,delivery_on_time,97"])),
                                                             "ops.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302 and len(db.exec(select(OperatingValue)).all()) == 1
    bad = director.post("/indicators/import", {"file": (io.BytesIO(_csv(["3301,2026-11,delivery_on_time,X"])), "o.csv")},
                        content_type="multipart/form-data")
    assert "不是数字" in bad.get_data(as_text=True)
    keep_composite(app)  # after the import (its job), and the period before for the export
    text = director.get("/indicators/export.csv?period=2026-11").get_data(as_text=True)
    assert "杭州市" in text and "A1 明察检查平均分" in text
    home = client_as(people["manager"]).get("/home").get_data(as_text=True)
    assert "综合考核" in home and "失分最多" in home


def test_the_period_default_is_the_last_complete_month_in_shanghai():
    # 16:30 UTC on 1 December is already December in Shanghai: November is complete
    assert services.period_of(None, "Asia/Shanghai").label == "2026-11"
    assert services.period_of("2026-q4", "Asia/Shanghai").months() == [dt.date(2026, 10, 1), dt.date(2026, 11, 1),
                                                                        dt.date(2026, 12, 1)]


def test_path_of_the_tree_is_documented():
    assert Path(PROJECT_ROOT / "forms" / "indicators" / "province.toml").exists()


def test_a_computed_period_is_kept_and_a_published_one_frozen(app, db, org_tree, people, client_as, clock_at):
    from inspect_app.indicators.models import IndicatorSnapshot
    from tests.visit_helpers import release_mini_visit as release
    director = client_as(people["director"])
    assert director.get("/indicators?period=2026-11").status_code == 200
    assert db.exec(select(IndicatorSnapshot)).all() == []  # a page never computes: it asks the worker
    queue.run_pending(app)
    assert {s.period for s in db.exec(select(IndicatorSnapshot))} == {"2026-11", "2026-10"}  # and the month before
    snapshot = db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == "2026-11",
                                                       IndicatorSnapshot.node_id == org_tree["province"].id)).one()
    assert snapshot.frozen_at is None
    computed = snapshot.computed_at
    # a second look reads the snapshot (computed after November ended): nothing is recomputed
    director.get("/indicators?period=2026-11")
    db.expire_all()
    assert db.get(IndicatorSnapshot, snapshot.id).computed_at == computed
    # a running month is kept by the worker too once asked for, as of when it ran
    director.get("/indicators?period=2026-12")
    assert db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == "2026-12")).all() == []
    queue.run_pending(app)
    running = db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == "2026-12",
                                                      IndicatorSnapshot.node_id == org_tree["province"].id)).one()
    assert running.frozen_at is None
    # publishing: refused for a running month, by someone out of the unit, kept for November
    assert director.post(f"/indicators/publish?period=2026-12&unit={org_tree['province'].id}", {}).status_code == 302
    db.expire_all()
    assert db.get(IndicatorSnapshot, running.id).frozen_at is None
    client_as(people["reviewer"]).post(f"/indicators/publish?period=2026-11&unit={org_tree['province'].id}", {})
    director.post(f"/indicators/publish?period=2026-11&unit={org_tree['province'].id}", {})
    db.expire_all()
    frozen = db.exec(select(IndicatorSnapshot).where(IndicatorSnapshot.period == "2026-11",
                                                     IndicatorSnapshot.node_id == org_tree["province"].id)).one()
    assert frozen.frozen_at is not None and frozen.frozen_by_id == people["director"].id
    assert "已发布" in director.get("/indicators?period=2026-11").get_data(as_text=True)
    # new data for November does not move the published ranking
    clock_at("2026-11-20T04:00:00Z")
    release(app, db, people["inspector"], org_tree["xihu1"], {})
    clock_at("2026-12-01T17:00:00Z")
    director.get("/indicators?period=2026-11")
    db.expire_all()
    keep_composite(app)
    db.expire_all()
    assert db.get(IndicatorSnapshot, frozen.id).raws == frozen.raws
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "indicators.published")).one()
