"""The staff register: CSV import (all rows or none, by job number), the scoped list, admin forms."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.org.models import StaffMember
from tests.org.test_org import upload


@pytest.fixture(autouse=True)
def pinned(clock_at):
    clock_at("2026-12-01T16:30:00Z")  # UTC is still on the 1st; Shanghai is on the 2nd


STAFF_CSV = """job_number,name,post,outlet_code,active
Z0001,王芳,营业员,330106001,1
Z0002,陈刚,投递员,330106002,
Z0003,李娜,大堂经理,330203001,否
"""


def staff(db, job_number: str) -> list[StaffMember]:
    return db.exec(select(StaffMember).where(StaffMember.job_number == job_number)).all()


def test_staff_import_and_reimport_updates_by_job_number(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    response = upload(admin, "/admin/staff/import", STAFF_CSV)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff")
    wang = staff(db, "Z0001")[0]
    assert (wang.name, wang.post, wang.outlet_id, wang.active) == ("王芳", "营业员", org_tree["xihu1"].id, True)
    assert staff(db, "Z0002")[0].active is True  # empty: a new person is at work
    assert staff(db, "Z0003")[0].active is False
    created = db.exec(select(AuditEvent).where(AuditEvent.action == "staff.created")).all()
    assert {e.object_id for e in created} == {s.id for s in db.exec(select(StaffMember))}
    assert wang.created_at.isoformat() == "2026-12-01T16:30:00+00:00"

    moved = STAFF_CSV.replace("王芳,营业员,330106001,1", "王芳,综合柜员,330106002,0").replace("李娜,大堂经理,330203001,否",
                                                                                     "李娜,大堂经理,330203001,")
    response = upload(admin, "/admin/staff/import", moved, encoding="gb18030")
    assert response.status_code == 302
    db.expire_all()
    assert len(staff(db, "Z0001")) == 1 and len(db.exec(select(StaffMember)).all()) == 3
    wang = staff(db, "Z0001")[0]
    assert (wang.post, wang.outlet_id, wang.active) == ("综合柜员", org_tree["xihu2"].id, False)
    assert staff(db, "Z0003")[0].active is False  # empty keeps what was there
    updated = db.exec(select(AuditEvent).where(AuditEvent.action == "staff.updated")).all()
    assert [e.object_id for e in updated] == [wang.id]  # unchanged rows write no event
    assert updated[0].before["post"] == "营业员" and updated[0].after["post"] == "综合柜员"


def test_staff_import_reports_every_bad_line_and_writes_nothing(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    bad = STAFF_CSV + ("Z0004,,营业员,330106001,1\n"
                       "Z0001,王芳芳,营业员,330106001,1\n"
                       "Z0005,赵强,营业员,999999,1\n"
                       f"{'Z' * 40},钱多,营业员,330106001,1\n"
                       "Z0006,孙丽,营业员,330106001,yes\n"
                       ",周五,营业员,330106001,\n")
    response = upload(admin, "/admin/staff/import", bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入任何数据" in text
    assert "第 5 行:姓名为空" in text
    assert "第 6 行:工号 Z0001 与第 2 行重复" in text
    assert "第 7 行:网点编码 999999 不存在" in text
    assert "第 8 行:工号最多 32 个字符" in text
    assert "第 9 行:active 只能填 1 或 0(是或否),而不是 yes" in text
    assert "第 10 行:工号为空" in text
    assert not db.exec(select(StaffMember)).all()


def test_staff_import_columns_and_admin_only(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    page = admin.get("/admin/staff/import").get_data(as_text=True)
    assert "job_number,name,post,outlet_code,active" in page
    text = upload(admin, "/admin/staff/import", "job_number,name\nZ1,王\n").get_data(as_text=True)
    assert "缺少列:outlet_code" in text
    for role in ("manager", "chief", "inspector"):
        assert client_as(people[role]).get("/admin/staff/import").status_code == 403
        assert upload(client_as(people[role]), "/admin/staff/import", STAFF_CSV).status_code == 403
    assert not db.exec(select(StaffMember)).all()


@pytest.fixture
def register(client_as, people, org_tree, db):
    assert upload(client_as(people["admin"]), "/admin/staff/import", STAFF_CSV).status_code == 302


@pytest.mark.parametrize("role, seen, unseen", [
    ("admin", {"王芳", "陈刚", "李娜"}, set()),
    ("manager", {"王芳", "陈刚"}, {"李娜"}),          # Hangzhou: not Ningbo's outlets
    ("other_manager", {"李娜"}, {"王芳", "陈刚"}),
    ("inspector", {"王芳", "陈刚"}, {"李娜"}),
    ("chief", {"王芳"}, {"陈刚", "李娜"}),             # a branch chief: their own outlet only
])
def test_staff_list_is_scoped(register, client_as, people, role, seen, unseen):
    response = client_as(people[role]).get("/staff")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert all(name in page for name in seen)
    assert not any(name in page for name in unseen)


@pytest.mark.parametrize("role", ["shopper"])
def test_staff_list_refused_to_those_who_may_not_see_staff(register, client_as, people, role):
    assert client_as(people[role]).get("/staff").status_code == 403


def test_staff_list_filters_and_links(register, client_as, people, db):
    manager = client_as(people["manager"])
    page = manager.get("/staff?outlet=330106002").get_data(as_text=True)
    assert "陈刚" in page and "王芳" not in page
    page = manager.get("/staff?q=Z0001").get_data(as_text=True)
    assert "王芳" in page and "陈刚" not in page
    page = manager.get("/staff?q=陈").get_data(as_text=True)
    assert f'href="/staff/{staff(db, "Z0002")[0].id}"' in page
    # a code outside the manager's region shows nobody, not Ningbo's staff
    assert "李娜" not in manager.get("/staff?outlet=330203001").get_data(as_text=True)
    assert 'href="/staff"' in manager.get("/home").get_data(as_text=True)  # in the menu


def test_staff_list_pages(client_as, people, org_tree, db):
    rows = "".join(f"P{n:04d},员工{n},营业员,330106001,1\n" for n in range(35))
    assert upload(client_as(people["admin"]), "/admin/staff/import", "job_number,name,post,outlet_code\n" + rows).status_code == 302
    manager = client_as(people["manager"])
    first = manager.get("/staff?outlet=330106001").get_data(as_text=True)
    assert "P0029" in first and "P0030" not in first and "page=2" in first
    second = manager.get("/staff?outlet=330106001&page=2").get_data(as_text=True)
    assert "P0030" in second and "P0034" in second and "P0000" not in second


def test_admin_adds_edits_and_deactivates_staff(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    form = {"job_number": "Z0100", "name": "吴敏", "post": "营业员", "outlet_code": "330106001", "active": "y"}
    assert admin.post("/admin/staff/new", form, csrf=False).status_code == 400  # no CSRF token: refused
    assert not staff(db, "Z0100")
    response = admin.post("/admin/staff/new", form)
    assert response.status_code == 302
    member = staff(db, "Z0100")[0]
    assert member.outlet_id == org_tree["xihu1"].id and member.active
    text = admin.post("/admin/staff/new", {**form, "name": "吴敏二"}).get_data(as_text=True)
    assert "工号 Z0100 已被使用" in text
    text = admin.post(f"/admin/staff/{member.id}/edit", {**form, "outlet_code": "nope"}).get_data(as_text=True)
    assert "没有编码为 nope 的网点" in text
    page = admin.get(f"/admin/staff/{member.id}/edit").get_data(as_text=True)
    assert 'value="330106001"' in page
    response = admin.post(f"/admin/staff/{member.id}/edit", {k: v for k, v in form.items() if k != "active"})
    assert response.status_code == 302  # unticked: deactivated
    db.expire_all()
    member = db.get(StaffMember, member.id)
    assert member.active is False
    events = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.object_type == "staff_member"))]
    assert events == ["staff.created", "staff.updated"]
    for role in ("manager", "chief"):
        assert client_as(people[role]).post("/admin/staff/new", form).status_code == 403
        assert client_as(people[role]).get(f"/admin/staff/{member.id}/edit").status_code == 403
    assert admin.get("/admin/staff/999999/edit").status_code == 404
