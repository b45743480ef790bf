"""Notifications out of the app, against real receivers on loopback: an SMTP server, WeCom and
DingTalk robots that check payloads and signatures, a signed webhook."""
from __future__ import annotations

import datetime as dt

from sqlmodel import select

from inspect_app.channels.models import Channel, Delivery, DeliveryStatus
from inspect_app.db import writing
from inspect_app.jobs import queue
from inspect_app.jobs.models import Job, JobStatus
from inspect_app.rectifications.models import RectificationNotice
from tests.channels.conftest import PUBLIC
from tests.jobs.conftest import wait_for
from tests.receivers import SmtpInbox
from tests.visit_helpers import release_mini_visit


def _notice(app, db, people, org_tree) -> RectificationNotice:
    with writing():  # a worker may be writing meanwhile: take the write lock up front, as requests do
        visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-02": dict(result="fail", note="监督牌未张贴")})
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


def test_a_notice_reaches_the_groups_signed_and_the_chiefs_inbox(app, db, people, org_tree, smtp_inbox, robots,
                                                                 add_channel, wants_email, client_as):
    wants_email(people["chief"], "chief@example.cn")
    add_channel(org_tree["hz"], "wecom", f"{robots.base}/wecom/send?key=wecom-key-0001")
    add_channel(org_tree["xihu"], "dingtalk", f"{robots.base}/dingtalk/send?access_token=ding-token-0002",
                secret=robots.dingtalk_secret)
    add_channel(org_tree["province"], "webhook", f"{robots.base}/hook", secret=robots.hook_secret)
    add_channel(org_tree["nb"], "email", "nb-group@example.cn")  # 宁波: not this outlet's group
    add_channel(org_tree["province"], "wecom", f"{robots.base}/wecom/send?key=own-only", subunits=False)
    notice = _notice(app, db, people, org_tree)
    queue.run_pending(app)

    link = f"{PUBLIC}/notices/{notice.id}"
    assert [m["key"] for m in robots.received["wecom"]] == ["wecom-key-0001"]  # the province's own only: not heard
    wecom = robots.received["wecom"][0]["markdown"]["content"]
    assert "新整改通知书" in wecom and notice.number in wecom and link in wecom
    ding = robots.received["dingtalk"][0]["markdown"]
    assert "新整改通知书" in ding["title"] and notice.number in ding["text"] and link in ding["text"]
    hook = robots.received["hook"][0]
    assert hook["event"] == "notice_issued" and hook["link"] == link and notice.number in hook["text"]
    assert robots.refused == []
    mails = smtp_inbox.to("chief@example.cn")
    assert len(mails) == 1 and not smtp_inbox.to("nb-group@example.cn")
    text = SmtpInbox.text(mails[0])
    assert "[网点检查] 新整改通知书" in text and notice.number in text and link in text
    deliveries = db.exec(select(Delivery).order_by(Delivery.id)).all()
    assert {(d.channel, d.status, d.attempts) for d in deliveries} == {
        ("email", "sent", 1), ("wecom", "sent", 1), ("dingtalk", "sent", 1), ("webhook", "sent", 1)}
    # the log shows admins where each went, never the addresses in full
    log = client_as(people["admin"]).get("/admin/deliveries").get_data(as_text=True)
    assert "c***@example.cn" in log and "chief@example.cn" not in log and "已发送" in log
    assert client_as(people["manager"]).get("/admin/deliveries").status_code == 403


def test_a_failing_channel_is_retried_alone_and_dead_lettered_then_mended_and_run_again(
        app, db, people, org_tree, robots, add_channel, client_as):
    worker = queue.BackgroundWorker(app, periodic=False).start()
    try:
        good = add_channel(org_tree["hz"], "wecom", f"{robots.base}/wecom/send?key=k1")
        bad = add_channel(org_tree["hz"], "dingtalk", f"{robots.base}/dingtalk/send?access_token=t1",
                          secret="SECwrong-secret")
        _notice(app, db, people, org_tree)
        wait_for(lambda: db.exec(select(Delivery).where(Delivery.channel_id == bad,
                                                        Delivery.status == DeliveryStatus.dead)).first())
        sent = db.exec(select(Delivery).where(Delivery.channel_id == good)).one()
        dead = db.exec(select(Delivery).where(Delivery.channel_id == bad)).one()
        assert sent.status == "sent" and sent.attempts == 1  # not held up by the failing one
        assert dead.attempts == 3 and "errcode 310000" in dead.error and "sign not match" in dead.error
        job = db.exec(select(Job).where(Job.name == "deliver", Job.status == JobStatus.dead)).one()
        admin = client_as(people["admin"])
        assert "errcode 310000" in admin.get("/admin/jobs").get_data(as_text=True)
        # the admin puts the right secret in (the address field left empty keeps the stored one) …
        form = {"unit_id": org_tree["hz"].id, "name": "杭州钉钉群", "kind": "dingtalk", "target": "",
                "secret": robots.dingtalk_secret, "topics": ["notice_issued"], "subunits": "y", "active": "y"}
        assert admin.post(f"/admin/channels/{bad}/edit", form).status_code == 302
        assert db.get(Channel, bad).target.endswith("access_token=t1")
        # … and runs the dead job again from the list
        assert admin.post(f"/admin/jobs/{job.id}/retry").status_code == 302
        wait_for(lambda: db.get(Delivery, dead.id).status == DeliveryStatus.sent)
        assert len(robots.received["dingtalk"]) == 1 and len(robots.received["wecom"]) == 1
    finally:
        worker.stop()


