"""The quality office's own indicator tree: an uploaded new version (TOML as in
``forms/indicators/``, or an Excel 指标体系表 in the layout below) is validated exactly like the
file at start-up, compared with the current version and published as the next one. A finished
period is scored with the version current at its end; a frozen one with the version it was frozen
with.

The Excel layout, which the download of any version also uses:

- sheet ``指标体系``: two columns, 项目 and 内容: 编码, 名称, 英文名称, 否决方式 (计零, or 封顶:60),
  奖励 (``50000, 30000, 10000``: first place first);
- sheet ``指标``: a header row, then one row per indicator, grouped by area: 大项编码, 大项名称,
  大项英文名称, 指标编码, 指标名称, 英文名称, 权重, 方向 (越高越好 · 越低越好), 计分规则 (线性 · 分档 ·
  排名), 下限, 目标, 分档 (``95:1, 90:0.8``: threshold:share, best first), 数据来源 (see ``SOURCE_NAMES``),
  检查表, 分区, 导入指标项, 每百网点, 单位, 最小值, 最大值, 否决上限, 否决下限, 缺数处理 (计零 · 不计入).
"""
from __future__ import annotations

import io
from typing import Any

import tomli_w
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from inspect_app import permissions
from inspect_app.checklists import config as checklist_config
from inspect_app.checklists import services as checklists
from inspect_app.checklists.config import (
    Change,
    ConfigError,
    Shape,
    choice,
    diff,
    kind_of_file,
    number,
    read_toml,
    read_workbook,
    settings,
    table,
)
from inspect_app.checklists.models import ChecklistVersion, ConfigDraft
from inspect_app.checklists.versions import VersionRef
from inspect_app.errors import PermissionDenied
from inspect_app.indicators import services
from inspect_app.indicators.definition import DIRECTIONS, RULES, SOURCES, IndicatorError, Tree, parse
from inspect_app.indicators.models import IndicatorTreeVersion

SETTINGS_SHEET, INDICATORS_SHEET = "指标体系", "指标"
SETTINGS = {"编码": "code", "名称": "title_zh", "英文名称": "title_en", "否决方式": "veto_mode", "奖励": "awards"}
COLUMNS = {
    "大项编码": "area", "大项名称": "area_zh", "大项英文名称": "area_en", "指标编码": "code", "指标名称": "name_zh",
    "英文名称": "name_en", "权重": "weight", "方向": "direction", "计分规则": "rule", "下限": "floor", "目标": "target",
    "分档": "bands", "数据来源": "source", "检查表": "checklist", "分区": "section", "导入指标项": "metric",
    "每百网点": "per_outlets", "单位": "unit", "最小值": "min_value", "最大值": "max_value",
    "否决上限": "veto_above", "否决下限": "veto_below", "缺数处理": "missing",
}
REQUIRED = ["area", "area_zh", "code", "name_zh", "weight", "source"]
LABEL_OF_KEY = {key: label for label, key in COLUMNS.items()}
DIRECTION_NAMES = {"越高越好": "higher", "越低越好": "lower"}
RULE_NAMES = {"线性": "linear", "分档": "bands", "排名": "rank"}
MISSING_NAMES = {"计零": "zero", "不计入": "skip"}
SOURCE_NAMES = {
    "检查平均分": "inspections.avg_score", "红线检查次数": "inspections.red_line_visits",
    "检查覆盖率": "inspections.coverage", "计划检查完成率": "inspections.plan_done", "自查完成率": "inspections.self_done",
    "整改销项率": "rectification.close_rate",
    "按期整改率": "rectification.on_time_rate", "平均整改天数": "rectification.mean_days",
    "逾期未整改": "rectification.overdue", "有责投诉": "complaints.substantiated", "邮政申诉": "complaints.appeals",
    "首问解决率": "complaints.first_contact", "超时办结投诉": "complaints.late", "回访满意率": "complaints.satisfaction",
    "导入数据": "import",
}
assert set(SOURCE_NAMES.values()) == set(SOURCES), "every source has its name in the Excel layout"
assert set(DIRECTION_NAMES.values()) == set(DIRECTIONS) and set(RULE_NAMES.values()) == set(RULES)


