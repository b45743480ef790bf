"""The quality office's own checklists: an uploaded new version (TOML as in ``forms/``, or an Excel
评分表 in the layout below) is validated exactly like a file at start-up, compared with the current
version, and published as the next version; a filled visit keeps the version it was filled with.

The Excel layout (``评分表``), which the download of any version also uses, so a quality office
can take the current sheet, edit it and upload it again:

- sheet ``检查表``: two columns, 项目 and 内容, one row per setting: 编码, 类型, 对象, 名称, 英文名称,
  说明, 英文说明, 最少照片, 需要小票照片, 总体印象最少字数, 星级 (``5:95, 4:90, 3:85, 2:80, 1:75``);
- sheet ``评分项``: a header row, then one row per item, in order: 分区编码, 分区名称, 分区英文名称,
  项目编码, 检查内容, 英文检查内容, 分值, 评分方式 (合格/不合格 · 按次扣分 · 分级 · 计时), 每次扣分,
  扣分上限, 分级上限, 低于此级为问题, 计时项 (排队等候 · 办理时长), 时限分钟, 可不适用, 一票否决,
  不合格须拍照, 严重程度 (当场 · 紧急 · 严重 · 一般 · 轻微), 整改要求, 英文整改要求, 检查指引,
  英文检查指引, 顾客可见. 是/否 columns take 是, 否 or blank; an English column left blank takes the
  Chinese text.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import tomllib
import zipfile
from dataclasses import dataclass, field
from typing import Any

import tomli_w
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from inspect_app import clock
from inspect_app.audit.services import record
from inspect_app.checklists import versions
from inspect_app.checklists.definition import RULES, SEVERITY_DAYS, TIMERS, Checklist, ChecklistError, parse
from inspect_app.checklists.models import ConfigDraft
from inspect_app.errors import DomainError

MAX_UPLOAD = 2 * 1024 * 1024
MAX_SHEET_ROWS = 2000


class ConfigError(DomainError):
    """An upload that is not a valid new version; ``errors`` says each problem in the user's words."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if errors else "")
        self.errors = errors


# --- reading a file --------------------------------------------------------------------------

