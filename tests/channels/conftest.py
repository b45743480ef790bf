from __future__ import annotations

import pytest
from sqlmodel import Session

from inspect_app.channels import services as channels
from inspect_app.db import writing
from tests.receivers import Robots, SmtpInbox

PUBLIC = "https://inspect.example.cn"


@pytest.fixture
def smtp_inbox():
    inbox = SmtpInbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def robots():
    found = Robots().start()
    yield found
    found.stop()


@pytest.fixture
def app_config(smtp_inbox) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_inbox.port, "SMTP_FROM": "inspect@example.cn",
            "PUBLIC_URL": PUBLIC, "JOB_RETRY_SECONDS": 0.2, "QUEUE_POLL_SECONDS": 0.1, "DELIVERY_ATTEMPTS": 3,
            "CHANNEL_TIMEOUT": 5}


@pytest.fixture
def add_channel(app, db, people):
    def factory(unit, kind, target, *, secret="", topics=None, subunits=True, name=None):
        # ids read before the write lock: the test's own session may load them (a read of its own)
        admin_id, unit_id, unit_name = people["admin"].id, unit.id, unit.name
        with app.test_request_context(), writing(), Session(app.extensions["db_engine"]) as session:
            channel = channels.save_channel(
                session, actor=session.get(type(people["admin"]), admin_id), channel=None, unit_id=unit_id,
                name=name or f"{unit_name}{kind}群", kind=kind, target=target, secret=secret,
                topics=topics or [t.code for t in channels.events.TOPICS], subunits=subunits, active=True)
            session.commit()
            return channel.id
    return factory


@pytest.fixture
def wants_email(app, people):
    def factory(user, address, mode="immediate"):
        user_id = user.id  # before the write lock (see add_channel)
        with app.test_request_context(), writing(), Session(app.extensions["db_engine"]) as session:
            channels.save_preference(session, actor=session.get(type(user), user_id), email=address, mode=mode)
            session.commit()
    return factory
