"""The administrator's pages at the nation's size: accounts a page at a time, units and outlets named
by code in forms (no select of every unit and outlet), the unit tree one level at a time."""
from __future__ import annotations

import re

from sqlmodel import select

from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.org.models import Outlet, Unit


def names_listed(page: str) -> list[str]:
    return re.findall(r"<strong>([^<]+)</strong> <span class=\"muted\">", page)


def test_accounts_a_page_at_a_time_with_their_filters(client_as, people, org_tree, create_user):
    for n in range(35):
        create_user(Role.inspector, unit=org_tree["xihu"], username=f"insp{n:02d}")
    admin = client_as(people["admin"])
    first = admin.get("/admin/users").get_data(as_text=True)
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    total = 35 + len(people)
    assert f"{total} 个账号" in first and "1 / 2" in first and "page=2" in first
    shown = first.count('class="list-link"'), second.count('class="list-link"')
    assert shown == (30, total - 30)
    every = names_listed(first) + names_listed(second)
    assert len(set(every)) == total  # each once, none lost between the pages
    inspectors = admin.get("/admin/users?role=inspector&page=2").get_data(as_text=True)
    assert "36 个账号" in inspectors and inspectors.count('class="list-link"') == 6 and "role=inspector" in inspectors
    found = admin.get("/admin/users?q=INSP0").get_data(as_text=True)  # in any case
    assert "10 个账号" in found and found.count('class="list-link"') == 10
    past = admin.get("/admin/users?q=insp&page=3").get_data(as_text=True)  # past the last page: still counted
    assert "36 个账号" in past and 'class="list-link"' not in past
    # a unit: the accounts scoped to it or below and the chiefs of its outlets
    hz = admin.get(f"/admin/users?unit={org_tree['hz'].id}").get_data(as_text=True)
    assert "40 个账号" in hz and f"unit={org_tree['hz'].id}&amp;page=2" in hz
    hz2 = admin.get(f"/admin/users?unit={org_tree['hz'].id}&page=2").get_data(as_text=True)
    listed = set(re.findall(r'<span class="muted">([^<]+)</span>', hz + hz2))
    assert {"manager", "inspector", "handler", "chief", "chief2", "insp00"} <= listed
    assert not listed & {"manager.nb", "handler.nb", "director", "reviewer", "shopper", "admin"}
    assert f'<option value="{org_tree["hz"].id}" selected' in hz


def test_account_form_names_units_and_outlets_by_code(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    page = admin.get("/admin/users/new").get_data(as_text=True)
    assert "西湖区文三路邮政营业所" not in page and "<option value=\"" + str(org_tree["xihu"].id) not in page
    form = {"username": "new.chief", "display_name": "新负责人", "role": "branch_chief", "unit_code": "",
            "outlet_codes": "330106001 X1 330203001，Y2", "code_name": "", "phone": "", "password": "Chief-2026"}
    response = admin.post("/admin/users/new", form)
    assert response.status_code == 200
    assert "没有编码为 X1、Y2 的网点" in response.get_data(as_text=True)
    assert not db.exec(select(User).where(User.username == "new.chief")).all()
    response = admin.post("/admin/users/new", dict(form, outlet_codes="330106001\n330203001, 330106001"))
    assert response.status_code == 302
    chief = db.exec(select(User).where(User.username == "new.chief")).one()
    ids = sorted(db.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == chief.id)).all())
    assert ids == sorted([org_tree["xihu1"].id, org_tree["haishu1"].id])
    page = admin.get(f"/admin/users/{chief.id}").get_data(as_text=True)
    assert "330106001 330203001</textarea>" in page and "海曙区鼓楼邮政营业所" in page

    manager = {"username": "m.xihu", "display_name": "西湖经理", "role": "manager", "unit_code": "9999",
               "outlet_codes": "", "code_name": "", "phone": "", "password": "Manager-2026"}
    response = admin.post("/admin/users/new", manager)
    assert "没有编码为 9999 的单位" in response.get_data(as_text=True)
    assert not db.exec(select(User).where(User.username == "m.xihu")).all()
    assert admin.post("/admin/users/new", dict(manager, unit_code=" 330106 ")).status_code == 302
    user = db.exec(select(User).where(User.username == "m.xihu")).one()
    assert user.unit_id == org_tree["xihu"].id
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert 'value="330106"' in page and "西湖区 330106" in page


