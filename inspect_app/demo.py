"""Realistic demo data: one province, three cities, eight counties, about 60 outlets."""
from __future__ import annotations

import datetime as dt
import random
import secrets

from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.auth.services import create_user
from inspect_app.complaints import services as complaints
from inspect_app.complaints.models import Callback, Complaint, ComplaintEvent
from inspect_app.evidence.storage import get_storage
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, StaffMember, Unit, Window
from inspect_app.plans import services as plans
from inspect_app.plans.models import AssignMode, InspectionPlan
from inspect_app.rectifications import extensions
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import OUTLET_TURN, RectificationEvent, RectificationLine, RectificationNotice
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, StarRating, Visit

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
        dict(username="inspector.wz", display_name="林晓东", role=Role.inspector, unit_id=units["3303"].id),
        dict(username="shopper", display_name="赵晓", role=Role.shopper, code_name="暗访员A07", phone="13800000003"),
        dict(username="reviewer", display_name="刘芳", role=Role.reviewer, unit_id=units["33"].id),
        dict(username="chief", display_name="张丽", role=Role.branch_chief, outlet_ids=[xihu[0].id, xihu[1].id]),
        dict(username="chief2", display_name="黄强", role=Role.branch_chief, outlet_ids=[xihu[2].id]),
        dict(username="handler", display_name="吴静", role=Role.handler, unit_id=units["3301"].id, phone="13800000004"),
        dict(username="handler2", display_name="郑涛", role=Role.handler, unit_id=units["33"].id),
    ]


#: How long before now the demo's outlets opened: years before any record (a 零投诉 streak of an
#: outlet never at fault counts from the register's start, not from the day the demo was loaded).
OUTLETS_OPENED = dt.timedelta(days=3 * 365)


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
                outlet.created_at = clock.now() - OUTLETS_OPENED  # long before the demo's months of records
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
    _demo_staff(session, outlets, rng)
    # every other outlet has its own branch chief too (not printed: log in as chief / chief2)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    for n, outlet in enumerate(outlets[3:], start=3):
        create_user(session, actor=None, username=f"chief{n}", password=secrets.token_urlsafe(12) + "-7",
                    display_name=surnames[n % len(surnames)] + given[(n * 7) % len(given)],
                    role=Role.branch_chief, outlet_ids=[outlet.id])
    session.commit()
    return created


# --- visits ----------------------------------------------------------------------------------

DEMO_NOTES = ["现场发现该问题,已当面指出", "工作人员未按规范执行", "现场物品摆放杂乱", "宣传资料过期未撤换",
              "地面有明显污渍", "未按要求佩戴工牌", "等候区座椅破损", "业务办理时未唱收唱付"]


