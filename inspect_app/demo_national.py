"""The national dataset (``inspect-app demo --scale national``), PostgreSQL only.

What it makes (full size, on top of the small demo's 浙江 province):

- the tree of a national network: 31 provinces (41 河南 first; 33 浙江 is the demo's province,
  which gets further cities 3304…), about 340 cities, about 2,800 counties, 50,000 outlets (12–24
  per county, about 18), two to five windows per outlet, three or four staff per outlet;
- people, all with the password ``demo-2026`` (hashed once): a manager per province, city and
  county named ``mgr`` + the unit code (``mgr41``, ``mgr4101``, ``mgr410101``), two inspectors
  (``insp4101``, ``insp4101b``) and a complaint handler (``hdl4101``) per city, a reviewer
  (``rev41``) and three mystery shoppers (``shop4101``…) per province, a branch chief per outlet
  (``chief`` + outlet code);
- two years of released visits (about 4 million) of the checklists open_inspection, window_star,
  secret_visit, etiquette and fives, on working hours in Shanghai time, with scores, section
  scores, stars and red lines; star ratings (a later rating of the same window ends the earlier
  one); a notice per visit with failures and about 10 million rectification lines in every state,
  their status following their age (recent lines open, old ones closed; a tenth of the outlets
  keep failing and leave more lines open), deadlines from ``SEVERITY_DAYS`` in the outlet's
  (Shanghai) calendar, a secret visit's at least one working day after release; a photo row (no
  file) for every failure of an item that needs one and for every secret visit's receipt;
- per-item answers, line histories (issued, acknowledged, answered, returned, verified, disputed,
  withdrawn) and the chiefs' after-photos for the visits of the last ``answer_days`` (90) days
  only: about one visit in eight. Those are what people open one by one (a recent visit's report,
  a line's history, the repeat and self-check comparisons look back weeks); older visits are read
  through their scores and their lines' timestamps, and all answers of two years would be about
  200 million rows that no page reads;
- complaints in every state (registered, handling, concluded, called back) with their history,
  first-contact and resolution deadlines by source, verdicts, grades and callbacks; two years of
  monthly operating values per county for the indicator tree;
- the managers' running totals (``line_stats``) from the lines, by SQL.

What it leaves out: audit events and notifications (nobody entered this data), self-inspections,
inspection plans, complaint-raised notices, accountability records, key customers, extension
requests, repeat (屡查屡犯) and self-check (自查不实) links between lines, photo files.

How: rows are generated in Python and streamed into PostgreSQL with ``COPY … FROM STDIN`` (text
format, in chunks); ids are set here and the sequences moved past them at the end. The big
tables' secondary indexes, unique and foreign-key constraints are dropped first and made again
after the load (measured on a tenth of the size: see ``load_national``), all in one transaction,
so a load that fails leaves the database as it was. ``ANALYZE`` runs at the end.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import User
from inspect_app.auth.services import hash_password
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import SEVERITY_DAYS
from inspect_app.complaints import settings as complaint_settings
from inspect_app.demo import (
    DEMO_COMPLAINTS,
    DEMO_METRICS,
    DEMO_NOTES,
    DEMO_PASSWORD,
    OUTLETS_OPENED,
    STAFF_GIVEN,
    STAFF_POSTS,
    STAFF_SURNAMES,
)
from inspect_app.org.models import Unit
from inspect_app.visits.services import STAR_VALIDITY_MONTHS

#: The 31 provinces in code order, but 河南 (41) and 浙江 (33, the small demo's) first: a small
#: load (the tests) has mgr41, mgr4101 and mgr410101 like the large dataset, which the page
#: benchmark's scopes name, and goes on with the demo's province.
PROVINCES = [("41", "河南省"), ("33", "浙江省"), ("11", "北京市"), ("12", "天津市"), ("13", "河北省"), ("14", "山西省"),
             ("15", "内蒙古自治区"), ("21", "辽宁省"), ("22", "吉林省"), ("23", "黑龙江省"), ("31", "上海市"), ("32", "江苏省"),
             ("34", "安徽省"), ("35", "福建省"), ("36", "江西省"), ("37", "山东省"), ("42", "湖北省"), ("43", "湖南省"),
             ("44", "广东省"), ("45", "广西壮族自治区"), ("46", "海南省"), ("50", "重庆市"), ("51", "四川省"), ("52", "贵州省"),
             ("53", "云南省"), ("54", "西藏自治区"), ("61", "陕西省"), ("62", "甘肃省"), ("63", "青海省"), ("64", "宁夏回族自治区"),
             ("65", "新疆维吾尔自治区")]
NAME_PARTS = "安平阳新昌宁兴华山江河东西南北永丰庆泰德清宜兰林原城海春鹤岳通明乐武湖溪"
PLACES = ["人民路", "解放路", "中山路", "建设路", "新华街", "和平路", "文化路", "胜利街", "火车站", "开发区", "大学城", "汽车站",
          "滨河路", "工业园", "步行街", "南关", "北关", "东城", "西城", "新区", "老街", "市场", "广场", "体育路"]
KINDS = ["邮政营业所", "邮政支局", "快递服务站", "邮政营业厅"]
WINDOW_NAMES = ["综合业务", "邮政储蓄", "包裹收寄", "报刊发行", "集邮"]
#: (checklist, share of the visits)
VISIT_MIX = [("open_inspection", 0.55), ("window_star", 0.12), ("secret_visit", 0.15), ("etiquette", 0.10), ("fives", 0.08)]
#: The big tables whose secondary indexes and constraints are dropped while they are filled.
BULK_TABLES = ["visit", "answer", "star_rating", "rectification_notice", "rectification_line", "rectification_event",
               "photo", "complaint", "complaint_event", "callback", "staff_member", "operating_value", "window",
               "user_account", "user_outlet", "outlet"]
CHUNK = 50_000
NULL = "\\N"


@dataclass(frozen=True)
class Size:
    provinces: int = 31
    cities: int = 340
    counties: int = 2800
    outlets: int = 50_000
    visits: int = 4_000_000
    lines: int = 10_000_000
    complaints: int = 300_000
    days: int = 730
    answer_days: int = 90


NATIONAL = Size()


class NeedsPostgres(RuntimeError):
    pass


def _esc(text: str) -> str:
    """A value in COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _Copy:
    """Rows (already formatted lines) per table, sent with one COPY per table when ``spill`` finds
    ``CHUNK`` rows waiting; tables in the order of ``columns``, so that a row's foreign keys are
    there before it when the constraints were kept."""

    def __init__(self, raw, columns: dict[str, str]):
        self.raw = raw
        self.columns = columns
        self.buffers: dict[str, list[str]] = {name: [] for name in columns}
        self.counts: dict[str, int] = dict.fromkeys(columns, 0)
        self.pending = 0

    def add(self, table: str, line: str) -> None:
        self.buffers[table].append(line)
        self.pending += 1

    def spill(self) -> None:
        """Between whole objects (a visit with its notice and lines, a complaint with its history)."""
        if self.pending >= CHUNK:
            self.flush()

    def flush(self) -> None:
        self.pending = 0
        for name in self.buffers:
            buffer = self.buffers[name]
            if not buffer:
                continue
            with self.raw.cursor() as cursor, cursor.copy(
                    f'COPY "{name}" ({self.columns[name]}) FROM STDIN') as copy:
                copy.write("".join(buffer))
            self.counts[name] += len(buffer)
            buffer.clear()


