"""A national-size dataset for performance work: 5,000 outlets, 200,000 released visits over two
years, 1,000,000 rectification lines in every state, photo rows (no files).

Rows go in with bulk inserts (executemany in large batches); services are not used, so audit
events and notifications are not generated. Generated visits carry their scores but no
per-item answers (eight million rows that no manager page reads).
"""
from __future__ import annotations

import datetime as dt
import math
import random
import time

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from inspect_app import clock
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.auth.services import hash_password
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import SEVERITY_DAYS
from inspect_app.evidence.models import Photo
from inspect_app.org.models import Outlet, Unit, Window
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits.models import StarRating, Visit
from inspect_app.visits.services import star_valid_until

PROVINCES = [("41", "河南省"), ("42", "湖北省"), ("43", "湖南省")]
BATCH = 20_000


def _insert(session: Session, model: type[SQLModel], rows: list[dict]) -> None:
    table = model.__table__
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(table), rows[start:start + BATCH])


#: The outlets opened years before the two years of records (as ``demo.OUTLETS_OPENED``, a sibling
#: layer this module may not import).
OUTLETS_OPENED = dt.timedelta(days=3 * 365)


def load_large(session: Session, *, outlets: int = 5000, visits: int = 200_000, lines: int = 1_000_000,
               seed: int = 1, echo=print) -> dict[str, int]:
    rng = random.Random(seed)
    started = time.monotonic()
    if session.exec(select(Unit).where(Unit.code == PROVINCES[0][0])).first():
        echo("The large dataset is already loaded.")
        return {}
    password = hash_password("demo-2026")
    now = clock.now()
    # --- units: 3 provinces × 10 cities × 8 counties -----------------------------------------
    unit_rows = []
    next_id = (session.exec(select(sa.func.max(Unit.id))).one() or 0) + 1
    counties = []
    for pcode, pname in PROVINCES:
        pid = next_id
        next_id += 1
        unit_rows.append(dict(id=pid, code=pcode, name=pname, level="province", parent_id=None, path=f"/{pid}/",
                              created_at=now))
        for c in range(10):
            cid = next_id
            next_id += 1
            unit_rows.append(dict(id=cid, code=f"{pcode}{c + 1:02d}", name=f"{pname[:2]}第{c + 1}市", level="city",
                                  parent_id=pid, path=f"/{pid}/{cid}/", created_at=now))
            for k in range(8):
                kid = next_id
                next_id += 1
                unit_rows.append(dict(id=kid, code=f"{pcode}{c + 1:02d}{k + 1:02d}", name=f"{pname[:2]}{c + 1}市第{k + 1}区",
                                      level="county", parent_id=cid, path=f"/{pid}/{cid}/{kid}/", created_at=now))
                counties.append((kid, f"{pcode}{c + 1:02d}{k + 1:02d}", f"{pname[:2]}{c + 1}市第{k + 1}区"))
    _insert(session, Unit, unit_rows)
    echo(f"units: {len(unit_rows)}")
    # --- outlets and windows -------------------------------------------------------------------
    outlet_rows, window_rows = [], []
    oid = (session.exec(select(sa.func.max(Outlet.id))).one() or 0) + 1
    wid = (session.exec(select(sa.func.max(Window.id))).one() or 0) + 1
    per_county = math.ceil(outlets / len(counties))
    outlet_ids = []
    for kid, kcode, kname in counties:
        for n in range(per_county):
            if len(outlet_rows) >= outlets:
                break
            outlet_rows.append(dict(id=oid, code=f"{kcode}{n + 1:03d}", name=f"{kname}第{n + 1}营业所", address=f"{kname}{n + 1}号",
                                    lat=30 + rng.random(), lon=113 + rng.random(), unit_id=kid, timezone="Asia/Shanghai",
                                    active=True, created_at=now - OUTLETS_OPENED))
            for w in range(1, 4):
                window_rows.append(dict(id=wid, outlet_id=oid, number=str(w), name="综合业务", active=True))
                wid += 1
            outlet_ids.append(oid)
            oid += 1
    _insert(session, Outlet, outlet_rows)
    _insert(session, Window, window_rows)
    echo(f"outlets: {len(outlet_rows)}, windows: {len(window_rows)}")
    # --- people: a manager per province and city, inspectors, branch chiefs -----------------------
    uid = (session.exec(select(sa.func.max(User.id))).one() or 0) + 1
    user_rows, link_rows = [], []
    inspectors = []
    for unit in unit_rows:
        if unit["level"] in ("province", "city", "county"):  # mgr41, mgr4101, mgr410101
            user_rows.append(dict(id=uid, username=f"mgr{unit['code']}", display_name=f"{unit['name']}经理",
                                  password_hash=password, role=Role.manager, unit_id=unit["id"], active=True,
                                  session_version=1, phone="", created_at=now))
            uid += 1
        if unit["level"] == "city":
            user_rows.append(dict(id=uid, username=f"insp{unit['code']}", display_name=f"{unit['name']}检查员",
                                  password_hash=password, role=Role.inspector, unit_id=unit["id"], active=True,
                                  session_version=1, phone="", created_at=now))
            inspectors.append(uid)
            uid += 1
    for outlet in outlet_rows:
        user_rows.append(dict(id=uid, username=f"chief{outlet['code']}", display_name="网点负责人", password_hash=password,
                              role=Role.branch_chief, unit_id=None, active=True, session_version=1, phone="",
                              created_at=now))
        link_rows.append(dict(user_id=uid, outlet_id=outlet["id"]))
        uid += 1
    _insert(session, User, user_rows)
    _insert(session, UserOutlet, link_rows)
    echo(f"people: {len(user_rows)} (password demo-2026; e.g. mgr41 for a province, mgr4101 for a city, mgr410101 for a county)")
    # --- visits, notices, lines, photos, stars ------------------------------------------------
    checklist = checklists.registry(session)["open_inspection"]
    star_sections = [sec.code for sec in checklists.registry(session)["window_star"].sections]
    version = checklists.current_version(session, "open_inspection")
    star_version = checklists.current_version(session, "window_star")
    items = [i for i in checklist.items if not i.red_line]
    reds = [i for i in checklist.items if i.red_line]
    weak = set(rng.sample(outlet_ids, len(outlet_ids) // 10))  # recurring problem outlets
    lines_per_visit = lines / visits
    vid = (session.exec(select(sa.func.max(Visit.id))).one() or 0) + 1
    nid = (session.exec(select(sa.func.max(RectificationNotice.id))).one() or 0) + 1
    lid = (session.exec(select(sa.func.max(RectificationLine.id))).one() or 0) + 1
    pid = (session.exec(select(sa.func.max(Photo.id))).one() or 0) + 1
    visit_rows, notice_rows, line_rows, photo_rows, star_rows = [], [], [], [], []
    span = 730 * 86400
    made_lines = 0

    def flush():
        _insert(session, Visit, visit_rows)
        _insert(session, RectificationNotice, notice_rows)
        _insert(session, RectificationLine, line_rows)
        _insert(session, Photo, photo_rows)
        _insert(session, StarRating, star_rows)
        for rows in (visit_rows, notice_rows, line_rows, photo_rows, star_rows):
            rows.clear()
        session.commit()

    for n in range(visits):
        outlet_id = rng.choice(outlet_ids)
        is_weak = outlet_id in weak
        released = now - dt.timedelta(seconds=rng.randint(3600, span))
        star = rng.random() < 0.1
        red = rng.random() < (0.08 if is_weak else 0.01)
        remaining_visits = visits - n
        want = max(0, round(rng.gauss(lines_per_visit * (1.85 if is_weak else 0.92), 1.5)))
        want = min(want, len(items), max(0, lines - made_lines - (remaining_visits - 1) * 0))
        if n == visits - 1:
            want = min(len(items), max(want, lines - made_lines))
        score = max(40.0, min(100.0, rng.gauss(82 if is_weak else 93, 5) - want * 0.3))
        stars = 0 if red or not star else next((b.stars for b in checklist.stars if score >= b.min), 0)
        visit_rows.append(dict(id=vid, checklist_version_id=(star_version if star else version).id,
                               checklist_code="window_star" if star else "open_inspection",
                               kind="star" if star else "open", outlet_id=outlet_id, window_id=None,
                               assignee_id=rng.choice(inspectors), status="released", created_at=released,
                               started_at=released - dt.timedelta(minutes=50), checkin_at=released - dt.timedelta(minutes=50),
                               submitted_at=released, released_at=released, summary="", counter_number="",
                               review_comment="", checkin_no_location_reason="", score=round(score, 1),
                               passed=not red, stars=stars, red_line=red, row_version=1,
                               section_scores={code: round(max(0.0, min(100.0, rng.gauss(score, 6))), 1) for code in
                                               (star_sections if star else [sec.code for sec in checklist.sections])}))
        if star and stars:
            star_rows.append(dict(outlet_id=outlet_id, window_id=None, visit_id=vid, stars=stars, score=round(score, 1),
                                  awarded_at=released, valid_until=star_valid_until(released, "Asia/Shanghai"),
                                  ended_at=None, end_reason=None, ended_by_visit_id=None))
        chosen = rng.sample(items, want) + ([rng.choice(reds)] if red else [])
        if chosen:
            notice_rows.append(dict(id=nid, number=f"ZG{released:%Y%m}-{nid:07d}", visit_id=vid, outlet_id=outlet_id,
                                    issued_at=released, issued_by_id=None, acknowledged_at=None, acknowledged_by_id=None))
            age_days = (now - released).days
            # 签收 is per notice: the chief acknowledges all its lines at once, or none yet
            unacknowledged = rng.random() < (0.3 if age_days <= 7 else 0.04 if age_days <= 30 else 0.005)
            notice_ack = None if unacknowledged else released + dt.timedelta(hours=rng.randint(1, 48))
            notice_rows[-1]["acknowledged_at"] = notice_ack
            for item in chosen:
                deadline = (released + dt.timedelta(hours=8)).date() + dt.timedelta(days=SEVERITY_DAYS[item.severity])
                deadline_at = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(), dt.timezone.utc) - dt.timedelta(hours=8)
                roll = rng.random()
                ack = answered = closed = None
                if age_days > 30:
                    status = "closed" if roll < (0.86 if is_weak else 0.97) else rng.choice(["acknowledged", "returned", "issued"])
                    if roll > 0.995:
                        status = "withdrawn"
                elif age_days > 7:
                    status = rng.choices(["closed", "answered", "acknowledged", "returned", "issued", "disputed"],
                                         [70, 10, 8, 5, 5, 2])[0]
                else:
                    status = rng.choices(["issued", "acknowledged", "answered", "closed"], [30, 35, 20, 15])[0]
                if notice_ack is None:
                    status = "withdrawn" if status == "withdrawn" else "issued"
                elif status == "issued":
                    status = "acknowledged"
                ack = notice_ack if status != "issued" else None
                if status in ("answered", "closed", "returned"):
                    answered = ack + dt.timedelta(hours=rng.randint(2, 24 * max(1, SEVERITY_DAYS[item.severity])))
                if status in ("closed", "withdrawn"):
                    closed = (answered or ack or released) + dt.timedelta(hours=rng.randint(1, 72))
                line_rows.append(dict(id=lid, notice_id=nid, visit_id=vid, outlet_id=outlet_id, item_code=item.code,
                                      checklist_kind="open", problem=item.text_zh, requirement=item.requirement_zh,
                                      severity=item.severity, red_line=item.red_line, deadline_date=deadline,
                                      deadline_at=deadline_at, responsible_id=None, status=status, issued_at=released,
                                      acknowledged_at=ack, answered_at=answered, answered_by_id=None, closed_at=closed,
                                      row_version=1))
                if item.photo_on_fail and rng.random() < 0.5:
                    photo_rows.append(dict(id=pid, visit_id=vid, item_code=item.code, purpose="item", line_id=None,
                                           response_id=None, outlet_id=outlet_id, sha256=f"{rng.getrandbits(256):064x}",
                                           storage_key=f"photos/{released:%Y}/{released:%m}/{rng.getrandbits(128):032x}",
                                           content_type="image/jpeg", width=1600, height=1200, size_bytes=350_000,
                                           taken_at=released - dt.timedelta(minutes=20), gps_lat=None, gps_lon=None,
                                           device="", uploaded_by_id=inspectors[0], received_at=released, client_id=None,
                                           deleted_at=None))
                    pid += 1
                lid += 1
                made_lines += 1
            nid += 1
        vid += 1
        if len(line_rows) >= 100_000:
            flush()
            echo(f"  visits {n + 1:,} / lines {made_lines:,}  ({time.monotonic() - started:.0f} s)")
    flush()
    result = {"units": len(unit_rows), "outlets": len(outlet_rows), "visits": visits, "lines": made_lines,
              "notices": nid - 1, "photos": pid - 1}
    echo(f"done in {time.monotonic() - started:.0f} s: {result}")
    return result
