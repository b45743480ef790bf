"""The rules of complaints, callbacks and accountability, through the services: every transition of
both tables, deadlines in the outlet's zone, overdue and escalation, and each bad input refused
with its message and nothing written."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.complaints import services
from inspect_app.complaints.lifecycle import ACCOUNTABILITY, COMPLAINT
from inspect_app.complaints.models import (
    Accountability,
    AccountabilityStatus,
    Callback,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
)
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.notifications.models import Notification
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
from tests.complaints.helpers import PINNED, concluded, register

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


# --- the tables ---------------------------------------------------------------------------------------

#: The lives as the issue tells them, written out independently of the tables they pin down.
COMPLAINT_LIFE = {
    "take": ({"registered"}, "handling"),
    "contact": ({"handling"}, None),
    "note": ({"handling"}, None),
    "photo": ({"handling"}, None),
    "hand_on": ({"handling"}, "handling"),
    "conclude": ({"handling"}, "closed"),
    "raise_lines": ({"closed", "called_back"}, None),
    "callback": ({"closed"}, "called_back"),
    "reopen": ({"closed"}, "handling"),
}
ACCOUNTABILITY_LIFE = {
    "decide": ({"proposed"}, "decided"),
    "drop": ({"proposed"}, "revoked"),
    "acknowledge": ({"decided"}, "acknowledged"),
    "appeal": ({"decided"}, "appealed"),
    "decide_appeal": ({"appealed"}, None),
}


@pytest.mark.parametrize("table, life, statuses", [(COMPLAINT, COMPLAINT_LIFE, set(ComplaintStatus)),
                                                    (ACCOUNTABILITY, ACCOUNTABILITY_LIFE, set(AccountabilityStatus))])
def test_the_tables_say_what_the_issue_says(table, life, statuses):
    assert {a: (set(t.sources), t.target) for a, t in table.transitions.items()} == life
    for transition in table.transitions.values():
        assert transition.sources <= statuses
        assert transition.target is None or transition.target in statuses


def _walk(table, action, status, obj, act):
    if table.allows(action, status):
        act()
        target = table[action].target
        assert obj.status == (target or status) or (action, obj.status) in {
            ("decide_appeal", "decided"), ("decide_appeal", "revoked")}
    else:
        with pytest.raises(DomainError) as refused:
            act()
        assert not isinstance(refused.value, PermissionDenied), refused.value.message
        assert obj.status == status


COMPLAINT_ACTIONS = {
    "take": lambda db, c, p: services.take(db, actor=p["handler"], complaint=c),
    "contact": lambda db, c, p: services.record_contact(db, actor=p["handler"], complaint=c, note="已致电客户"),
    "note": lambda db, c, p: services.add_note(db, actor=p["handler"], complaint=c, text="调取录像核实"),
    "hand_on": lambda db, c, p: services.hand_on(db, actor=p["handler"], complaint=c, to_user=p["colleague"],
                                                 reason="涉及跨市邮件"),
    "conclude": lambda db, c, p: services.conclude(db, actor=p["handler"], complaint=c, verdict="substantiated",
                                                   reasons="录像属实", grade=1),
    "raise_lines": lambda db, c, p: services.raise_lines(db, actor=p["handler"], complaint=c,
                                                         requirements=["服务规范复训"], severity="general"),
    "callback": lambda db, c, p: services.call_back(db, actor=p["handler"], complaint=c, satisfaction="satisfied"),
    "reopen": lambda db, c, p: services.call_back(db, actor=p["handler"], complaint=c, satisfaction="unsatisfied",
                                                  note="客户认为处理过轻"),
}


@pytest.mark.parametrize("status, action", list(itertools.product(list(ComplaintStatus), COMPLAINT_ACTIONS)))
def test_every_complaint_status_and_action(db, org_tree, people, create_user, status, action):
    actors = {"handler": people["handler"], "colleague": create_user("handler", unit=org_tree["province"])}
    complaint = register(db, people, org_tree)
    complaint.status, complaint.owner_id = status, people["handler"].id
    complaint.verdict = "substantiated" if status in (ComplaintStatus.closed, ComplaintStatus.called_back) else None
    db.add(complaint)
    db.flush()
    _walk(COMPLAINT, action, status, complaint, lambda: COMPLAINT_ACTIONS[action](db, complaint, actors))
    db.rollback()


ACCOUNTABILITY_ACTIONS = {
    "decide": lambda db, r, p: services.decide_accountability(db, actor=p["manager"], record_=r, grade=2),
    "drop": lambda db, r, p: services.drop_accountability(db, actor=p["manager"], record_=r, reason="证据不足"),
    "acknowledge": lambda db, r, p: services.acknowledge_accountability(db, actor=p["chief"], record_=r),
    "appeal": lambda db, r, p: services.appeal_accountability(db, actor=p["chief"], record_=r, reason="已获客户谅解"),
    "decide_appeal": lambda db, r, p: services.decide_appeal(db, actor=p["manager"], record_=r, outcome="uphold",
                                                             reason="事实清楚"),
}


@pytest.mark.parametrize("status, action", list(itertools.product(list(AccountabilityStatus), ACCOUNTABILITY_ACTIONS)))
def test_every_accountability_status_and_action(db, org_tree, people, staff, status, action):
    complaint = concluded(db, people, org_tree, staff=staff["clerk"])
    record_ = services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                           reason="服务态度差,有理投诉")
    record_.status = status
    db.add(record_)
    db.flush()
    _walk(ACCOUNTABILITY, action, status, record_, lambda: ACCOUNTABILITY_ACTIONS[action](db, record_, people))
    db.rollback()


def test_the_wrong_side_is_forbidden_on_every_action(db, org_tree, people, staff):
    complaint = register(db, people, org_tree)
    for actor in ("manager", "chief", "inspector", "other_handler", "admin"):
        with pytest.raises(PermissionDenied):
            services.take(db, actor=people[actor], complaint=complaint)
    services.take(db, actor=people["handler"], complaint=complaint)
    # once taken, only its owner works on it, not a colleague who merely sees it
    with pytest.raises(PermissionDenied, match="首问负责人"):
        services.add_note(db, actor=people["admin"], complaint=complaint, text="越权记录")
    closed = concluded(db, people, org_tree, staff=staff["clerk"])
    record_ = services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=closed,
                                           reason="服务态度差")
    for actor in ("handler", "chief", "other_manager", "inspector"):
        with pytest.raises(PermissionDenied):
            services.decide_accountability(db, actor=people[actor], record_=record_, grade=1)
    services.decide_accountability(db, actor=people["manager"], record_=record_, grade=1)
    for actor in ("manager", "other_chief", "handler"):
        with pytest.raises(PermissionDenied):
            services.acknowledge_accountability(db, actor=people[actor], record_=record_)


# --- the register and its deadlines ------------------------------------------------------------------------

def test_registering_numbers_it_by_the_outlets_month_and_counts_deadlines_in_its_zone(db, org_tree, people, staff):
    # received 16:00 UTC on 1 December = 00:00 on 2 December in Shanghai
    received = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.timezone.utc)
    complaint = register(db, people, org_tree, source="appeal", received=received, staff=staff["clerk"])
    assert complaint.number == f"TS202612-{complaint.id:05d}"
    assert complaint.status == ComplaintStatus.registered and complaint.owner_id is None
    assert complaint.contact_due_at == received + dt.timedelta(hours=12)
    # an appeal resolves within 5 days: the end of 7 December, Shanghai time (16:00 UTC)
    assert complaint.resolve_due_at == dt.datetime(2026, 12, 7, 16, 0, tzinfo=dt.timezone.utc)
    hotline = register(db, people, org_tree, source="hotline", received=received)
    assert hotline.resolve_due_at == dt.datetime(2026, 12, 9, 16, 0, tzinfo=dt.timezone.utc)
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "complaint.registered",
                                             AuditEvent.object_id == complaint.id)).one()
    assert "13812345678" not in str(event.after) and "张三" not in str(event.after)


def test_deadlines_follow_the_configuration(app, db, org_tree, people):
    app.config["COMPLAINT_DEADLINES"] = "appeal=6/2"
    received = clock.now() - dt.timedelta(hours=1)
    complaint = register(db, people, org_tree, source="appeal", received=received)
    assert complaint.contact_due_at == received + dt.timedelta(hours=6)
    assert clock.local_date(complaint.resolve_due_at - dt.timedelta(seconds=1), "Asia/Shanghai") == \
        clock.local_date(received, "Asia/Shanghai") + dt.timedelta(days=2)


@pytest.mark.parametrize("setting, value", [
    ("COMPLAINT_DEADLINES", "fax=1/1"), ("COMPLAINT_DEADLINES", "appeal=soon"), ("COMPLAINT_DEADLINES", "appeal=0/3"),
    ("ACCOUNTABILITY_AMOUNTS", "600,abc"), ("ACCOUNTABILITY_AMOUNTS", "2000,600"), ("COMPLAINT_CATEGORIES", "态度,态度"),
])
def test_a_bad_setting_stops_the_start_with_its_reason(app, setting, value):
    from inspect_app.complaints import settings
    with pytest.raises(settings.SettingsError, match=setting):
        settings.validate({**app.config, setting: value})


@pytest.mark.parametrize("change, message", [
    (dict(outlet="haishu1"), "不在您的管辖范围"),
    (dict(source="fax"), "来源"),
    (dict(category="天气"), "类别"),
    (dict(account=" "), "客户反映的情况"),
    (dict(customer_phone="call me"), "电话号码无效"),
    (dict(received="future"), "晚于现在"),
    (dict(received="ancient"), "天前"),
    (dict(staff="elsewhere"), "不在"),
])
def test_bad_registrations_are_refused_and_write_nothing(db, org_tree, people, staff, change, message):
    kwargs = dict(source=change.get("source", "hotline"), outlet=change.get("outlet", "xihu1"))
    received = {"future": clock.now() + dt.timedelta(hours=2), "ancient": clock.now() - dt.timedelta(days=120)}
    with pytest.raises(DomainError, match=message):
        services.register_complaint(
            db, actor=people["handler"], outlet=org_tree[kwargs["outlet"]], source=kwargs["source"],
            received_at=received.get(change.get("received"), clock.now() - dt.timedelta(hours=1)),
            category=change.get("category", "服务态度"), account=change.get("account", "态度生硬"),
            customer_phone=change.get("customer_phone", ""),
            staff_id=staff[change["staff"]].id if "staff" in change else None)
    db.rollback()
    assert db.exec(select(Complaint)).all() == []


def test_only_handlers_register(db, org_tree, people):
    for role in ("manager", "admin", "chief", "inspector"):
        with pytest.raises(PermissionDenied):
            services.register_complaint(db, actor=people[role], outlet=org_tree["xihu1"], source="phone",
                                        received_at=clock.now(), category="时限", account="邮件延误")


def test_overdue_and_escalation_like_rectification_lines(db, org_tree, people, clock_at, create_user):
    city_manager = people["manager"]  # Hangzhou: one unit above the county
    complaint = register(db, people, org_tree, source="onsite")  # contact within 2 h, resolved in 3 days
    db.commit()
    assert not services.is_overdue(complaint)
    clock_at(clock.now() + dt.timedelta(hours=3))
    assert services.contact_overdue(complaint) and not services.resolve_overdue(complaint)
    # the day before the deadline: the handlers hear of it (nobody owns it yet)
    clock_at(complaint.resolve_due_at - dt.timedelta(hours=5))
    assert services.sweep(db)["complaints_due"] == 1
    assert services.sweep(db)["complaints_due"] == 0  # once
    assert db.exec(select(Notification).where(Notification.user_id == people["handler"].id,
                                              Notification.kind == "complaint_due")).one()
    clock_at(complaint.resolve_due_at + dt.timedelta(hours=1))
    assert services.resolve_overdue(complaint) and services.escalation_steps(complaint, "Asia/Shanghai") == 1
    sent = services.sweep(db)
    assert sent["complaints_escalated"] == 1
    note = db.exec(select(Notification).where(Notification.kind == "complaint_escalated")).one()
    assert note.user_id == city_manager.id
    # three days later it climbs to the province
    clock_at(complaint.resolve_due_at + dt.timedelta(days=3, hours=1))
    services.sweep(db)
    assert {n.user_id for n in db.exec(select(Notification).where(Notification.kind == "complaint_escalated"))} == \
        {city_manager.id, people["director"].id}


def test_first_contact_reminded_before_and_a_missed_one_escalated_once(db, org_tree, people, clock_at):
    received = clock.now()
    late = register(db, people, org_tree, source="phone", received=received)  # first contact within 24 h
    on_time = register(db, people, org_tree, source="phone", received=received)
    db.commit()

    def sweep() -> list[int]:
        sent = services.sweep(db)
        return [sent["complaints_contact_due"], sent["complaints_contact_escalated"]]

    assert sweep() == [0, 0]
    clock_at(received + dt.timedelta(hours=17))  # 7 hours left: a quarter (6 h) not reached yet
    assert sweep() == [0, 0]
    clock_at(received + dt.timedelta(hours=19))
    # nobody has taken them: the region's handlers hear of both, once
    assert sweep() == [2, 0]
    assert sweep() == [0, 0]
    services.take(db, actor=people["handler"], complaint=on_time)
    services.record_contact(db, actor=people["handler"], complaint=on_time, note="已致电客户")
    db.commit()
    clock_at(received + dt.timedelta(hours=24, minutes=1))
    assert sweep() == [0, 1]
    for hours in (25, 30, 48):  # however often the sweep runs
        clock_at(received + dt.timedelta(hours=hours))
        assert sweep() == [0, 0]
    db.commit()
    reminders = db.exec(select(Notification).where(Notification.kind == "complaint_contact_due")).all()
    assert sorted(n.params["number"] for n in reminders) == sorted([late.number, on_time.number])
    assert {n.user_id for n in reminders} == {people["handler"].id}
    # 16:30 UTC on 2 December is already the 3rd at the outlet (Shanghai): its clock, not the host's
    assert reminders[0].params["deadline"] == "2026-12-03 00:30"
    missed = db.exec(select(Notification).where(Notification.kind == "complaint_contact_missed")).one()
    # the unit above the outlet's county: Hangzhou's managers, like a late resolution's first step
    assert missed.user_id == people["manager"].id and missed.params["number"] == late.number
    assert db.get(Complaint, late.id).contact_escalated_at is not None
    assert db.get(Complaint, on_time.id).contact_escalated_at is None


# --- handling -----------------------------------------------------------------------------------------

def test_first_contact_owner_keeps_it_until_handing_on(db, org_tree, people, create_user):
    colleague = create_user("handler", unit=org_tree["province"])
    complaint = register(db, people, org_tree)
    services.take(db, actor=people["handler"], complaint=complaint)
    assert complaint.first_owner_id == complaint.owner_id == people["handler"].id
    with pytest.raises(DomainError, match="转交原因"):
        services.hand_on(db, actor=people["handler"], complaint=complaint, to_user=colleague, reason="")
    with pytest.raises(DomainError, match="其他投诉处理人员"):
        services.hand_on(db, actor=people["handler"], complaint=complaint, to_user=people["other_handler"],
                         reason="宁波的同事")  # out of the outlet's region
    with pytest.raises(DomainError, match="其他投诉处理人员"):
        services.hand_on(db, actor=people["handler"], complaint=complaint, to_user=people["manager"], reason="给经理")
    services.hand_on(db, actor=people["handler"], complaint=complaint, to_user=colleague, reason="涉及跨市邮件")
    assert complaint.owner_id == colleague.id and complaint.first_owner_id == people["handler"].id
    with pytest.raises(PermissionDenied):
        services.add_note(db, actor=people["handler"], complaint=complaint, text="已经转走了")
    services.conclude(db, actor=colleague, complaint=complaint, verdict="unfounded", reasons="轨迹正常")
    assert not services.first_contact_resolved(complaint)
    handed = db.exec(select(ComplaintEvent).where(ComplaintEvent.action == "handed_on")).one()
    assert handed.to_user_id == colleague.id and handed.text == "涉及跨市邮件"


def test_first_contact_stamped_once(db, org_tree, people, clock_at):
    complaint = register(db, people, org_tree)
    services.take(db, actor=people["handler"], complaint=complaint)
    services.record_contact(db, actor=people["handler"], complaint=complaint, note="致电致歉")
    first = complaint.contacted_at
    clock_at(clock.now() + dt.timedelta(hours=2))
    services.record_contact(db, actor=people["handler"], complaint=complaint, note="再次沟通")
    assert complaint.contacted_at == first


@pytest.mark.parametrize("kwargs, message", [
    (dict(verdict="maybe", reasons="x x", grade=None), "有理、部分有理或无理"),
    (dict(verdict="substantiated", reasons="", grade=1), "结论理由"),
    (dict(verdict="substantiated", reasons="录像属实", grade=None), "须定级"),
    (dict(verdict="substantiated", reasons="录像属实", grade=9), "须定级"),
    (dict(verdict="unfounded", reasons="轨迹正常", grade=2), "无理投诉不定级"),
    (dict(verdict="unfounded", reasons="轨迹正常", grade=None, requirements=["整改一下"]), "无理投诉不下发整改"),
])
def test_a_conclusion_needs_reasons_and_a_grade_only_when_at_fault(db, org_tree, people, kwargs, message):
    complaint = register(db, people, org_tree)
    services.take(db, actor=people["handler"], complaint=complaint)
    db.commit()
    with pytest.raises(DomainError, match=message):
        services.conclude(db, actor=people["handler"], complaint=complaint, **kwargs)
    db.rollback()
    assert db.get(Complaint, complaint.id).status == ComplaintStatus.handling
    assert db.exec(select(RectificationNotice)).all() == []


def test_a_substantiated_complaint_raises_lines_the_same_loop_as_findings(db, org_tree, people, staff):
    complaint = concluded(db, people, org_tree, staff=staff["clerk"],
                          requirements=["营业员服务规范复训", "营业厅公示投诉电话"])
    notice = db.get(RectificationNotice, complaint.notice_id)
    assert notice.visit_id is None and notice.origin == f"投诉 {complaint.number}"
    lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                    .order_by(RectificationLine.id)).all()
    assert [line.item_code for line in lines] == ["TS-1", "TS-2"]
    assert {line.staff_id for line in lines} == {staff["clerk"].id}
    assert lines[0].checklist_kind == "complaint" and lines[0].responsible_id == people["chief"].id
    # the outlet acknowledges, answers; the complaint handler (no visit, no inspector) verifies
    rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
    from inspect_app.evidence.storage import get_storage
    from tests.secret_helpers import jpeg
    rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=lines[0], data=jpeg((0, 90, 0)), client_id=None)
    rect.answer_line(db, actor=people["chief"], line=lines[0], description="已组织复训并签到")
    with pytest.raises(PermissionDenied):
        rect.verify_line(db, actor=people["other_handler"], line=lines[0], accept=True)
    rect.verify_line(db, actor=people["handler"], line=lines[0], accept=True)
    assert lines[0].status == LineStatus.closed
    # a dispute upheld... or withdrawn: no visit score to correct
    rect.dispute_line(db, actor=people["chief"], line=lines[1], reason="已公示,见照片")
    rect.decide_dispute(db, actor=people["manager"], line=lines[1], uphold=False, reason="核实已公示")
    assert lines[1].status == LineStatus.withdrawn
    # once raised, not twice
    with pytest.raises(DomainError, match="已下发整改通知书"):
        services.raise_lines(db, actor=people["handler"], complaint=complaint, requirements=["再来一项"],
                             severity="general")


def test_lines_can_follow_the_conclusion_and_need_a_text(db, org_tree, people):
    complaint = concluded(db, people, org_tree)
    with pytest.raises(DomainError, match="至少填写一项"):
        services.raise_lines(db, actor=people["handler"], complaint=complaint, requirements=["  "], severity="general")
    services.raise_lines(db, actor=people["handler"], complaint=complaint, requirements=["收费公示"], severity="urgent")
    line = db.exec(select(RectificationLine)).one()
    assert line.deadline_date == clock.today("Asia/Shanghai") + dt.timedelta(days=1)
    unfounded = concluded(db, people, org_tree, verdict="unfounded")
    with pytest.raises(DomainError, match="无理投诉不下发整改"):
        services.raise_lines(db, actor=people["handler"], complaint=unfounded, requirements=["x"], severity="general")


# --- callbacks ---------------------------------------------------------------------------------------

def test_callback_only_after_closure_and_unsatisfied_reopens(db, org_tree, people, clock_at):
    complaint = register(db, people, org_tree)
    with pytest.raises(DomainError, match="尚未办结"):
        services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="satisfied")
    services.take(db, actor=people["handler"], complaint=complaint)
    with pytest.raises(DomainError, match="尚未办结"):
        services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="satisfied")
    assert db.exec(select(Callback)).all() == []
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict="partly", reasons="部分属实", grade=1)
    with pytest.raises(DomainError, match="客户意见"):
        services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="unsatisfied", note="")
    clock_at(clock.now() + dt.timedelta(days=2))
    services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="unsatisfied",
                       note="客户认为处理过轻")
    assert complaint.status == ComplaintStatus.handling and complaint.reopened == 1
    assert complaint.resolve_due_at > clock.now() + dt.timedelta(days=6)  # a new deadline from the reopening
    assert not services.first_contact_resolved(complaint)
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="重新核实属实",
                      grade=2)
    services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="basic")
    assert complaint.status == ComplaintStatus.called_back
    with pytest.raises(DomainError, match="已回访过"):
        services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="satisfied")
    assert [c.satisfaction for c in db.exec(select(Callback).order_by(Callback.id))] == ["unsatisfied", "basic"]


def test_key_customer_callbacks_follow_their_tier(db, org_tree, people, clock_at):
    today = clock.today("Asia/Shanghai")  # 2 December in Shanghai while it is 1 December in UTC
    assert today == dt.date(2026, 12, 2)
    weekly = services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu1"], name="浙江大学后勤集团",
                                       tier="weekly", contact_name="李经理", contact_phone="0571-88888888",
                                       start_date=today - dt.timedelta(days=10))
    monthly = services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu1"], name="西湖区法院",
                                        tier="monthly", start_date=today + dt.timedelta(days=1))
    from inspect_app.complaints import queries
    due = queries.callbacks_due(db, people["handler"])
    assert [(d.customer.name, d.overdue_days) for d in due] == [("浙江大学后勤集团", 10)]
    services.call_key_customer(db, actor=people["handler"], customer=weekly, satisfaction="satisfied")
    assert queries.callbacks_due(db, people["handler"]) == []
    later = {d.customer.name: d.due for d in queries.callbacks_due(db, people["handler"], include_later=True)}
    assert later == {"浙江大学后勤集团": today + dt.timedelta(days=7), "西湖区法院": today + dt.timedelta(days=1)}
    assert services.next_due(monthly, dt.date(2027, 1, 31)) == dt.date(2027, 3, 1)
    with pytest.raises(DomainError, match="已在本网点的回访计划中"):
        services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu1"], name="西湖区法院", tier="weekly")
    with pytest.raises(DomainError, match="回访周期"):
        services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu1"], name="新客户", tier="daily")
    with pytest.raises(PermissionDenied):
        services.call_key_customer(db, actor=people["other_handler"], customer=weekly, satisfaction="satisfied")
    with pytest.raises(PermissionDenied):
        services.add_key_customer(db, actor=people["manager"], outlet=org_tree["xihu1"], name="某公司", tier="weekly")


# --- accountability --------------------------------------------------------------------------------

def test_accountability_decided_acknowledged_or_appealed_once(db, org_tree, people, staff, app):
    complaint = concluded(db, people, org_tree, staff=staff["clerk"], grade=2)
    with pytest.raises(DomainError, match="选择本网点被问责的员工"):
        services.open_accountability(db, actor=people["handler"], staff=staff["elsewhere"], complaint=complaint,
                                     reason="不是本网点的人")
    record_ = services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                           reason="服务态度差,有理投诉")
    assert record_.grade == 2 and record_.status == AccountabilityStatus.proposed
    with pytest.raises(DomainError, match="已因此事被问责"):
        services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint, reason="再来")
    with pytest.raises(DomainError, match="不在标准表内"):
        services.decide_accountability(db, actor=people["manager"], record_=record_, grade=2, amount=3000)
    assert record_.status == AccountabilityStatus.proposed
    services.decide_accountability(db, actor=people["manager"], record_=record_, grade=2)
    assert (record_.amount, record_.status) == (2000, AccountabilityStatus.decided)
    assert db.exec(select(Notification).where(Notification.kind == "accountability_decided",
                                              Notification.user_id == people["chief"].id)).one()
    services.appeal_accountability(db, actor=people["chief"], record_=record_, reason="当事人已获客户谅解")
    services.decide_appeal(db, actor=people["manager"], record_=record_, outcome="revise", reason="酌情从轻", grade=1)
    assert (record_.grade, record_.amount, record_.status) == (1, 600, AccountabilityStatus.decided)
    with pytest.raises(DomainError, match="只能申诉一次"):
        services.appeal_accountability(db, actor=people["chief"], record_=record_, reason="再申诉")
    services.acknowledge_accountability(db, actor=people["chief"], record_=record_)
    assert record_.status == AccountabilityStatus.acknowledged
    steps = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.object_type == "accountability",
                                                                AuditEvent.object_id == record_.id).order_by(AuditEvent.id))]
    assert steps == ["accountability.opened", "accountability.decided", "accountability.appealed",
                     "accountability.appeal_revise", "accountability.acknowledged"]
    app.config["ACCOUNTABILITY_AMOUNTS"] = "500,1000"
    other = concluded(db, people, org_tree, staff=staff["courier"])
    second = services.open_accountability(db, actor=people["manager"], staff=staff["courier"], complaint=other,
                                          reason="配合不力")
    with pytest.raises(DomainError, match="请选择等级"):
        services.decide_accountability(db, actor=people["manager"], record_=second, grade=3)
    services.decide_accountability(db, actor=people["manager"], record_=second, grade=2)
    assert second.amount == 1000


def test_accountability_only_for_fault(db, org_tree, people, staff):
    unfounded = concluded(db, people, org_tree, verdict="unfounded", staff=staff["clerk"])
    with pytest.raises(DomainError, match="只有有理投诉"):
        services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=unfounded, reason="x x")
    with pytest.raises(PermissionDenied):
        services.open_accountability(db, actor=people["chief"], staff=staff["clerk"],
                                     complaint=concluded(db, people, org_tree), reason="网点自己不能提")
    assert db.exec(select(Accountability)).all() == []


def test_accountability_waits_for_the_conclusion_of_a_reopened_complaint(db, org_tree, people, staff):
    complaint = concluded(db, people, org_tree, staff=staff["clerk"])
    services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="unsatisfied", note="处理过轻")
    assert complaint.status == ComplaintStatus.handling and complaint.verdict == "substantiated"
    db.commit()
    with pytest.raises(DomainError, match="问责在办结之后"):
        services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                     reason="服务态度差")
    db.rollback()
    assert db.exec(select(Accountability)).all() == []
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="复核属实",
                      grade=2)
    assert services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                        reason="服务态度差").grade == 2


def test_a_complaint_concluded_again_keeps_its_first_notice(db, org_tree, people, staff):
    complaint = concluded(db, people, org_tree, requirements=["营业员服务规范复训"])
    first = complaint.notice_id
    services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="unsatisfied", note="仍未整改")
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="复核属实",
                      grade=1, requirements=["网点负责人每周抽查录像"])
    assert complaint.notice_id != first
    notices = services.notices_of(db, complaint)
    assert [n.id for n in notices] == [first, complaint.notice_id]
    assert all(services.complaint_of_notice(db, n) is complaint for n in notices)
    other = concluded(db, people, org_tree, requirements=["收费公示"])
    assert services.notices_of(db, other) == [db.get(RectificationNotice, other.notice_id)]


def test_complaint_grades_are_configured_apart_from_the_money_table(app, db, org_tree, people, staff):
    from inspect_app.complaints import settings
    assert [name for _n, name in settings.complaint_grades()] == ["一般", "较重", "严重", "特别严重"]
    complaint = register(db, people, org_tree, staff=staff["clerk"])
    services.take(db, actor=people["handler"], complaint=complaint)
    with pytest.raises(DomainError, match="须定级"):
        services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="属实",
                          grade=5)
    app.config["COMPLAINT_GRADES"] = "一级,二级,三级,四级,五级"
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="属实", grade=5)
    assert settings.complaint_grade_label(5) == "五级" and len(settings.grades()) == 4  # the money table: 4 grades
    record_ = services.open_accountability(db, actor=people["handler"], staff=staff["clerk"], complaint=complaint,
                                           reason="服务态度差")
    assert record_.grade is None  # no fifth grade in the table: the manager chooses one
    services.decide_accountability(db, actor=people["manager"], record_=record_, grade=4)
    assert record_.amount == 10000
    with pytest.raises(settings.SettingsError, match="COMPLAINT_GRADES"):
        settings.validate({**app.config, "COMPLAINT_GRADES": "一级,一级"})


def test_a_red_line_finding_can_open_accountability(app, db, org_tree, people, staff):
    from tests.visit_helpers import release_mini_visit
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-02": dict(result="fail", note="辱骂顾客"),
                                                                         "B-03": dict(result="fail", note="设备损坏")})
    line = db.exec(select(RectificationLine).where(RectificationLine.item_code == "B-02")).one()
    assert line.red_line
    record_ = services.open_accountability(db, actor=people["manager"], staff=staff["clerk"], line=line,
                                           reason="辱骂顾客,红线问题")
    assert record_.line_id == line.id and record_.complaint_id is None
    ordinary = db.exec(select(RectificationLine).where(RectificationLine.item_code == "B-03")).one()
    with pytest.raises(DomainError, match="只有红线问题"):
        services.open_accountability(db, actor=people["manager"], staff=staff["clerk"], line=ordinary, reason="x x")


def test_commendations_by_month_once(db, org_tree, people, staff, clock_at):
    services.commend(db, actor=people["manager"], staff=staff["clerk"], month=dt.date(2026, 11, 15), title="服务之星",
                     reason="全月零差错")
    with pytest.raises(DomainError, match="已获“服务之星”表彰"):
        services.commend(db, actor=people["manager"], staff=staff["clerk"], month=dt.date(2026, 11, 1), title="服务之星",
                         reason="")
    with pytest.raises(PermissionDenied):
        services.commend(db, actor=people["other_manager"], staff=staff["clerk"], month=dt.date(2026, 11, 1),
                         title="服务之星", reason="")
    # 16:30 UTC on 30 November is already 1 December in Shanghai: December is not "the future" there
    clock_at("2026-11-30T16:30:00Z")
    services.commend(db, actor=people["manager"], staff=staff["clerk"], month=dt.date(2026, 12, 1), title="服务之星",
                     reason="")
    with pytest.raises(DomainError, match="将来"):
        services.commend(db, actor=people["manager"], staff=staff["clerk"], month=dt.date(2027, 1, 1), title="服务之星",
                         reason="")


def test_contact_details_for_handlers_only_not_even_masked(db, org_tree, people):
    complaint = register(db, people, org_tree)
    assert services.contact_of(people["handler"], complaint) == ("张三", "13812345678")
    for role in ("admin", "manager", "director", "reviewer", "chief", "inspector"):
        assert services.contact_of(people[role], complaint) is None


@pytest.mark.parametrize("text, expected", [
    ("电话13812345678", "电话[已隐去]"),
    ("电话 139 1234 5678 或 139-1234-5678", "电话 [已隐去] 或 [已隐去]"),
    ("+86 13912345678", "[已隐去]"),
    ("座机0571-87654321,(0571) 8765 4321,010 1234 5678", "座机[已隐去],[已隐去],[已隐去]"),
    ("身份证330106199001011234,33010619900101123X", "身份证[已隐去],[已隐去]"),
    ("邮箱 zhang.san@example.com.cn", "邮箱 [已隐去]"),
    ("已致电孙女士致歉", "已致电[已隐去]致歉"),          # the surname with a title, for 孙丽萍
    ("孙丽萍说孙大圣的邮件丢了", "[已隐去]说孙大圣的邮件丢了"),
    # what is not personal stays: waybills, amounts, dates, another number
    ("运单EA123456789CN,订单1234567890123456,退款12元,2026-12-01 09:30", None),
    ("回电8765 4321", "回电[已隐去]"),                    # the customer's own number, however spaced
])
def test_redaction_takes_contact_details_out_of_text(ctx, text, expected):
    from inspect_app.complaints import privacy
    result = privacy.redact(text, names=["孙丽萍"], phones=["87654321"])
    assert result == (text if expected is None else expected)


def test_loading_out_of_scope_is_not_found(db, org_tree, people):
    complaint = register(db, people, org_tree)
    for role in ("other_handler", "other_manager", "other_chief", "inspector", "shopper"):
        with pytest.raises(NotFound):
            services.load_complaint_for(db, people[role], complaint.id)
    for role in ("handler", "manager", "director", "reviewer", "chief", "admin"):
        assert services.load_complaint_for(db, people[role], complaint.id) is complaint