COLUMNS = {
    "unit": "id, code, name, level, parent_id, path, created_at",
    "outlet": "id, code, name, address, lat, lon, unit_id, timezone, active, created_at",
    "window": "id, outlet_id, number, name, active",
    "staff_member": "id, job_number, name, post, outlet_id, active, created_at",
    "user_account": "id, username, display_name, password_hash, role, unit_id, code_name, phone, active, "
                    "session_version, created_at",
    "user_outlet": "user_id, outlet_id",
    "visit": "id, checklist_version_id, checklist_code, kind, outlet_id, window_id, assignee_id, created_by_id, status, "
             "created_at, started_at, checkin_at, checkin_lat, checkin_lon, checkin_accuracy, checkin_no_location_reason, "
             "submitted_at, released_at, released_by_id, summary, counter_number, score, earned, applicable, passed, "
             "stars, red_line, row_version, review_comment, section_scores, checkin_distance_m, checkin_flag, "
             "checkin_far_reason",
    "answer": "id, visit_id, item_code, result, occurrences, scale_value, note, version, updated_at, updated_by_id",
    "star_rating": "id, outlet_id, window_id, visit_id, stars, score, awarded_at, valid_until",
    "rectification_notice": "id, number, visit_id, outlet_id, origin, issued_at, issued_by_id, acknowledged_at, "
                            "acknowledged_by_id",
    "rectification_line": "id, notice_id, visit_id, outlet_id, item_code, checklist_kind, problem, requirement, severity, "
                          "red_line, deadline_date, deadline_at, responsible_id, status, issued_at, acknowledged_at, "
                          "answered_at, answered_by_id, closed_at, row_version, extensions",
    "rectification_event": "id, line_id, at, actor_id, action, status_after, text, deadline_after, on_site",
    "photo": "id, visit_id, item_code, purpose, line_id, response_id, outlet_id, sha256, storage_key, content_type, "
             "width, height, size_bytes, taken_at, device, uploaded_by_id, received_at",
    "complaint": "id, number, source, received_at, outlet_id, staff_id, category, account, customer_name, customer_phone, "
                 "reference, status, first_owner_id, owner_id, handed_on, contact_due_at, resolve_due_at, contacted_at, "
                 "verdict, grade, conclusion, concluded_at, concluded_by_id, reopened, registered_by_id, created_at, "
                 "row_version",
    "complaint_event": "id, complaint_id, at, actor_id, action, status_after, text",
    "callback": "id, outlet_id, complaint_id, at, by_id, satisfaction, note",
    "operating_value": "id, unit_id, month, metric, value, imported_at",
}