def _demo_photo(rng: random.Random, label: str) -> bytes:
    """A plausible-looking evidence picture: a photo-sized frame with shapes and a caption."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1280, 960), tuple(rng.randint(120, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 1100), rng.randint(0, 800)
        draw.rectangle((x, y, x + rng.randint(60, 300), y + rng.randint(60, 200)),
                       fill=tuple(rng.randint(30, 250) for _ in range(3)))
    draw.text((40, 40), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _fill_randomly(session: Session, *, visit, actor: User, rng: random.Random, fail_rate: float,
                   red_line: bool) -> None:

    checklist = visits.checklist_of(session, visit)
    red_items = [i for i in checklist.items if i.red_line]
    forced_red = rng.choice(red_items).code if red_line and red_items else None
    for item in checklist.items:
        if item.rule == "timer":
            continue
        fail = item.code == forced_red or (not item.red_line and rng.random() < fail_rate)
        note = rng.choice(DEMO_NOTES) if fail else None
        if item.na_allowed and not fail and rng.random() < 0.05:
            visits.save_answer(session, actor=actor, visit=visit, item_code=item.code, result="na")
            continue
        if item.rule == "per_occurrence":
            visits.save_answer(session, actor=actor, visit=visit, item_code=item.code,
                               occurrences=rng.randint(1, 3) if fail else 0, note=note)
        elif item.rule == "scale":
            value = rng.randint(0, item.fail_below - 1) if fail else rng.randint(item.fail_below, item.scale_max)
            visits.save_answer(session, actor=actor, visit=visit, item_code=item.code, scale_value=value,
                               note=note if value < item.fail_below else None)
        else:
            visits.save_answer(session, actor=actor, visit=visit, item_code=item.code,
                               result="fail" if fail else "pass", note=note)
        if fail and item.photo_on_fail:
            visits.add_visit_photo(session, get_storage(), actor=actor, visit=visit,
                                     data=_demo_photo(rng, item.code), item_code=item.code)


def load_demo_visits(session: Session, *, seed: int = 11, per_city: int | None = None) -> int:
    """Released visits over the last two months, scheduled work for the demo inspector, a draft.

    ``per_city`` limits the released visits to that many outlets per city (the tests, which run
    the loader at many instants, need the same steps, not the same volume)."""
    import datetime as dt


    if session.exec(select(Visit)).first():
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in session.exec(select(User)).all()}
    inspectors = {"3301": users["inspector"], "3302": users["inspector.nb"]}
    outlets = session.exec(select(Outlet).order_by(Outlet.code)).all()
    count = 0
    done_per_city: dict[str, int] = {}
    red_cities: set[str] = set()
    for outlet in outlets:
        city = outlet.code[:4]
        if city not in inspectors:
            continue
        if per_city is not None and done_per_city.get(city, 0) >= per_city:
            continue
        done_per_city[city] = done_per_city.get(city, 0) + 1
        inspector = inspectors[city]
        windows = session.exec(select(Window).where(Window.outlet_id == outlet.id).order_by(Window.number)).all()
        plans = [("open_inspection", None), ("window_star", windows[0])]
        if rng.random() < 0.5:
            plans.append((rng.choice(["etiquette", "fives"]), windows[-1]))
        for code, window in plans:
            days_ago = rng.randint(2, 60)
            visit = visits.start_adhoc_visit(session, actor=inspector, outlet=outlet, window=window, checklist_code=code)
            # a few check-ins on record about 700 m away, with their reason (异常签到 has something to show)
            far = outlet.code.endswith("004") and code == "open_inspection" and outlet.lat is not None
            visits.check_in(session, actor=inspector, visit=visit, lat=outlet.lat + (0.0063 if far else 0),
                            lon=outlet.lon, accuracy=rng.randint(8, 40),
                            far_reason="网点临时迁至对面商场二楼办公" if far else "")
            weak = outlet.code.endswith(("003", "006"))  # a few outlets that keep having problems
            # every city has at least one red line on record (the first weak outlet's open inspection)
            forced = weak and code == "open_inspection" and city not in red_cities
            if forced:
                red_cities.add(city)
            _fill_randomly(session, visit=visit, actor=inspector, rng=rng, fail_rate=0.12 if weak else 0.03,
                           red_line=forced or (weak and rng.random() < 0.3))
            visits.submit_visit(session, actor=inspector, visit=visit, token=f"demo-{outlet.code}-{code}")
            moment = clock.now() - dt.timedelta(days=days_ago, hours=rng.randint(0, 6))
            visit.started_at = visit.checkin_at = moment
            visit.submitted_at = visit.released_at = moment + dt.timedelta(minutes=rng.randint(25, 70))
            session.add(visit)
            for answer in session.exec(select(Answer).where(Answer.visit_id == visit.id)).all():
                answer.updated_at = moment + dt.timedelta(minutes=10)
                session.add(answer)
            for rating in session.exec(select(StarRating).where(StarRating.visit_id == visit.id)).all():
                rating.awarded_at = visit.released_at
                rating.valid_until = visits.star_valid_until(visit.released_at, outlet.timezone)
                session.add(rating)
            count += 1
    session.flush()
    _demo_rectification(session, rng=rng)
    # work for the demo inspector: today, overdue, coming up, and a draft
    hz = [o for o in outlets if o.code.startswith("3301")]
    today = clock.today(hz[0].timezone)  # the outlets' calendar, not the host's
    manager = users["manager"]
    plan = [(hz[0:3], 0, 2), (hz[3:5], -6, -1), (hz[5:7], 3, 7)]
    for chosen, start, end in plan:
        scheduled = visits.schedule_visits(
            session, actor=manager, checklist_code="open_inspection", outlet_ids=[o.id for o in chosen],
            assignee=users["inspector"], due_from=today + dt.timedelta(days=max(start, 0)),
            due_until=today + dt.timedelta(days=max(end, 0)))
        if end < 0:  # overdue: the window lies in the past
            for visit in scheduled:
                visit.due_from, visit.due_until = today + dt.timedelta(days=start), today + dt.timedelta(days=end)
                session.add(visit)
        count += len(scheduled)
    draft = visits.start_adhoc_visit(session, actor=users["inspector"], outlet=hz[8], checklist_code="fives")
    visits.check_in(session, actor=users["inspector"], visit=draft, lat=hz[8].lat, lon=hz[8].lon, accuracy=15)
    checklist = visits.checklist_of(session, draft)
    for item in checklist.items[:8]:
        visits.save_answer(session, actor=users["inspector"], visit=draft, item_code=item.code,
                           **({"scale_value": item.scale_max} if item.rule == "scale" else
                              {"occurrences": 0} if item.rule == "per_occurrence" else {"result": "pass"}))
    session.commit()
    return count + 1


def _demo_rectification(session: Session, *, rng: random.Random) -> None:
    """Notices in every state: acknowledged, answered, returned, closed, and some overdue.

    The visits were back-dated; their notices are moved to the same dates, then walked through the
    real services so the history, photos and notifications are what the app itself would write.
    """
    import datetime as dt


    users = {u.username: u for u in session.exec(select(User)).all()}
    now = clock.now()
    for notice in session.exec(select(RectificationNotice).order_by(RectificationNotice.id)).all():
        visit = session.get(Visit, notice.visit_id)
        outlet = session.get(Outlet, notice.outlet_id)
        issued = visit.released_at
        notice.issued_at = issued
        notice.number = f"ZG{clock.local_date(issued, outlet.timezone):%Y%m}-{notice.id:05d}"  # its own month
        session.add(notice)
        lines = session.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).all()
        for line in lines:
            day = rect.default_deadline(line.severity, issued, outlet, secret=visit.kind == "secret")
            line.issued_at, line.deadline_date, line.deadline_at = issued, day, rect.deadline_instant(day, outlet.timezone)
            session.add(line)
            for event in session.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)).all():
                event.at, event.deadline_after = issued, day
                session.add(event)
        session.flush()
        chiefs = rect.branch_chiefs_of(session, outlet.id)
        age = (now - issued).days
        if not chiefs or age < 2 or rng.random() < 0.08:
            continue  # not even acknowledged: these turn overdue
        chief = chiefs[0]
        inspector = session.get(User, visit.assignee_id)
        rect.acknowledge_notice(session, actor=chief, notice=notice)
        for line in lines:
            fate = rng.random()
            if age < 5 and fate < 0.5:
                continue
            if fate < 0.1 and age > 20:
                continue  # acknowledged but never answered: overdue
            rect.stage_line_photo(session, get_storage(), actor=chief, line=line,
                                  data=_demo_photo(rng, f"{line.item_code} OK"), client_id=None)
            rect.answer_line(session, actor=chief, line=line, description="已按要求整改完毕,附整改后照片。")
            if age > 6 and fate < 0.9:
                if fate < 0.2:
                    rect.verify_line(session, actor=inspector, line=line, accept=False,
                                     reason="整改照片不能说明问题已解决,请补充。")
                    continue
                rect.verify_line(session, actor=inspector, line=line, accept=True)
        # the walk happened "now"; spread it over the days after the notice was issued
        span = max(1, min(age, 10))
        for line in lines:
            events = session.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)
                                  .order_by(RectificationEvent.id)).all()
            for k, event in enumerate(events[1:], start=1):
                # never after "now": a history that ends in the future would be read back wrongly
                event.at = min(issued + dt.timedelta(days=min(span, k * span / max(1, len(events) - 1)), hours=k),
                               clock.now() - dt.timedelta(minutes=len(events) - k))
                session.add(event)
            stamps = {e.action: e.at for e in events}
            line.acknowledged_at = stamps.get("acknowledged", line.acknowledged_at)
            line.answered_at = stamps.get("answered", line.answered_at)
            line.closed_at = stamps.get("verified", line.closed_at)
            session.add(line)
        notice.acknowledged_at = issued + dt.timedelta(hours=3)
        session.add(notice)
    session.flush()
    del users


def _demo_extension(session: Session, chief: User) -> None:
    """延期申请: the demo chief has asked for more time on one open line (the earliest due that an
    extension can still reach), waiting for a decision."""
    import datetime as dt

    now = clock.now()
    for line in session.exec(select(RectificationLine).where(
            RectificationLine.outlet_id.in_(select(UserOutlet.outlet_id).where(UserOutlet.user_id == chief.id)),
            RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at > now)
            .order_by(RectificationLine.deadline_at)).all():
        outlet = session.get(Outlet, line.outlet_id)
        day = line.deadline_date + dt.timedelta(days=7)
        if day <= rect.local_today(outlet, now) + dt.timedelta(days=extensions.max_days()):
            extensions.request_extension(session, actor=chief, line=line, new_deadline=day,
                                         reason="更换破损的叫号机需厂家发货,预计下周到货后安装。")
            return


# --- staff, complaints, callbacks, accountability ------------------------------------------------------

STAFF_POSTS = ["营业员", "营业员", "投递员", "大堂经理"]
STAFF_SURNAMES, STAFF_GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚婷浩宇"


def _demo_staff(session: Session, outlets: list[Outlet], rng: random.Random) -> None:
    """Three or four people per outlet, numbered by outlet (工号 = outlet code + 2 digits)."""
    for outlet in outlets:
        for n, post in enumerate(STAFF_POSTS[:rng.randint(3, 4)], start=1):
            session.add(StaffMember(job_number=f"{outlet.code}{n:02d}", post=post, outlet_id=outlet.id,
                                    name=rng.choice(STAFF_SURNAMES) + "".join(rng.choice(STAFF_GIVEN) for _ in range(rng.randint(1, 2)))))
    session.flush()


#: (category, what the customer said, what the investigation found, what to rectify)
DEMO_COMPLAINTS = [
    ("服务态度", "营业员办理汇款时态度生硬,客户询问手续费被不耐烦打断。", "调取柜台录像,营业员确有语气生硬、打断客户的情况。",
     "营业员服务用语复训,网点每日班前会重申服务规范"),
    ("时限", "寄往上海的特快专递承诺次日达,实际第四天才签收。", "查询邮件轨迹,中转环节滞留两天,网点交寄时间正常。", ""),
    ("乱收费", "寄包裹时被额外收取10元包装费,未事先告知。", "网点未公示包装材料收费标准,营业员未主动告知。",
     "在营业厅显著位置公示包装收费标准\n营业员收费前须告知并唱收唱付"),
    ("丢失损毁", "邮寄的瓷器到达时破损,网点拒绝受理赔偿。", "收寄时未按易碎品包装规范操作,理赔受理推诿属实。",
     "易碎品收寄包装规范培训\n理赔首问负责,当场登记受理"),
    ("搭售", "办理业务时被要求必须购买纪念邮票才能办理。", "营业员存在捆绑推销行为。", "禁止捆绑销售,网点负责人每周抽查"),
    ("拒收拒寄", "网点以即将下班为由拒绝收寄包裹。", "客户到达时间为16:40,网点营业至17:00,拒收属实。", "严格执行营业时间,下班前不得拒收"),
    ("虚假签收", "快递显示已签收,本人并未收到。", "投递员未按址投递,擅自代签。", "投递员按址投递、当面签收,异常件电话联系"),
    ("服务态度", "大堂经理引导不清,排队半小时被告知走错窗口。", "当日客流高峰,大堂经理分流引导不到位。", ""),
    ("投递服务", "报刊连续三天未投递到户。", "投递段道调整后漏投,已补投。", ""),
    ("时限", "取款等候时间过长,只开了一个窗口。", "当日两名营业员请假,未及时调配人员,属部分有理。", "高峰时段弹性排班,保证至少两个窗口开放"),
]


def load_demo_complaints(session: Session, *, seed: int = 23, count: int = 48) -> int:
    """A few months of complaints across sources, categories and outcomes, walked through the real
    services (the history and audit are what the app writes), then moved back to their dates."""
    import datetime as dt

    if session.exec(select(Complaint.id).limit(1)).first():
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in session.exec(select(User)).all()}
    handlers = {"3301": users["handler"], "3302": users["handler2"]}
    manager = {"3301": users["manager"], "3302": users["manager.nb"]}
    outlets = [o for o in session.exec(select(Outlet).order_by(Outlet.code)).all() if o.code[:4] in handlers]
    sources = ["hotline"] * 4 + ["phone"] * 7 + ["appeal"] * 2 + ["wechat"] * 4 + ["letter"] + ["onsite"] * 2
    now = clock.now()
    made = 0
    for n in range(count):
        # the last 85 days, more of them recent; weak outlets (…003, …006) draw more complaints
        days_ago = min(85, int(rng.expovariate(1 / 25))) if n else 0
        weak = [o for o in outlets if o.code.endswith(("003", "006"))]
        outlet = rng.choice(weak if rng.random() < 0.4 else outlets)
        handler = handlers[outlet.code[:4]]
        received = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 9), minutes=rng.randint(0, 59))
        category, account, found, fix = rng.choice(DEMO_COMPLAINTS)
        staff = session.exec(select(StaffMember).where(StaffMember.outlet_id == outlet.id)
                             .order_by(StaffMember.job_number)).all()
        concerned = rng.choice(staff) if staff and category in ("服务态度", "乱收费", "搭售", "拒收拒寄", "虚假签收") else None
        complaint = complaints.register_complaint(
            session, actor=handler, outlet=outlet, source=rng.choice(sources), received_at=received, category=category,
            account=account, customer_name=rng.choice(STAFF_SURNAMES) + rng.choice(["先生", "女士"]),
            customer_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            reference=f"EA{rng.randint(100000000, 999999999)}CN" if category in ("时限", "丢失损毁", "虚假签收") else "",
            staff_id=concerned.id if concerned else None)
        made += 1
        if n > 0:  # the first one stays as registered, waiting to be taken
            _walk_complaint(session, rng, users, handler, manager[outlet.code[:4]], complaint, outlet, days_ago, found,
                            fix)
        _back_date(session, complaint, received, now)
    made += _demo_chief_story(session, users, now)
    made += _demo_appeals(session, users, now)
    _demo_red_line_accountability(session, users, manager)
    _demo_commendations(session, manager, rng)
    _demo_key_customers(session, handlers, outlets, rng, now)
    _demo_extension(session, users["chief"])  # after the complaints' lines: the chief's open ones are there
    session.flush()
    return made


def _demo_chief_story(session: Session, users: dict, now) -> int:
    """What the demo chief (西湖区文三路, 古荡) has on the desk: a substantiated hotline complaint with
    a rectification line and an accountability decision to acknowledge, and one being handled."""
    import datetime as dt

    handler, manager = users["handler"], users["manager"]
    first, second = (session.exec(select(Outlet).where(Outlet.code == code)).one() for code in ("330106001", "330106002"))
    clerk = session.exec(select(StaffMember).where(StaffMember.outlet_id == first.id).order_by(StaffMember.job_number)).first()
    received = now - dt.timedelta(days=4, hours=3)
    story = complaints.register_complaint(
        session, actor=handler, outlet=first, source="hotline", received_at=received, category="服务态度",
        account="客户拨打局长热线反映:办理汇款时营业员态度生硬,询问手续费被不耐烦打断。", customer_name="孙丽萍",
        customer_phone="13957112345", staff_id=clerk.id)
    complaints.take(session, actor=handler, complaint=story)
    complaints.record_contact(session, actor=handler, complaint=story, note="已致电孙女士致歉,说明将调取录像核实。")
    complaints.add_note(session, actor=handler, complaint=story, text="调取柜台录像,营业员确有语气生硬、打断客户的情况。")
    complaints.conclude(session, actor=handler, complaint=story, verdict="substantiated", reasons="录像证实服务态度生硬,投诉有理。",
                        grade=1, requirements=["营业员服务规范复训并签到", "班前会重申服务用语,网点负责人每周抽查录像"])
    record_ = complaints.open_accountability(session, actor=handler, staff=clerk, complaint=story,
                                             reason=f"投诉{story.number}:服务态度生硬,有理投诉一般等级。")
    complaints.decide_accountability(session, actor=manager, record_=record_, grade=1)
    complaints.call_back(session, actor=handler, complaint=story, satisfaction="basic", note="客户表示接受道歉。")
    _back_date(session, story, received, now)
    open_one = complaints.register_complaint(
        session, actor=handler, outlet=second, source="phone", received_at=now - dt.timedelta(hours=20), category="时限",
        account="寄往北京的快递包裹承诺三日达,已第五天仍未送达。", customer_name="周先生", customer_phone="13600571234",
        reference="EA123456789CN")
    complaints.take(session, actor=handler, complaint=open_one)
    complaints.record_contact(session, actor=handler, complaint=open_one, note="已联系客户,正在查询邮件轨迹。")
    _back_date(session, open_one, now - dt.timedelta(hours=20), now)
    return 2


def _demo_appeals(session: Session, users: dict, now) -> int:
    """Two decisions the demo chief appealed, both decided: one appeal rejected (the decision
    stands, to acknowledge), one accepted (revoked)."""
    import datetime as dt

    handler, manager, chief = users["handler"], users["manager"], users["chief"]
    outlet = session.exec(select(Outlet).where(Outlet.code == "330106002")).one()
    people = session.exec(select(StaffMember).where(StaffMember.outlet_id == outlet.id)
                          .order_by(StaffMember.job_number)).all()
    stories = [
        ("乱收费", "客户反映寄递包裹时被多收保价费 20 元,且未出具收据。", "核对收费记录,确有未按标准收费的情况。",
         "当事人已主动退还多收费用并向客户道歉,申请免于问责。", "uphold", "多收费用属实,退费不免除责任,维持原决定。"),
        ("服务态度", "客户反映营业员在其排队时长时间接听私人电话。", "调取录像,营业员接听电话约 3 分钟,期间暂停了业务。",
         "录像显示当时为接听网点内线电话处理急件,并非私人电话,申请撤销。", "revoke", "经核实为处理急件的内线电话,撤销问责。"),
    ]
    for n, (category, account, found, grounds, outcome, decision) in enumerate(stories):
        person = people[(n + 1) % len(people)]
        received = now - dt.timedelta(days=20 - 6 * n, hours=2)
        complaint = complaints.register_complaint(
            session, actor=handler, outlet=outlet, source="phone", received_at=received, category=category,
            account=account, customer_name=["钱先生", "吴女士"][n], customer_phone=f"1396800{n:04d}", staff_id=person.id)
        complaints.take(session, actor=handler, complaint=complaint)
        complaints.record_contact(session, actor=handler, complaint=complaint, note="已致电客户,说明调查安排。")
        complaints.add_note(session, actor=handler, complaint=complaint, text=found)
        complaints.conclude(session, actor=handler, complaint=complaint, verdict="substantiated", reasons=found, grade=1)
        complaints.call_back(session, actor=handler, complaint=complaint, satisfaction="satisfied")
        record_ = complaints.open_accountability(session, actor=handler, staff=person, complaint=complaint,
                                                 reason=f"投诉{complaint.number}:{found}")
        complaints.decide_accountability(session, actor=manager, record_=record_, grade=1)
        complaints.appeal_accountability(session, actor=chief, record_=record_, reason=grounds)
        complaints.decide_appeal(session, actor=manager, record_=record_, outcome=outcome, reason=decision)
        _back_date(session, complaint, received, now)
    return len(stories)


def _demo_red_line_accountability(session: Session, users: dict, manager: dict) -> None:
    """A red-line finding of an inspection (一票否决 item) held against the person it names, decided
    by the city's manager."""
    outlets = {o.id: o for o in session.exec(select(Outlet)).all()}
    for line in session.exec(select(RectificationLine).where(RectificationLine.red_line.is_(True))
                             .order_by(RectificationLine.id)).all():
        outlet = outlets[line.outlet_id]
        staff = session.exec(select(StaffMember).where(StaffMember.outlet_id == outlet.id, StaffMember.active.is_(True))
                             .order_by(StaffMember.job_number)).first()
        if staff is None or outlet.code[:4] not in manager:
            continue
        boss = manager[outlet.code[:4]]
        record_ = complaints.open_accountability(session, actor=boss, staff=staff, line=line,
                                                 reason=f"检查发现红线问题({line.item_code}),当班营业员负直接责任。")
        complaints.decide_accountability(session, actor=boss, record_=record_, grade=2)
        return


