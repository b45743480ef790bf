"""Points from raw values, the veto, and the composite ranking among sibling units: plain functions
on numbers (no database), so a unit's total can be recomputed by hand from a fixture."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from inspect_app.indicators.definition import Indicator, Tree
from inspect_app.numbers import competition_ranks, half_up


def _better(indicator: Indicator, a: Decimal, b: Decimal) -> bool:
    """Whether ``a`` is at least as good as ``b`` in the indicator's direction."""
    return a >= b if indicator.direction == "higher" else a <= b


def points(indicator: Indicator, raw: Decimal | None, siblings: list[Decimal] | None = None) -> Decimal | None:
    """The points one value earns (None when there is no value)."""
    if raw is None:
        return None
    weight = indicator.weight
    if indicator.rule == "linear":
        floor, target = indicator.floor, indicator.target
        if _better(indicator, raw, target):
            return weight
        if _better(indicator, floor, raw):
            return Decimal(0)
        return weight * (raw - floor) / (target - floor)
    if indicator.rule == "bands":
        for threshold, share in indicator.bands:
            if _better(indicator, raw, threshold):
                return weight * share
        return Decimal(0)
    # rank among the siblings with a value: first full points, last none, evenly between
    values = [v for v in (siblings or []) if v is not None]
    if len(values) <= 1:
        return weight
    signed = [(i, v if indicator.direction == "higher" else -v) for i, v in enumerate(values)]
    ranks = competition_ranks(signed)
    mine = raw if indicator.direction == "higher" else -raw
    place = min(ranks[i] for i, v in signed if v == mine)
    return weight * Decimal(len(values) - place) / Decimal(len(values) - 1)


def vetoed(indicator: Indicator, raw: Decimal | None) -> bool:
    if raw is None:
        return False
    return ((indicator.veto_above is not None and raw > indicator.veto_above)
            or (indicator.veto_below is not None and raw < indicator.veto_below))


@dataclass
class Score:
    indicator: Indicator
    raw: Decimal | None
    points: Decimal | None
    veto: bool = False


@dataclass
class UnitScore:
    key: object
    name: str
    scores: list[Score] = field(default_factory=list)
    total: Decimal = Decimal(0)
    raw_total: Decimal = Decimal(0)
    vetoes: list[Score] = field(default_factory=list)
    rank: int | None = None
    previous_total: Decimal | None = None
    previous_rank: int | None = None
    award: int | None = None
    #: False for a unit with no released visit in the period: listed as 未检查, not ranked.
    inspected: bool = True

    def area_points(self, tree: Tree) -> dict[str, Decimal]:
        by_code = {s.indicator.code: s for s in self.scores}
        return {area.code: half_up(sum((by_code[i.code].points or Decimal(0) for i in area.indicators), Decimal(0)))
                for area in tree.areas}

    @property
    def rank_change(self) -> int | None:
        """Places gained since the period before (positive: up)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    def costliest(self, n: int = 3) -> list[Score]:
        """The indicators that cost most points (weight − points), most first."""
        lost = [(s.indicator.weight - (s.points or Decimal(0)), s) for s in self.scores
                if not (s.raw is None and s.indicator.missing == "skip")]
        return [s for loss, s in sorted(lost, key=lambda p: (-p[0], p[1].indicator.code)) if loss > 0][:n]


#: The raw value that counts a unit's released visits in the period (not an indicator).
VISITS = "_visits"


def composite(tree: Tree, raws: dict[object, dict[str, Decimal | None]], names: dict[object, str]) -> list[UnitScore]:
    """Every sibling unit's score: points per indicator, the veto, the total (one decimal, half up)
    and the rank (ties share a place); the awards go to the first non-vetoed places. A unit with no
    released visit in the period (``_visits`` = 0) is listed as not inspected and not ranked."""
    units = []
    for key, values in raws.items():
        unit = UnitScore(key, names.get(key, str(key)), inspected=values.get(VISITS) != 0)
        earned, counted = Decimal(0), Decimal(0)
        for indicator in tree.indicators:
            raw = values.get(indicator.code)
            siblings = [v.get(indicator.code) for v in raws.values()] if indicator.rule == "rank" else None
            score = Score(indicator, raw, points(indicator, raw, siblings), vetoed(indicator, raw))
            unit.scores.append(score)
            if raw is None and indicator.missing == "skip":
                continue
            counted += indicator.weight
            earned += score.points or Decimal(0)
            if score.veto:
                unit.vetoes.append(score)
        unit.raw_total = half_up(earned * 100 / counted) if counted else Decimal(0)
        unit.total = unit.raw_total
        if unit.vetoes:
            unit.total = Decimal(0) if tree.veto_mode == "zero" else min(unit.raw_total, Decimal(tree.veto_mode[4:]))
        units.append(unit)
    for key, rank in competition_ranks([(u.key, u.total) for u in units if u.inspected]).items():
        next(u for u in units if u.key == key).rank = rank
    for unit in units:
        if not unit.vetoes and unit.rank is not None and unit.rank <= len(tree.awards):
            unit.award = tree.awards[unit.rank - 1]
    return sorted(units, key=lambda u: (u.rank or 10**6, str(u.name)))