def test_a_receiver_that_fails_twice_gets_it_on_the_third_attempt(app, db, people, org_tree, robots, add_channel):
    worker = queue.BackgroundWorker(app, periodic=False).start()
    try:
        flaky = add_channel(org_tree["province"], "webhook", f"{robots.base}/flaky")
        _notice(app, db, people, org_tree)
        delivery = wait_for(lambda: db.exec(select(Delivery).where(Delivery.channel_id == flaky,
                                                                   Delivery.status == DeliveryStatus.sent)).first())
    finally:
        worker.stop()
    assert delivery.attempts == 3 and robots.flaky_posts == 3 and len(robots.received["flaky"]) == 1
    job = db.exec(select(Job).where(Job.name == "deliver")).one()
    assert job.status == JobStatus.done and job.attempts == 3


def test_a_daily_digest_goes_at_eight_in_the_persons_zone(app, db, people, org_tree, smtp_inbox, wants_email,
                                                          clock_at):
    from inspect_app.channels import services as channels

    clock_at("2026-12-01T22:30:00Z")  # 06:30 in Shanghai
    wants_email(people["chief"], "chief@example.cn", mode="daily")
    wants_email(people["inspector"], "inspector@example.cn")  # at once
    notice = _notice(app, db, people, org_tree)
    queue.run_pending(app)
    assert smtp_inbox.to("chief@example.cn") == []
    assert db.exec(select(Delivery).where(Delivery.status == DeliveryStatus.held)).all()
    with app.app_context(), app.test_request_context():
        assert channels.enqueue_digests() == 0  # 06:30: not yet
    clock_at("2026-12-02T00:01:00Z")  # 08:01 in Shanghai
    with app.app_context(), app.test_request_context():
        assert channels.enqueue_digests() == 1
        assert channels.enqueue_digests() == 1  # the same day's key: no second digest
    queue.run_pending(app)
    mails = smtp_inbox.to("chief@example.cn")
    assert len(mails) == 1
    text = SmtpInbox.text(mails[0])
    assert "每日摘要" in text and notice.number in text and f"{PUBLIC}/notices/{notice.id}" in text
    assert {d.status for d in db.exec(select(Delivery).where(Delivery.user_id == people["chief"].id)).all()} == {
        "digested", "sent"}


def test_a_published_bulletin_mails_its_pdf_and_gives_robots_a_link(app, db, people, org_tree, smtp_inbox, robots,
                                                                     add_channel, wants_email):
    wants_email(people["manager"], "manager@example.cn")
    add_channel(org_tree["hz"], "wecom", f"{robots.base}/wecom/send?key=k", topics=["bulletin_published"])
    app.config["BULLETIN_SCHEDULE"] = "3301=month"
    result = app.test_cli_runner().invoke(args=["publish-bulletins"], catch_exceptions=False)
    assert "(published)" in result.output
    queue.run_pending(app)
    mail = smtp_inbox.to("manager@example.cn")[0]
    pdfs = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
    assert "杭州市质通" in pdfs[0].get_filename()
    content = robots.received["wecom"][0]["markdown"]["content"]
    assert "通报发布" in content and f"{PUBLIC}/bulletins/published/" in content and ".pdf" in content