class _Time:
    """Epoch seconds ↔ COPY text, and local days of one zone (Asia/Shanghai keeps no summer time,
    which is checked for the span loaded)."""

    def __init__(self, zone: str, first: int, last: int):
        tz = clock.zone(zone)
        offsets = {dt.datetime.fromtimestamp(s, tz).utcoffset() for s in range(first, last + 86400 * 31, 86400 * 30)}
        if len(offsets) != 1:
            raise ValueError(f"{zone} changes its offset in the span loaded; the national demo assumes a fixed one")
        self.offset = int(offsets.pop().total_seconds())
        self.zone = zone
        self._days: dict[int, str] = {}
        self._hms = [f"{h:02d}:{m:02d}:{s:02d}+00" for h in range(24) for m in range(60) for s in range(60)]

    def day_text(self, day: int) -> str:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = dt.date.fromordinal(day + 719163).isoformat()
        return found

    def ts(self, sec: int) -> str:
        return f"{self.day_text(sec // 86400)} {self._hms[sec % 86400]}"

    def local_day(self, sec: int) -> int:
        return (sec + self.offset) // 86400

    def local_midnight(self, day: int) -> int:
        """The UTC instant (epoch seconds) at which the local ``day`` begins."""
        return day * 86400 - self.offset

    def date(self, day: int) -> dt.date:
        return dt.date.fromordinal(day + 719163)


def _drop_constraints(conn, tables: list[str]) -> list[str]:
    """Drop the secondary indexes, unique and foreign-key constraints of ``tables`` (and foreign
    keys pointing at them); return the statements that make them again, foreign keys last."""
    names = tuple(tables)
    constraints = conn.execute(sa.text(
        "SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid), c.contype FROM pg_constraint c "
        "WHERE c.contype IN ('f', 'u') AND (c.conrelid::regclass::text = ANY(:t) OR "
        "(c.contype = 'f' AND c.confrelid::regclass::text = ANY(:t)))"),
        {"t": [f'"{n}"' if n == "window" else n for n in names]}).all()
    indexes = conn.execute(sa.text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(:t) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"),
        {"t": [f'"{n}"' if n == "window" else n for n in names]}).all()
    restore = []
    for name, table, definition, kind in sorted(constraints, key=lambda r: r[3] != "f"):
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, definition in indexes:
        conn.execute(sa.text(f"DROP INDEX {name}"))
        restore.append(definition)
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for name, table, definition, kind in constraints if kind == "u"]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for name, table, definition, kind in constraints if kind == "f"]
    return restore


