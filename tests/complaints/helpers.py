"""Shared steps of the complaint tests: staff at the test outlets, a complaint walked to a state."""
from __future__ import annotations

import datetime as dt

from inspect_app import clock
from inspect_app.complaints import services

#: 16:30 UTC is 00:30 the next day in Shanghai: the outlets' calendar and the host's disagree.
PINNED = "2026-12-01T16:30:00Z"


def register(db, people, org_tree, *, source="hotline", outlet="xihu1", staff=None, received=None, **extra):
    return services.register_complaint(
        db, actor=people["handler"], outlet=org_tree[outlet], source=source,
        received_at=received or clock.now() - dt.timedelta(hours=1), category="服务态度",
        account="营业员办理汇款时态度生硬,打断客户询问。", customer_name="张三", customer_phone="13812345678",
        staff_id=staff.id if staff else None, **extra)


def concluded(db, people, org_tree, *, verdict="substantiated", grade=1, staff=None, requirements=None):
    complaint = register(db, people, org_tree, staff=staff)
    services.take(db, actor=people["handler"], complaint=complaint)
    services.record_contact(db, actor=people["handler"], complaint=complaint, note="已致电客户致歉")
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict=verdict,
                      reasons="调取录像,情况属实。", grade=grade if verdict != "unfounded" else None,
                      requirements=requirements or [])
    return complaint
