"""Fixtures of the complaint tests: a request context, staff at the test outlets, a history of
complaints walked through the services."""
from __future__ import annotations

import datetime as dt

import pytest

from inspect_app import clock
from inspect_app.complaints import services
from inspect_app.org.models import StaffMember
from tests.complaints.helpers import PINNED

SHANGHAI = clock.zone("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def staff(db, org_tree):
    people = {
        "clerk": StaffMember(job_number="330106001-01", name="王小红", post="营业员", outlet_id=org_tree["xihu1"].id),
        "courier": StaffMember(job_number="330106001-02", name="李大明", post="投递员", outlet_id=org_tree["xihu1"].id),
        "elsewhere": StaffMember(job_number="330203001-01", name="陈静", post="营业员", outlet_id=org_tree["haishu1"].id),
    }
    for person in people.values():
        db.add(person)
    db.commit()
    return people


@pytest.fixture
def history(app, db, org_tree, people, staff, clock_at, create_user):
    """October: F (xihu1, substantiated, the clerk) and G (haishu1, unfounded, 时限).
    November: A (xihu1, 服务态度, substantiated, the clerk, resolved at first contact, week 23-29),
    B (xihu2, appeal, 服务态度, unfounded, handed on, same week), C (haishu1, 乱收费, partly, 陈静, the 10th),
    D (haishu1, at the counter, 时限, still being handled, its 3 days ran out on the 29th).
    December (today, the 2nd in Shanghai): E (xihu1, registered)."""
    colleague = create_user("handler", unit=org_tree["hz"])
    hz, nb = people["handler"], people["other_handler"]

    def walk(outlet, received, *, source="phone", category="服务态度", verdict=None, person=None, handler=hz,
             hand_to=None, take=False):
        clock_at(received.astimezone(dt.timezone.utc) + dt.timedelta(minutes=30))
        with app.test_request_context():
            complaint = services.register_complaint(
                db, actor=handler, outlet=org_tree[outlet], source=source, received_at=received, category=category,
                account="客户反映的情况", staff_id=staff[person].id if person else None)
            if verdict or take or hand_to:
                services.take(db, actor=handler, complaint=complaint)
            owner = handler
            if hand_to:
                services.hand_on(db, actor=handler, complaint=complaint, to_user=hand_to, reason="转交同事")
                owner = hand_to
            if verdict:
                services.conclude(db, actor=owner, complaint=complaint, verdict=verdict, reasons="核实",
                                  grade=1 if verdict != "unfounded" else None)
        db.commit()
        return complaint

    made = {
        "F": walk("xihu1", local(2026, 10, 15, 10), verdict="substantiated", person="clerk"),
        "G": walk("haishu1", local(2026, 10, 20, 10), category="时限", verdict="unfounded", handler=nb),
        "C": walk("haishu1", local(2026, 11, 10, 9), category="乱收费", verdict="partly", person="elsewhere", handler=nb),
        "A": walk("xihu1", local(2026, 11, 24, 10), source="hotline", verdict="substantiated", person="clerk"),
        "B": walk("xihu2", local(2026, 11, 25, 11), source="appeal", verdict="unfounded", hand_to=colleague),
        "D": walk("haishu1", local(2026, 11, 26, 15), source="onsite", category="时限", handler=nb, take=True),
        "E": walk("xihu1", local(2026, 12, 2, 0, 10)),
    }
    clock_at(PINNED)
    return made