def _demo_commendations(session: Session, manager: dict, rng: random.Random) -> None:
    """服务之星 of the last two months, a few per city, and one 优质服务标兵."""
    first = clock.today().replace(day=1)
    months = [clock.add_months(first, -2), clock.add_months(first, -1)]
    reasons = ["全月零差错、零投诉,客户表扬信两封。", "主动为老年客户上门办理业务,获客户锦旗。", "窗口服务评定五星,业务量全网点第一。"]
    for city, boss in manager.items():
        people = session.exec(select(StaffMember).join(Outlet, Outlet.id == StaffMember.outlet_id)
                              .where(Outlet.code.startswith(city), StaffMember.active.is_(True))
                              .order_by(StaffMember.job_number)).all()
        for month in months:
            for person in rng.sample(people, min(2, len(people))):
                complaints.commend(session, actor=boss, staff=person, month=month, title="服务之星",
                                   reason=rng.choice(reasons))
        if people:
            complaints.commend(session, actor=boss, staff=people[0], month=months[-1], title="优质服务标兵",
                               reason="年度服务技能竞赛一等奖。")


def _walk_complaint(session: Session, rng: random.Random, users: dict, handler: User, manager: User,
                    complaint: Complaint, outlet: Outlet, days_ago: int, found: str, fix: str) -> None:
    """One complaint as far as its age takes it: taken, investigated, concluded, called back."""
    if days_ago < 1 and rng.random() < 0.6:
        return  # registered today, not taken yet
    complaints.take(session, actor=handler, complaint=complaint)
    complaints.record_contact(session, actor=handler, complaint=complaint, note="已致电客户,致歉并说明调查安排。")
    if days_ago < 3 or (days_ago < 12 and rng.random() < 0.25):
        return  # still being investigated (some of these are overdue)
    fate = rng.random()
    verdict = "substantiated" if fate < 0.45 else ("partly" if fate < 0.65 else "unfounded")
    cleared = "经调查,网点处理符合规定,已向客户解释。"
    complaints.add_note(session, actor=handler, complaint=complaint, text=found if verdict != "unfounded" else cleared)
    if rng.random() < 0.08 and outlet.code[:4] == "3301":
        complaints.hand_on(session, actor=handler, complaint=complaint, to_user=users["handler2"],
                           reason="涉及跨市邮件,转省公司业务检查室处理。")
        handler = users["handler2"]
    grade = (1 if rng.random() < 0.7 else 2) if verdict != "unfounded" else None
    complaints.conclude(session, actor=handler, complaint=complaint, verdict=verdict,
                        reasons=found if verdict != "unfounded" else cleared, grade=grade,
                        requirements=fix.split("\n") if fix and verdict != "unfounded" and days_ago < 25 else [],
                        severity="general")
    if verdict != "unfounded" and complaint.staff_id and rng.random() < 0.5:
        record_ = complaints.open_accountability(session, actor=handler, staff=session.get(StaffMember, complaint.staff_id),
                                                 complaint=complaint, reason=f"投诉{complaint.number}:{found}")
        chiefs = rect.branch_chiefs_of(session, outlet.id)
        if rng.random() < 0.8:
            complaints.decide_accountability(session, actor=manager, record_=record_, grade=grade)
            if chiefs and rng.random() < 0.6:
                complaints.acknowledge_accountability(session, actor=chiefs[0], record_=record_)
            elif chiefs and rng.random() < 0.5:
                complaints.appeal_accountability(session, actor=chiefs[0], record_=record_,
                                                 reason="当事人已主动向客户道歉并获谅解,申请从轻。")
    if days_ago > 5 and rng.random() < 0.85:
        satisfaction = rng.choice(["satisfied"] * 6 + ["basic"] * 3 + ["unsatisfied"])
        complaints.call_back(session, actor=handler, complaint=complaint, satisfaction=satisfaction,
                             note="客户表示对处理结果不认可,要求再次核实。" if satisfaction == "unsatisfied" else "")


