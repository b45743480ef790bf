"""End to end: a notice issued in the demo reaches a loopback WeCom robot and an SMTP inbox within
seconds while a real worker (``inspect-app worker``, its own process) runs on the test database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from inspect_app import demo
from inspect_app.auth.models import User, UserOutlet
from inspect_app.db import writing
from inspect_app.org.models import Outlet, Unit
from tests.channels.conftest import PUBLIC
from tests.jobs.conftest import wait_for
from tests.visit_helpers import release_mini_visit


@pytest.mark.real_clock  # the worker is a process of its own, on the wall clock
def test_a_demo_notice_reaches_wecom_and_an_inbox_within_seconds(app, db, database_url, smtp_inbox, robots,
                                                                  add_channel, wants_email):
    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        demo.load_demo(session)
        session.commit()
    hangzhou = db.exec(select(Unit).where(Unit.code == "3301")).one()
    chief = db.exec(select(User).where(User.username == "chief")).one()
    inspector = db.exec(select(User).where(User.username == "inspector")).one()
    outlet = db.exec(select(Outlet).join(UserOutlet, UserOutlet.outlet_id == Outlet.id)
                     .where(UserOutlet.user_id == chief.id).order_by(Outlet.id)).first()
    add_channel(hangzhou, "wecom", f"{robots.base}/wecom/send?key=demo-hz", topics=["notice_issued"])
    wants_email(chief, "zhangli@example.cn")

    env = {**os.environ, "DATABASE_URL": database_url, "INSPECT_INSTANCE": app.instance_path,
           "SECRET_KEY": "test-secret", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_inbox.port),
           "SMTP_FROM": "inspect@example.cn", "PUBLIC_URL": PUBLIC, "QUEUE_POLL_SECONDS": "0.2"}
    cli = str(Path(sys.executable).with_name("inspect-app"))
    log = Path(app.instance_path) / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen([cli, "worker", "--threads", "2", "--nice", "0"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "Huey consumer started" in log.read_text(), timeout=60, what="the worker's start")
        issued = time.monotonic()
        with writing():  # the worker writes meanwhile: the write lock up front, as requests take it
            visit = release_mini_visit(app, db, inspector, outlet, {"B-02": dict(result="fail", note="监督牌未张贴")})
        wait_for(lambda: robots.received["wecom"] and smtp_inbox.to("zhangli@example.cn"), timeout=20,
                 what="the notice's messages")
        took = time.monotonic() - issued
    finally:
        worker.send_signal(signal.SIGINT)  # graceful: it finishes what it runs
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert took < 10, f"{took:.1f} s"
    content = robots.received["wecom"][0]["markdown"]["content"]
    assert "新整改通知书" in content and outlet.name in content and f"{PUBLIC}/notices/" in content
    assert "新整改通知书" in smtp_inbox.to("zhangli@example.cn")[0]["Subject"]
    assert visit.id and worker.returncode is not None
