"""The complaint side's lists as pages and as files: accountability (paged, filtered by status,
outlet and month), the callback log (paged) and the key customers due, the hotspots and the staff
register. Each file holds what its page holds over all its pages, in the viewer's scope, with
contact columns for complaint handlers only, and each export is in the audit log."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.audit.models import AuditEvent
from inspect_app.complaints import services
from inspect_app.complaints.models import Accountability, AccountabilityStatus, Callback
from inspect_app.org.models import StaffMember
from tests.complaints.helpers import PINNED
from tests.reports.test_exports import records

UTC = dt.timezone.utc
RECORD_LINK = re.compile(r'href="/accountability/\d+"')


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


@pytest.fixture
def records_world(db, org_tree, staff):
    """35 accountability records at xihu1 (Hangzhou) over two months, 3 at haishu1 (Ningbo)."""
    statuses = [AccountabilityStatus.proposed, AccountabilityStatus.decided, AccountabilityStatus.acknowledged,
                AccountabilityStatus.revoked, AccountabilityStatus.appealed]
    for n in range(35):
        # 16:30 UTC on 31 October is already 1 November in Shanghai: records 0-9 are November's by the outlet
        opened = dt.datetime(2026, 10, 31, 16, 30, tzinfo=UTC) + dt.timedelta(days=n % 20 if n < 10 else -(n % 25) - 1)
        db.add(Accountability(staff_id=staff["clerk"].id, outlet_id=org_tree["xihu1"].id, reason=f"第{n}号:服务态度差",
                              status=statuses[n % 5], opened_at=opened, grade=1, amount=600))
    for n in range(3):
        db.add(Accountability(staff_id=staff["elsewhere"].id, outlet_id=org_tree["haishu1"].id, reason="宁波的记录",
                              status=AccountabilityStatus.decided, opened_at=dt.datetime(2026, 11, 5, tzinfo=UTC)))
    db.commit()


def test_the_accountability_list_pages_and_filters_like_its_export(records_world, client_as, people, db):
    manager = client_as(people["manager"])
    first = manager.get("/accountability").get_data(as_text=True)
    assert "共 35 条" in first and len(RECORD_LINK.findall(first)) == 30 and "宁波的记录" not in first
    assert len(RECORD_LINK.findall(manager.get("/accountability?page=2").get_data(as_text=True))) == 5
    assert len(records(manager.get("/accountability/export.csv"), "csv")) == 35
    assert len(records(manager.get("/accountability/export.xlsx"), "xlsx")) == 35
    # by status, by outlet, by the month opened (the outlet's calendar)
    for query, expected in (("status=decided", 7), ("status=pending", 21), ("status=nonsense", 35),
                            ("outlet=330106001", 35), ("outlet=330203001", 35),  # out of scope: ignored, not widened
                            ("month=2026-11", 10), ("month=2026-11&status=proposed", 2), ("month=2026-13", 35)):
        page = manager.get(f"/accountability?{query}").get_data(as_text=True)
        assert f"共 {expected} 条" in page, query
        rows = records(manager.get(f"/accountability/export.csv?{query}"), "csv")
        assert len(rows) == expected, query
    rows = records(manager.get("/accountability/export.csv?month=2026-11&status=decided"), "csv")
    assert {r["状态"] for r in rows} == {"已决定,待确认"} and rows[0]["员工工号"] == "330106001-01"
    # the province sees both cities; the chief only its outlet
    assert len(records(client_as(people["director"]).get("/accountability/export.csv"), "csv")) == 38
    assert len(records(client_as(people["other_chief"]).get("/accountability/export.csv"), "csv")) == 0
    assert client_as(people["inspector"]).get("/accountability/export.csv").status_code == 403
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "export.accountability",
                                             AuditEvent.actor_name == "manager").order_by(AuditEvent.id.desc())).first()
    assert event.after == {"format": "csv", "filters": {"month": "2026-11", "status": "decided"}}


def test_the_callback_log_pages_and_exports_contacts_for_handlers_only(app, db, org_tree, people, client_as):
    with app.test_request_context():
        customer = services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu1"], name="浙江大学后勤集团",
                                             tier="weekly", contact_name="钱经理", contact_phone="0571-87654321",
                                             start_date=clock.today("Asia/Shanghai") - dt.timedelta(days=3),
                                             note="对账请找钱经理 0571-87654321")
        services.add_key_customer(db, actor=people["handler"], outlet=org_tree["xihu2"], name="西湖区法院",
                                  tier="monthly", start_date=clock.today("Asia/Shanghai") + dt.timedelta(days=5))
    for n in range(35):
        db.add(Callback(outlet_id=org_tree["xihu1"].id, key_customer_id=customer.id, by_id=people["handler"].id,
                        satisfaction="satisfied", note=f"第{n}次回访,钱经理满意",
                        at=clock.now() - dt.timedelta(days=40 - n)))
    db.commit()
    handler, manager = client_as(people["handler"]), client_as(people["manager"])
    page = handler.get("/callbacks").get_data(as_text=True)
    assert "第34次回访" in page and "第4次回访" not in page and 'href="/callbacks?page=2"' in page
    assert "第4次回访" in handler.get("/callbacks?page=2").get_data(as_text=True)
    rows = records(handler.get("/callbacks/export.csv"), "csv")
    assert len(rows) == 35 and rows[0]["联系人"] == "钱经理" and rows[0]["联系电话"] == "0571-87654321"
    assert rows[0]["大客户"] == "浙江大学后勤集团" and rows[0]["回访人"]
    rows = records(manager.get("/callbacks/export.xlsx"), "xlsx")
    assert len(rows) == 35 and "联系人" not in rows[0] and "钱经理" not in rows[0]["备注"]
    # the due list: what the page lists (due, or the whole plan)
    due = records(handler.get("/callbacks/due/export.csv"), "csv")
    assert [r["大客户"] for r in due] == []  # called yesterday: next due in six days
    # nothing due: no buttons to export an empty list (they were labelled "上表" above the list)
    assert "/callbacks/due/export" not in page and "上表" not in page
    whole = handler.get("/callbacks?all=1").get_data(as_text=True)
    assert "本列表" in whole and "/callbacks/due/export.csv?all=1" in whole
    plan = records(handler.get("/callbacks/due/export.csv?all=1"), "csv")
    assert {r["大客户"] for r in plan} == {"浙江大学后勤集团", "西湖区法院"}
    assert plan[0]["联系电话"] in ("0571-87654321", "")
    plan = records(manager.get("/callbacks/due/export.csv?all=1"), "csv")
    assert "联系电话" not in plan[0] and all("87654321" not in r["备注"] for r in plan)
    assert client_as(people["chief"]).get("/callbacks/export.csv").status_code == 403
    assert client_as(people["chief"]).get("/callbacks/due/export.csv").status_code == 403
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "export.callbacks_due")).first()


def test_the_staff_register_exports_what_its_page_lists(db, org_tree, people, staff, client_as):
    db.add(StaffMember(job_number="330106001-03", name="王离职", post="营业员", outlet_id=org_tree["xihu1"].id,
                       active=False))
    db.commit()
    inspector = client_as(people["inspector"])
    rows = records(inspector.get("/staff/export.csv"), "csv")
    assert [r["工号"] for r in rows] == ["330106001-01", "330106001-02", "330106001-03"]  # Hangzhou only
    assert rows[2]["在岗"] == "否"
    assert [r["名称"] for r in records(inspector.get("/staff/export.xlsx?q=李"), "xlsx")] == ["李大明"]
    assert len(records(client_as(people["director"]).get("/staff/export.csv?outlet=330203001"), "csv")) == 1
    assert client_as(people["shopper"]).get("/staff/export.csv").status_code == 403
    assert "导出 CSV" in inspector.get("/staff").get_data(as_text=True)