def _pairs(text: str, where: str, column: str) -> list[list[float]]:
    out = []
    for part in text.replace("，", ",").replace("；", ",").replace(";", ",").split(","):
        if not part.strip():
            continue
        left, sep, right = part.replace("：", ":").partition(":")
        if not sep:
            raise ConfigError([_("%(where)s: %(column)s is written as 95:1, 90:0.8 …", where=where, column=column)])
        out.append([number(left.strip(), where, column), number(right.strip(), where, column)])
    return out


def tree_from_workbook(data: bytes) -> dict:
    """The tree table (as a TOML file would give it) from an Excel 指标体系表."""
    sheets = read_workbook(data, [SETTINGS_SHEET, INDICATORS_SHEET])
    top = settings(sheets[SETTINGS_SHEET], SETTINGS)
    where = SETTINGS_SHEET
    for key, label in (("code", "编码"), ("title_zh", "名称")):
        if not (top.get(key) or "").strip():
            raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column=label)])
    doc: dict[str, Any] = {"code": top["code"].strip(), "title_zh": top["title_zh"].strip(),
                           "title_en": (top.get("title_en") or "").strip() or top["title_zh"].strip()}
    veto = (top.get("veto_mode") or "").strip()
    if veto in ("", "计零", "zero"):
        doc["veto_mode"] = "zero"
    elif veto.replace("：", ":").startswith(("封顶:", "cap:")):
        doc["veto_mode"] = "cap:" + veto.replace("：", ":").split(":", 1)[1].strip()
    else:
        raise ConfigError([_("%(where)s: 否决方式 is 计零 or 封顶:60, not “%(value)s”.", where=where, value=veto)])
    if (top.get("awards") or "").strip():
        doc["awards"] = [number(a.strip(), where, "奖励", whole=True)
                         for a in top["awards"].replace("，", ",").split(",") if a.strip()]
    areas: list[dict] = []
    errors: list[str] = []
    for row_number, row in table(sheets[INDICATORS_SHEET], COLUMNS, REQUIRED):
        where = _("Sheet %(sheet)s, row %(row)d", sheet=INDICATORS_SHEET, row=row_number) + (
            f" ({row['code']})" if row.get("code") else "")
        try:
            area_code = row.get("area", "").strip()
            if not area_code:
                raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column="大项编码")])
            if not areas or areas[-1]["code"] != area_code:
                if any(a["code"] == area_code for a in areas):
                    raise ConfigError([_("%(where)s: the rows of area %(code)s must stand together.", where=where,
                                         code=area_code)])
                zh = row.get("area_zh", "").strip()
                areas.append({"code": area_code, "name_zh": zh, "name_en": row.get("area_en", "").strip() or zh,
                              "indicators": []})
            areas[-1]["indicators"].append(_indicator_from_row(row, where))
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)
    doc["areas"] = areas
    return doc


def _indicator_from_row(row: dict[str, str], where: str) -> dict:
    for key in ("code", "name_zh", "weight", "source"):
        if not row.get(key, "").strip():
            raise ConfigError([_("%(where)s: %(column)s is missing.", where=where, column=LABEL_OF_KEY[key])])
    item: dict[str, Any] = {"code": row["code"].strip(), "name_zh": row["name_zh"].strip(),
                            "name_en": row.get("name_en", "").strip() or row["name_zh"].strip(),
                            "weight": number(row["weight"], where, "权重"),
                            "source": choice(row["source"], SOURCE_NAMES, where, "数据来源")}
    if row.get("direction", "").strip():
        item["direction"] = choice(row["direction"], DIRECTION_NAMES, where, "方向")
    if row.get("rule", "").strip():
        item["rule"] = choice(row["rule"], RULE_NAMES, where, "计分规则")
    if row.get("missing", "").strip():
        item["missing"] = choice(row["missing"], MISSING_NAMES, where, "缺数处理")
    for key in ("floor", "target", "per_outlets", "min_value", "max_value", "veto_above", "veto_below"):
        if row.get(key, "").strip():
            item[key] = number(row[key], where, LABEL_OF_KEY[key])
    if row.get("bands", "").strip():
        item["bands"] = _pairs(row["bands"], where, "分档")
    for key in ("checklist", "section", "metric", "unit"):
        if row.get(key, "").strip():
            item[key] = row[key].strip()
    return item