def _back_date(session: Session, complaint: Complaint, received, now) -> None:
    """The walk happened "now": spread its steps over the days after receipt (never into the future)."""
    import datetime as dt

    events = session.exec(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                          .order_by(ComplaintEvent.id)).all()
    age = (now - received).total_seconds() - 600
    # taken within the hour, the customer called within a few hours, the rest over the days after
    quick = [0, 1200, 7200]
    later = events[len(quick):]
    for k, event in enumerate(events):
        if k < len(quick):
            offset = min(quick[k], age * k / 10)
        else:
            offset = min(age, 86400 + (min(age, 6 * 86400.0) - 86400) * (k - len(quick) + 1) / max(1, len(later)))
        event.at = received + dt.timedelta(seconds=max(0, offset))
        session.add(event)
    stamps = {}
    for event in events:
        stamps.setdefault(event.action, event.at)
    complaint.created_at = received
    complaint.contacted_at = stamps.get("contacted", complaint.contacted_at)
    if complaint.concluded_at is not None:
        complaint.concluded_at = stamps.get("concluded", complaint.concluded_at)
    session.add(complaint)
    for callback in session.exec(select(Callback).where(Callback.complaint_id == complaint.id)).all():
        callback.at = stamps.get("called_back") or stamps.get("reopened") or callback.at
        session.add(callback)
    if complaint.notice_id and "concluded" in stamps:  # its notice went out with the conclusion
        issued = stamps["concluded"]
        outlet = session.get(Outlet, complaint.outlet_id)
        notice = session.get(RectificationNotice, complaint.notice_id)
        notice.issued_at = issued
        session.add(notice)
        for line in session.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).all():
            day = rect.default_deadline(line.severity, issued, outlet)
            line.issued_at, line.deadline_date, line.deadline_at = issued, day, rect.deadline_instant(day, outlet.timezone)
            session.add(line)
            for event in session.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)).all():
                event.at, event.deadline_after = issued, day
                session.add(event)


