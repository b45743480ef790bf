"""The pure scoring function: worked examples and properties that must always hold."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_app.checklists.definition import load_directory, load_file
from inspect_app.checklists.scoring import AnswerInput, score

MINI = load_file(Path(__file__).resolve().parents[1] / "fixtures" / "mini.toml")
SHIPPED = load_directory(Path(__file__).resolve().parents[2] / "forms")


def all_pass(checklist):
    answers = {}
    for item in checklist.items:
        if item.rule == "per_occurrence":
            answers[item.code] = AnswerInput(result="pass", occurrences=0)
        elif item.rule == "scale":
            answers[item.code] = AnswerInput(scale_value=item.scale_max)
        elif item.rule == "timer":
            answers[item.code] = AnswerInput(seconds=60)
        else:
            answers[item.code] = AnswerInput(result="pass")
    return answers


def test_all_pass_is_100_and_five_stars():
    result = score(MINI, all_pass(MINI))
    assert result.total == 100 and result.passed and result.stars == 5
    assert result.unanswered == [] and result.answered == 5


def test_worked_example():
    answers = all_pass(MINI)
    answers["A-02"] = AnswerInput(occurrences=2)     # 5 − 2×2 = 1
    answers["B-01"] = AnswerInput(scale_value=3)     # 4 × 3/4 = 3, upper half: loses a point, no finding
    answers["B-03"] = AnswerInput(result="na")       # leaves the denominator
    result = score(MINI, answers)
    # earned 10 + 1 + 3 + 0 = 14 of 10 + 5 + 4 + 0 = 19
    assert result.earned == 14 and result.applicable == 19
    assert result.total == round(14 / 19 * 100, 1) == 73.7
    assert result.stars == 0  # below the lowest band (75)
    assert result.failed_items == ["A-02"]
    assert [s.percent for s in result.sections] == [round(11 / 15 * 100, 1), 75.0]
    answers["B-01"] = AnswerInput(scale_value=2)     # lower half: a finding
    assert score(MINI, answers).failed_items == ["A-02", "B-01"]


def test_per_occurrence_never_below_zero():
    answers = all_pass(MINI)
    answers["A-02"] = AnswerInput(occurrences=50)
    result = score(MINI, answers)
    assert result.items["A-02"].earned == 0 and result.items["A-02"].deduction == 5


def test_red_line_fails_whatever_the_score():
    answers = all_pass(MINI)
    answers["B-02"] = AnswerInput(result="fail")
    result = score(MINI, answers)
    assert result.total == 100  # it carries no points...
    assert not result.passed and result.stars == 0  # ...and still vetoes the visit
    assert result.red_lines_failed == ["B-02"]


def test_na_refused_where_not_allowed_counts_as_unanswered():
    result = score(MINI, {"A-01": AnswerInput(result="na")})
    assert "A-01" in result.unanswered


def test_nothing_applicable_scores_100():
    result = score(MINI, {"A-02": AnswerInput(result="na"), "B-03": AnswerInput(result="na")})
    assert result.total == 100


def test_timer_items_deduct_per_started_extra_minute():
    secret = SHIPPED["secret_visit"]
    wait = next(i for i in secret.items if i.timer == "queue_wait")
    answers = all_pass(secret)
    answers[wait.code] = AnswerInput(seconds=wait.limit_minutes * 60 + 61)  # 2 started extra minutes
    result = score(secret, answers)
    assert result.items[wait.code].deduction == min(wait.max_deduction, 2 * wait.deduct)
    assert result.items[wait.code].failed


def answer_strategy(item):
    options = [st.none()]
    if item.na_allowed:
        options.append(st.just(AnswerInput(result="na")))
    if item.rule == "pass_fail":
        options.append(st.sampled_from([AnswerInput(result="pass"), AnswerInput(result="fail")]))
    elif item.rule == "per_occurrence":
        options.append(st.integers(0, 200).map(lambda n: AnswerInput(occurrences=n)))
    elif item.rule == "scale":
        options.append(st.integers(0, item.scale_max).map(lambda v: AnswerInput(scale_value=v)))
    else:
        options.append(st.floats(0, 7200).map(lambda s: AnswerInput(seconds=s)))
        options.append(st.just(AnswerInput(result="na")))
    return st.one_of(options)


def answers_for(checklist):
    return st.fixed_dictionaries({i.code: answer_strategy(i) for i in checklist.items}).map(
        lambda d: {k: v for k, v in d.items() if v is not None})


CHECKLISTS = [MINI, *SHIPPED.values()]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), index=st.integers(0, len(CHECKLISTS) - 1))
def test_properties(data, index):
    checklist = CHECKLISTS[index]
    answers = data.draw(answers_for(checklist))
    result = score(checklist, answers)
    # the score stays within 0..100
    assert 0 <= result.total <= 100
    # per-occurrence deductions never go below zero, nor beyond the item's points
    for item_score in result.items.values():
        assert 0 <= item_score.earned <= item_score.possible + 1e-9
    # a red-line failure always fails the visit, with no star
    red_failed = any(checklist.item(c).red_line and (answers.get(c) or AnswerInput()).result == "fail" for c in answers)
    assert red_failed == (not result.passed)
    if red_failed:
        assert result.stars == 0
    # N/A never lowers the score compared with failing the item
    candidates = [i for i in checklist.items if i.na_allowed and i.rule == "pass_fail"]
    if candidates:
        item = data.draw(st.sampled_from(candidates))
        as_na = score(checklist, {**answers, item.code: AnswerInput(result="na")})
        as_fail = score(checklist, {**answers, item.code: AnswerInput(result="fail")})
        assert as_na.total >= as_fail.total
    # stars follow the bands
    if result.passed:
        expected = next((b.stars for b in checklist.stars if result.total >= b.min), 0)
        assert result.stars == expected


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_na_on_everything_else_passing_keeps_100(data):
    checklist = data.draw(st.sampled_from(CHECKLISTS))
    answers = all_pass(checklist)
    for item in checklist.items:
        if item.na_allowed and data.draw(st.booleans()):
            answers[item.code] = AnswerInput(result="na")
    assert score(checklist, answers).total == 100
