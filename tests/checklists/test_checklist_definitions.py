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
    assert kinds == {"open", "secret", "star", "etiquette", "fives"}
    for checklist in checklists.values():
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