def _demo_key_customers(session: Session, handlers: dict, outlets: list[Outlet], rng: random.Random, now) -> None:
    import datetime as dt

    companies = [("3301", "杭州新华书店"), ("3301", "浙江大学后勤集团"), ("3301", "西湖区人民法院"), ("3301", "杭州银泰百货"),
                 ("3301", "阿里巴巴园区服务中心"), ("3301", "杭州市第一人民医院"), ("3302", "宁波港集团"), ("3302", "鄞州区税务局")]
    for n, (city, company) in enumerate(companies):
        mine = [o for o in outlets if o.code[:4] == city]
        outlet = mine[n * 3 % len(mine)]
        handler = handlers[outlet.code[:4]]
        tier = ["weekly", "fortnightly", "monthly"][n % 3]
        start = clock.today(outlet.timezone) - dt.timedelta(days=40)
        customer = complaints.add_key_customer(session, actor=handler, outlet=outlet, name=company, tier=tier,
                                               contact_name=rng.choice(STAFF_SURNAMES) + "经理",
                                               contact_phone=f"0571-8{rng.randint(1000000, 9999999)}", start_date=start)
        due = start
        while due <= clock.today(outlet.timezone) - dt.timedelta(days=n % 2):  # half of them left due
            callback = complaints.call_key_customer(session, actor=handler, customer=customer,
                                                    satisfaction=rng.choice(["satisfied"] * 5 + ["basic"]))
            callback.at = clock.day_start(due, outlet.timezone) + dt.timedelta(hours=10)
            session.add(callback)
            session.flush()
            due = complaints.next_due(customer, due)


