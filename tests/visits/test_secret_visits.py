"""Secret visits: blind scheduling, timers, proof, review before release."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.notifications.models import Notification
from inspect_app.rectifications.models import RectificationNotice
from inspect_app.visits import secret, timers
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, Visit, VisitStatus
from tests.secret_helpers import secret_visit


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def test_rotation_refuses_the_same_shopper_within_60_days(app, db, org_tree, people):
    secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        today = clock.today("Asia/Shanghai")
        with pytest.raises(DomainError, match="须间隔 60 天"):
            visits.schedule_visits(db, actor=people["manager"], checklist_code="secret_visit",
                                   outlet_ids=[org_tree["xihu1"].id], assignee=people["shopper"],
                                   due_from=today + dt.timedelta(days=30), due_until=today + dt.timedelta(days=35))
        db.rollback()
        later = visits.schedule_visits(db, actor=people["manager"], checklist_code="secret_visit",
                                       outlet_ids=[org_tree["xihu1"].id], assignee=people["shopper"],
                                       due_from=today + dt.timedelta(days=61), due_until=today + dt.timedelta(days=65))
        assert later  # after the rotation period it is fine
        # another outlet at once is fine too
        assert visits.schedule_visits(db, actor=people["manager"], checklist_code="secret_visit",
                                      outlet_ids=[org_tree["xihu2"].id], assignee=people["shopper"],
                                      due_from=today, due_until=today + dt.timedelta(days=3))


def test_rotation_period_is_configurable(app, db, org_tree, people):
    app.config["ROTATION_DAYS"] = 10
    secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        today = clock.today("Asia/Shanghai")
        assert visits.schedule_visits(db, actor=people["manager"], checklist_code="secret_visit",
                                      outlet_ids=[org_tree["xihu1"].id], assignee=people["shopper"],
                                      due_from=today + dt.timedelta(days=11), due_until=today + dt.timedelta(days=12))


def test_blackout_dates_refuse_scheduling(ctx, db, org_tree, people):
    today = clock.today("Asia/Shanghai")
    visits.add_blackout(db, actor=people["manager"], outlet=org_tree["xihu1"], date_from=today + dt.timedelta(days=2),
                        date_until=today + dt.timedelta(days=4), reason="季度盘点")
    with pytest.raises(DomainError, match="季度盘点"):
        visits.schedule_visits(db, actor=people["manager"], checklist_code="secret_visit",
                               outlet_ids=[org_tree["xihu1"].id], assignee=people["shopper"],
                               due_from=today, due_until=today + dt.timedelta(days=3))
    with pytest.raises(PermissionDenied):
        visits.add_blackout(db, actor=people["other_manager"], outlet=org_tree["xihu1"], date_from=today,
                            date_until=today, reason="不是我的网点")
    # open inspections are not affected by the blackout list
    assert visits.schedule_visits(db, actor=people["manager"], checklist_code="open_inspection",
                                  outlet_ids=[org_tree["xihu1"].id], assignee=people["inspector"],
                                  due_from=today, due_until=today + dt.timedelta(days=3))


def test_timers_in_order_and_scored(app, db, org_tree, people):
    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                  outlet=org_tree["xihu1"], submit=False)
    shopper = people["shopper"]
    with app.test_request_context():
        moments = timers.timer_moments(visit)
        assert timers.durations(visit) == {"queue_wait": 120.0, "service_time": 120.0}
        with pytest.raises(DomainError, match="不能早于"):
            secret.set_timer(db, actor=shopper, visit=visit, name="service_start", at=moments["entry"] - dt.timedelta(seconds=1))
        with pytest.raises(DomainError, match="晚于当前时间"):
            secret.set_timer(db, actor=shopper, visit=visit, name="exit", at=visit.checkin_at + dt.timedelta(hours=3))
        with pytest.raises(DomainError, match="请先撤销后面"):
            secret.set_timer(db, actor=shopper, visit=visit, name="queue_start", at=None, clear=True)
        # a long queue: 9 minutes, 4 started minutes over the 5-minute limit
        secret.set_timer(db, actor=shopper, visit=visit, name="exit", at=None, clear=True)
        secret.set_timer(db, actor=shopper, visit=visit, name="service_end", at=None, clear=True)
        secret.set_timer(db, actor=shopper, visit=visit, name="service_start", at=None, clear=True)
        secret.set_timer(db, actor=shopper, visit=visit, name="service_start",
                         at=moments["queue_start"] + dt.timedelta(minutes=9, seconds=1))
        checklist = visits.checklist_of(db, visit)
        wait_item = next(i for i in checklist.items if i.timer == "queue_wait")
        result = visits.score_visit(checklist, visits.answers_of(db, visit), visit)
        assert result.items[wait_item.code].deduction == min(wait_item.max_deduction, 5 * wait_item.deduct)
        missing, _ = visits.missing_for_submit(checklist, visit, visits.answers_of(db, visit), visits.photos_of(db, visit))
        assert any("计时按钮" in m.message for m in missing)  # service end and exit are gone now


def test_warnings_need_confirming_then_flags_for_the_reviewer(app, db, org_tree, people):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"],
                            submit=False, complete=False)
    with app.test_request_context():
        with pytest.raises(visits.IncompleteVisit) as exc:
            visits.submit_visit(db, actor=people["shopper"], visit=visit, token="w")
        assert not exc.value.missing
        messages = " ".join(w.message for w in exc.value.warnings)
        assert "缺少凭证" in messages and "总体印象至少需要 80 字" in messages
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="w", accept_warnings=True)
        assert visit.status == VisitStatus.in_review
        flags = {f.code for f in secret.review_flags(db, visit)}
        assert {"no_receipt", "short_impression", "few_photos"} <= flags
    assert not db.exec(select(RectificationNotice)).all()  # nothing for the outlet before release


def test_far_checkin_and_reused_photo_flagged(app, db, org_tree, people, create_user):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        assert not {"far_checkin", "reused_photo"} & {f.code for f in secret.review_flags(db, visit)}
        visit.checkin_lat = org_tree["xihu1"].lat + 0.02  # about 2.2 km north
        flags = {f.code: f.message for f in secret.review_flags(db, visit)}
        assert "far_checkin" in flags and "米" in flags["far_checkin"]
    db.rollback()
    other_shopper = create_user("shopper", code_name="暗访员B02")
    secret_visit(app, db, manager=people["manager"], shopper=other_shopper, outlet=org_tree["xihu2"])  # same pictures
    with app.test_request_context():
        assert "reused_photo" in {f.code for f in secret.review_flags(db, db.get(Visit, visit.id))}


def test_review_correct_return_release(app, db, org_tree, people):
    visit, failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    reviewer, shopper = people["reviewer"], people["shopper"]
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            secret.return_visit(db, actor=people["inspector"], visit=visit, comment="检查员不能审核")
        with pytest.raises(DomainError, match="更正理由"):
            secret.correct_answer(db, actor=reviewer, visit=visit, item_code=failed, reason="", result="pass")
        secret.correct_answer(db, actor=reviewer, visit=visit, item_code=failed, reason="照片显示已起身迎候", result="pass")
        assert db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == failed)).one().result == "pass"
        corrected = db.exec(select(AuditEvent).where(AuditEvent.action == "answer.corrected")).one()
        assert corrected.before["result"] == "fail" and corrected.note == "照片显示已起身迎候"
        secret.correct_answer(db, actor=reviewer, visit=visit, item_code=failed, reason="复核录像,确未迎候", result="fail")
        secret.return_visit(db, actor=reviewer, visit=visit, comment="请补充小票照片的清晰版本")
        assert visit.status == VisitStatus.returned
        assert db.exec(select(Notification).where(Notification.user_id == shopper.id,
                                                  Notification.kind == "visit_returned")).one()
        with pytest.raises(DomainError):
            visits.release_visit(db, actor=reviewer, visit=visit)
        visits.submit_visit(db, actor=shopper, visit=visit, token="again")
        assert visit.status == VisitStatus.in_review
        visits.release_visit(db, actor=reviewer, visit=visit)
        assert visit.status == VisitStatus.released
    db.commit()
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    assert notice.issued_by_id == reviewer.id


def test_shopper_sees_only_own_visits(app, db, org_tree, people, client_as, create_user):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"],
                            submit=False)
    other = create_user("shopper", code_name="暗访员C03")
    assert client_as(other).get(f"/visits/{visit.id}").status_code == 404
    mine = client_as(people["shopper"])
    page = mine.get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    assert "计时" in page and "西湖区文三路邮政营业所" in page
    assert "330106001" not in page  # the outlet's internal code is none of the shopper's business
    for url in ("/outlets", "/board", "/review", "/schedule", f"/outlets/{org_tree['xihu1'].id}", "/notices"):
        assert mine.get(url).status_code in (403, 404), url