def test_channel_pages_are_for_admins_and_never_show_a_secret_back(app, db, people, org_tree, client_as):
    admin = client_as(people["admin"])
    token, secret = "ACCESS-TOKEN-5f2a9c8e71d4", "SEC0123456789abcdef-signing"
    form = {"unit_id": org_tree["hz"].id, "name": "杭州质量群", "kind": "dingtalk",
            "target": f"https://oapi.dingtalk.com/robot/send?access_token={token}", "secret": secret,
            "topics": ["notice_issued", "escalated"], "subunits": "y", "active": "y"}
    assert admin.post("/admin/channels/new", form).status_code == 302
    channel = db.exec(select(Channel)).one()
    assert channel.secret == secret and channel.target.endswith(token)
    for page in ("/admin/channels", f"/admin/channels/{channel.id}/edit"):
        html = admin.get(page).get_data(as_text=True)
        assert token not in html and secret not in html and "杭州质量群" in html
    assert "…71d4" in admin.get("/admin/channels").get_data(as_text=True)
    # a change with the secret fields empty keeps them
    form.update(target="", secret="", name="杭州质量群2")
    assert admin.post(f"/admin/channels/{channel.id}/edit", form).status_code == 302
    channel = db.exec(select(Channel)).one()  # a fresh read (refresh would keep the old snapshot)
    assert channel.name == "杭州质量群2" and channel.secret == secret and channel.target.endswith(token)
    # bad input is refused in words, never a 500
    for bad in ({"target": "javascript:alert(1)"}, {"topics": []}, {"unit_id": "999999"}, {"kind": "sms"},
                {"name": ""}):
        response = admin.post("/admin/channels/new", {**form, "target": "https://x.example/hook", **bad})
        assert response.status_code == 200, bad
    assert len(db.exec(select(Channel)).all()) == 1
    assert admin.get("/admin/channels/999999/edit").status_code == 404
    for role in ("manager", "chief", "reviewer"):
        client = client_as(people[role])
        assert client.get("/admin/channels").status_code == 403
        assert client.post("/admin/channels/new", form).status_code == 403
        assert client.post(f"/admin/channels/{channel.id}/test").status_code == 403


def test_a_person_chooses_their_email_and_when(app, db, people, client_as):
    from inspect_app.channels.models import NotificationPreference

    chief = client_as(people["chief"])
    page = chief.get("/account/notifications")
    assert page.status_code == 200 and "每天 08:00" in page.get_data(as_text=True)
    bad = chief.post("/account/notifications", {"email": "not-an-address", "mode": "daily"})
    assert bad.status_code == 200 and "有效的邮箱" in bad.get_data(as_text=True)
    assert chief.post("/account/notifications", {"email": "chief@example.cn", "mode": "weekly"}).status_code == 200
    assert chief.post("/account/notifications", {"email": "chief@example.cn", "mode": "daily"}).status_code == 302
    pref = db.get(NotificationPreference, people["chief"].id)
    assert (pref.email, pref.mode) == ("chief@example.cn", "daily")


def test_a_large_export_is_made_by_the_worker_for_its_requester_only(app, db, people, org_tree, client_as, clock_at):
    """Above EXPORT_INLINE_ROWS the list is made in the background, offered to the one who asked
    (正在生成 → 我的文件), and removed after a day."""
    from inspect_app.downloads.models import GeneratedFile
    from inspect_app.downloads.services import cleanup

    app.config["EXPORT_INLINE_ROWS"] = 1
    for _ in range(2):
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-02": dict(result="fail", note="监督牌未张贴")})
    manager = client_as(people["manager"])
    asked = manager.get("/visits/export.csv", follow_redirects=True)
    assert "正在生成" in asked.get_data(as_text=True) and "我的文件" in asked.get_data(as_text=True)
    file_id = db.exec(select(GeneratedFile)).one().id
    assert manager.get(f"/files/{file_id}").status_code == 302  # not ready yet
    queue.run_pending(app)
    download = manager.get(f"/files/{file_id}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "西湖区文三路邮政营业所" in download.get_data(as_text=True)
    for role in ("director", "admin", "other_manager", "chief"):
        assert client_as(people[role]).get(f"/files/{file_id}").status_code == 404, role
    assert "您的文件已生成" in manager.get("/notifications").get_data(as_text=True)
    clock_at(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=25))
    with app.app_context(), app.test_request_context():
        assert cleanup() >= 1
    assert db.exec(select(GeneratedFile)).all() == []
    # signed in again (a day idle ended the old sign-in): the file is gone
    assert client_as(people["manager"]).get(f"/files/{file_id}").status_code == 404


def test_every_notification_kind_has_a_message_title():
    """A kind added to the in-app texts without a title would go out titled with its code."""
    from inspect_app.channels.events import TITLES
    from inspect_app.notifications.services import TEXTS

    assert set(TEXTS) <= set(TITLES), set(TEXTS) - set(TITLES)