# --- operating data for the indicator system ------------------------------------------------------------

#: (metric, typical value, spread): what a province's operating reports say per county and month.
DEMO_METRICS = [("delivery_on_time", 95.5, 2.5), ("signed_on_time", 94.0, 3.0), ("call_answer_rate", 91.0, 3.5),
                ("appeal_rate", 5.0, 3.0), ("first_attempt_rate", 96.5, 2.0), ("false_signoff_rate", 1.2, 1.5),
                ("platform_index", 86.0, 6.0)]


def load_demo_operating_values(session: Session, *, seed: int = 31, months: int = 3) -> int:
    """Three months of operating figures per county (the units the data comes by)."""
    import datetime as dt

    from inspect_app.indicators.models import OperatingValue

    if session.exec(select(OperatingValue.id).limit(1)).first():
        return 0
    rng = random.Random(seed)
    counties = session.exec(select(Unit).where(Unit.level == "county").order_by(Unit.code)).all()
    first = clock.today().replace(day=1)
    made = 0
    for back in range(1, months + 1):
        month = first
        for _n in range(back):
            month = (month - dt.timedelta(days=1)).replace(day=1)
        for county in counties:
            for metric, typical, spread in DEMO_METRICS:
                value = max(0.0, min(100.0, rng.gauss(typical, spread / 2)))
                session.add(OperatingValue(unit_id=county.id, month=month, metric=metric, value=round(value, 2)))
                made += 1
    session.flush()
    return made


