"""Numbers as people read them on paper (core: imports no domain): rounding half up, and ranks
where ties share a place."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: Decimal | float | None, places: int = 1) -> Decimal | None:
    """Rounded as people round on paper (91.85 → 91.9), not to the nearest even binary float."""
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def competition_ranks(values: list[tuple[object, Decimal]]) -> dict[object, int]:
    """Standard competition ranking on the rounded value: ties share a rank, the next one skips
    (1, 1, 3)."""
    ordered = sorted(values, key=lambda kv: -kv[1])
    ranks: dict[object, int] = {}
    for position, (key, value) in enumerate(ordered, start=1):
        ranks[key] = ranks[ordered[position - 2][0]] if position > 1 and ordered[position - 2][1] == value else position
    return ranks
