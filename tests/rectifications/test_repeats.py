"""屡查屡犯: an item failing again within REPEAT_WINDOW_DAYS of an earlier failure at the same outlet.

The clock is pinned at 16:30 UTC, when Shanghai is already in the next day: every date below is
the outlet's local one (a visit at 2026-08-26T16:30Z was on 2026-08-27 at the outlet).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.notifications.models import Notification
from inspect_app.notifications.services import render
from inspect_app.rectifications import repeats
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit

FIRST = "2026-08-26T16:30:00Z"  # 2026-08-27 in Shanghai


def at(days: int) -> str:
    moment = dt.datetime(2026, 8, 26, 16, 30, tzinfo=dt.timezone.utc) + dt.timedelta(days=days)
    return moment.isoformat()


def lines_of(db, visit) -> dict[str, RectificationLine]:
    return {line.item_code: line for line in db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id))}


def repeat_notes(db, user) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user.id, Notification.kind == "repeat_found")))


LEANING = {"A-02": dict(occurrences=1, note="倚靠柜台")}


@pytest.fixture
def first(app, db, org_tree, people, clock_at):
    """A-02 (minor, per occurrence) failed at xihu1 on 2026-08-27 (local)."""
    clock_at(FIRST)
    return release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING)


def test_failing_again_within_the_window_is_a_repeat_one_step_graver(app, db, first, org_tree, people, clock_at):
    clock_at(at(60))
    again = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {**LEANING, "B-03": dict(result="fail", note="自助机坏了")})
    earlier, lines = lines_of(db, first)["A-02"], lines_of(db, again)
    line = lines["A-02"]
    today = dt.date(2026, 10, 26)  # at the outlet
    assert clock.today("Asia/Shanghai") == today
    assert line.severity == "general"  # minor, one step up
    assert line.deadline_date == today + dt.timedelta(days=7)  # the deadline follows the new severity
    assert line.deadline_at == rect.deadline_instant(line.deadline_date, "Asia/Shanghai")
    assert line.repeat_of_id == earlier.id and line.repeat_since == dt.date(2026, 8, 27)
    # B-03 never failed before: its own severity and deadline, no repeat
    assert lines["B-03"].severity == "serious" and lines["B-03"].repeat_of_id is None
    assert lines["B-03"].deadline_date == today + dt.timedelta(days=3)
    audit = db.exec(select(AuditEvent).where(AuditEvent.action == "line.repeat")).one()
    assert audit.object_id == line.id and audit.before == {"severity": "minor"}
    assert audit.after["severity"] == "general" and audit.after["repeat_of"] == earlier.id


def test_the_window_is_counted_in_local_days_and_holds_its_last_day(app, db, first, org_tree, people, clock_at):
    clock_at(at(90))
    line = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    assert line.repeat_of_id is not None and line.severity == "general"


def test_a_failure_older_than_the_window_is_no_repeat(app, db, first, org_tree, people, clock_at):
    clock_at(at(100))
    line = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    assert line.repeat_of_id is None and line.repeat_since is None
    assert line.severity == "minor" and line.deadline_date == dt.date(2026, 12, 5) + dt.timedelta(days=15)


def test_the_window_is_configured(app, db, first, org_tree, people, clock_at):
    app.config["REPEAT_WINDOW_DAYS"] = 30
    clock_at(at(60))
    line = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    assert line.repeat_of_id is None and line.severity == "minor"


def test_only_the_same_item_at_the_same_outlet_counts(app, db, first, org_tree, people, clock_at):
    clock_at(at(60))
    elsewhere = release_mini_visit(app, db, people["inspector"], org_tree["xihu2"], LEANING)
    assert lines_of(db, elsewhere)["A-02"].repeat_of_id is None
    other_item = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-01": dict(scale_value=1, note="面无笑容")})
    assert lines_of(db, other_item)["B-01"].repeat_of_id is None


def test_each_step_up_to_on_the_spot():
    assert [rect.raised_severity(s) for s in ("minor", "general", "serious", "urgent", "on_spot")] == \
        ["general", "serious", "urgent", "on_spot", "on_spot"]


def test_a_repeat_of_a_repeat_climbs_again(app, db, first, org_tree, people, clock_at):
    clock_at(at(30))
    second = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    clock_at(at(60))
    third = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    # each line rises one step from the item's own severity: a repeat is graver, not ever graver
    assert second.severity == third.severity == "general"
    assert third.repeat_of_id == second.id and third.repeat_since == dt.date(2026, 9, 26)


# --- disputes: a withdrawn finding fell, an upheld one stands ---------------------------------------

@pytest.mark.parametrize("uphold", [False, True], ids=["withdrawn", "upheld"])
def test_a_withdrawn_finding_does_not_count_an_upheld_one_does(uphold, app, db, first, org_tree, people, clock_at):
    clock_at(at(5))
    with app.test_request_context():
        line = lines_of(db, first)["A-02"]
        rect.dispute_line(db, actor=people["chief"], line=line, reason="当时在整理包裹,并未倚靠")
        rect.decide_dispute(db, actor=people["manager"], line=line, uphold=uphold, reason="核对录像后决定")
    db.commit()
    assert lines_of(db, first)["A-02"].status == (LineStatus.acknowledged if uphold else LineStatus.withdrawn)
    clock_at(at(60))
    again = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    assert (again.repeat_of_id is not None) is uphold
    assert again.severity == ("general" if uphold else "minor")


def test_a_finding_still_in_dispute_counts(app, db, first, org_tree, people, clock_at):
    clock_at(at(5))
    with app.test_request_context():
        rect.dispute_line(db, actor=people["chief"], line=lines_of(db, first)["A-02"], reason="当时在整理包裹")
    db.commit()
    clock_at(at(60))
    again = lines_of(db, release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING))["A-02"]
    assert again.repeat_of_id == lines_of(db, first)["A-02"].id


# --- the unit above is told, once -------------------------------------------------------------------

def test_the_managers_of_the_unit_above_are_told_once(app, db, first, org_tree, people, clock_at, create_user):
    second_city_manager = create_user("manager", unit=org_tree["hz"])
    county_manager = create_user("manager", unit=org_tree["xihu"])
    assert not repeat_notes(db, people["manager"])  # a first failure is no repeat
    clock_at(at(60))
    again = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], LEANING)
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == again.id)).one()
    for manager in (people["manager"], second_city_manager):  # 杭州市 is above 西湖区
        [note] = repeat_notes(db, manager)
        assert note.link == f"/notices/{notice.id}" and note.params["items"] == "A-02"
        with app.test_request_context():
            assert "A-02" in render(note) and notice.number in render(note)
    for nobody in (county_manager, people["director"], people["other_manager"], people["chief"], people["inspector"]):
        assert not repeat_notes(db, nobody)
    # the release hook again (a retried signal) issues nothing twice and tells nobody twice
    with app.test_request_context():
        checklist = visits.checklist_of(db, again)
        result = visits.score_visit(checklist, visits.answers_of(db, again), again)
        assert repeats.issue_notice_on_release(again, session=db, actor=people["inspector"], checklist=checklist,
                                               result=result) is None
        assert repeats.tell_unit_above(db, notice=notice, outlet=org_tree["xihu1"], item_codes=["A-02"]) == 0
    db.commit()
    assert len(repeat_notes(db, people["manager"])) == 1


# --- secret visits ----------------------------------------------------------------------------------

def _secret_with(app, db, people, outlet, code: str):
    """A secret visit failing ``code`` (UNI-01: urgent, a red line), submitted and released."""
    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=outlet,
                                  submit=False, fail_one=False)
    with app.test_request_context():
        visits.save_answer(db, actor=people["shopper"], visit=visit, item_code=code, result="fail", note="问及普遍服务业务时拒绝办理")
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token=f"s{visit.id}", accept_warnings=True)
        visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    return visit


def test_a_secret_repeat_rises_to_on_the_spot_but_is_due_on_the_next_working_day(app, db, org_tree, people, clock_at):
    clock_at("2026-09-24T16:30:00Z")
    first = _secret_with(app, db, people, org_tree["xihu1"], "UNI-01")
    assert lines_of(db, first)["UNI-01"].severity == "urgent"
    clock_at("2026-12-03T16:30:00Z")  # Friday 2026-12-04 at the outlet, 70 days on
    line = lines_of(db, _secret_with(app, db, people, org_tree["xihu1"], "UNI-01"))["UNI-01"]
    assert line.severity == "on_spot" and line.repeat_since == dt.date(2026, 9, 25)
    assert line.deadline_date == dt.date(2026, 12, 7)  # never on the spot: the Monday after


def test_an_unreleased_secret_visit_makes_no_repeat(app, db, org_tree, people, clock_at, create_user):
    """Secrecy: a secret visit under review is nowhere, not even as the earlier failure of another."""
    clock_at("2026-09-24T16:30:00Z")
    in_review, failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                     outlet=org_tree["xihu1"])
    assert in_review.status == "in_review"
    clock_at("2026-10-24T16:30:00Z")
    other = create_user("shopper")
    visit, _f = secret_visit(app, db, manager=people["manager"], shopper=other, outlet=org_tree["xihu1"], submit=True)
    with app.test_request_context():
        visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    line = lines_of(db, visit)[failed]
    assert line.repeat_of_id is None and line.severity == "general"
    assert not repeat_notes(db, people["manager"])


def test_seeing_an_outlets_released_visits_agrees_with_seeing_each(app, db, first, org_tree, people, create_user):
    """The fill page asks once per outlet whose past photos a viewer may see: the same answer as
    ``can_view_visit`` gives for each released visit not assigned to them."""
    from inspect_app import permissions

    others = [create_user("inspector", unit=org_tree["nb"]), create_user("branch_chief", outlets=[org_tree["xihu2"]])]
    with app.test_request_context():
        for user in [*people.values(), *others]:
            if user.id == first.assignee_id:
                continue
            assert permissions.sees_released_visits_of(db, user, org_tree["xihu1"]) == \
                permissions.can_view_visit(db, user, first), user.username
