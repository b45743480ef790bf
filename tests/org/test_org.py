"""Unit tree, outlets, windows and CSV import (all rows or none)."""
from __future__ import annotations

import io

import pytest
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.org.models import Outlet, Unit, Window


def upload(client, url, text: str, encoding="utf-8"):
    return client.post(url, {"file": (io.BytesIO(text.encode(encoding)), "data.csv")},
                       content_type="multipart/form-data")


def test_unit_tree_levels_and_paths(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    response = admin.post("/admin/units", {"parent_id": str(org_tree["xihu"].id), "code": "X1", "name": "子单位"})
    assert response.status_code == 200
    assert "县/区不能再设下级单位" in response.get_data(as_text=True)
    response = admin.post("/admin/units", {"parent_id": str(org_tree["hz"].id), "code": "330110", "name": "余杭区"})
    assert response.status_code == 302
    unit = db.exec(select(Unit).where(Unit.code == "330110")).one()
    assert unit.level == "county"
    assert unit.path == f"{org_tree['hz'].path}{unit.id}/"
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "unit.created", AuditEvent.object_id == unit.id)).one()


def test_duplicate_unit_code_refused(client_as, people, org_tree):
    admin = client_as(people["admin"])
    response = admin.post("/admin/units", {"parent_id": "", "code": "33", "name": "重复"})
    assert "单位编码 33 已被使用" in response.get_data(as_text=True)


@pytest.mark.parametrize("parent_id", ["abc", "1e999", "0001-01-01", "99999999999999999999999", "999999", "-1"])
def test_unknown_parent_unit_is_refused_not_a_new_province(client_as, people, org_tree, db, parent_id):
    """The hidden parent of a row's "+ 下级单位" form, tampered or stale: a word or a number past
    the database's range was a 500; an id of no unit made a new top-level unit."""
    admin = client_as(people["admin"])
    units_before = len(db.exec(select(Unit)).all())
    response = admin.post("/admin/units", {"parent_id": parent_id, "code": "X9", "name": "子单位"}, follow_redirects=True)
    assert response.status_code == 200
    assert "上级单位不存在，请刷新页面" in response.get_data(as_text=True)
    assert len(db.exec(select(Unit)).all()) == units_before


