"""Every kind of event, walked through the services with everyone wanting e-mail and every group
channel of the province listening to everything: what leaves the app is checked against the two
secrets — a secret visit before release (reviewers only), a customer's contact details (never)."""
from __future__ import annotations

import datetime as dt

from sqlmodel import select

from inspect_app import clock
from inspect_app.auth.models import Role
from inspect_app.channels.events import GROUP_KINDS
from inspect_app.channels.models import Delivery
from inspect_app.complaints import services as complaints
from inspect_app.evidence.storage import get_storage
from inspect_app.jobs import queue
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits import secret
from inspect_app.visits import services as visits
from tests.receivers import SmtpInbox
from tests.secret_helpers import jpeg, secret_visit
from tests.visit_helpers import release_mini_visit

CUSTOMER = ("张三", "13812345678", "138 1234 5678", "138-1234-5678")
#: What the walk must have sent at least once (every event of the issue).
EVERY_EVENT = {"notice_issued", "due_soon", "line_overdue", "escalated", "line_answered", "line_returned",
               "dispute_upheld", "visit_review", "visit_returned", "complaint_assigned", "complaint_due",
               "bulletin_published"}


class Outbox:
    """Everything that left: (where, text), where is an e-mail address or a robot."""

    def __init__(self, inbox, robots):
        self.inbox, self.robots = inbox, robots

    def all(self) -> list[tuple[str, str]]:
        mails = [(rcpt, SmtpInbox.text(m)) for rcpts, m in self.inbox.messages for rcpt in rcpts]
        return mails + [(robot, str(p)) for robot, found in self.robots.received.items() for p in found]


def _deadline(db, line, when: dt.datetime) -> None:
    outlet_zone = "Asia/Shanghai"
    line.deadline_date = clock.local_date(when, outlet_zone)
    line.deadline_at = when
    db.add(line)
    db.commit()


def test_every_event_goes_out_and_no_secret_does(app, db, people, org_tree, create_user, smtp_inbox, robots,
                                                add_channel, wants_email, clock_at):
    run = lambda: queue.run_pending(app)  # noqa: E731
    clock_at("2026-12-01T02:00:00Z", tick=True)  # 10:00 in Shanghai, a Tuesday
    people["handler2"] = create_user(Role.handler, unit=org_tree["hz"], username="handler2")
    for name, user in people.items():
        wants_email(user, f"{name}@example.cn")
    for kind, target, secret_ in (("wecom", f"{robots.base}/wecom/send?key=all", ""),
                                  ("dingtalk", f"{robots.base}/dingtalk/send?access_token=all", robots.dingtalk_secret),
                                  ("webhook", f"{robots.base}/hook", robots.hook_secret),
                                  ("email", "province-group@example.cn", "")):
        add_channel(org_tree["province"], kind, target, secret=secret_)
    out = Outbox(smtp_inbox, robots)

    # a secret visit waits for review: its reviewer hears, nobody and no group else
    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                  outlet=org_tree["xihu1"])
    run()
    sent = out.all()
    assert sent and {where for where, _text in sent} == {"reviewer@example.cn"}, sent
    assert all(org_tree["xihu1"].name in text for _where, text in sent)
    # returned to the shopper: the shopper alone
    with app.test_request_context():
        secret.return_visit(db, actor=people["reviewer"], visit=visit, comment="小票照片不清楚,请补拍")
    db.commit()
    run()
    new = out.all()[len(sent):]
    assert {where for where, _text in new} == {"shopper@example.cn"}, new
    assert all("小票照片" not in text for _where, text in new)  # typed words stay in the app
    before_release = len(out.all())
    with app.test_request_context():
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="again")
        visits.release_visit(db, actor=people["reviewer"], visit=db.get(type(visit), visit.id))
    db.commit()
    run()
    released = out.all()[before_release:]
    assert any(where == "wecom" for where, _text in released)  # released: the outlet's groups hear of the notice

    # an open visit's notice, its lines through their life and their deadlines
    opened = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                                {"B-02": dict(result="fail", note="监督牌未张贴"), "B-03": dict(result="fail", note="未按规定着装"),
                                 "A-02": dict(occurrences=2, note="倚靠柜台")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == opened.id)).one()
    lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                    .order_by(RectificationLine.id)).all()
    with app.test_request_context():
        rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
        rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=lines[0], data=jpeg(), client_id=None)
        rect.answer_line(db, actor=people["chief"], line=lines[0], description="已重新张贴服务监督牌")
        rect.verify_line(db, actor=people["inspector"], line=lines[0], accept=False, reason="照片看不清监督电话")
        rect.dispute_line(db, actor=people["chief"], line=lines[1], reason="当日系统故障,已报修")
        rect.decide_dispute(db, actor=people["manager"], line=lines[1], uphold=True, reason="报修单晚于检查时间")
    db.commit()
    now = clock.now()
    _deadline(db, lines[0], now + dt.timedelta(hours=12))   # due within a day
    _deadline(db, lines[1], now - dt.timedelta(hours=2))    # overdue
    _deadline(db, lines[2], now - dt.timedelta(days=4))     # late enough to climb one unit
    # a complaint whose customer left a name and a phone, handed on, due within a day
    with app.test_request_context():
        complaint = complaints.register_complaint(
            db, actor=people["handler"], outlet=org_tree["xihu1"], source="hotline",
            received_at=clock.now() - dt.timedelta(hours=1), category="服务态度",
            account="客户张三(13812345678)称营业员态度生硬", customer_name="张三", customer_phone="13812345678")
        complaints.take(db, actor=people["handler"], complaint=complaint)
        complaints.record_contact(db, actor=people["handler"], complaint=complaint, note="已致电张三 138-1234-5678")
        complaints.hand_on(db, actor=people["handler"], complaint=complaint, to_user=people["handler2"],
                           reason="张三要求换人处理,电话13812345678")
    complaint.resolve_due_at = now + dt.timedelta(hours=10)
    db.add(complaint)
    db.commit()
    result = app.test_cli_runner().invoke(args=["sweep"], catch_exceptions=False)
    assert "Reminders sent: 1, overdue notes: 1, escalations sent: 1" in result.output, result.output
    app.config["BULLETIN_SCHEDULE"] = "33=month"
    app.test_cli_runner().invoke(args=["publish-bulletins"], catch_exceptions=False)
    run()

    deliveries = db.exec(select(Delivery)).all()
    kinds = {d.event for d in deliveries}
    assert EVERY_EVENT <= kinds, EVERY_EVENT - kinds
    assert all(d.status == "sent" for d in deliveries), [(d.event, d.channel, d.error) for d in deliveries
                                                         if d.status != "sent"]
    # groups heard only what groups may: nothing of secret visits under review, nothing of complaints
    group_events = {d.event for d in deliveries if d.channel_id is not None}
    assert group_events <= set(GROUP_KINDS) and "visit_review" not in group_events
    assert not any(e.startswith("complaint") for e in group_events)
    # complaint news reached handlers only
    complaint_mail = {d.user_id for d in deliveries if d.event.startswith("complaint")}
    assert complaint_mail and complaint_mail <= {people["handler"].id, people["handler2"].id}
    # and no customer's contact detail left the app, by any way
    for where, text in out.all():
        for fact in CUSTOMER:
            assert fact not in text, f"{fact} reached {where}"
