"""Realistic demo data: one province, three cities, eight counties, about 60 outlets."""
from __future__ import annotations

import random

from sqlmodel import Session, select

from inspect_app.auth.models import Role, User
from inspect_app.auth.services import create_user
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit

PROVINCE = ("33", "浙江省")
CITIES = [
    ("3301", "杭州市", [
        ("330106", "西湖区", (30.259, 120.130), ["文三路", "古荡", "翠苑", "留下", "转塘", "蒋村", "北山街", "灵隐"]),
        ("330110", "余杭区", (30.419, 120.301), ["临平", "良渚", "闲林", "五常", "仓前", "塘栖", "瓶窑"]),
        ("330109", "萧山区", (30.162, 120.264), ["城厢", "北干", "新塘", "瓜沥", "义桥", "闻堰", "宁围", "靖江"]),
    ]),
    ("3302", "宁波市", [
        ("330212", "鄞州区", (29.816, 121.547), ["钟公庙", "首南", "姜山", "五乡", "下应", "东吴", "邱隘"]),
        ("330203", "海曙区", (29.874, 121.551), ["鼓楼", "南门", "白云", "段塘", "石碶", "集士港", "高桥"]),
        ("330282", "慈溪市", (30.170, 121.266), ["浒山", "坎墩", "周巷", "观海卫", "逍林", "龙山", "宗汉", "古塘"]),
    ]),
    ("3303", "温州市", [
        ("330302", "鹿城区", (28.015, 120.655), ["五马", "南汇", "松台", "滨江", "蒲鞋市", "双屿", "藤桥"]),
        ("330381", "瑞安市", (27.779, 120.655), ["安阳", "玉海", "锦湖", "东山", "上望", "塘下", "飞云", "汀田"]),
    ]),
]
KINDS = ["邮政营业所", "邮政支局", "快递服务站", "邮政营业厅"]
WINDOW_NAMES = ["综合业务", "邮政储蓄", "包裹收寄", "报刊发行", "集邮"]

DEMO_PASSWORD = "demo-2026"


def _demo_users(units: dict[str, Unit], outlets: list[Outlet]) -> list[dict]:
    xihu = [o for o in outlets if o.code.startswith("330106")]
    return [
        dict(username="manager", display_name="王建国", role=Role.manager, unit_id=units["3301"].id, phone="13800000001"),
        dict(username="manager.nb", display_name="陈海燕", role=Role.manager, unit_id=units["3302"].id),
        dict(username="director", display_name="周立新", role=Role.manager, unit_id=units["33"].id),
        dict(username="inspector", display_name="李明", role=Role.inspector, unit_id=units["3301"].id, phone="13800000002"),
        dict(username="inspector.nb", display_name="孙伟", role=Role.inspector, unit_id=units["3302"].id),
        dict(username="shopper", display_name="赵晓", role=Role.shopper, code_name="暗访员A07", phone="13800000003"),
        dict(username="reviewer", display_name="刘芳", role=Role.reviewer, unit_id=units["33"].id),
        dict(username="chief", display_name="张丽", role=Role.branch_chief, outlet_ids=[xihu[0].id, xihu[1].id]),
        dict(username="chief2", display_name="黄强", role=Role.branch_chief, outlet_ids=[xihu[2].id]),
    ]


def load_demo(session: Session, *, seed: int = 7) -> list[tuple[str, str, str]]:
    """Create the demo organisation and accounts; returns (username, role, password) rows.

    Does nothing when the demo province already exists, so running it twice is harmless.
    """
    if session.exec(select(Unit).where(Unit.code == PROVINCE[0])).first():
        return []
    rng = random.Random(seed)
    units: dict[str, Unit] = {}
    province = org.create_unit(session, actor=None, code=PROVINCE[0], name=PROVINCE[1], parent=None)
    units[province.code] = province
    outlets: list[Outlet] = []
    for city_code, city_name, counties in CITIES:
        city = org.create_unit(session, actor=None, code=city_code, name=city_name, parent=province)
        units[city_code] = city
        for county_code, county_name, (lat, lon), places in counties:
            county = org.create_unit(session, actor=None, code=county_code, name=county_name, parent=city)
            units[county_code] = county
            for n, place in enumerate(places, start=1):
                kind = KINDS[(n + len(place)) % len(KINDS)]
                outlet = org.save_outlet(
                    session, actor=None, outlet=None, code=f"{county_code}{n:03d}",
                    name=f"{county_name}{place}{kind}", address=f"{PROVINCE[1]}{city_name}{county_name}{place}路{rng.randint(1, 300)}号",
                    lat=round(lat + rng.uniform(-0.05, 0.05), 6), lon=round(lon + rng.uniform(-0.05, 0.05), 6),
                    unit_id=county.id, timezone="Asia/Shanghai",
                )
                for w in range(1, rng.randint(2, 5) + 1):
                    org.save_window(session, actor=None, outlet=outlet, window=None, number=str(w),
                                    name=WINDOW_NAMES[(w - 1) % len(WINDOW_NAMES)])
                outlets.append(outlet)
    created = []
    admin = session.exec(select(User).where(User.username == "admin")).first()
    if admin is None:
        create_user(session, actor=None, username="admin", display_name="系统管理员", password=DEMO_PASSWORD,
                    role=Role.admin)
        created.append(("admin", "admin", DEMO_PASSWORD))
    for spec in _demo_users(units, outlets):
        create_user(session, actor=None, password=DEMO_PASSWORD, **spec)
        created.append((spec["username"], spec["role"].value, DEMO_PASSWORD))
    session.commit()
    return created