def test_outlet_create_edit_and_window(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    response = admin.post("/admin/outlets/new", {
        "code": "330106099", "name": "西湖区新网点", "address": "文二路 8 号", "lat": "30.28", "lon": "120.12",
        "unit_code": "330106", "timezone": "Asia/Shanghai", "active": "y"})
    assert response.status_code == 302
    outlet = db.exec(select(Outlet).where(Outlet.code == "330106099")).one()
    response = admin.post(f"/admin/outlets/{outlet.id}/edit", {
        "code": "330106099", "name": "西湖区新网点", "address": "文二路 8 号", "lat": "30.28", "lon": "",
        "unit_code": "330106", "timezone": "Asia/Shanghai", "active": "y"})
    assert "经纬度须同时填写" in response.get_data(as_text=True)
    response = admin.post(f"/admin/outlets/{outlet.id}/edit", {
        "code": "330106099", "name": "西湖区新网点", "address": "", "lat": "", "lon": "",
        "unit_code": "330106", "timezone": "Mars/Olympus", "active": "y"})
    assert "未知时区" in response.get_data(as_text=True)
    admin.post(f"/admin/outlets/{outlet.id}/windows", {"number": "1", "name": "综合"})
    response = admin.post(f"/admin/outlets/{outlet.id}/windows", {"number": "1", "name": "重复"}, follow_redirects=True)
    assert "已有 1 号窗口" in response.get_data(as_text=True)
    assert len(db.exec(select(Window).where(Window.outlet_id == outlet.id)).all()) == 1


OUTLETS_CSV = """code,name,address,lat,lon,unit_code,timezone,windows
330106101,西湖区一号营业所,文一路1号,30.27,120.13,330106,Asia/Shanghai,1;2
330106102,西湖区二号营业所,文一路2号,,,330106,,1
"""


def test_outlet_csv_import_and_reimport_updates(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    response = upload(admin, "/admin/outlets/import", OUTLETS_CSV)
    assert response.status_code == 302
    assert len(db.exec(select(Outlet).where(Outlet.code.startswith("3301061"))).all()) == 2
    first = db.exec(select(Outlet).where(Outlet.code == "330106101")).one()
    assert len(db.exec(select(Window).where(Window.outlet_id == first.id)).all()) == 2
    renamed = OUTLETS_CSV.replace("西湖区一号营业所", "西湖区一号营业所(新址)").replace("1;2", "1;2;3")
    response = upload(admin, "/admin/outlets/import", renamed, encoding="gb18030")
    assert response.status_code == 302
    db.expire_all()
    rows = db.exec(select(Outlet).where(Outlet.code == "330106101")).all()
    assert len(rows) == 1 and rows[0].name == "西湖区一号营业所(新址)"
    assert len(db.exec(select(Window).where(Window.outlet_id == first.id)).all()) == 3


def test_outlet_csv_with_bad_rows_imports_nothing(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    bad = OUTLETS_CSV + "330106103,,x,abc,120,999999,Asia/Shanghai,\n330106101,重复,,,,330106,,\n"
    response = upload(admin, "/admin/outlets/import", bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入任何数据" in text
    assert "第 4 行:名称为空" in text
    assert "第 4 行:单位编码 999999 不存在" in text
    assert "第 4 行:lat 不是数字:abc" in text
    assert "第 5 行:网点编码 330106101 与第 2 行重复" in text
    assert not db.exec(select(Outlet).where(Outlet.code.startswith("3301061"))).all()


def test_outlet_csv_missing_columns_and_binary(client_as, people, org_tree):
    admin = client_as(people["admin"])
    response = upload(admin, "/admin/outlets/import", "code,name\n1,x\n")
    assert "缺少列:unit_code" in response.get_data(as_text=True)
    response = admin.post("/admin/outlets/import", {"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"), "x.csv")},
                          content_type="multipart/form-data")
    assert "未导入任何数据" in response.get_data(as_text=True)


USERS_CSV = """username,display_name,role,unit_code,outlet_codes,code_name,phone,password
li.ming,李明,inspector,3301,,,13800000000,Start-2026
zhang.li,张丽,branch_chief,,330106001;330106002,,,Start-2026
an.a,暗访甲,shopper,,,暗访员B01,,Start-2026
"""


def test_user_csv_import_and_update(client_as, people, org_tree, db, client):
    admin = client_as(people["admin"])
    response = upload(admin, "/admin/users/import", USERS_CSV)
    assert response.status_code == 302
    chief = db.exec(select(User).where(User.username == "zhang.li")).one()
    assert chief.role == Role.branch_chief
    assert len(db.exec(select(UserOutlet).where(UserOutlet.user_id == chief.id)).all()) == 2
    assert client.login("li.ming", "Start-2026").status_code == 302
    # re-import without passwords: updates names and scope, keeps passwords
    again = USERS_CSV.replace("Start-2026", "").replace("330106001;330106002", "330106001").replace("李明", "李明明")
    response = upload(admin, "/admin/users/import", again)
    assert response.status_code == 302
    db.expire_all()
    assert db.exec(select(User).where(User.username == "li.ming")).one().display_name == "李明明"
    assert len(db.exec(select(UserOutlet).where(UserOutlet.user_id == chief.id)).all()) == 1
    assert len(db.exec(select(User).where(User.username == "li.ming")).all()) == 1


def test_user_csv_errors_are_line_numbered_and_nothing_written(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    bad = USERS_CSV + "x,甲,boss,,,,,Start-2026\ny,乙,manager,,,,,Start-2026\nz,丙,shopper,,,暗访员A07,,weak\n"
    response = upload(admin, "/admin/users/import", bad)
    text = response.get_data(as_text=True)
    assert "第 5 行:未知角色 boss" in text
    assert "第 6 行:角色 manager 需要填写 unit_code" in text
    assert "第 7 行:代号 暗访员A07 已被使用" in text
    assert "第 7 行:密码至少需要" in text
    assert not db.exec(select(User).where(User.username == "li.ming")).all()


def test_admin_creates_and_rescopes_user(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    response = admin.post("/admin/users/new", {
        "username": "new.chief", "display_name": "新负责人", "role": "branch_chief", "unit_code": "",
        "outlet_codes": "330106001", "code_name": "", "phone": "", "password": "Chief-2026"})
    assert response.status_code == 302
    user = db.exec(select(User).where(User.username == "new.chief")).one()
    version = user.session_version
    response = admin.post(f"/admin/users/{user.id}", {
        "username": "ignored", "display_name": "新负责人", "role": "branch_chief", "unit_code": "",
        "outlet_codes": "330106002", "code_name": "", "phone": ""})
    assert response.status_code == 302
    db.expire_all()
    user = db.get(User, user.id)
    assert user.username == "new.chief"
    assert [uo.outlet_id for uo in db.exec(select(UserOutlet).where(UserOutlet.user_id == user.id))] == [org_tree["xihu2"].id]
    assert user.session_version > version  # a narrowed scope applies at once


def test_manager_without_unit_refused(client_as, people, org_tree):
    admin = client_as(people["admin"])
    response = admin.post("/admin/users/new", {
        "username": "m2", "display_name": "经理", "role": "manager", "unit_code": "", "code_name": "", "phone": "",
        "password": "Manager-2026"})
    assert "必须指定所属单位" in response.get_data(as_text=True)


def test_outlet_list_is_scoped(client_as, people, org_tree):
    page = client_as(people["manager"]).get("/outlets").get_data(as_text=True)
    assert "西湖区文三路邮政营业所" in page and "海曙区鼓楼邮政营业所" not in page
    page = client_as(people["chief"]).get("/outlets").get_data(as_text=True)
    assert "西湖区文三路邮政营业所" in page and "西湖区古荡邮政支局" not in page
    page = client_as(people["director"]).get("/outlets?q=海曙").get_data(as_text=True)
    assert "海曙区鼓楼邮政营业所" in page and "西湖区文三路邮政营业所" not in page


def test_outlet_list_by_unit_stays_in_scope_and_its_picker_skips_far_counties(client_as, people, org_tree, create_unit):
    """A unit's outlets are found by the ids of the units under it, within the viewer's own scope;
    the unit picker lists provinces and cities, and counties only beside and below the one shown."""
    t = org_tree
    manager = client_as(people["manager"])  # 杭州市
    page = manager.get(f"/outlets?unit={t['xihu'].id}").get_data(as_text=True)
    assert "西湖区文三路邮政营业所" in page and "西湖区古荡邮政支局" in page
    page = manager.get(f"/outlets?unit={t['haishu'].id}").get_data(as_text=True)  # 宁波's county: not his
    assert "海曙区鼓楼邮政营业所" not in page and "西湖区文三路邮政营业所" not in page
    admin = client_as(people["admin"])
    page = admin.get("/outlets").get_data(as_text=True)
    assert f'<option value="{t["hz"].id}"' in page and f'<option value="{t["xihu"].id}"' not in page
    page = admin.get(f"/outlets?unit={t['haishu'].id}").get_data(as_text=True)
    assert "海曙区鼓楼邮政营业所" in page and "西湖区文三路邮政营业所" not in page
    assert f'<option value="{t["haishu"].id}" selected' in page and f'<option value="{t["xihu"].id}"' not in page
