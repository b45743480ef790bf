"""Checklist files: the shipped ones load; bad ones are refused with file, item and problem."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from inspect_app.checklists.definition import ChecklistError, from_dict, load_directory, load_file, parse

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_shipped_checklists_load_with_realistic_size():
    checklists = load_directory(ROOT / "forms")
    kinds = {c.kind for c in checklists.values()}
    assert kinds == {"open", "secret", "star", "etiquette", "fives", "self"}
    for checklist in checklists.values():
        if checklist.kind == "self":  # a chief's check before opening: short, on the phone, every day
            assert 8 <= len(checklist.items) <= 15, checklist.code
            assert checklist.counterparts() and not any(i.red_line for i in checklist.items)
            continue
        # a full open inspection (with its universal-service and agency-finance sections) runs to
        # about 80 lines, as real inspection sheets do
        assert 20 <= len(checklist.items) <= 80, checklist.code
        assert checklist.stars, checklist.code
        assert all(i.text_zh and i.text_en and i.requirement_zh for i in checklist.items)
    assert any(i.red_line for i in checklists["open_inspection"].items)
    secret = checklists["secret_visit"]
    assert {i.timer for i in secret.items if i.rule == "timer"} == {"queue_wait", "service_time"}
    assert all(i.customer_visible for i in secret.items)
    assert secret.min_photos >= 4 and secret.impression_min_chars >= 80



def test_a_self_inspection_maps_its_items_onto_the_inspections_codes():
    checklists = load_directory(ROOT / "forms")
    daily = checklists["daily_opening"]
    assert daily.counterparts()[("open_inspection", "ENV-02")] == "OPN-02"  # 营业时间牌
    assert daily.counterparts()[("fives", "SAF-01")] == "OPN-07"  # 消防通道
    assert daily.to_dict()["sections"][0]["items"][0]["same_as"] == ["open_inspection:ENV-01", "secret_visit:EXT-01"]
    assert from_dict(daily.to_dict()) == daily and from_dict(daily.to_dict()).content_hash() == daily.content_hash()
    # an inspection checklist carries no same_as at all: its stored versions keep their hash
    assert "same_as" not in checklists["fives"].to_dict()["sections"][0]["items"][0]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sections"][0]["items"][0].update(same_as="open_inspection:ENV-01"), "same_as must be a list"),
    (lambda d: d["sections"][0]["items"][0].update(same_as=["ENV-01"]), "same_as must be a list"),
    (lambda d: d.update(kind="fives"), "same_as only goes in a self-inspection"),
    (lambda d: d["sections"][0]["items"][0].update(red_line=True, points=0), "has no red lines"),
])
def test_a_bad_self_inspection_is_refused(change, message):
    data = tomllib.loads((ROOT / "forms" / "daily_opening.toml").read_text())
    change(data)
    with pytest.raises(ChecklistError, match=message):
        parse(data, "daily_opening.toml")


def test_same_as_must_name_an_inspection_item(tmp_path):
    text = (ROOT / "forms" / "daily_opening.toml").read_text().replace('"open_inspection:ENV-01"', '"open_inspection:ENV-99"')
    (tmp_path / "daily_opening.toml").write_text(text)
    for name in ("open_inspection", "fives", "secret_visit", "etiquette"):
        (tmp_path / f"{name}.toml").write_text((ROOT / "forms" / f"{name}.toml").read_text())
    with pytest.raises(ChecklistError, match="OPN-01: same_as names open_inspection:ENV-99"):
        load_directory(tmp_path)


def _only(items, *words):
    """The one item whose Chinese text names all the words."""
    found = [i for i in items if all(w in i.text_zh for w in words)]
    assert len(found) == 1, (words, [i.code for i in found])
    return found[0]


def test_shipped_checklists_cover_the_risks_real_sheets_check():
    """CHECKLISTS.md, "Still missing from the shipped checklists": the operations red lines, the
    universal-service and agency-finance counters and complaint handling at the counter."""
    checklists = load_directory(ROOT / "forms")
    open_, secret, star = checklists["open_inspection"], checklists["secret_visit"], checklists["window_star"]

    # four operations risks: red lines in the open inspection's operations section
    ops = [i for i in open_.items if i.section == "OPS"]
    for words in (("不收寄禁寄", "限寄"), ("私拆", "隐匿", "毁弃"), ("虚假签收",), ("智能快件箱", "驿站", "同意")):
        item = _only(ops, *words)
        assert item.red_line and item.rule == "pass_fail" and item.points == 0, item.code
        assert item.severity in ("on_spot", "urgent") and item.photo_on_fail, item.code
        assert item.requirement_zh and item.requirement_en and item.guidance_zh, item.code
    # accepting restricted items is also seen at the rated counter, and by a shopper who declares one
    for checklist in (star, secret):
        item = _only(checklist.items, "限寄", "核验")
        assert item.red_line and item.rule == "pass_fail" and item.customer_visible, checklist.code

    def section(checklist, title):
        found = [s for s in checklist.sections if title in s.title_zh]
        assert len(found) == 1, (checklist.code, title)
        return found[0]

    # universal service: offered and never refused (a red line), tariffs shown, enquiries answered,
    # hours kept; N/A at outlets that do not provide it (express outlets)
    uni = section(open_, "普遍服务")
    assert all(i.na_allowed for i in uni.items) and uni.points > 0
    refused = _only(uni.items, "不拒办")
    assert refused.red_line and refused.rule == "pass_fail" and refused.customer_visible
    for words in (("资费",), ("邮政编码", "查询"), ("营业日", "营业时间")):
        item = _only(uni.items, *words)
        assert not item.red_line and item.points > 0 and item.customer_visible, item.code
    secret_uni = section(secret, "普遍服务")
    assert any(i.red_line for i in secret_uni.items) and all(i.na_allowed for i in secret_uni.items)

    # agency finance: every item may be N/A (most outlets run no finance business)
    fin = section(open_, "代理金融")
    assert fin.items and all(i.na_allowed for i in fin.items) and fin.points > 0
    for words in (("身份证件",), ("风险",), ("双录",), ("当客户面清点",), ("双人",)):
        item = _only(fin.items, *words)
        assert item.points > 0 and not item.red_line, item.code
    savings = _only(fin.items, "存款", "保本")
    assert savings.red_line and savings.rule == "pass_fail" and savings.customer_visible
    secret_fin = section(secret, "代理金融")
    assert all(i.na_allowed and i.customer_visible for i in secret_fin.items)
    assert any(i.red_line for i in secret_fin.items)

    # complaint handling at the counter: the hotline shown, a complaint taken by the first person asked
    for checklist in (open_, secret):
        hotline = _only(checklist.items, "局长热线")
        assert hotline.points > 0 and hotline.customer_visible and hotline.photo_on_fail, checklist.code
        taken = _only(checklist.items, "投诉", "首", "登记", "推诿")
        assert taken.points > 0 and taken.rule == "pass_fail" and taken.customer_visible, checklist.code
        assert taken.severity in ("urgent", "serious"), checklist.code

def test_definition_round_trips_through_storage():
    checklist = load_file(FIXTURES / "mini.toml")
    again = from_dict(checklist.to_dict())
    assert again == checklist
    assert again.content_hash() == checklist.content_hash()
    assert again.item("B-02").red_line and again.item("B-02").section == "B"


def base() -> dict:
    with (FIXTURES / "mini.toml").open("rb") as f:
        return tomllib.load(f)


def item(data, code):
    return next(i for s in data["sections"] for i in s["items"] if i["code"] == code)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: item(d, "A-01").pop("requirement_zh"), "item A-01: requirement_zh is missing"),
    (lambda d: item(d, "A-01").update(points="ten"), "item A-01: points must be a number"),
    (lambda d: item(d, "A-01").update(rule="vibes"), "item A-01: rule must be one of"),
    (lambda d: item(d, "A-01").update(severity="whenever"), "item A-01: severity must be one of"),
    (lambda d: item(d, "A-02").update(cap=9), "item A-02: cap 9 is more than the item's points 5"),
    (lambda d: item(d, "A-02").pop("deduct"), "item A-02: rule per_occurrence needs deduct"),
    (lambda d: item(d, "B-01").update(scale_max=1), "item B-01: rule scale needs an integer scale_max"),
    (lambda d: item(d, "B-01").update(fail_below=9), "item B-01: fail_below must be a whole number from 1 to"),
    (lambda d: item(d, "A-01").update(colour="red"), "item A-01: unknown keys ['colour']"),
    (lambda d: item(d, "B-03").update(code="A-01"), "item A-01: code repeated"),
    (lambda d: item(d, "A-01").update(points=0), "item A-01: points must be greater than 0"),
    (lambda d: d.update(kind="party"), "kind must be one of"),
    (lambda d: d.pop("stars"), "stars (the star bands) are missing"),
    (lambda d: d["stars"][0].update(stars=2), "star bands must give more stars for a higher minimum"),
    (lambda d: item(d, "B-02").update(rule="per_occurrence", deduct=1), "item B-02: a red line must use the pass_fail rule"),
    (lambda d: item(d, "A-01").update(rule="timer", timer="queue_wait", limit_minutes=5, deduct=1),
     "timer items only work in secret visits"),
])
def test_bad_definitions_refused_with_item_and_reason(mutate, message):
    data = base()
    mutate(data)
    with pytest.raises(ChecklistError) as err:
        parse(data, "mini.toml", expected_code="mini")
    assert message in str(err.value)
    assert str(err.value).startswith("mini.toml")


def test_bad_file_stops_the_app_and_the_check_command(tmp_path, app):
    folder = tmp_path / "bad_forms"
    folder.mkdir()
    (folder / "mini.toml").write_text((FIXTURES / "mini.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.toml").write_text('code = "broken"\nkind = "open"\n[[sections]\n', encoding="utf-8")
    with pytest.raises(ChecklistError, match="broken.toml: not valid TOML"):
        load_directory(folder)
    from inspect_app import create_app

    with pytest.raises(ChecklistError, match="broken.toml"):
        create_app({"CHECKLIST_DIR": str(folder), "DATABASE_URL": app.config["DATABASE_URL"],
                    "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "x"})
    from click.testing import CliRunner

    from inspect_app.cli import checklists_check

    result = CliRunner().invoke(checklists_check, [str(folder)])
    assert result.exit_code == 1
    assert "broken.toml" in result.output
    ok = CliRunner().invoke(checklists_check, [str(ROOT / "forms")])
    assert ok.exit_code == 0 and "open_inspection" in ok.output


def test_code_must_match_file_name(tmp_path):
    (tmp_path / "other.toml").write_text((FIXTURES / "mini.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ChecklistError, match="other.toml: code 'mini' must equal the file name 'other'"):
        load_directory(tmp_path)