def validate_tree(data: bytes, filename: str, *, checklists: dict[str, set[str]], code: str) -> Tree:
    """A new version of the app's tree from an uploaded file, validated like the file at start-up
    (its checklists and sections must exist in the current checklists)."""
    kind = kind_of_file(data, filename)
    document = tree_from_workbook(data) if kind == "xlsx" else read_toml(data)
    try:
        tree = parse(document, filename or "upload", checklists=checklists)
    except IndicatorError as exc:
        raise ConfigError([_("The indicator tree is not valid: %(error)s", error=str(exc))]) from None
    if tree.code != code:
        raise ConfigError([_("This app ranks by the tree %(code)s; the file is the tree %(other)s.", code=code,
                             other=tree.code)])
    return tree


def to_toml(definition: dict) -> bytes:
    return tomli_w.dumps(definition).encode("utf-8")


def _name_of(options: dict[str, str], value: str | None) -> str:
    return next((label for label, code in options.items() if code == value), value or "")


def to_workbook(definition: dict) -> bytes:
    """The version as an Excel 指标体系表 in the layout above."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    top = book.add_worksheet(SETTINGS_SHEET)
    top.write_row(0, 0, ["项目", "内容"], bold)
    veto = definition.get("veto_mode", "zero")
    values = {"code": definition["code"], "title_zh": definition["title_zh"], "title_en": definition["title_en"],
              "veto_mode": "计零" if veto == "zero" else "封顶:" + veto[4:],
              "awards": ", ".join(str(a) for a in definition.get("awards", []))}
    for n, (label, key) in enumerate(SETTINGS.items(), start=1):
        top.write_row(n, 0, [label, values[key]])
    top.set_column(0, 0, 12)
    top.set_column(1, 1, 40)
    sheet = book.add_worksheet(INDICATORS_SHEET)
    sheet.write_row(0, 0, list(COLUMNS), bold)
    row = 1
    for area in definition["areas"]:
        for indicator in area["indicators"]:
            cells = {"area": area["code"], "area_zh": area["name_zh"], "area_en": area["name_en"], **indicator}
            cells["source"] = _name_of(SOURCE_NAMES, indicator["source"])
            cells["direction"] = _name_of(DIRECTION_NAMES, indicator.get("direction", "higher"))
            cells["rule"] = _name_of(RULE_NAMES, indicator.get("rule", "linear"))
            cells["missing"] = _name_of(MISSING_NAMES, indicator.get("missing", "zero"))
            if indicator.get("bands"):
                cells["bands"] = ", ".join(f"{t:g}:{s:g}" for t, s in indicator["bands"])
            sheet.write_row(row, 0, [cells.get(key, "") for key in COLUMNS.values()])
            row += 1
    sheet.set_column(0, 3, 9)
    sheet.set_column(4, 5, 24)
    sheet.freeze_panes(1, 4)
    book.close()
    return out.getvalue()


FIELD_LABELS = {
    "title_zh": _l("Title"), "title_en": _l("English title"), "veto_mode": _l("Veto"), "awards": _l("Awards (yuan)"),
    "area": _l("Area"), "name_zh": _l("Name"), "name_en": _l("English name"), "weight": _l("Weight"),
    "direction": _l("Direction"), "rule": _l("Scoring rule"), "floor": _l("Floor"), "target": _l("Target"),
    "bands": _l("Bands"), "source": _l("Source"), "checklist": _l("Checklist"), "section": _l("Section"),
    "metric": _l("Imported metric"), "per_outlets": _l("Per outlets"), "unit": _l("Unit of measure"),
    "min_value": _l("Lowest value"), "max_value": _l("Highest value"), "veto_above": _l("Veto above"),
    "veto_below": _l("Veto below"), "missing": _l("Without a value"),
}


TREE_SHAPE = Shape(("title_zh", "title_en", "veto_mode", "awards"), "areas", "indicators", "area",
                   ("name_zh", "name_en"), "name_zh")


def diff_trees(old: dict | None, new: dict) -> list[Change]:
    """What the new tree changes: its settings, its areas and each indicator, by code."""
    return diff(TREE_SHAPE, old, new)


# --- uploads and publishing (the configuration page's services) -----------------------------

KINDS = ("checklist", "indicator_tree")


def current_definition(session: Session, kind: str, code: str) -> tuple[VersionRef | None, dict | None]:
    """The current version of a checklist or of the tree, and its definition as stored."""
    if kind == "checklist":
        ref = checklists.current_refs(session).get(code)
        return ref, (checklists.definition_of_version(session, ref.id).to_dict() if ref else None)
    ref = services.current_ref(session)
    return ref, services.tree_of(session, ref.id, ref.sha256).raw


def changes_of(session: Session, draft: ConfigDraft) -> tuple[VersionRef | None, list[Change]]:
    ref, old = current_definition(session, draft.kind, draft.code)
    compare = checklist_config.diff_checklists if draft.kind == "checklist" else diff_trees
    return ref, compare(old, draft.definition)


def upload(session: Session, *, actor, kind: str, data: bytes, filename: str) -> ConfigDraft:
    """Validate an uploaded file as a new version and keep it for comparison (nothing changes for
    anyone until it is published)."""
    if not permissions.can_configure_quality_system(actor):
        raise PermissionDenied(_("Only administrators change checklists and the indicator tree."))
    if kind not in KINDS:
        raise ConfigError([_("Choose what the file is: a checklist or the indicator tree.")])
    if kind == "checklist":
        checklist = checklist_config.validate_checklist(data, filename)
        definition, sha, code = checklist.to_dict(), checklist.content_hash(), checklist.code
        ref, old = current_definition(session, kind, code)
        if old is not None and old["kind"] != checklist.kind:
            raise ConfigError([_("Checklist %(code)s is a %(kind)s checklist; a new version cannot change its kind.",
                                 code=code, kind=old["kind"])])
        changes = checklist_config.diff_checklists(old, definition)
    else:
        current = checklists.registry(session)
        tree = validate_tree(data, filename, checklists={c.code: {s.code for s in c.sections} for c in current.values()},
                             code=services.tree_file().code)
        definition, sha, code = tree.raw, tree.sha256, tree.code
        ref, old = current_definition(session, kind, code)
        changes = diff_trees(old, definition)
    if ref is not None and not changes:
        raise ConfigError([_("This file is the same as the current version %(n)d: nothing to publish.", n=ref.version)])
    return checklist_config.add_draft(session, actor=actor, kind=kind, code=code, definition=definition, sha256=sha,
                                      filename=filename)


def decide(session: Session, *, actor, draft: ConfigDraft, seen_version: int | None, publish: bool, note: str = ""):
    """Publish the upload as the next version (what visits started from now on are filled with, or
    what running and later periods are scored with), or discard it."""
    if not permissions.can_configure_quality_system(actor):
        raise PermissionDenied(_("Only administrators change checklists and the indicator tree."))
    ref, _old = current_definition(session, draft.kind, draft.code)
    if draft.kind == "checklist":
        return checklist_config.decide_draft(session, actor=actor, draft=draft, model=ChecklistVersion,
                                             seen_version=seen_version, current=ref, publish=publish, note=note,
                                             kind=draft.definition["kind"])
    return checklist_config.decide_draft(session, actor=actor, draft=draft, model=IndicatorTreeVersion,
                                         seen_version=seen_version, current=ref, publish=publish, note=note)