# --- inspection plans ----------------------------------------------------------------------------------

def load_demo_plans(session: Session) -> int:
    """Two plans, as a city and the province would run them: 杭州市's monthly open inspection of
    every outlet by its inspector, and the province's quarterly cross-inspection (区域巡查互查)
    in which 杭州 inspects 宁波, 宁波 温州 and 温州 杭州. Their visits of this period and the next
    are made at once (the sweep makes the rest). Nothing when a plan exists already."""
    import datetime as dt

    if session.exec(select(InspectionPlan.id).limit(1)).first():
        return 0
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(
        ["manager", "director", "inspector"]))).all()}
    units = {u.code: u for u in session.exec(select(Unit).where(Unit.code.in_(["33", "3301", "3302", "3303"]))).all()}
    if len(users) < 3 or len(units) < 4:
        return 0
    today = clock.today(plans.plan_zone())
    until = dt.date(today.year + 1, 12, 31)
    holidays = [(dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 1, 1), "元旦"),
                (dt.date(today.year + 1, 5, 1), dt.date(today.year + 1, 5, 5), "劳动节"),
                (dt.date(today.year + 1, 10, 1), dt.date(today.year + 1, 10, 7), "国庆节")]
    _monthly, made = plans.create_plan(session, actor=users["manager"], data=plans.PlanInput(
        name="杭州市网点月度明察", unit_id=units["3301"].id, checklist_code="open_inspection", starts_on=today,
        ends_on=until, member_ids=[users["inspector"].id], blackouts=holidays))
    count = len(made.created)
    _cross, made = plans.create_plan(session, actor=users["director"], data=plans.PlanInput(
        name="浙江省区域巡查互查", unit_id=units["33"].id, checklist_code="open_inspection", starts_on=today,
        ends_on=until, period_kind="quarter", assign_mode=AssignMode.pairing, blackouts=holidays,
        pairings=[(units["3301"].id, units["3302"].id), (units["3302"].id, units["3303"].id),
                  (units["3303"].id, units["3301"].id)]))
    session.commit()
    return count + len(made.created)


# --- self-inspection (自查) -----------------------------------------------------------------------------

def _shift_self_visit(session: Session, visit: Visit, moment) -> None:
    """Move a self-inspection just made (and its notice, lines, history) back to ``moment``."""
    import datetime as dt

    delta = moment - visit.submitted_at + dt.timedelta(minutes=12)
    visit.started_at = visit.checkin_at = moment
    visit.submitted_at = visit.released_at = moment + dt.timedelta(minutes=12)
    session.add(visit)
    _shift_notice(session, visit, delta)


def _shift_notice(session: Session, visit: Visit, delta) -> None:
    notice = session.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).first()
    if notice is None:
        return
    notice.issued_at += delta
    if notice.acknowledged_at:
        notice.acknowledged_at += delta
    session.add(notice)
    outlet = session.get(Outlet, visit.outlet_id)
    for line in session.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).all():
        for name in ("issued_at", "acknowledged_at", "answered_at", "closed_at"):
            if getattr(line, name):
                setattr(line, name, getattr(line, name) + delta)
        day = rect.default_deadline(line.severity, line.issued_at, outlet)
        line.deadline_date, line.deadline_at = day, rect.deadline_instant(day, outlet.timezone)
        session.add(line)
        for event in session.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)).all():
            event.at += delta
            if event.action == "issued":
                event.deadline_after = day
            session.add(event)