def test_account_form_without_csrf_is_refused(app, client_as, people, db):
    admin = client_as(people["admin"])
    response = admin.c.post("/admin/users/new", data={"username": "x.y", "display_name": "x", "role": "manager",
                                                     "unit_code": "33", "password": "Manager-2026"})
    assert response.status_code == 400
    assert not db.exec(select(User).where(User.username == "x.y")).all()


def test_units_one_level_at_a_time(client_as, people, org_tree, create_unit, db):
    t = org_tree
    admin = client_as(people["admin"])
    top = admin.get("/admin/units").get_data(as_text=True)
    assert "浙江省" in top and "杭州市" not in top and "西湖区" not in top
    assert "2 个下级单位 · 3 个网点" in top and f'href="/admin/units?unit={t["province"].id}"' in top
    province = admin.get(f"/admin/units?unit={t['province'].id}").get_data(as_text=True)
    assert "杭州市" in province and "宁波市" in province and "西湖区" not in province
    assert "1 个下级单位 · 2 个网点" in province and "1 个下级单位 · 1 个网点" in province
    city = admin.get(f"/admin/units?unit={t['hz'].id}").get_data(as_text=True)
    assert "西湖区" in city and "海曙区" not in city and "2 个网点" in city
    assert f'<a href="/admin/units?unit={t["province"].id}">浙江省</a>' in city  # the way back up
    # a sub-unit is added to the unit shown, and the page comes back to it
    response = admin.post(f"/admin/units?unit={t['hz'].id}", {"parent_id": str(t["hz"].id), "code": "330110",
                                                              "name": "余杭区"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/units?unit={t['hz'].id}")
    assert db.exec(select(Unit).where(Unit.code == "330110")).one().parent_id == t["hz"].id
    response = admin.post(f"/admin/units/{t['xihu'].id}", {"name": "西湖新区"})
    assert response.headers["Location"].endswith(f"/admin/units?unit={t['hz'].id}")
    db.expire_all()
    assert db.get(Unit, t["xihu"].id).name == "西湖新区"
    county = admin.get(f"/admin/units?unit={t['xihu'].id}").get_data(as_text=True)
    assert "西湖新区" in county and 'name="parent_id"' not in county  # a county has no sub-units to add
    assert admin.get("/admin/units?unit=999999").status_code == 404


def test_outlet_form_names_its_county_by_code(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    page = admin.get("/admin/outlets/new").get_data(as_text=True)
    assert "<select" not in page.split("<main")[-1]
    form = {"code": "330106099", "name": "西湖区新网点", "address": "", "lat": "", "lon": "", "unit_code": "3301",
            "timezone": "Asia/Shanghai", "active": "y"}
    assert "杭州市(3301)不是县/区" in admin.post("/admin/outlets/new", form).get_data(as_text=True)
    assert "没有编码为 3399 的单位" in admin.post("/admin/outlets/new", dict(form, unit_code="3399")).get_data(as_text=True)
    assert not db.exec(select(Outlet).where(Outlet.code == "330106099")).all()
    assert admin.post("/admin/outlets/new", dict(form, unit_code="330203")).status_code == 302
    outlet = db.exec(select(Outlet).where(Outlet.code == "330106099")).one()
    assert outlet.unit_id == org_tree["haishu"].id
    page = admin.get(f"/admin/outlets/{outlet.id}/edit").get_data(as_text=True)
    assert 'value="330203"' in page and "海曙区 330203" in page


ADMIN_PAGES = ["/admin/users", "/admin/users?role=branch_chief&q=c", "/admin/users/new", "/admin/units",
               "/admin/outlets/new"]


def test_admin_pages_run_a_fixed_number_of_statements(client_as, people, org_tree, create_unit, create_outlet,
                                                      create_user):
    admin = client_as(people["admin"])

    def counts(unit_id):
        urls = ADMIN_PAGES + [f"/admin/users?unit={unit_id}", f"/admin/units?unit={unit_id}",
                              f"/admin/users/{people['chief'].id}", f"/admin/outlets/{org_tree['xihu1'].id}/edit"]
        return {url: int(admin.get(url).headers["X-Query-Count"]) for url in urls}

    small = counts(org_tree["hz"].id)
    for n in range(3):
        county = create_unit(f"新区{n}", parent=org_tree["hz"], code=f"33019{n}")
        for k in range(4):
            outlet = create_outlet(county, code=f"33019{n}{k:02d}")
            create_user(Role.branch_chief, outlets=[outlet], username=f"c{n}{k}")
        create_user(Role.manager, unit=county, username=f"m{n}")
    assert counts(org_tree["hz"].id) == small