def _split(total: int, parts: int, rng: random.Random, low: float, high: float) -> list[int]:
    """``total`` shared among ``parts`` by random weights in [low, high], each at least 1."""
    weights = [rng.uniform(low, high) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    k = 0
    while sum(counts) < total:
        counts[k % parts] += 1
        k += 1
    while sum(counts) > total:
        if counts[k % parts] > 1:
            counts[k % parts] -= 1
        k += 1
    return counts


def _place_name(rng: random.Random, suffix: str) -> str:
    return rng.choice(NAME_PARTS) + rng.choice(NAME_PARTS) + suffix


def load_national(session: Session, *, size: Size = NATIONAL, seed: int = 1, echo=print,
                  drop_indexes: bool = True) -> dict[str, int]:
    """Load the national dataset in the session's transaction (the caller commits); returns rows per table.

    ``drop_indexes``: drop the big tables' secondary indexes and constraints during the load and
    make them again after: measured on a tenth of the full size on this machine (2 cores shared,
    load average about 5), 165 s with the drop, 413 s without."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        raise NeedsPostgres("The national dataset needs PostgreSQL (DATABASE_URL=postgresql+psycopg://…). "
                            "全国规模演示数据需要 PostgreSQL 数据库。")
    started = time.monotonic()
    if session.exec(select(Unit.id).where(Unit.code == PROVINCES[0][0])).first():
        echo("The national dataset (or the large one) is already loaded: nothing added.")
        return {}
    rng = random.Random(seed)
    now = clock.now()
    now_s = int(now.timestamp())
    first_day_s = now_s - size.days * 86400
    zone = "Asia/Shanghai"
    tm = _Time(zone, first_day_s - 86400, now_s)
    now_text = tm.ts(now_s)
    opened_text = tm.ts(now_s - int(OUTLETS_OPENED.total_seconds()))  # years before any record
    conn = session.connection()
    raw = conn.connection.driver_connection
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    conn.execute(sa.text("SET LOCAL synchronous_commit = on"))

    def next_id(table: str) -> int:
        return (conn.execute(sa.text(f'SELECT max(id) FROM "{table}"')).scalar() or 0) + 1

    ids = {table: next_id(table) for table in COLUMNS if table != "user_outlet"}
    restore = _drop_constraints(conn, BULK_TABLES) if drop_indexes else []
    echo(f"secondary indexes and constraints dropped: {len(restore)} ({time.monotonic() - started:.0f} s)")
    out = _Copy(raw, COLUMNS)
    password = _esc(hash_password(DEMO_PASSWORD))

    def new_id(table: str) -> int:
        value = ids[table]
        ids[table] = value + 1
        return value

    # --- the tree ------------------------------------------------------------------------------
    provinces = PROVINCES[:size.provinces]
    cities_of = _split(size.cities, len(provinces), rng, 0.5, 1.5)
    existing = {u.code: u for u in session.exec(select(Unit)).all()}
    units: list[tuple[int, str, str, str]] = []  # (id, code, name, level): each gets its manager
    province_unit: list[int] = []
    cities: list[tuple[int, str, str, int]] = []  # (id, code, name, province index)
    for p, ((pcode, pname), ncities) in enumerate(zip(provinces, cities_of, strict=True)):
        if pcode in existing:  # the small demo's 浙江: its tree goes on with more cities
            pid, ppath = existing[pcode].id, existing[pcode].path
            first_city = 1 + max((int(code[2:]) for code in existing if len(code) == 4 and code.startswith(pcode)),
                                 default=0)
            taken = set(session.exec(select(User.username).where(User.username.startswith(f"mgr{pcode}"))).all())
            units += [(u.id, u.code, u.name, u.level) for u in existing.values()
                      if u.code.startswith(pcode) and f"mgr{u.code}" not in taken]
        else:
            pid = new_id("unit")
            ppath = f"/{pid}/"
            first_city = 1
            out.add("unit", f"{pid}\t{pcode}\t{pname}\tprovince\t{NULL}\t{ppath}\t{now_text}\n")
            units.append((pid, pcode, pname, "province"))
        province_unit.append(pid)
        for c in range(first_city, first_city + ncities):
            cid = new_id("unit")
            ccode, cname = f"{pcode}{c:02d}", _place_name(rng, "市")
            out.add("unit", f"{cid}\t{ccode}\t{cname}\tcity\t{pid}\t{ppath}{cid}/\t{now_text}\n")
            units.append((cid, ccode, cname, "city"))
            cities.append((cid, ccode, cname, p, ppath + f"{cid}/"))
    counties_of = _split(size.counties, len(cities), rng, 0.6, 1.4)
    counties = []  # (id, code, name, city index)
    for ci, ((cid, ccode, cname, _p, cpath), ncounties) in enumerate(zip(cities, counties_of, strict=True)):
        for k in range(1, ncounties + 1):
            kid = new_id("unit")
            kcode, kname = f"{ccode}{k:02d}", _place_name(rng, rng.choice("区县区县市"))
            out.add("unit", f"{kid}\t{kcode}\t{kname}\tcounty\t{cid}\t{cpath}{kid}/\t{now_text}\n")
            units.append((kid, kcode, kname, "county"))
            counties.append((kid, kcode, kname, ci))
    echo(f"units: {out.counts['unit'] + len(out.buffers['unit'])}")
    # --- outlets, windows, staff ----------------------------------------------------------------
    per_county = _split(size.outlets, len(counties), rng, 12, 24)
    # the page benchmark's county scope (mgr410101, the first county) is "a county of ~20 outlets"
    nearest = min(range(len(per_county)), key=lambda k: abs(per_county[k] - 20))
    per_county[0], per_county[nearest] = per_county[nearest], per_county[0]
    # per outlet: (id, county index, first window id, windows, first staff id, staff, lat, lon)
    outlets: list[tuple[int, int, int, int, int, int, float, float]] = []
    outlet_codes: list[str] = []
    for ki, ((kid, kcode, kname, ci), count) in enumerate(zip(counties, per_county, strict=True)):
        lat, lon = rng.uniform(22, 45), rng.uniform(87, 126)
        for n in range(1, count + 1):
            oid = new_id("outlet")
            code = f"{kcode}{n:03d}"
            place = rng.choice(PLACES)
            olat, olon = round(lat + rng.uniform(-.1, .1), 6), round(lon + rng.uniform(-.1, .1), 6)
            out.add("outlet", f"{oid}\t{code}\t{kname}{place}{KINDS[n % 4]}\t{cities[ci][2]}{kname}{place}"
                              f"{rng.randint(1, 400)}号\t{olat}\t{olon}\t{kid}\t{zone}\tt\t{opened_text}\n")
            wfirst, wcount = ids["window"], rng.randint(2, 5)
            for w in range(1, wcount + 1):
                out.add("window", f"{new_id('window')}\t{oid}\t{w}\t{WINDOW_NAMES[w - 1]}\tt\n")
            sfirst, scount = ids["staff_member"], rng.randint(3, 4)
            for s in range(1, scount + 1):
                name = rng.choice(STAFF_SURNAMES) + "".join(rng.choice(STAFF_GIVEN) for _ in range(rng.randint(1, 2)))
                out.add("staff_member", f"{new_id('staff_member')}\t{code}{s:02d}\t{name}\t{STAFF_POSTS[s - 1]}\t{oid}\tt\t"
                                        f"{now_text}\n")
            outlets.append((oid, ki, wfirst, wcount, sfirst, scount, olat, olon))
            out.spill()
            outlet_codes.append(code)
    out.flush()
    echo(f"outlets: {len(outlets)}, windows: {out.counts['window']}, staff: {out.counts['staff_member']}")
    # --- people ---------------------------------------------------------------------------------

    def user(username: str, display: str, role: str, unit_id: int | None, code_name: str | None = None) -> int:
        uid = new_id("user_account")
        out.add("user_account", f"{uid}\t{username}\t{display}\t{password}\t{role}\t"
                                f"{NULL if unit_id is None else unit_id}\t{code_name or NULL}\t\tt\t1\t{now_text}\n")
        return uid

    for uid_, code, name, _level in units:
        user(f"mgr{code}", f"{name}经理", "manager", uid_)
    inspectors: list[tuple[int, int]] = []  # per city
    handlers: list[int] = []
    for cid, ccode, cname, _p, _path in cities:
        inspectors.append((user(f"insp{ccode}", f"{cname}检查员", "inspector", cid),
                           user(f"insp{ccode}b", f"{cname}检查员二", "inspector", cid)))
        handlers.append(user(f"hdl{ccode}", f"{cname}客服", "handler", cid))
    reviewers, shoppers = [], []
    for (pcode, pname), pid in zip(provinces, province_unit, strict=True):
        reviewers.append(user(f"rev{pcode}", f"{pname[:2]}审核员", "reviewer", pid))
        shoppers.append([user(f"shop{pcode}{n:02d}", "暗访员", "shopper", None, code_name=f"暗访员{pcode}{n:02d}")
                         for n in range(1, 4)])
    chiefs: list[int] = []
    for (oid, *_rest), code in zip(outlets, outlet_codes, strict=True):  # noqa: B007
        chief = user(f"chief{code}", rng.choice(STAFF_SURNAMES) + rng.choice(STAFF_GIVEN), "branch_chief", None)
        out.add("user_outlet", f"{chief}\t{oid}\n")
        chiefs.append(chief)
        out.spill()
    out.flush()
    echo(f"people: {out.counts['user_account']} (password {DEMO_PASSWORD}; mgr41, mgr4101, mgr410101, insp4101, "
         f"chief{outlet_codes[0]}) ({time.monotonic() - started:.0f} s)")
    city_of_outlet = [counties[ki][3] for _o, ki, *_r in outlets]
    province_of_city = [p for _c, _code, _n, p, _path in cities]
    # --- checklists -----------------------------------------------------------------------------
    registry = checklists.registry(session)
    kinds = []
    for code, share in VISIT_MIX:
        checklist = registry[code]
        items = [i for i in checklist.items if i.rule != "timer"]
        prepared = []
        for item in items:
            if item.rule == "per_occurrence":
                ok, bad = "pass\t0\t\\N", "fail\t{n}\t\\N"
            elif item.rule == "scale":
                ok, bad = f"pass\t\\N\t{item.scale_max}", f"fail\t\\N\t{max(0, item.fail_below - 1)}"
            else:
                ok, bad = "pass\t\\N\t\\N", "fail\t\\N\t\\N"
            prepared.append(dict(code=item.code, ok=ok, bad=bad, text=item.text_zh, requirement=_esc(item.requirement_zh),
                                 severity=item.severity, days=SEVERITY_DAYS[item.severity], red=item.red_line,
                                 photo=item.photo_on_fail))
        kinds.append(dict(code=code, kind=checklist.kind, share=share, version=checklists.current_version(session, code).id,
                          items=prepared, fails=[i for i in prepared if not i["red"]], reds=[i for i in prepared if i["red"]],
                          sections=[s.code for s in checklist.sections], stars=list(checklist.stars),
                          window=checklist.subject == "window", points=sum(i.points for i in checklist.items),
                          ))
    kind_cut = []
    total = 0.0
    for k in kinds:
        total += k["share"]
        kind_cut.append(total)
    # --- visits, notices, lines, answers, events, photos, stars -------------------------------------------
    weak = bytearray(len(outlets))
    for index in rng.sample(range(len(outlets)), len(outlets) // 10):
        weak[index] = 1
    answer_cut = now_s - size.answer_days * 86400
    first_local = tm.local_day(first_day_s) + 1
    last_local = tm.local_day(now_s) - 1  # up to yesterday
    day_weights = [(1.0 if (d + 3) % 7 < 5 else 0.45) for d in range(first_local, last_local + 1)]
    scale = size.visits / sum(day_weights)
    per_day = [int(w * scale) for w in day_weights]
    for k in range(size.visits - sum(per_day)):  # the rest, spread over the span
        per_day[k * 7919 % len(per_day)] += 1
    made_visits = made_lines = 0
    line_rate = size.lines / max(1, size.visits)
    rate = line_rate
    exp = math.exp
    status_recent = (["issued", "acknowledged", "answered", "closed"], [30, 35, 20, 15])
    status_month = (["closed", "answered", "acknowledged", "returned", "issued", "disputed", "withdrawn"],
                    [69, 10, 8, 5, 5, 2, 1])
    next_log = 200_000
    add = out.add
    ts = tm.ts
    for offset, count in enumerate(per_day):
        day = first_local + offset
        start_s = tm.local_midnight(day) + 8 * 3600 + 1800  # 08:30 local
        moments = sorted(start_s + rng.randrange(8 * 3600) for _ in range(count))
        for t in moments:
            out.spill()
            if made_visits % 10_000 == 0:
                remaining = size.visits - made_visits
                rate = max(0.0, (size.lines - made_lines) / remaining) if remaining else line_rate
            made_visits += 1
            roll = rng.random()
            ck = next(k for k, cut in zip(kinds, kind_cut, strict=True) if roll <= cut or cut == kind_cut[-1])
            oi = rng.randrange(len(outlets))
            oid, _ki, wfirst, wcount, _sf, _sc, olat, olon = outlets[oi]
            city = city_of_outlet[oi]
            is_weak = weak[oi]
            secret = ck["kind"] == "secret"
            province = province_of_city[city]
            assignee = rng.choice(shoppers[province]) if secret else inspectors[city][rng.random() < 0.5]
            window = wfirst + rng.randrange(wcount) if ck["window"] else None
            vid = new_id("visit")
            released = t + (rng.randint(20, 60) * 3600 if secret else 0)
            if released > now_s - 600:
                released = now_s - 600
            submitted = t
            started_at = t - rng.randint(25, 70) * 60
            # failures: a third of the visits find nothing, the rest about rate × 1.5 each
            red = rng.random() < (0.08 if is_weak else 0.01)
            want = 0
            if rng.random() < 0.65:
                mean = rate / 0.65 * (1.85 if is_weak else 0.91) - (0.08 if is_weak else 0.01) / 0.65
                limit, p, k = exp(-max(0.0, mean)), 1.0, 0
                while True:
                    p *= rng.random()
                    if p <= limit:
                        break
                    k += 1
                want = min(k, len(ck["fails"]))
            chosen = rng.sample(ck["fails"], want)
            if red and ck["reds"]:
                chosen.append(rng.choice(ck["reds"]))
            else:
                red = False
            score = max(40.0, min(100.0, rng.gauss(84 if is_weak else 93, 4) - len(chosen) * 1.2))
            stars = 0 if red else next((b.stars for b in ck["stars"] if score >= b.min), 0)
            sections = ", ".join(f'"{s}": {max(0.0, min(100.0, score + rng.uniform(-6, 6))):.1f}' for s in ck["sections"])
            reviewer = reviewers[province] if secret else None
            add("visit", f"{vid}\t{ck['version']}\t{ck['code']}\t{ck['kind']}\t{oid}\t{NULL if window is None else window}\t"
                         f"{assignee}\t{NULL}\treleased\t{ts(started_at)}\t{ts(started_at)}\t{ts(started_at + 120)}\t"
                         f"{olat + rng.uniform(-3e-4, 3e-4):.6f}\t{olon + rng.uniform(-3e-4, 3e-4):.6f}\t{rng.randint(6, 40)}\t\t"
                         f"{ts(submitted)}\t{ts(released)}\t"
                         f"{NULL if reviewer is None else reviewer}\t\t\t{score:.1f}\t{score * ck['points'] / 100:.1f}\t"
                         f"{ck['points']:g}\t{'f' if red else 't'}\t{stars}\t{'t' if red else 'f'}\t1\t\t{{{sections}}}\t"
                         f"{rng.randint(3, 80)}\t\t\n")
            if ck["kind"] == "star" and stars:
                awarded = tm.local_day(released)
                valid = clock.add_months(tm.date(awarded), STAR_VALIDITY_MONTHS)
                add("star_rating", f"{new_id('star_rating')}\t{oid}\t{NULL if window is None else window}\t{vid}\t{stars}\t"
                                   f"{score:.1f}\t{ts(released)}\t{ts(tm.local_midnight(valid.toordinal() - 719163))}\n")
            detailed = released >= answer_cut
            chief = chiefs[oi]
            if detailed:
                failed = {i["code"] for i in chosen}
                updated = ts(started_at + 900)
                for item in ck["items"]:
                    if item["code"] in failed:
                        values = item["bad"].replace("{n}", str(rng.randint(1, 3)))
                        note = rng.choice(DEMO_NOTES)
                    else:
                        values, note = item["ok"], ""
                    add("answer", f"{new_id('answer')}\t{vid}\t{item['code']}\t{values}\t{note}\t1\t{updated}\t{assignee}\n")
            if secret:
                add("photo", f"{new_id('photo')}\t{vid}\t{NULL}\treceipt\t{NULL}\t{NULL}\t{oid}\t{rng.getrandbits(256):064x}\t"
                             f"photos/{tm.date(tm.local_day(t)):%Y/%m}/{rng.getrandbits(128):032x}\timage/jpeg\t1600\t1200\t"
                             f"{rng.randint(150_000, 480_000)}\t{ts(t - 600)}\t\t{assignee}\t{ts(t)}\n")
            if not chosen:
                continue
            nid = new_id("rectification_notice")
            issued_day = tm.local_day(released)
            working = issued_day + 1
            while (working + 3) % 7 >= 5:
                working += 1
            age_days = (now_s - released) / 86400
            issuer = reviewer or assignee
            # 签收 is per notice: the chief acknowledges all its lines at once, or none yet (old
            # notices nobody acknowledged are rare, and rarer the older they are)
            if age_days <= 7:
                unacknowledged = rng.random() < 0.3
            elif age_days <= 30:
                unacknowledged = rng.random() < 0.04
            else:
                unacknowledged = rng.random() < (0.03 if is_weak else 0.01) * exp(-(age_days - 30) / 60)
            notice_ack = None if unacknowledged else min(released + rng.randint(1, 48) * 3600, now_s - 300)
            issued_text = ts(released)
            for item in chosen:
                lid = new_id("rectification_line")
                deadline = issued_day + item["days"]
                if secret:
                    deadline = max(deadline, working)
                if age_days > 30:
                    open_share = (0.12 if is_weak else 0.03) * exp(-(age_days - 30) / 60)
                    r = rng.random()
                    if r < open_share:
                        status = rng.choices(["acknowledged", "returned", "disputed"], [65, 25, 10])[0]
                    else:
                        status = "withdrawn" if r > 0.996 else "closed"
                elif age_days > 7:
                    status = rng.choices(*status_month)[0]
                else:
                    status = rng.choices(*status_recent)[0]
                if notice_ack is None:
                    status = "issued"
                elif status == "issued":
                    status = "acknowledged"
                ack, answered, closed = notice_ack, None, None
                if status in ("answered", "closed", "returned"):
                    answered = min(ack + rng.randint(2, 24 * max(1, item["days"])) * 3600, now_s - 200)
                if status in ("closed", "withdrawn"):
                    closed = min((answered or ack) + rng.randint(2, 72) * 3600, now_s - 100)
                problem = _esc(item["text"] + "\n" + rng.choice(DEMO_NOTES)) if detailed else _esc(item["text"])
                add("rectification_line", f"{lid}\t{nid}\t{vid}\t{oid}\t{item['code']}\t{ck['kind']}\t{problem}\t"
                                          f"{item['requirement']}\t{item['severity']}\t{'t' if item['red'] else 'f'}\t"
                                          f"{tm.day_text(deadline)}\t{ts(tm.local_midnight(deadline + 1))}\t{chief}\t{status}\t"
                                          f"{issued_text}\t{NULL if ack is None else ts(ack)}\t"
                                          f"{NULL if answered is None else ts(answered)}\t{NULL if answered is None else chief}\t"
                                          f"{NULL if closed is None else ts(closed)}\t1\t0\n")
                made_lines += 1
                if item["photo"]:
                    add("photo", f"{new_id('photo')}\t{vid}\t{item['code']}\titem\t{NULL}\t{NULL}\t{oid}\t"
                                 f"{rng.getrandbits(256):064x}\tphotos/{tm.date(tm.local_day(t)):%Y/%m}/"
                                 f"{rng.getrandbits(128):032x}\timage/jpeg\t1600\t1200\t{rng.randint(150_000, 480_000)}\t"
                                 f"{ts(t - 900)}\t\t{assignee}\t{ts(t - 880)}\n")
                if not detailed:
                    continue
                inspector = inspectors[city][0]
                add("rectification_event", f"{new_id('rectification_event')}\t{lid}\t{issued_text}\t{issuer}\tissued\t"
                                           f"issued\t\t{tm.day_text(deadline)}\tf\n")
                steps = []
                if ack is not None:
                    steps.append((ack, chief, "acknowledged", "acknowledged", ""))
                if status == "disputed" or status == "withdrawn":
                    at = min(ack + 3600, now_s - 250)
                    steps.append((at, chief, "disputed", "disputed", "该项检查时已现场整改,申请撤销"))
                    if status == "withdrawn":
                        steps.append((closed, reviewers[province], "withdrawn", "withdrawn", "经核实,撤销该项"))
                if answered is not None:
                    steps.append((answered, chief, "answered", "answered", "已按要求整改完毕,附整改后照片。"))
                if status == "closed":
                    steps.append((closed, inspector, "verified", "closed", ""))
                elif status == "returned":
                    steps.append((min(answered + 7200, now_s - 50), inspector, "returned", "returned",
                                  "整改照片不能说明问题已解决,请补充。"))
                for at, actor, action, after, text in steps:
                    eid = new_id("rectification_event")
                    add("rectification_event", f"{eid}\t{lid}\t{ts(at)}\t{actor}\t{action}\t{after}\t{text}\t{NULL}\tf\n")
                    if action == "answered":
                        add("photo", f"{new_id('photo')}\t{NULL}\t{NULL}\trectification\t{lid}\t{eid}\t{oid}\t"
                                     f"{rng.getrandbits(256):064x}\tphotos/{tm.date(tm.local_day(at)):%Y/%m}/"
                                     f"{rng.getrandbits(128):032x}\timage/jpeg\t1600\t1200\t{rng.randint(150_000, 480_000)}\t"
                                     f"{ts(at - 600)}\t\t{chief}\t{ts(at)}\n")
            number = f"ZG{tm.date(issued_day):%Y%m}-{nid:07d}"
            add("rectification_notice", f"{nid}\t{number}\t{vid}\t{oid}\t\t{issued_text}\t{issuer}\t"
                                        f"{NULL if notice_ack is None else ts(notice_ack)}\t"
                                        f"{NULL if notice_ack is None else chief}\n")
            if made_visits >= next_log:
                next_log += 200_000
                echo(f"  visits {made_visits:,} / lines {made_lines:,} ({time.monotonic() - started:.0f} s)")
    out.flush()
    echo(f"visits: {made_visits:,}, lines: {made_lines:,}, answers: {out.counts['answer']:,}, "
         f"photos: {out.counts['photo']:,} ({time.monotonic() - started:.0f} s)")
    # --- complaints -----------------------------------------------------------------------------
    rules = complaint_settings.deadlines()
    categories = list(complaint_settings.categories())
    sources = ["hotline"] * 4 + ["phone"] * 7 + ["appeal"] * 2 + ["wechat"] * 4 + ["letter"] + ["onsite"] * 2
    weak_outlets = [i for i in range(len(outlets)) if weak[i]] or [0]
    moments = sorted(rng.randint(first_day_s, now_s - 600) for _ in range(size.complaints))
    for received in moments:
        out.spill()
        cid = new_id("complaint")
        oi = rng.choice(weak_outlets) if rng.random() < 0.3 else rng.randrange(len(outlets))
        oid, _ki, _wf, _wc, sfirst, scount, _lat, _lon = outlets[oi]
        handler = handlers[city_of_outlet[oi]]
        source = rng.choice(sources)
        rule = rules[source]
        contact_due = received + rule.contact_hours * 3600
        resolve_due = max(tm.local_midnight(tm.local_day(received) + rule.resolve_days + 1), contact_due)
        age = (now_s - received) / 86400
        if age < 1:
            status = "registered" if rng.random() < 0.5 else "handling"
        elif age < 12:
            status = rng.choices(["handling", "closed", "called_back"], [40, 30, 30])[0]
        elif age < 30:
            status = "closed" if rng.random() < 0.1 else "called_back"
        else:
            status = "closed" if rng.random() < 0.02 else "called_back"
        category, account, found, _fix = rng.choice(DEMO_COMPLAINTS)
        category = category if category in categories else categories[0]
        staff = sfirst + rng.randrange(scount) if rng.random() < 0.4 else None
        taken = contacted = concluded = None
        verdict = grade = None
        conclusion = ""
        if status != "registered":
            taken = min(received + rng.randint(5, 60) * 60, now_s - 60)
            contacted = min(taken + rng.randint(10, max(11, rule.contact_hours * 45)) * 60, now_s - 50)
        if status in ("closed", "called_back"):
            concluded = min(contacted + rng.randint(6, 24 * max(1, rule.resolve_days - 1)) * 3600, now_s - 40)
            fate = rng.random()
            verdict = "substantiated" if fate < 0.45 else ("partly" if fate < 0.65 else "unfounded")
            grade = (1 if rng.random() < 0.7 else 2) if verdict != "unfounded" else None
            conclusion = found if verdict != "unfounded" else "经调查,网点处理符合规定,已向客户解释。"
        number = f"TS{tm.date(tm.local_day(received)):%Y%m}-{cid:05d}"
        owner = NULL if taken is None else handler
        add("complaint", f"{cid}\t{number}\t{source}\t{ts(received)}\t{oid}\t{NULL if staff is None else staff}\t{category}\t"
                         f"{account}\t{rng.choice(STAFF_SURNAMES)}{rng.choice(['先生', '女士'])}\t"
                         f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}\t\t{status}\t{owner}\t{owner}\t0\t"
                         f"{ts(contact_due)}\t{ts(resolve_due)}\t{NULL if contacted is None else ts(contacted)}\t"
                         f"{verdict or NULL}\t{grade or NULL}\t{conclusion}\t{NULL if concluded is None else ts(concluded)}\t"
                         f"{NULL if concluded is None else handler}\t0\t{handler}\t{ts(received)}\t1\n")
        steps = [(received, "registered", "registered", "")]
        if taken is not None:
            steps += [(taken, "taken", "handling", ""), (contacted, "contacted", "handling", "已致电客户,致歉并说明调查安排。")]
        if concluded is not None:
            steps.append((concluded, "concluded", "closed", conclusion))
        if status == "called_back":
            at = min(concluded + rng.randint(2, 72) * 3600, now_s - 30)
            satisfaction = rng.choice(["satisfied"] * 6 + ["basic"] * 3 + ["unsatisfied"])
            steps.append((at, "called_back", "called_back", ""))
            add("callback", f"{new_id('callback')}\t{oid}\t{cid}\t{ts(at)}\t{handler}\t{satisfaction}\t\n")
        for at, action, after, text in steps:
            add("complaint_event", f"{new_id('complaint_event')}\t{cid}\t{ts(at)}\t{handler}\t{action}\t{after}\t{text}\n")
    # --- operating values per county and month --------------------------------------------------
    month = clock.local_date(now, zone).replace(day=1)
    for _ in range(size.days // 30):
        month = clock.add_months(month, -1)
        for kid, *_rest in counties:
            out.spill()
            for metric, typical, spread in DEMO_METRICS:
                value = max(0.0, min(100.0, rng.gauss(typical, spread / 2)))
                add("operating_value", f"{new_id('operating_value')}\t{kid}\t{month}\t{metric}\t{value:.2f}\t{now_text}\n")
    out.flush()
    echo(f"complaints: {out.counts['complaint']:,}, operating values: {out.counts['operating_value']:,} "
         f"({time.monotonic() - started:.0f} s)")
    # --- after the rows: a later star rating of the same window ends the one before -------------
    conn.execute(sa.text(
        "UPDATE star_rating s SET ended_at = n.next_at, end_reason = 'replaced', ended_by_visit_id = n.next_visit "
        "FROM (SELECT id, lead(awarded_at) OVER w AS next_at, lead(visit_id) OVER w AS next_visit FROM star_rating "
        "WHERE id >= :first WINDOW w AS (PARTITION BY outlet_id, window_id ORDER BY awarded_at, id)) n "
        "WHERE s.id = n.id AND n.next_at IS NOT NULL AND n.next_at < s.valid_until"),
        {"first": ids["star_rating"] - out.counts["star_rating"]})
    for statement in restore:
        step = time.monotonic()
        conn.execute(sa.text(statement))
        if time.monotonic() - step > 5:
            echo(f"  {statement[:90]}… {time.monotonic() - step:.0f} s")
    echo(f"indexes and constraints made again ({time.monotonic() - started:.0f} s)")
    for table in COLUMNS:
        if table != "user_outlet":
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))"))
    result = dict(out.counts)
    result["seconds"] = round(time.monotonic() - started)
    return result