def load_demo_self_inspection(session: Session, *, seed: int = 41) -> int:
    """The demo chief's daily opening check (每日开门检查) of their two outlets (and chief2's one):
    a plan of 西湖区 since four days ago, today's checks to do, the past days done but one missed;
    findings the chiefs closed with a photo or still have open; and yesterday's open inspection of
    张丽's first outlet finding the opening-hours plate missing that her self-inspection had passed
    the day before (自查不实). Nothing when a self-inspection plan exists already."""
    import datetime as dt

    from inspect_app.plans.models import PlanStatus

    if session.exec(select(InspectionPlan.id).where(InspectionPlan.assign_mode == AssignMode.self).limit(1)).first():
        return 0
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(
        ["manager", "chief", "chief2", "inspector"]))).all()}
    xihu = session.exec(select(Unit).where(Unit.code == "330106")).first()
    if len(users) < 4 or xihu is None:
        return 0
    outlets = session.exec(select(Outlet).where(Outlet.unit_id == xihu.id).order_by(Outlet.code)).all()[:3]
    rng = random.Random(seed)
    today = clock.today(outlets[0].timezone)
    plan, made = plans.create_plan(session, actor=users["manager"], data=plans.PlanInput(
        name="西湖区网点每日开门自查", unit_id=xihu.id, checklist_code="daily_opening", starts_on=today,
        ends_on=dt.date(today.year + 1, 12, 31), period_kind="day", assign_mode=AssignMode.self,
        outlet_rule="listed", outlet_ids=[o.id for o in outlets]))
    count = len(made.created)
    plan.starts_on = today - dt.timedelta(days=4)  # it has run for four days already
    session.add(plan)
    version = visits.checklist_of(session, made.created[0]).code
    version_id = made.created[0].checklist_version_id
    chief_of = {outlets[0].id: users["chief"], outlets[1].id: users["chief"], outlets[2].id: users["chief2"]}
    #: (days ago, outlet index) → the failures of that day's check; None: not done (missed)
    days = {(4, 0): {}, (3, 0): {}, (2, 0): {}, (1, 0): None,
            (4, 1): {}, (3, 1): {"OPN-04": "叫号机卡纸,取号无法出票"}, (2, 1): {}, (1, 1): {"OPN-08": "2号摄像头无画面"},
            (4, 2): {}, (3, 2): {}, (2, 2): {"OPN-10": "门前有快递包装垃圾"}, (1, 2): {}}
    done: dict[tuple[int, int], Visit] = {}
    for (ago, index), failures in sorted(days.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        outlet, chief = outlets[index], chief_of[outlets[index].id]
        day = today - dt.timedelta(days=ago)
        visit = Visit(checklist_version_id=version_id, checklist_code=version, kind="self", outlet_id=outlet.id,
                      assignee_id=chief.id, created_by_id=users["manager"].id, due_from=day, due_until=day,
                      plan_id=plan.id, plan_period=day, plan_seq=0)
        session.add(visit)
        session.flush()
        count += 1
        if failures is None:
            continue
        visits.check_in(session, actor=chief, visit=visit, lat=outlet.lat, lon=outlet.lon, accuracy=rng.randint(6, 20))
        for item in visits.checklist_of(session, visit).items:
            failed = item.code in failures
            visits.save_answer(session, actor=chief, visit=visit, item_code=item.code,
                               result="fail" if failed else "pass", note=failures.get(item.code))
            if failed:
                visits.add_visit_photo(session, get_storage(), actor=chief, visit=visit, item_code=item.code,
                                       data=_demo_photo(rng, item.code))
        visits.submit_visit(session, actor=chief, visit=visit, token=f"demo-self-{outlet.code}-{day}")
        done[(ago, index)] = visit
    # the call-ticket machine was repaired the same day: the chief closed it with a photo
    fixed = session.exec(select(RectificationLine).where(RectificationLine.visit_id == done[(3, 1)].id)).one()
    rect.stage_line_photo(session, get_storage(), actor=users["chief"], line=fixed, data=_demo_photo(rng, "fixed"),
                          client_id="demo-self-fixed")
    rect.close_own_line(session, actor=users["chief"], line=fixed, description="已联系厂家更换打印头,试取号正常")
    for (ago, index), visit in done.items():
        local = clock.day_start(today - dt.timedelta(days=ago), outlets[index].timezone)
        _shift_self_visit(session, visit, local + dt.timedelta(hours=8, minutes=rng.randint(0, 20)))
    # yesterday's open inspection of 张丽's first outlet: the opening-hours plate her check passed
    inspector = users["inspector"]
    inspection = visits.start_adhoc_visit(session, actor=inspector, outlet=outlets[0], checklist_code="open_inspection",
                                          despite_planned=True)
    visits.check_in(session, actor=inspector, visit=inspection, lat=outlets[0].lat, lon=outlets[0].lon, accuracy=12)
    failures = {"ENV-02": "营业时间牌缺失,门口仅手写纸条", "OPS-09": "面单粘贴不牢"}
    for item in visits.checklist_of(session, inspection).items:
        failed = item.code in failures
        if item.rule == "per_occurrence":
            visits.save_answer(session, actor=inspector, visit=inspection, item_code=item.code, occurrences=1 if failed else 0,
                               note=failures.get(item.code))
        elif item.rule == "scale":
            visits.save_answer(session, actor=inspector, visit=inspection, item_code=item.code,
                               scale_value=0 if failed else item.scale_max, note=failures.get(item.code))
        else:
            visits.save_answer(session, actor=inspector, visit=inspection, item_code=item.code,
                               result="fail" if failed else "pass", note=failures.get(item.code))
        if failed and item.photo_on_fail:
            visits.add_visit_photo(session, get_storage(), actor=inspector, visit=inspection, item_code=item.code,
                                   data=_demo_photo(rng, item.code))
    moment = clock.day_start(today - dt.timedelta(days=1), outlets[0].timezone) + dt.timedelta(hours=10)
    before = clock.now()
    visits.submit_visit(session, actor=inspector, visit=inspection, token="demo-self-check-false")
    inspection.started_at = inspection.checkin_at = moment
    inspection.submitted_at = inspection.released_at = moment + dt.timedelta(minutes=40)
    session.add(inspection)
    _shift_notice(session, inspection, moment + dt.timedelta(minutes=40) - before)
    assert plan.status == PlanStatus.active
    session.commit()
    return count + 1
