"""Drilling down: the rows behind every kind of indicator add up to its value (a row shown is a
row counted), as every role that may see the unit, and never for a unit out of scope."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.complaints.models import Callback
from inspect_app.indicators import rows, services
from inspect_app.indicators.models import OperatingValue
from inspect_app.rectifications.models import LineStatus, RectificationLine
from inspect_app.visits import services as visits
from tests.complaints.helpers import concluded, register
from tests.jobs_helpers import keep_composite
from tests.visit_helpers import release_mini_visit

PINNED = "2026-12-01T16:30:00Z"  # 00:30 on 2 December in Shanghai: November is over
SOURCES = [
    ("AV", "inspections.avg_score", {"checklist": "mini"}),
    ("SE", "inspections.avg_score", {"checklist": "mini", "section": "A"}),
    ("RL", "inspections.red_line_visits", {"direction": "lower", "per_outlets": 100}),
    ("CO", "inspections.coverage", {}),
    ("PD", "inspections.plan_done", {}),
    ("CR", "rectification.close_rate", {}),
    ("OT", "rectification.on_time_rate", {}),
    ("MD", "rectification.mean_days", {"direction": "lower"}),
    ("OV", "rectification.overdue", {"direction": "lower"}),
    ("SU", "complaints.substantiated", {"direction": "lower"}),
    ("AP", "complaints.appeals", {"direction": "lower"}),
    ("FC", "complaints.first_contact", {}),
    ("LA", "complaints.late", {"direction": "lower"}),
    ("SA", "complaints.satisfaction", {}),
    ("IM", "import", {"metric": "m", "min_value": 0, "max_value": 100}),
]


@pytest.fixture
def every_source(app, tmp_path):
    lines = ['code = "every"', 'title_zh = "全部来源"', 'title_en = "Every source"', "", "[[areas]]", 'code = "A"',
             'name_zh = "甲"', 'name_en = "A"']
    weights = [7] * 14 + [2]
    for (code, source, extra), weight in zip(SOURCES, weights):
        lines += ["  [[areas.indicators]]", f'  code = "{code}"', f'  name_zh = "{code}"', f'  name_en = "{code}"',
                  f'  source = "{source}"', f"  weight = {weight}", '  rule = "rank"']
        lines += [f"  {k} = {v!r}".replace("'", '"') for k, v in extra.items()]
    (tmp_path / "every.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    app.config.update(INDICATOR_DIR=str(tmp_path), INDICATOR_TREE="every")
    services.init_app(app, {"mini": {"A", "B"}, "open_inspection": set()})
    return app.extensions["indicator_tree"]


@pytest.fixture
def november(app, db, org_tree, people, clock_at, every_source):
    clock_at("2026-11-10T02:00:00Z")
    first = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=2, note="倚靠"), "B-03": dict(result="fail", note="坏了")})
    release_mini_visit(app, db, people["inspector"], org_tree["xihu2"], {"B-02": dict(result="fail", note="拒绝服务")})
    found = db.exec(select(RectificationLine).where(RectificationLine.visit_id == first.id)).all()
    found[0].status, found[0].answered_at = LineStatus.closed, clock.now() + dt.timedelta(days=2)
    found[0].closed_at = clock.now() + dt.timedelta(days=3)
    db.add(found[0])
    db.commit()
    with app.test_request_context():
        visits.schedule_visits(db, actor=people["manager"], checklist_code="mini", outlet_ids=[org_tree["xihu1"].id],
                               assignee=people["inspector"], due_from=dt.date(2026, 11, 12), due_until=dt.date(2026, 11, 20))
        done = concluded(db, people, org_tree)
        register(db, people, org_tree, source="appeal", outlet="xihu2")
        db.add(Callback(outlet_id=org_tree["xihu1"].id, complaint_id=done.id, at=clock.now(), satisfaction="satisfied"))
        db.add(Callback(outlet_id=org_tree["xihu1"].id, at=clock.now(), satisfaction="unsatisfied"))
    db.add(OperatingValue(unit_id=org_tree["xihu"].id, month=dt.date(2026, 11, 1), metric="m", value=Decimal("91.5")))
    db.add(OperatingValue(unit_id=org_tree["haishu"].id, month=dt.date(2026, 11, 1), metric="m", value=Decimal(60)))
    db.commit()
    clock_at(PINNED)


def _near(a, b, tolerance="0.06"):
    return abs(Decimal(str(a)) - Decimal(str(b))) <= Decimal(tolerance)


def test_the_rows_behind_each_kind_of_indicator_make_its_value(app, db, org_tree, people, november):
    period = services.Period.parse("2026-11")
    with app.test_request_context():
        _ranking, score = services.unit_score(db, people["director"], unit=org_tree["hz"], period=period,
                                              zone="Asia/Shanghai", fresh=True, with_previous=False)
        checked = 0
        for s in score.scores:
            table = rows.rows_behind(db, s.indicator, org_tree["hz"], period, "Asia/Shanghai")
            counted = [r for r, c in zip(table.rows, table.counted) if c]
            source = s.indicator.source
            if source in ("inspections.avg_score", "import"):
                value_column = 3 if source != "import" else 2
                values = [Decimal(str(r[value_column])) for r in counted]
                assert values and _near(sum(values) / len(values), s.raw), (s.indicator.code, values, s.raw)
            elif source == "rectification.mean_days":
                assert counted and _near(sum(Decimal(str(r[-1])) for r in counted) / len(counted), s.raw), s.raw
            elif s.indicator.per_outlets:
                outlets = len(rows._outlets(db, org_tree["hz"]))
                assert _near(Decimal(len(counted) * 100) / outlets, s.raw), (s.indicator.code, len(counted), s.raw)
            elif source in ("inspections.coverage", "inspections.plan_done", "rectification.close_rate",
                            "rectification.on_time_rate", "complaints.first_contact", "complaints.satisfaction"):
                assert table.total and _near(Decimal(len(counted) * 100) / table.total, s.raw, "0.01"), \
                    (s.indicator.code, len(counted), table.total, s.raw)
            else:
                assert Decimal(len(counted)) == s.raw, (s.indicator.code, len(counted), s.raw)
            checked += 1
    assert checked == len(SOURCES)
    by_code = {s.indicator.code: s.raw for s in score.scores}
    # the arranged data, read back: one red line among the outlets, an appeal, half the callbacks satisfied
    assert by_code["AP"] == 1 and by_code["SA"] == 50 and by_code["PD"] == 0 and by_code["IM"] == Decimal("91.5")


def test_the_rows_page_and_its_export_by_role(app, db, org_tree, people, client_as, november):
    keep_composite(app)
    director = client_as(people["director"])
    url = f"/indicators/units/{org_tree['hz'].id}/SU?period=2026-11"
    page = director.get(url).get_data(as_text=True)
    assert "服务态度" in page and "13812345678" not in page and "张三" not in page
    csv = director.get(f"/indicators/units/{org_tree['hz'].id}/SU/export.csv?period=2026-11").get_data(as_text=True)
    assert "服务态度" in csv and "13812345678" not in csv
    imported = director.get(f"/indicators/units/{org_tree['hz'].id}/IM?period=2026-11").get_data(as_text=True)
    assert "91.5" in imported and "西湖区" in imported
    assert client_as(people["other_manager"]).get(url).status_code == 404  # Ningbo's manager
    for role in ("chief", "inspector", "handler"):
        assert client_as(people[role]).get(url).status_code == 403
    assert director.get(f"/indicators/units/{org_tree['hz'].id}/NOPE?period=2026-11").status_code == 404


def test_the_rows_name_checklists_verdicts_and_satisfaction_in_words(app, db, org_tree, people, client_as, november):
    """A manager reading the rows on a Chinese page reads 测试星级表, 有理 and 满意, not the codes
    ``mini``, ``substantiated`` and ``satisfied`` kept in the database; the export says the same."""
    keep_composite(app)
    director = client_as(people["director"])
    base = f"/indicators/units/{org_tree['hz'].id}"
    for code, words, raw in (("AV", "测试星级表", "<td>mini</td>"), ("SU", "<td>有理</td>", "substantiated"),
                             ("SA", "<td>满意</td>", "satisfied")):
        page = director.get(f"{base}/{code}?period=2026-11").get_data(as_text=True)
        assert words in page and raw not in page, code
        csv = director.get(f"{base}/{code}/export.csv?period=2026-11").get_data(as_text=True)
        assert words.removeprefix("<td>").removesuffix("</td>") in csv and raw.removeprefix("<td>").removesuffix("</td>") + "," not in csv, code
        assert director.get(f"{base}/{code}/export.xlsx?period=2026-11").status_code == 200
