"""Checklist definitions: parsing and strict validation of the files in ``forms/``.

A file is refused as a whole with its file name, the item code and what is wrong; the app never
starts with a half-loaded checklist. Definitions are frozen dataclasses, so a visit scored with
version N is scored with exactly what version N said.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

KINDS = ("open", "secret", "star", "etiquette", "fives", "self")
#: 自查: a checklist the outlet's own branch chief fills for their outlet (``plans`` assigns it).
SELF_KIND = "self"
SUBJECTS = ("outlet", "window")
RULES = ("pass_fail", "per_occurrence", "scale", "timer")
TIMERS = ("queue_wait", "service_time")
#: Severity → days allowed for rectification (0 = on the spot, 当场整改).
SEVERITY_DAYS = {"on_spot": 0, "urgent": 1, "serious": 3, "general": 7, "minor": 15}

SEVERITY_LABELS = {
    "on_spot": _l("On the spot"),
    "urgent": _l("Urgent (1 day)"),
    "serious": _l("Serious (3 days)"),
    "general": _l("General (7 days)"),
    "minor": _l("Minor (15 days)"),
}

KIND_LABELS = {
    "open": _l("Open inspection"),
    "secret": _l("Secret visit"),
    "star": _l("Star rating"),
    "etiquette": _l("Service etiquette"),
    "fives": _l("6S check"),
    "self": _l("Self-inspection"),
    # not a checklist: the kind of the rectification lines a complaint raises
    "complaint": _l("Complaint"),
}

#: How an answer reads (the stored values are pass / fail / na).
RESULT_LABELS = {
    "pass": _l("Pass"),
    "fail": _l("Fail"),
    "na": _l("N/A"),
}

TOP_KEYS = {"code", "kind", "subject", "title_zh", "title_en", "description_zh", "description_en", "min_photos",
            "receipt_photo", "impression_min_chars", "stars", "sections"}
SECTION_KEYS = {"code", "title_zh", "title_en", "items"}
ITEM_KEYS = {"code", "text_zh", "text_en", "points", "rule", "deduct", "cap", "scale_max", "fail_below", "timer", "limit_minutes",
             "na_allowed", "red_line", "photo_on_fail", "severity", "requirement_zh", "requirement_en", "guidance_zh",
             "guidance_en", "customer_visible", "same_as"}
SAME_AS = re.compile(r"^[A-Za-z0-9_]{1,64}:[A-Za-z0-9_.-]{1,32}$")
ITEM_REQUIRED = ("code", "text_zh", "text_en", "points", "rule", "severity", "requirement_zh", "requirement_en")


class ChecklistError(ValueError):
    """A checklist file is wrong; the message names the file, the item and the problem."""


@dataclass(frozen=True)
class Item:
    code: str
    text_zh: str
    text_en: str
    points: float
    rule: str
    severity: str
    requirement_zh: str
    requirement_en: str
    deduct: float = 0.0
    cap: float | None = None
    scale_max: int | None = None
    #: Scale items: a value below this is a finding (rectification); above it only loses points.
    fail_below: int | None = None
    timer: str | None = None
    limit_minutes: float | None = None
    na_allowed: bool = False
    red_line: bool = False
    photo_on_fail: bool = False
    guidance_zh: str = ""
    guidance_en: str = ""
    customer_visible: bool = False
    #: A self-inspection item's counterparts in the inspections' checklists, ``"open_inspection:ENV-02"``:
    #: an inspection failing one of them where this item passed shortly before is 自查不实.
    same_as: tuple[str, ...] = ()
    section: str = ""

    def text(self, locale: str) -> str:
        return self.text_en if locale.startswith("en") else self.text_zh

    def requirement(self, locale: str) -> str:
        return self.requirement_en if locale.startswith("en") else self.requirement_zh

    def guidance(self, locale: str) -> str:
        return self.guidance_en if locale.startswith("en") else self.guidance_zh

    @property
    def max_deduction(self) -> float:
        return self.points if self.cap is None else self.cap


@dataclass(frozen=True)
class Section:
    code: str
    title_zh: str
    title_en: str
    items: tuple[Item, ...]

    def title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") else self.title_zh

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)


@dataclass(frozen=True)
class StarBand:
    min: float
    stars: int


@dataclass(frozen=True)
class Checklist:
    code: str
    kind: str
    subject: str
    title_zh: str
    title_en: str
    sections: tuple[Section, ...]
    stars: tuple[StarBand, ...]
    description_zh: str = ""
    description_en: str = ""
    min_photos: int = 0
    receipt_photo: bool = False
    impression_min_chars: int = 0
    items_by_code: dict[str, Item] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") else self.title_zh

    def description(self, locale: str) -> str:
        return self.description_en if locale.startswith("en") else self.description_zh

    @property
    def items(self) -> list[Item]:
        return [i for s in self.sections for i in s.items]

    def counterparts(self) -> dict[tuple[str, str], str]:
        """(checklist code, item code) of an inspection → the self-inspection item that checks it."""
        return {tuple(ref.split(":", 1)): item.code for item in self.items for ref in item.same_as}

    def item(self, code: str) -> Item | None:
        return self.items_by_code.get(code)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("items_by_code")
        for section in data["sections"]:
            for item in section["items"]:
                item.pop("section")
                if not item["same_as"]:
                    item.pop("same_as")  # absent, not empty: the versions stored before it keep their hash
                else:
                    item["same_as"] = list(item["same_as"])
        return data

    def content_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _fail(where: str, message: str) -> None:
    raise ChecklistError(f"{where}: {message}")


def _text(where: str, data: dict, key: str, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        _fail(where, f"{key} must be text")
    if required and not value.strip():
        _fail(where, f"{key} is missing or empty")
    return value.strip()


def _number(where: str, data: dict, key: str, *, minimum: float = 0, allow_zero: bool = True) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(where, f"{key} must be a number, got {value!r}")
    if value < minimum or (not allow_zero and value == 0):
        _fail(where, f"{key} must be {'greater than' if not allow_zero else 'at least'} {minimum}, got {value}")
    return float(value)


def _bool(where: str, data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        _fail(where, f"{key} must be true or false, got {value!r}")
    return value


def _item(where_file: str, section: str, data: Any) -> Item:
    if not isinstance(data, dict):
        _fail(where_file, f"section {section}: every item must be a table")
    code = data.get("code")
    where = f"{where_file}: item {code or '(no code)'}"
    unknown = set(data) - ITEM_KEYS
    if unknown:
        _fail(where, f"unknown keys {sorted(unknown)}")
    for key in ITEM_REQUIRED:
        if key not in data:
            _fail(where, f"{key} is missing")
    rule = data["rule"]
    if rule not in RULES:
        _fail(where, f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    severity = data["severity"]
    if severity not in SEVERITY_DAYS:
        _fail(where, f"severity must be one of {', '.join(SEVERITY_DAYS)}, got {severity!r}")
    red_line = _bool(where, data, "red_line")
    points = _number(where, data, "points", allow_zero=red_line)
    deduct, cap, scale_max, fail_below, timer, limit = 0.0, None, None, None, None, None
    if "cap" in data:
        cap = _number(where, data, "cap", allow_zero=False)
        if cap > points:
            _fail(where, f"cap {cap:g} is more than the item's points {points:g}")
    if rule in ("per_occurrence", "timer"):
        deduct = _number(where, data, "deduct", allow_zero=False) if "deduct" in data else _fail(where, f"rule {rule} needs deduct")
    elif "deduct" in data or "cap" in data:
        _fail(where, f"deduct and cap only apply to per_occurrence and timer rules, not {rule}")
    if rule == "scale":
        scale_max = data.get("scale_max")
        if not isinstance(scale_max, int) or isinstance(scale_max, bool) or scale_max < 2:
            _fail(where, "rule scale needs an integer scale_max of at least 2")
        # By default the lower half of the scale is a finding: 3 of 4 loses a point but needs no
        # rectification; 2 of 4 does.
        fail_below = data.get("fail_below", scale_max // 2 + 1)
        if not isinstance(fail_below, int) or isinstance(fail_below, bool) or not 1 <= fail_below <= scale_max:
            _fail(where, f"fail_below must be a whole number from 1 to scale_max ({scale_max})")
    elif "scale_max" in data or "fail_below" in data:
        _fail(where, "scale_max and fail_below only apply to the scale rule")
    if rule == "timer":
        timer = data.get("timer")
        if timer not in TIMERS:
            _fail(where, f"timer must be one of {', '.join(TIMERS)}, got {timer!r}")
        limit = _number(where, data, "limit_minutes", allow_zero=False) if "limit_minutes" in data else _fail(where, "rule timer needs limit_minutes")
    elif "timer" in data or "limit_minutes" in data:
        _fail(where, "timer and limit_minutes only apply to the timer rule")
    if red_line and rule != "pass_fail":
        _fail(where, "a red line must use the pass_fail rule")
    same_as = data.get("same_as", [])
    if not isinstance(same_as, list) or any(not isinstance(ref, str) or not SAME_AS.match(ref) for ref in same_as):
        _fail(where, "same_as must be a list of \"checklist:ITEM-CODE\" texts, e.g. [\"open_inspection:ENV-02\"]")
    return Item(
        code=code, text_zh=_text(where, data, "text_zh"), text_en=_text(where, data, "text_en"), points=points,
        rule=rule, severity=severity, requirement_zh=_text(where, data, "requirement_zh"),
        requirement_en=_text(where, data, "requirement_en"), deduct=deduct, cap=cap, scale_max=scale_max,
        fail_below=fail_below,
        timer=timer, limit_minutes=limit, na_allowed=_bool(where, data, "na_allowed"), red_line=red_line,
        photo_on_fail=_bool(where, data, "photo_on_fail"), guidance_zh=_text(where, data, "guidance_zh", False),
        guidance_en=_text(where, data, "guidance_en", False), customer_visible=_bool(where, data, "customer_visible"),
        same_as=tuple(dict.fromkeys(same_as)), section=section,
    )


def parse(data: dict, where: str, expected_code: str | None = None) -> Checklist:
    unknown = set(data) - TOP_KEYS
    if unknown:
        _fail(where, f"unknown keys {sorted(unknown)}")
    code = _text(where, data, "code")
    if expected_code and code != expected_code:
        _fail(where, f"code {code!r} must equal the file name {expected_code!r}")
    kind = data.get("kind")
    if kind not in KINDS:
        _fail(where, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    subject = data.get("subject", "outlet")
    if subject not in SUBJECTS:
        _fail(where, f"subject must be one of {', '.join(SUBJECTS)}, got {subject!r}")
    bands = data.get("stars")
    if not isinstance(bands, list) or not bands:
        _fail(where, "stars (the star bands) are missing")
    star_bands = []
    for band in bands:
        if not isinstance(band, dict) or set(band) != {"min", "stars"}:
            _fail(where, "each star band needs exactly min and stars")
        stars = band["stars"]
        if not isinstance(stars, int) or not 1 <= stars <= 5:
            _fail(where, f"stars must be 1 to 5, got {stars!r}")
        star_bands.append(StarBand(min=_number(where, band, "min"), stars=stars))
    star_bands.sort(key=lambda b: -b.min)
    if any(a.stars <= b.stars for a, b in zip(star_bands, star_bands[1:])):
        _fail(where, "star bands must give more stars for a higher minimum")
    if any(b.min > 100 for b in star_bands):
        _fail(where, "a star band's min cannot exceed 100")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        _fail(where, "sections are missing")
    sections, seen_items, seen_sections = [], set(), set()
    for raw in raw_sections:
        if not isinstance(raw, dict):
            _fail(where, "every section must be a table")
        scode = raw.get("code")
        swhere = f"{where}: section {scode or '(no code)'}"
        if set(raw) - SECTION_KEYS:
            _fail(swhere, f"unknown keys {sorted(set(raw) - SECTION_KEYS)}")
        if not scode or scode in seen_sections:
            _fail(swhere, "section code missing or repeated")
        seen_sections.add(scode)
        raw_items = raw.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            _fail(swhere, "has no items")
        items = []
        for raw_item in raw_items:
            item = _item(where, scode, raw_item)
            if item.code in seen_items:
                _fail(f"{where}: item {item.code}", "code repeated")
            seen_items.add(item.code)
            items.append(item)
        sections.append(Section(code=scode, title_zh=_text(swhere, raw, "title_zh"), title_en=_text(swhere, raw, "title_en"),
                                items=tuple(items)))
    all_items = [i for s in sections for i in s.items]
    if sum(i.points for i in all_items) <= 0:
        _fail(where, "the items carry no points")
    if any(i.same_as for i in all_items) and kind != SELF_KIND:
        _fail(where, "same_as only goes in a self-inspection checklist (kind = \"self\")")
    if kind == SELF_KIND and any(i.red_line for i in all_items):
        _fail(where, "a self-inspection has no red lines: the outlet's own check neither vetoes nor ends a star")
    if any(i.rule == "timer" for i in all_items) and kind != "secret":
        _fail(where, "timer items only work in secret visits, where the shopper's timers measure them")
    min_photos = data.get("min_photos", 0)
    impression = data.get("impression_min_chars", 0)
    for key, value in (("min_photos", min_photos), ("impression_min_chars", impression)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            _fail(where, f"{key} must be a whole number of at least 0")
    return Checklist(
        code=code, kind=kind, subject=subject, title_zh=_text(where, data, "title_zh"),
        title_en=_text(where, data, "title_en"), sections=tuple(sections), stars=tuple(star_bands),
        description_zh=_text(where, data, "description_zh", False), description_en=_text(where, data, "description_en", False),
        min_photos=min_photos, receipt_photo=_bool(where, data, "receipt_photo"), impression_min_chars=impression,
        items_by_code={i.code: i for i in all_items},
    )


def from_dict(data: dict) -> Checklist:
    """Rebuild a definition stored with a version (already validated when it was stored)."""
    sections = []
    for s in data["sections"]:
        items = tuple(Item(**{**i, "same_as": tuple(i.get("same_as", ())), "section": s["code"]}) for i in s["items"])
        sections.append(Section(code=s["code"], title_zh=s["title_zh"], title_en=s["title_en"], items=items))
    top = {k: v for k, v in data.items() if k not in ("sections", "stars")}
    all_items = {i.code: i for s in sections for i in s.items}
    return Checklist(**top, sections=tuple(sections), stars=tuple(StarBand(**b) for b in data["stars"]),
                     items_by_code=all_items)


def load_file(path: Path) -> Checklist:
    where = path.name
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistError(f"{where}: not valid TOML: {exc}") from exc
    return parse(data, where, expected_code=path.stem)


def load_directory(directory: Path) -> dict[str, Checklist]:
    """Every ``*.toml`` in the folder, or a ChecklistError listing every bad file."""
    checklists, errors = {}, []
    for path in sorted(directory.glob("*.toml")):
        try:
            checklist = load_file(path)
        except ChecklistError as exc:
            errors.append(str(exc))
            continue
        checklists[checklist.code] = checklist
    errors += counterpart_errors(checklists)
    if errors:
        raise ChecklistError("\n".join(errors))
    return checklists


def counterpart_errors(checklists: dict[str, Checklist]) -> list[str]:
    """Each ``same_as`` of a self-inspection names an item of another checklist that exists."""
    errors = []
    for checklist in checklists.values():
        for (code, item_code), own in checklist.counterparts().items():
            other = checklists.get(code)
            if other is None or other.kind == SELF_KIND or other.item(item_code) is None:
                errors.append(f"{checklist.code}.toml: item {own}: same_as names {code}:{item_code}, "
                              "which is no item of an inspection checklist")
    return errors