def kind_of_file(data: bytes, filename: str) -> str:
    """"toml" or "xlsx", by content (never by the name alone)."""
    if len(data) > MAX_UPLOAD:
        raise ConfigError([_("The file is larger than %(n)d MB.", n=MAX_UPLOAD // (1024 * 1024))])
    if not data.strip():
        raise ConfigError([_("The file is empty.")])
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise ConfigError([_("This is an old Excel file (.xls): save it as .xlsx and upload it again.")])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([_("This is neither a TOML text file in UTF-8 nor an Excel .xlsx file.")]) from None
    return "toml"


def read_toml(data: bytes) -> dict:
    try:
        return tomllib.loads(data.decode("utf-8").lstrip("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_("The file is not valid TOML: %(error)s", error=str(exc))]) from None


@dataclass
class Sheet:
    """A worksheet's rows as text, with their row numbers (1-based, as Excel shows them)."""

    name: str
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _cell(value: Any, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if number_format and "%" in number_format:
            value *= 100
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value).strip()


def read_workbook(data: bytes, wanted: list[str]) -> dict[str, Sheet]:
    """The named sheets of an .xlsx file (a missing one is an error naming it)."""
    import openpyxl  # reading Excel is needed here and in the imports only

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ConfigError([_("This Excel file cannot be read. Save it again as .xlsx.")]) from None
    try:
        names = {ws.title.strip(): ws for ws in book.worksheets}
        missing = [n for n in wanted if n not in names]
        if missing:
            raise ConfigError([_("The workbook has no sheet named %(names)s.", names="、".join(missing))])
        sheets = {}
        for name in wanted:
            sheet = Sheet(name)
            for number, row in enumerate(names[name].iter_rows(), start=1):
                if number > MAX_SHEET_ROWS:
                    raise ConfigError([_("Sheet %(sheet)s has more than %(n)d rows.", sheet=name, n=MAX_SHEET_ROWS)])
                cells = [_cell(c.value, getattr(c, "number_format", None)) for c in row]
                if any(cells):
                    sheet.rows.append((number, cells))
            sheets[name] = sheet
        return sheets
    finally:
        book.close()


def yes_no(value: str, where: str, column: str) -> bool:
    text = value.strip().lower()
    if text in ("", "否", "no", "n", "false", "0", "×"):
        return False
    if text in ("是", "yes", "y", "true", "1", "√", "✓"):
        return True
    raise ConfigError([_("%(where)s: %(column)s must be 是 or 否, not “%(value)s”.", where=where, column=column,
                         value=value)])


def number(value: str, where: str, column: str, *, whole: bool = False) -> float | int:
    try:
        found = float(value.replace(",", "").replace("，", ""))
    except ValueError:
        raise ConfigError([_("%(where)s: %(column)s must be a number, not “%(value)s”.", where=where, column=column,
                             value=value)]) from None
    if whole:
        if found != int(found):
            raise ConfigError([_("%(where)s: %(column)s must be a whole number, not “%(value)s”.", where=where,
                                 column=column, value=value)])
        return int(found)
    return int(found) if found == int(found) else found


def table(sheet: Sheet, columns: dict[str, str], required: list[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a sheet with a header row, as ``{key: text}`` by the Chinese column names."""
    if not sheet.rows:
        raise ConfigError([_("Sheet %(sheet)s is empty.", sheet=sheet.name)])
    header_number, header = sheet.rows[0]
    keys = [columns.get(h.strip()) for h in header]
    missing = [label for label, key in columns.items() if key in required and key not in keys]
    if missing:
        raise ConfigError([_("Sheet %(sheet)s, row %(row)d: missing columns: %(cols)s.", sheet=sheet.name,
                             row=header_number, cols="、".join(missing))])
    out = []
    for number_, cells in sheet.rows[1:]:
        out.append((number_, {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(keys) if key}))
    if not out:
        raise ConfigError([_("Sheet %(sheet)s has no rows below its header.", sheet=sheet.name)])
    return out


def settings(sheet: Sheet, labels: dict[str, str]) -> dict[str, str]:
    """A two-column sheet of 项目 | 内容 as ``{key: text}``."""
    found = {}
    for _number, cells in sheet.rows:
        key = labels.get(cells[0].strip()) if cells else None
        if key:
            found[key] = cells[1] if len(cells) > 1 else ""
    return found


def choice(value: str, options: dict[str, str], where: str, column: str) -> str:
    text = value.strip()
    if text in options.values():
        return text
    if text in options:
        return options[text]
    raise ConfigError([_("%(where)s: %(column)s must be one of %(options)s, not “%(value)s”.", where=where,
                         column=column, options="、".join(options), value=value)])


# --- the checklist layout --------------------------------------------------------------------

KIND_NAMES = {"明察": "open", "暗访": "secret", "星级评定": "star", "服务礼仪": "etiquette", "6S": "fives", "自查": "self"}
SUBJECT_NAMES = {"网点": "outlet", "窗口": "window"}
RULE_NAMES = {"合格/不合格": "pass_fail", "按次扣分": "per_occurrence", "分级": "scale", "计时": "timer"}
SEVERITY_NAMES = {"当场": "on_spot", "紧急": "urgent", "严重": "serious", "一般": "general", "轻微": "minor"}
TIMER_NAMES = {"排队等候": "queue_wait", "办理时长": "service_time"}
assert set(RULE_NAMES.values()) == set(RULES) and set(SEVERITY_NAMES.values()) == set(SEVERITY_DAYS)
assert set(TIMER_NAMES.values()) == set(TIMERS)

INFO_SHEET, ITEMS_SHEET = "检查表", "评分项"
INFO = {"编码": "code", "类型": "kind", "对象": "subject", "名称": "title_zh", "英文名称": "title_en",
        "说明": "description_zh", "英文说明": "description_en", "最少照片": "min_photos",
        "需要小票照片": "receipt_photo", "总体印象最少字数": "impression_min_chars", "星级": "stars"}
ITEM_COLUMNS = {
    "分区编码": "section", "分区名称": "section_zh", "分区英文名称": "section_en", "项目编码": "code",
    "检查内容": "text_zh", "英文检查内容": "text_en", "分值": "points", "评分方式": "rule", "每次扣分": "deduct",
    "扣分上限": "cap", "分级上限": "scale_max", "低于此级为问题": "fail_below", "计时项": "timer",
    "时限分钟": "limit_minutes", "可不适用": "na_allowed", "一票否决": "red_line", "不合格须拍照": "photo_on_fail",
    "严重程度": "severity", "整改要求": "requirement_zh", "英文整改要求": "requirement_en", "检查指引": "guidance_zh",
    "英文检查指引": "guidance_en", "顾客可见": "customer_visible", "对应检查项": "same_as",
}
ITEM_REQUIRED = ["section", "section_zh", "code", "text_zh", "points", "rule", "severity", "requirement_zh"]
LABEL_OF_KEY = {key: label for label, key in ITEM_COLUMNS.items()} | {key: label for label, key in INFO.items()}


def _stars(text: str, where: str) -> list[dict]:
    bands = []
    for part in text.replace("，", ",").replace("；", ",").replace(";", ",").split(","):
        if not part.strip():
            continue
        stars, _sep, minimum = part.replace("：", ":").partition(":")
        if not _sep:
            raise ConfigError([_("%(where)s: 星级 is written as 5:95, 4:90, 3:85 …", where=where)])
        bands.append({"stars": number(stars.strip(), where, "星级", whole=True),
                      "min": number(minimum.strip(), where, "星级")})
    return bands


def checklist_from_workbook(data: bytes) -> dict:
    """The checklist table (as a TOML file would give it) from an Excel 评分表."""
    sheets = read_workbook(data, [INFO_SHEET, ITEMS_SHEET])
    info = settings(sheets[INFO_SHEET], INFO)
    where = INFO_SHEET
    doc: dict[str, Any] = {}
    for key in ("code", "title_zh"):
        if not info.get(key, "").strip():
            raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column=LABEL_OF_KEY[key])])
    doc["code"] = info["code"].strip()
    doc["kind"] = choice(info.get("kind", ""), KIND_NAMES, where, "类型")
    doc["subject"] = choice(info.get("subject") or "网点", SUBJECT_NAMES, where, "对象")
    doc["title_zh"] = info["title_zh"].strip()
    doc["title_en"] = (info.get("title_en") or "").strip() or doc["title_zh"]
    for key in ("description_zh", "description_en"):
        if (info.get(key) or "").strip():
            doc[key] = info[key].strip()
    for key in ("min_photos", "impression_min_chars"):
        if (info.get(key) or "").strip():
            doc[key] = number(info[key], where, LABEL_OF_KEY[key], whole=True)
    if (info.get("receipt_photo") or "").strip():
        doc["receipt_photo"] = yes_no(info["receipt_photo"], where, "需要小票照片")
    doc["stars"] = _stars(info.get("stars") or "5:95, 4:90, 3:85, 2:80, 1:75", where)
    sections: list[dict] = []
    errors: list[str] = []
    for row_number, row in table(sheets[ITEMS_SHEET], ITEM_COLUMNS, ITEM_REQUIRED):
        where = _("Sheet %(sheet)s, row %(row)d", sheet=ITEMS_SHEET, row=row_number) + (
            f" ({row['code']})" if row.get("code") else "")
        try:
            section_code = row.get("section", "").strip()
            if not section_code:
                raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column="分区编码")])
            if not sections or sections[-1]["code"] != section_code:
                if any(s["code"] == section_code for s in sections):
                    raise ConfigError([_("%(where)s: the rows of section %(code)s must stand together.", where=where,
                                         code=section_code)])
                zh = row.get("section_zh", "").strip()
                sections.append({"code": section_code, "title_zh": zh, "title_en": row.get("section_en", "").strip() or zh,
                                 "items": []})
            sections[-1]["items"].append(_item_from_row(row, where))
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)
    doc["sections"] = sections
    return doc


def _item_from_row(row: dict[str, str], where: str) -> dict:
    for key in ("code", "text_zh", "points", "rule", "severity", "requirement_zh"):
        if not row.get(key, "").strip():
            raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column=LABEL_OF_KEY[key])])
    item: dict[str, Any] = {"code": row["code"].strip(), "text_zh": row["text_zh"].strip(),
                            "text_en": row.get("text_en", "").strip() or row["text_zh"].strip(),
                            "points": number(row["points"], where, "分值"),
                            "rule": choice(row["rule"], RULE_NAMES, where, "评分方式"),
                            "severity": choice(row["severity"], SEVERITY_NAMES, where, "严重程度"),
                            "requirement_zh": row["requirement_zh"].strip(),
                            "requirement_en": row.get("requirement_en", "").strip() or row["requirement_zh"].strip()}
    for key, whole in (("deduct", False), ("cap", False), ("scale_max", True), ("fail_below", True),
                       ("limit_minutes", False)):
        if row.get(key, "").strip():
            item[key] = number(row[key], where, LABEL_OF_KEY[key], whole=whole)
    if row.get("timer", "").strip():
        item["timer"] = choice(row["timer"], TIMER_NAMES, where, "计时项")
    for key in ("na_allowed", "red_line", "photo_on_fail", "customer_visible"):
        if yes_no(row.get(key, ""), where, LABEL_OF_KEY[key]):
            item[key] = True
    for key in ("guidance_zh", "guidance_en"):
        if row.get(key, "").strip():
            item[key] = row[key].strip()
    same_as = [ref for ref in row.get("same_as", "").replace("，", ",").replace(",", " ").split() if ref]
    if same_as:  # a self-inspection item's counterparts, "open_inspection:ENV-02 fives:SAF-01"
        item["same_as"] = same_as
    return item


def validate_checklist(data: bytes, filename: str) -> Checklist:
    """A new version from an uploaded file, validated as strictly as a file at start-up."""
    kind = kind_of_file(data, filename)
    document = checklist_from_workbook(data) if kind == "xlsx" else read_toml(data)
    where = filename or "upload"
    try:
        return parse(document, where)
    except ChecklistError as exc:
        raise ConfigError([_("The checklist is not valid: %(error)s", error=_with_labels(str(exc)))]) from None


def _with_labels(message: str) -> str:
    """A validation message names the TOML keys; an Excel user knows them by their column names."""
    for key, label in sorted(LABEL_OF_KEY.items(), key=lambda kv: -len(kv[0])):
        message = message.replace(f" {key} ", f" {key}（{label}） ", 1) if f" {key} " in message else message
    return message


# --- writing a version out -------------------------------------------------------------------

def document(definition: dict) -> dict:
    """A stored definition as a TOML file would write it: no empty or default values, and no value
    the item's rule does not take (the parser refuses those)."""
    top = {k: v for k, v in definition.items() if k not in ("sections", "stars") and v not in ("", None, 0, False)}
    top["stars"] = [{"min": b["min"], "stars": b["stars"]} for b in definition["stars"]]
    sections = []
    for section in definition["sections"]:
        items = []
        for item in section["items"]:
            rule = item["rule"]
            kept = {}
            for key, value in item.items():
                if key == "section" or value is None or value is False or value == "":
                    continue
                if key in ("deduct", "cap") and rule not in ("per_occurrence", "timer"):
                    continue
                if key in ("scale_max", "fail_below") and rule != "scale":
                    continue
                if key in ("timer", "limit_minutes") and rule != "timer":
                    continue
                kept[key] = value
            items.append(kept)
        sections.append({"code": section["code"], "title_zh": section["title_zh"], "title_en": section["title_en"],
                         "items": items})
    top["sections"] = sections
    return top


def to_toml(definition: dict) -> bytes:
    return tomli_w.dumps(document(definition)).encode("utf-8")


def _name_of(options: dict[str, str], value: str) -> str:
    return next((label for label, code in options.items() if code == value), value)


def to_workbook(definition: dict) -> bytes:
    """The version as an Excel 评分表 in the layout above."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    info = book.add_worksheet(INFO_SHEET)
    info.write_row(0, 0, ["项目", "内容"], bold)
    values = {"code": definition["code"], "kind": _name_of(KIND_NAMES, definition["kind"]),
              "subject": _name_of(SUBJECT_NAMES, definition.get("subject", "outlet")),
              "title_zh": definition["title_zh"], "title_en": definition["title_en"],
              "description_zh": definition.get("description_zh", ""), "description_en": definition.get("description_en", ""),
              "min_photos": definition.get("min_photos", 0),
              "receipt_photo": "是" if definition.get("receipt_photo") else "否",
              "impression_min_chars": definition.get("impression_min_chars", 0),
              "stars": ", ".join(f"{b['stars']}:{b['min']:g}" for b in definition["stars"])}
    for n, (label, key) in enumerate(INFO.items(), start=1):
        info.write_row(n, 0, [label, values.get(key, "")])
    info.set_column(0, 0, 18)
    info.set_column(1, 1, 60)
    items = book.add_worksheet(ITEMS_SHEET)
    items.write_row(0, 0, list(ITEM_COLUMNS), bold)
    row = 1
    for section in definition["sections"]:
        for item in section["items"]:
            cells = {"section": section["code"], "section_zh": section["title_zh"], "section_en": section["title_en"],
                     **{k: v for k, v in item.items() if v is not None}}
            cells["rule"] = _name_of(RULE_NAMES, item["rule"])
            cells["severity"] = _name_of(SEVERITY_NAMES, item["severity"])
            if item.get("timer"):
                cells["timer"] = _name_of(TIMER_NAMES, item["timer"])
            if item["rule"] not in ("per_occurrence", "timer"):
                cells.pop("deduct", None)
            for key in ("na_allowed", "red_line", "photo_on_fail", "customer_visible"):
                cells[key] = "是" if item.get(key) else ""
            cells["same_as"] = ", ".join(item.get("same_as") or [])
            items.write_row(row, 0, [cells.get(key, "") for key in ITEM_COLUMNS.values()])
            row += 1
    items.set_column(0, 3, 10)
    items.set_column(4, 5, 40)
    items.set_column(18, 19, 40)
    items.freeze_panes(1, 4)
    book.close()
    return out.getvalue()


# --- comparing two versions ------------------------------------------------------------------

@dataclass
class Change:
    """One difference between the current version and a new one."""

    what: str  # added | removed | changed
    code: str
    name: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)


FIELD_LABELS = {
    "title_zh": _l("Title"), "title_en": _l("English title"), "kind": _l("Kind"), "subject": _l("Rated"),
    "description_zh": _l("Description"), "description_en": _l("English description"),
    "min_photos": _l("Photos at least"), "receipt_photo": _l("Receipt photo"),
    "impression_min_chars": _l("Impression at least (characters)"), "stars": _l("Star bands"),
    "section": _l("Section"), "text_zh": _l("Text"), "text_en": _l("English text"), "points": _l("Points"),
    "rule": _l("Scoring rule"), "deduct": _l("Deduction per occurrence"), "cap": _l("Deduction cap"),
    "scale_max": _l("Scale maximum"), "fail_below": _l("A finding below"), "timer": _l("Timer"),
    "limit_minutes": _l("Time limit (minutes)"), "na_allowed": _l("N/A allowed"), "red_line": _l("Red line"),
    "photo_on_fail": _l("Photo on failure"), "severity": _l("Severity"), "requirement_zh": _l("Requirement"),
    "requirement_en": _l("English requirement"), "guidance_zh": _l("Guidance"), "guidance_en": _l("English guidance"),
    "customer_visible": _l("Seen from the customer side"), "same_as": _l("Same item as"),
}


@dataclass(frozen=True)
class Shape:
    """Where a definition keeps its parts: a checklist's sections and items, a tree's areas and
    indicators (the comparison is the same for both)."""

    settings: tuple[str, ...]
    groups: str
    children: str
    group_key: str
    group_names: tuple[str, str]
    child_name: str


CHECKLIST_SHAPE = Shape(("title_zh", "title_en", "kind", "subject", "description_zh", "description_en", "min_photos",
                         "receipt_photo", "impression_min_chars", "stars"),
                        "sections", "items", "section", ("title_zh", "title_en"), "text_zh")


def diff(shape: Shape, old: dict | None, new: dict) -> list[Change]:
    """What the new version changes: its settings, its groups and each part, by code, field by field."""
    changes: list[Change] = []
    settings_changed = [(k, (old or {}).get(k), new.get(k)) for k in shape.settings
                        if norm((old or {}).get(k)) != norm(new.get(k))]
    if settings_changed and old is not None:
        changes.append(Change("changed", "", new["title_zh"], settings_changed))
    zh, en = shape.group_names
    before_groups = {g["code"]: g for g in (old or {}).get(shape.groups, [])}
    after_groups = {g["code"]: g for g in new[shape.groups]}
    for code, group in after_groups.items():
        if code not in before_groups:
            changes.append(Change("added", code, group[zh]))
        elif (before_groups[code][zh], before_groups[code][en]) != (group[zh], group[en]):
            changes.append(Change("changed", code, group[zh], [(zh, before_groups[code][zh], group[zh]),
                                                               (en, before_groups[code][en], group[en])]))
    changes += [Change("removed", code, group[zh]) for code, group in before_groups.items() if code not in after_groups]

    def parts(definition: dict | None) -> dict[str, dict]:
        return {p["code"]: {**p, shape.group_key: g["code"]} for g in (definition or {}).get(shape.groups, [])
                for p in g[shape.children]}

    before, after = parts(old), parts(new)
    for code, part in after.items():
        if code not in before:
            changes.append(Change("added", code, part[shape.child_name]))
            continue
        fields = [(k, before[code].get(k), part.get(k)) for k in sorted(set(part) | set(before[code]))
                  if norm(before[code].get(k)) != norm(part.get(k))]
        if fields:
            changes.append(Change("changed", code, part[shape.child_name], fields))
    changes += [Change("removed", code, part[shape.child_name]) for code, part in before.items() if code not in after]
    return changes


def diff_checklists(old: dict | None, new: dict) -> list[Change]:
    return diff(CHECKLIST_SHAPE, old, new)


def norm(value: Any) -> Any:
    if value in (None, "", False, 0, 0.0):
        return None
    if isinstance(value, float) and value == int(value):
        return int(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, list | tuple | dict) else value


# --- drafts and publishing -------------------------------------------------------------------

def add_draft(session: Session, *, actor, kind: str, code: str, definition: dict, sha256: str,
              filename: str) -> ConfigDraft:
    """Keep a validated upload for comparison and publishing."""
    draft = ConfigDraft(kind=kind, code=code, filename=filename[:200], sha256=sha256, definition=definition,
                        uploaded_by_id=actor.id, uploaded_at=clock.now())
    session.add(draft)
    session.flush()
    record(session, actor=actor, action="config.uploaded", obj=draft,
           after={"kind": kind, "code": code, "filename": filename[:200], "sha256": sha256})
    return draft


def decide_draft(session: Session, *, actor, draft: ConfigDraft, model, seen_version: int | None,
                 current: versions.VersionRef | None, publish: bool, note: str = "", **extra):
    """Publish a pending draft as the next version, or discard it. Refused when another version was
    published since the administrator looked at the comparison (they compare again first)."""
    if draft.state != "pending":
        raise DomainError(_("This upload was already published or discarded."))
    if publish and (current.version if current else None) != seen_version:
        raise DomainError(_("Another version was published meanwhile: compare again before publishing."))
    draft.state, draft.decided_at = ("published" if publish else "discarded"), clock.now()
    row = None
    if publish:
        row = versions.add_version(session, model, code=draft.code, sha256=draft.sha256, definition=draft.definition,
                                   source="upload", actor=actor, note=note or draft.filename, **extra)
        draft.version_id = row.id
        versions.forget_current(model)
    session.add(draft)
    record(session, actor=actor, action=f"config.{draft.state}", obj=draft,
           after={"kind": draft.kind, "code": draft.code, "version": row.version if row else None})
    return row
