"""Scoring: a pure function from a checklist version and answers to a result. No database.

Rules (the design's defaults):
- An item earns its points when passed, nothing when failed; N/A items leave both the earned sum
  and the denominator.
- Per occurrence: points − min(cap, n × deduct), never below zero.
- Scale 0..N: points × value / N; a value below the item's ``fail_below`` (default: the lower half
  of the scale) is a finding, a higher one only loses points.
- Timer (secret visits): points − min(cap, started extra minutes × deduct).
- Section score = earned over the section's applicable points; total = earned / applicable × 100.
- Any red-line item failed → the visit fails and earns no star, whatever the score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from inspect_app.checklists.definition import Checklist, Item

PASS, FAIL, NA = "pass", "fail", "na"


@dataclass(frozen=True)
class AnswerInput:
    """What the inspector said about one item."""

    result: str | None = None  # pass | fail | na; per_occurrence/scale/timer derive it from the value
    occurrences: int | None = None
    scale_value: int | None = None
    seconds: float | None = None  # timer items: measured duration


@dataclass
class ItemScore:
    code: str
    answered: bool
    applicable: bool
    earned: float
    possible: float
    failed: bool
    red_line_failed: bool
    deduction: float


@dataclass
class SectionScore:
    code: str
    earned: float
    possible: float
    failed_items: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return None if self.possible == 0 else round(self.earned / self.possible * 100, 1)


@dataclass
class ScoreResult:
    total: float
    earned: float
    applicable: float
    passed: bool
    stars: int
    red_lines_failed: list[str]
    failed_items: list[str]
    unanswered: list[str]
    answered: int
    item_count: int
    sections: list[SectionScore]
    items: dict[str, ItemScore]


def outcome(item: Item, answer: AnswerInput | None) -> str | None:
    """pass / fail / na, or None when the item is not answered yet."""
    if answer is None:
        return None
    if answer.result == NA:
        return NA if item.na_allowed or item.rule == "timer" else None
    if item.rule == "per_occurrence":
        if answer.occurrences is None:
            return answer.result if answer.result in (PASS,) else None
        return FAIL if answer.occurrences > 0 else PASS
    if item.rule == "scale":
        if answer.scale_value is None:
            return None
        return FAIL if answer.scale_value < item.fail_below else PASS
    if item.rule == "timer":
        if answer.seconds is None:
            return None
        return FAIL if answer.seconds > item.limit_minutes * 60 else PASS
    return answer.result if answer.result in (PASS, FAIL) else None


def score_item(item: Item, answer: AnswerInput | None) -> ItemScore:
    result = outcome(item, answer)
    if result is None or result == NA:
        return ItemScore(item.code, result is not None, False, 0.0, 0.0, False, False, 0.0)
    if item.rule == "pass_fail":
        earned = item.points if result == PASS else 0.0
    elif item.rule == "per_occurrence":
        n = max(0, answer.occurrences or 0)
        earned = item.points - min(item.max_deduction, n * item.deduct)
    elif item.rule == "scale":
        value = min(max(0, answer.scale_value), item.scale_max)
        earned = item.points * value / item.scale_max
    else:  # timer
        over = max(0.0, answer.seconds - item.limit_minutes * 60)
        minutes = math.ceil(over / 60) if over > 0 else 0
        earned = item.points - min(item.max_deduction, minutes * item.deduct)
    earned = max(0.0, earned)
    failed = result == FAIL
    return ItemScore(item.code, True, True, earned, item.points, failed, failed and item.red_line,
                     item.points - earned)


def stars_for(checklist: Checklist, total: float, passed: bool) -> int:
    if not passed:
        return 0
    for band in checklist.stars:  # sorted highest minimum first
        if total >= band.min:
            return band.stars
    return 0


def score(checklist: Checklist, answers: dict[str, AnswerInput]) -> ScoreResult:
    items: dict[str, ItemScore] = {}
    sections: list[SectionScore] = []
    for section in checklist.sections:
        earned = possible = 0.0
        failed = []
        for item in section.items:
            result = score_item(item, answers.get(item.code))
            items[item.code] = result
            earned += result.earned
            possible += result.possible
            if result.failed:
                failed.append(item.code)
        sections.append(SectionScore(section.code, round(earned, 2), round(possible, 2), failed))
    earned = sum(s.earned for s in sections)
    applicable = sum(s.possible for s in sections)
    total = 100.0 if applicable == 0 else round(earned / applicable * 100, 1)
    total = min(100.0, max(0.0, total))
    red = [code for code, r in items.items() if r.red_line_failed]
    passed = not red
    return ScoreResult(
        total=total, earned=round(earned, 2), applicable=round(applicable, 2), passed=passed,
        stars=stars_for(checklist, total, passed), red_lines_failed=red,
        failed_items=[code for code, r in items.items() if r.failed],
        unanswered=[code for code, r in items.items() if not r.answered],
        answered=sum(1 for r in items.values() if r.answered), item_count=len(items),
        sections=sections, items=items,
    )
