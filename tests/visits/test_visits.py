"""Visit rules through the services: scheduling, check-in, answers, submit, release, stars."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.checklists import services as checklists
from inspect_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from inspect_app.evidence.storage import get_storage
from inspect_app.visits import services
from inspect_app.visits.models import Answer, StarRating, Visit, VisitStatus


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def jpeg_bytes(color=(200, 30, 30), size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def started(ctx, db, org_tree, people):
    """A started 'mini' visit by the inspector at xihu1 window 1."""
    from inspect_app.org.models import Window

    window = db.exec(select(Window).where(Window.outlet_id == org_tree["xihu1"].id)).first()
    visit = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"], window=window,
                                       checklist_code="mini")
    services.check_in(db, actor=people["inspector"], visit=visit, lat=30.26, lon=120.13, accuracy=12)
    db.commit()
    return visit


def answer_all_pass(db, visit, actor):
    for code, kwargs in {"A-01": dict(result="pass"), "A-02": dict(result="pass"), "B-01": dict(scale_value=4),
                         "B-02": dict(result="pass"), "B-03": dict(result="pass")}.items():
        services.save_answer(db, actor=actor, visit=visit, item_code=code, **kwargs)


# --- scheduling ------------------------------------------------------------------------------

def test_manager_schedules_in_bulk(ctx, db, org_tree, people):
    today = clock.today("Asia/Shanghai")
    visits = services.schedule_visits(
        db, actor=people["manager"], checklist_code="open_inspection",
        outlet_ids=[org_tree["xihu1"].id, org_tree["xihu2"].id], assignee=people["inspector"],
        due_from=today, due_until=today + dt.timedelta(days=3))
    db.commit()
    assert [v.status for v in visits] == [VisitStatus.scheduled] * 2
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "visit.scheduled")).all()) == 2


@pytest.mark.parametrize("case,error,message", [
    ("other_region", NotFound, "不存在"),
    ("secret_to_inspector", DomainError, "暗访任务只能派给暗访员"),
    ("past_window", DomainError, "已经过去"),
    ("reversed_window", DomainError, "结束日期早于开始日期"),
    ("inspector_schedules", PermissionDenied, "只有区域经理"),
    ("assignee_out_of_area", DomainError, "不负责网点"),
])
def test_scheduling_refusals(ctx, db, org_tree, people, case, error, message):
    today = clock.today("Asia/Shanghai")
    kwargs = dict(actor=people["manager"], checklist_code="open_inspection", outlet_ids=[org_tree["xihu1"].id],
                  assignee=people["inspector"], due_from=today, due_until=today + dt.timedelta(days=2))
    if case == "other_region":
        kwargs["outlet_ids"] = [org_tree["haishu1"].id]
    elif case == "secret_to_inspector":
        kwargs["checklist_code"] = "secret_visit"
    elif case == "past_window":
        kwargs.update(due_from=today - dt.timedelta(days=5), due_until=today - dt.timedelta(days=1))
    elif case == "reversed_window":
        kwargs.update(due_from=today + dt.timedelta(days=3), due_until=today)
    elif case == "inspector_schedules":
        kwargs["actor"] = people["inspector"]
    elif case == "assignee_out_of_area":
        kwargs.update(actor=people["director"], outlet_ids=[org_tree["haishu1"].id])
    with pytest.raises(error) as exc:
        services.schedule_visits(db, **kwargs)
    assert message in exc.value.message
    db.rollback()
    assert not db.exec(select(Visit)).all()


def test_window_flag_for_late_visit(ctx, db, org_tree, people):
    today = clock.today("Asia/Shanghai")
    visit = services.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                     outlet_ids=[org_tree["xihu1"].id], assignee=people["inspector"],
                                     due_from=today, due_until=today)[0]
    visit.due_from = visit.due_until = today - dt.timedelta(days=2)
    assert services.window_flag(visit, org_tree["xihu1"]) == "late"
    visit.due_from, visit.due_until = today + dt.timedelta(days=1), today + dt.timedelta(days=3)
    services.check_in(db, actor=people["inspector"], visit=visit, lat=None, lon=None, accuracy=None,
                      no_location_reason="定位关闭")
    assert services.window_flag(visit, org_tree["xihu1"]) == "early"


# --- starting -----------------------------------------------------------------------------------

def test_checkin_needs_position_or_reason(ctx, db, org_tree, people):
    visit = services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"],
                                       checklist_code="open_inspection")
    with pytest.raises(DomainError, match="说明原因"):
        services.check_in(db, actor=people["inspector"], visit=visit, lat=None, lon=None, accuracy=None)
    services.check_in(db, actor=people["inspector"], visit=visit, lat=None, lon=None, accuracy=None,
                      no_location_reason="手机拒绝定位")
    assert visit.status == VisitStatus.in_progress
    assert visit.checkin_no_location_reason == "手机拒绝定位" and visit.checkin_at is not None
    with pytest.raises(DomainError, match="已于.*签到，以该次签到为准"):
        services.check_in(db, actor=people["inspector"], visit=visit, lat=1, lon=1, accuracy=1)


def test_adhoc_refusals(ctx, db, org_tree, people):
    with pytest.raises(DomainError, match="暗访"):
        services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"], checklist_code="secret_visit")
    with pytest.raises(DomainError, match="选择窗口"):
        services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu1"], checklist_code="mini")
    with pytest.raises(NotFound):
        services.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["haishu1"], checklist_code="open_inspection")
    with pytest.raises(PermissionDenied):
        services.start_adhoc_visit(db, actor=people["chief"], outlet=org_tree["xihu1"], checklist_code="open_inspection")


# --- answering ----------------------------------------------------------------------------------

def test_answers_are_validated(started, db, people):
    inspector = people["inspector"]
    with pytest.raises(DomainError, match="不适用"):
        services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="na")
    with pytest.raises(DomainError, match="不在本检查表"):
        services.save_answer(db, actor=inspector, visit=started, item_code="Z-99", result="pass")
    with pytest.raises(DomainError, match="0 到 4"):
        services.save_answer(db, actor=inspector, visit=started, item_code="B-01", scale_value=7)
    with pytest.raises(DomainError, match="0 到 99"):
        services.save_answer(db, actor=inspector, visit=started, item_code="A-02", occurrences=-1)
    with pytest.raises(PermissionDenied):
        services.save_answer(db, actor=people["manager"], visit=started, item_code="A-01", result="pass")
    answer = services.save_answer(db, actor=inspector, visit=started, item_code="A-02", occurrences=2)
    assert answer.result == "fail" and answer.version == 1


def test_stale_write_refused_and_retry_recognised(started, db, people):
    inspector = people["inspector"]
    first = services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="pass",
                                 base_version=0, client_id="phone-1")
    again = services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="pass",
                                 base_version=0, client_id="phone-1")
    assert again.version == first.version == 1  # a retry: stored once
    services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail", base_version=1,
                         client_id="tablet-1")
    with pytest.raises(Conflict, match="另一台设备"):
        services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="pass", base_version=1,
                             client_id="phone-2")
    db.commit()
    assert db.exec(select(Answer).where(Answer.item_code == "A-01")).one().result == "fail"


# --- submitting ---------------------------------------------------------------------------------

def test_submit_lists_exactly_what_is_missing(started, db, people):
    inspector = people["inspector"]
    services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail")
    with pytest.raises(services.IncompleteVisit) as exc:
        services.submit_visit(db, actor=inspector, visit=started, token="t1")
    missing = {(m.item_code, m.message) for m in exc.value.missing}
    assert ("A-01", "不合格项须填写问题描述。") in missing
    assert ("A-01", "不合格项须拍照留证。") in missing
    assert {code for code, _ in missing} == {"A-01", "A-02", "B-01", "B-02", "B-03"}
    assert started.status == VisitStatus.in_progress


def test_submit_scores_releases_and_awards_stars(started, db, people, app):
    inspector = people["inspector"]
    answer_all_pass(db, started, inspector)
    services.save_answer(db, actor=inspector, visit=started, item_code="A-02", occurrences=1, note="倚靠柜台一次")
    services.submit_visit(db, actor=inspector, visit=started, token="tok")
    db.commit()
    assert started.status == VisitStatus.released and started.released_at is not None
    # 10 + 3 + 4 + 0 + 6 of 25
    assert started.score == 92.0 and started.stars == 4 and started.passed
    rating = db.exec(select(StarRating).where(StarRating.visit_id == started.id)).one()
    assert rating.stars == 4 and rating.window_id == started.window_id
    # 12 months in the outlet's calendar: through the day before the same date next year
    awarded = clock.local_date(rating.awarded_at, "Asia/Shanghai")
    assert services.star_last_day(rating, "Asia/Shanghai") == clock.add_months(awarded, 12) - dt.timedelta(days=1)
    # a repeat of the same submit does nothing twice; another submit is refused
    assert services.submit_visit(db, actor=inspector, visit=started, token="tok") is started
    with pytest.raises(DomainError, match="已提交"):
        services.submit_visit(db, actor=inspector, visit=started, token="other")
    with pytest.raises(DomainError, match="已提交"):
        services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail")
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "visit.submitted")).all()) == 1


def test_red_line_in_any_visit_removes_the_star(started, db, people, org_tree):
    inspector = people["inspector"]
    answer_all_pass(db, started, inspector)
    services.submit_visit(db, actor=inspector, visit=started, token="a")
    db.commit()
    assert db.exec(services.current_stars_query()).all()
    second = services.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu1"], checklist_code="mini",
                                        window=_window(db, started))
    services.check_in(db, actor=inspector, visit=second, lat=30.26, lon=120.13, accuracy=5)
    answer_all_pass(db, second, inspector)
    services.save_answer(db, actor=inspector, visit=second, item_code="B-02", result="fail", note="与顾客争吵")
    services.submit_visit(db, actor=inspector, visit=second, token="b")
    db.commit()
    assert second.red_line and second.stars == 0 and not second.passed
    assert not db.exec(services.current_stars_query()).all()
    first_rating = db.exec(select(StarRating).where(StarRating.visit_id == started.id)).one()
    assert first_rating.end_reason == "red_line" and first_rating.ended_by_visit_id == second.id


def _window(db, visit):
    from inspect_app.org.models import Window

    return db.get(Window, visit.window_id)


def test_photo_required_on_failure_then_submit(started, db, people, app):
    inspector = people["inspector"]
    answer_all_pass(db, started, inspector)
    services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail", note="未穿工装")
    with pytest.raises(services.IncompleteVisit):
        services.submit_visit(db, actor=inspector, visit=started, token="x")
    services.add_visit_photo(db, get_storage(), actor=inspector, visit=started, data=jpeg_bytes(),
                             item_code="A-01", client_id="p1")
    services.submit_visit(db, actor=inspector, visit=started, token="x")
    db.commit()
    assert started.score == round(15 / 25 * 100, 1)


def test_visit_keeps_its_checklist_version(app, ctx, db, org_tree, people, started):
    inspector = people["inspector"]
    old_version = started.checklist_version_id
    registry = app.extensions["checklists"]
    original = registry["mini"]
    items = list(original.sections[0].items)
    items[0] = dataclasses.replace(items[0], points=30)  # the file changes: A-01 now worth 30
    changed_section = dataclasses.replace(original.sections[0], items=tuple(items))
    registry["mini"] = dataclasses.replace(original, sections=(changed_section, *original.sections[1:]),
                                           items_by_code={i.code: i for s in (changed_section, *original.sections[1:]) for i in s.items})
    app.extensions.pop("checklist_file_definitions", None)  # as a restart with the changed file would
    try:
        newer = services.start_adhoc_visit(db, actor=inspector, outlet=org_tree["xihu2"], checklist_code="mini",
                                           window=_first_window(db, org_tree["xihu2"]))
        services.check_in(db, actor=inspector, visit=newer, lat=30.26, lon=120.13, accuracy=5)
        assert newer.checklist_version_id != old_version
        answer_all_pass(db, started, inspector)
        services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail", note="x")
        services.add_visit_photo(db, get_storage(), actor=inspector, visit=started, data=jpeg_bytes(),
                                 item_code="A-01")
        services.submit_visit(db, actor=inspector, visit=started, token="v")
        assert started.score == round(15 / 25 * 100, 1)  # scored with A-01 worth 10, as when it was filled
        assert services.checklist_of(db, started).item("A-01").points == 10
        assert services.checklist_of(db, newer).item("A-01").points == 30
    finally:
        registry["mini"] = original
        app.extensions.pop("checklist_file_definitions", None)


def _first_window(db, outlet):
    from inspect_app.org.models import Window

    return db.exec(select(Window).where(Window.outlet_id == outlet.id)).first()


def test_version_rows_are_reused_for_an_unchanged_file(ctx, db):
    first = checklists.current_version(db, "open_inspection")
    second = checklists.current_version(db, "open_inspection")
    assert first.id == second.id and first.version == 1


def test_a_newer_edit_replacing_an_unconfirmed_one_is_not_a_conflict(started, db, people):
    """The phone sent edit A (the reply was lost: the server holds A), then the inspector changed
    the item again before A was confirmed. Edit B still carries the old base version, and names A
    as its own earlier write: the server takes it instead of calling it another device's change."""
    inspector = people["inspector"]
    services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="pass", base_version=0,
                         client_id="A")
    stored = services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="fail", note="未着工装",
                                  base_version=0, client_id="B", supersedes=["A"])
    assert stored.result == "fail" and stored.version == 2 and stored.client_id == "B"
    with pytest.raises(Conflict):  # without naming it, it is still a conflict
        services.save_answer(db, actor=inspector, visit=started, item_code="A-01", result="pass", base_version=0,
                             client_id="C")
