"""Complaints for the statement-count and plan tests: at new outlets, some substantiated, some
open, some concluded and not called back, some called back, with a key customer's callback."""
from __future__ import annotations

import datetime as dt

from inspect_app import clock
from inspect_app.complaints import services
from inspect_app.org.models import StaffMember


def grow_complaints(app, db, org_tree, people, create_outlet, n, start=0):
    handler = people["handler"]
    for k in range(start, start + n):
        outlet = create_outlet(org_tree["xihu"], code=f"7{k:05d}")
        person = StaffMember(job_number=f"7{k:05d}-01", name=f"员工{k}", post="营业员", outlet_id=outlet.id)
        db.add(person)
        db.commit()
        with app.test_request_context():
            for m, verdict in enumerate(("substantiated", "partly", "unfounded", None)):
                complaint = services.register_complaint(
                    db, actor=handler, outlet=outlet, source="hotline", category=("服务态度", "时限")[m % 2],
                    received_at=clock.now() - dt.timedelta(days=3 + 20 * m + k), account="客户反映的情况",
                    customer_name="张三", customer_phone="13812345678", staff_id=person.id)
                if verdict is None:
                    continue
                services.take(db, actor=handler, complaint=complaint)
                services.conclude(db, actor=handler, complaint=complaint, verdict=verdict, reasons="核实",
                                  grade=1 if verdict != "unfounded" else None)
                if m == 0:
                    services.call_back(db, actor=handler, complaint=complaint, satisfaction="satisfied", note="满意")
            customer = services.add_key_customer(db, actor=handler, outlet=outlet, name=f"大客户{k}", tier="monthly",
                                                 contact_name="李四", contact_phone="13900000000",
                                                 start_date=clock.today("Asia/Shanghai") - dt.timedelta(days=40),
                                                 note="")
            services.call_key_customer(db, actor=handler, customer=customer, satisfaction="satisfied", note="")
        db.commit()
