"""The indicator tree (指标体系): a file under ``forms/indicators/``, parsed and strictly validated at
start-up like the checklists. A bad file stops the app with the file, the indicator and the reason.

A tree has areas (大项), each with indicators (子项). An indicator has a weight (the points it is
worth; all weights add up to 100), a direction (higher or lower is better), a floor and a target,
a scoring rule and a source:

- ``linear``: 0 points at the floor or worse, full points at the target or better, straight between;
- ``bands``: ``[[threshold, share], ...]`` from the best band down, the first band met gives
  ``share`` × weight (nothing met: 0);
- ``rank``: among the sibling units that have a value, the best gets full points, the last none,
  evenly between (ties share a place).

A veto indicator (``veto_above`` / ``veto_below``) that a unit breaks sets its total to 0 for the
period (``veto_mode = "zero"``) or caps it (``"cap:60"``), and marks it 否决 with the reason.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

#: Where a raw value comes from; ``import`` is operating data uploaded per unit and period.
SOURCES = {
    "inspections.avg_score": "average score of a checklist's released visits (or of one of its sections)",
    "inspections.red_line_visits": "released visits with a red line",
    "inspections.coverage": "share of outlets visited at least once (%)",
    "inspections.plan_done": "share of the visits planned for the period done by the end of their window (%)",
    "inspections.self_done": "share of the self-inspections (自查) planned for the period done by the end of their day (%)",
    "rectification.close_rate": "share of the period's lines verified and closed by its end (%)",
    "rectification.on_time_rate": "share of lines due in the period answered by their deadline (%)",
    "rectification.mean_days": "mean days from issue to close, lines closed in the period",
    "rectification.overdue": "lines past their deadline and not answered at the period's end",
    "complaints.substantiated": "substantiated complaints received in the period",
    "complaints.appeals": "regulator appeals (邮政申诉) received in the period",
    "complaints.first_contact": "share of complaints concluded in the period at first contact (%)",
    "complaints.late": "complaints not concluded by their deadline",
    "complaints.satisfaction": "share of the period's callbacks answered 满意 or 基本满意 (%)",
    "import": "operating data imported per unit and period",
}
RULES = ("linear", "bands", "rank")
DIRECTIONS = ("higher", "lower")
TOP_KEYS = {"code", "title_zh", "title_en", "veto_mode", "awards", "areas"}
AREA_KEYS = {"code", "name_zh", "name_en", "indicators"}
INDICATOR_KEYS = {"code", "name_zh", "name_en", "weight", "direction", "floor", "target", "rule", "bands", "source",
                  "checklist", "section", "metric", "per_outlets", "unit", "min_value", "max_value", "veto_above",
                  "veto_below", "missing"}
#: Sources that count things: ``per_outlets = 100`` turns the count into one per 100 outlets, so
#: units of different size (a city of 300 outlets, a county of 20) compare fairly.
COUNTS = {"inspections.red_line_visits", "rectification.overdue", "complaints.substantiated", "complaints.appeals",
          "complaints.late"}


class IndicatorError(ValueError):
    """The tree file is wrong; the message names the file, the indicator and the problem."""


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    weight: Decimal
    direction: str
    rule: str
    source: str
    floor: Decimal | None = None
    target: Decimal | None = None
    bands: tuple[tuple[Decimal, Decimal], ...] = ()
    checklist: str | None = None
    #: With an average score: the section of the checklist whose score is averaged.
    section: str | None = None
    metric: str | None = None
    per_outlets: Decimal | None = None
    unit: str = ""
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    veto_above: Decimal | None = None
    veto_below: Decimal | None = None
    #: "zero": no value, no points; "skip": the indicator leaves the unit's total (scaled back to 100).
    missing: str = "zero"

    def name(self, locale: str | None) -> str:
        return self.name_en if locale and locale.startswith("en") else self.name_zh

    @property
    def is_veto(self) -> bool:
        return self.veto_above is not None or self.veto_below is not None


@dataclass(frozen=True)
class Area:
    code: str
    name_zh: str
    name_en: str
    indicators: tuple[Indicator, ...]

    @property
    def weight(self) -> Decimal:
        return sum((i.weight for i in self.indicators), Decimal(0))

    def name(self, locale: str | None) -> str:
        return self.name_en if locale and locale.startswith("en") else self.name_zh


@dataclass(frozen=True)
class Tree:
    code: str
    title_zh: str
    title_en: str
    areas: tuple[Area, ...]
    veto_mode: str = "zero"
    #: Awards (yuan) for the first places, non-vetoed units only: [50000, 30000, 10000].
    awards: tuple[int, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def indicators(self) -> list[Indicator]:
        return [i for area in self.areas for i in area.indicators]

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    @property
    def metrics(self) -> dict[str, Indicator]:
        """The imported metrics by code (what an operating-data file may carry)."""
        return {i.metric: i for i in self.indicators if i.source == "import" and i.metric}

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))


def _number(value: Any, where: str, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IndicatorError(f"{where}: {key} must be a number, not {value!r}")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise IndicatorError(f"{where}: {key} is missing or empty")
    return value.strip()


def _indicator(data: Any, where: str, checklists: set[str] | dict[str, set[str]] | None) -> Indicator:
    if not isinstance(data, dict):
        raise IndicatorError(f"{where}: an indicator must be a table")
    code = _text(data, "code", where)
    where = f"{where} indicator {code}"
    unknown = set(data) - INDICATOR_KEYS
    if unknown:
        raise IndicatorError(f"{where}: unknown keys {sorted(unknown)}")
    source = _text(data, "source", where)
    if source not in SOURCES:
        raise IndicatorError(f"{where}: unknown source {source!r} (known: {', '.join(SOURCES)})")
    rule = data.get("rule", "linear")
    if rule not in RULES:
        raise IndicatorError(f"{where}: rule must be one of {', '.join(RULES)}, not {rule!r}")
    direction = data.get("direction", "higher")
    if direction not in DIRECTIONS:
        raise IndicatorError(f"{where}: direction must be higher or lower, not {direction!r}")
    weight = _number(data.get("weight"), where, "weight")
    if weight <= 0:
        raise IndicatorError(f"{where}: weight must be above 0")
    numbers = {k: _number(data[k], where, k) if k in data else None
               for k in ("floor", "target", "min_value", "max_value", "veto_above", "veto_below")}
    floor, target = numbers["floor"], numbers["target"]
    if rule == "linear":
        if floor is None or target is None:
            raise IndicatorError(f"{where}: a linear rule needs floor and target")
        if floor == target or (direction == "higher") != (target > floor):
            raise IndicatorError(f"{where}: the target must be better than the floor ({direction} is better)")
    bands: tuple = ()
    if rule == "bands":
        raw_bands = data.get("bands")
        if not isinstance(raw_bands, list) or not raw_bands:
            raise IndicatorError(f"{where}: a bands rule needs bands = [[threshold, share], ...]")
        try:
            bands = tuple((_number(b[0], where, "band threshold"), _number(b[1], where, "band share")) for b in raw_bands)
        except (TypeError, IndexError):
            raise IndicatorError(f"{where}: each band is [threshold, share]") from None
        thresholds = [b[0] for b in bands]
        ordered = sorted(thresholds, reverse=direction == "higher")
        if thresholds != ordered or len(set(thresholds)) != len(thresholds):
            raise IndicatorError(f"{where}: bands go from the best threshold to the worst, each once")
        if any(not (0 <= share <= 1) for _t, share in bands):
            raise IndicatorError(f"{where}: a band's share is between 0 and 1")
    checklist = data.get("checklist")
    section = data.get("section")
    if source == "inspections.avg_score":
        if not isinstance(checklist, str) or not checklist:
            raise IndicatorError(f"{where}: an average score names its checklist")
        if checklists is not None and checklist not in checklists:
            raise IndicatorError(f"{where}: no checklist {checklist!r} in forms/")
        if section is not None:
            if not isinstance(section, str) or not section:
                raise IndicatorError(f"{where}: section names a section code of the checklist")
            if isinstance(checklists, dict) and section not in checklists[checklist]:
                raise IndicatorError(f"{where}: checklist {checklist!r} has no section {section!r}")
    elif section is not None or (checklist is not None and source != "inspections.avg_score"):
        raise IndicatorError(f"{where}: checklist and section only go with the source inspections.avg_score")
    per_outlets = None
    if "per_outlets" in data:
        per_outlets = _number(data["per_outlets"], where, "per_outlets")
        if source not in COUNTS or per_outlets <= 0:
            raise IndicatorError(f"{where}: per_outlets (above 0) only goes with a count ({', '.join(sorted(COUNTS))})")
    metric = data.get("metric")
    if source == "import" and (not isinstance(metric, str) or not metric.strip()):
        raise IndicatorError(f"{where}: imported operating data names its metric (metric = \"...\")")
    missing = data.get("missing", "zero")
    if missing not in ("zero", "skip"):
        raise IndicatorError(f"{where}: missing must be zero or skip")
    return Indicator(code=code, name_zh=_text(data, "name_zh", where), name_en=_text(data, "name_en", where),
                     weight=weight, direction=direction, rule=rule, source=source, floor=floor, target=target,
                     bands=bands, checklist=checklist, section=section, per_outlets=per_outlets,
                     metric=metric.strip() if isinstance(metric, str) else None,
                     unit=str(data.get("unit", "")), min_value=numbers["min_value"], max_value=numbers["max_value"],
                     veto_above=numbers["veto_above"], veto_below=numbers["veto_below"], missing=missing)


def parse(data: dict, where: str, *, checklists: set[str] | dict[str, set[str]] | None = None) -> Tree:
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise IndicatorError(f"{where}: unknown keys {sorted(unknown)}")
    code = _text(data, "code", where)
    veto_mode = data.get("veto_mode", "zero")
    if veto_mode != "zero" and not (isinstance(veto_mode, str) and veto_mode.startswith("cap:")
                                    and veto_mode[4:].isdigit() and 0 <= int(veto_mode[4:]) <= 100):
        raise IndicatorError(f"{where}: veto_mode is \"zero\" or \"cap:N\" (0–100), not {veto_mode!r}")
    awards = data.get("awards", [])
    if not isinstance(awards, list) or any(not isinstance(a, int) or isinstance(a, bool) or a < 0 for a in awards):
        raise IndicatorError(f"{where}: awards is a list of whole yuan, first place first")
    areas_data = data.get("areas")
    if not isinstance(areas_data, list) or not areas_data:
        raise IndicatorError(f"{where}: no areas")
    areas, codes, metrics = [], set(), set()
    for area_data in areas_data:
        if not isinstance(area_data, dict):
            raise IndicatorError(f"{where}: an area must be a table")
        area_code = _text(area_data, "code", where)
        area_where = f"{where} area {area_code}"
        unknown = set(area_data) - AREA_KEYS
        if unknown:
            raise IndicatorError(f"{area_where}: unknown keys {sorted(unknown)}")
        items = area_data.get("indicators")
        if not isinstance(items, list) or not items:
            raise IndicatorError(f"{area_where}: no indicators")
        indicators = []
        for item in items:
            indicator = _indicator(item, area_where, checklists)
            if indicator.code in codes:
                raise IndicatorError(f"{area_where} indicator {indicator.code}: the code is used twice")
            if indicator.metric and indicator.metric in metrics:
                raise IndicatorError(f"{area_where} indicator {indicator.code}: metric {indicator.metric!r} is used twice")
            codes.add(indicator.code)
            if indicator.metric:
                metrics.add(indicator.metric)
            indicators.append(indicator)
        areas.append(Area(area_code, _text(area_data, "name_zh", area_where), _text(area_data, "name_en", area_where),
                          tuple(indicators)))
    total = sum((a.weight for a in areas), Decimal(0))
    if total != 100:
        raise IndicatorError(f"{where}: the weights add up to {total}, not 100")
    return Tree(code=code, title_zh=_text(data, "title_zh", where), title_en=_text(data, "title_en", where),
                areas=tuple(areas), veto_mode=veto_mode, awards=tuple(awards), raw=data)


def load_file(path: Path, *, checklists: set[str] | dict[str, set[str]] | None = None) -> Tree:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorError(f"{path.name}: not valid TOML: {exc}") from exc
    tree = parse(data, path.name, checklists=checklists)
    if tree.code != path.stem:
        raise IndicatorError(f"{path.name}: code {tree.code!r} differs from the file name")
    return tree
