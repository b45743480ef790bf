"""Manager pages at every scope on a national-size dataset: median / p95 time and SQL statements.

    .venv/bin/python scripts/bench_pages.py --database-url sqlite:////path/copy/of/inspect.db [--runs 20]
    .venv/bin/python scripts/bench_pages.py --postgres     # a throwaway durable server, the large dataset loaded

What it measures: each page a manager reads (the boards, the lists of lines, notices, visits,
complaints, plans and outlets, the rankings, bulletins, home, the forms with pickers, and the
administrator's pages, which other scopes see as "—") through the real app (test client: no network), logged in
with a real session, for one viewer per scope size: a county (~20 outlets, ``mgr410101``), a city
(``mgr4101``), a province (``mgr41``) and the nation (``admin``); warm (one untimed request
first). The county manager is added to the database when missing (instances made before
``demo_large`` had county managers), so give it a copy of the instance, not the original.
PostgreSQL runs with durable settings (fsync, synchronous_commit and full_page_writes on).
The composite ranking (the monthly bulletin page, home) reads the figures the worker keeps, and the
monthly bulletin page the bulletin the worker composed ahead (``reports.kept``): the script runs both
jobs once before measuring, the bulletin's for the measured viewers' units only (``--no-keep``: not),
and prints how long they took — that is the work a page no longer does.
The month is the last complete one by the app's clock in Asia/Shanghai.
Before timing, what the process made so far is moved out of the garbage collector's generations
(``gc.collect(); gc.freeze()``), as ``inspect-app serve`` does once the app is loaded: without it a
full collection walking the app's ~230,000 start-up objects lands in about one request in ten
(165–215 ms measured on the nation's home), which a served process does not pay.
What it leaves out: the network, the browser's rendering, concurrent users, the worker running
beside the pages.
The machine's own speed is printed before and after the pages (``cpu_reference``: one core's time for
a fixed piece of pure Python, best of three): the same code measured on a host whose core is twice
as slow takes about twice as long, so compare tables from different days through it.
Targets (issue 22): median ≤ 150 ms, p95 ≤ 300 ms at every scope, query count the same at every scope.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from inspect_app import clock, create_app  # noqa: E402
from inspect_app.auth.models import Role, User  # noqa: E402
from inspect_app.auth.services import SESSION_KEY, open_session  # noqa: E402
from inspect_app.org.models import Unit  # noqa: E402

SCOPES = (("county", "mgr410101"), ("city", "mgr4101"), ("province", "mgr41"), ("nation", "admin"))
MEDIAN_MS, P95_MS = 150, 300
ZONE = "Asia/Shanghai"


def cpu_reference() -> float:
    """Milliseconds one core takes for a fixed pure-Python workload (best of three): ten million
    additions in a loop, about what a request's Python does with rows and templates."""
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for n in range(10_000_000):
            total += n
        best = min(best, time.process_time() - started)
    return best * 1000


def keep_composite(app) -> None:
    """The worker's periodic job, once: every node's composite for the periods pages read."""
    from inspect_app.indicators import services

    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        for period in services.periods_to_refresh(session, ZONE):
            started = time.perf_counter()
            nodes = services.keep_tree(session, period, ZONE)
            print(f"  kept {period.label}: {nodes} nodes in {time.perf_counter() - started:.1f} s", flush=True)


def keep_bulletins(app, usernames: list[str]) -> None:
    """The worker's bulletin job, for the viewers measured: last month's bulletin of each one's unit
    composed and kept (``reports.kept``), as the worker does for every unit someone reads."""
    from inspect_app.reports import kept

    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        for username in usernames:
            user = session.exec(select(User).where(User.username == username)).one()
            node = session.get(Unit, user.unit_id) if user.unit_id else None
            name = node.name if node else "the nation"
            started = time.perf_counter()
            done = kept.keep_due(session, zone=ZONE, nodes=[node], kinds=["month"])
            print(f"  bulletin of {name}: {'composed' if done else 'kept already'}"
                  f" in {time.perf_counter() - started:.1f} s", flush=True)


def ensure_county_manager(engine) -> None:
    """mgr410101 (the first county of the large dataset) when the instance predates county managers."""
    with Session(engine) as db:
        if db.exec(select(User).where(User.username == "mgr410101")).first():
            return
        county = db.exec(select(Unit).where(Unit.code == "410101")).first()
        city = db.exec(select(User).where(User.username == "mgr4101")).one()
        if county is None:
            return
        db.add(User(username="mgr410101", display_name=f"{county.name}经理", password_hash=city.password_hash,
                    role=Role.manager, unit_id=county.id, active=True, session_version=1, phone="",
                    created_at=clock.now()))
        db.commit()


def pages() -> dict[str, str]:
    today = clock.today(ZONE)
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    return {
        "status board": "/board",
        "status board, last 90 days": f"/board?from={(today - dt.timedelta(days=90)).isoformat()}",
        "overdue list": "/board/lines?state=overdue",
        "star board": "/stars",
        "indicator ranking (month)": "/indicators",
        "month bulletin page": f"/bulletins?kind=month&date={month}",
        "home": "/home",
        # the rest of what a manager reads: lists, their pickers and forms
        "notices": "/notices",
        "notices with open items": "/notices?open=1",
        "due soon (reminders)": "/reminders",
        "line list, all states": "/board/lines",
        "line list, open": "/board/lines?state=open",
        "repeat findings": "/board/repeats",
        "self-inspections": "/board/self-checks",
        "visits": "/visits",
        "check-in flags": "/visits/checkin-flags",
        "schedule visits": "/schedule",
        "complaints": "/complaints",
        "accountability": "/accountability",
        "callbacks": "/callbacks",
        "complaint hotspots": "/complaints/hotspots",
        "complaint streaks": "/complaints/streaks",
        "plans": "/plans",
        "plan coverage": "/plans/coverage",
        "missed planned visits": "/plans/missed",
        "new plan": "/plans/new",
        "outlets": "/outlets",
        "staff register": "/staff",
        "week bulletin page": "/bulletins?kind=week",
        "day bulletin page": "/bulletins?kind=day",
        "published bulletins": "/bulletins/published",
        "indicator import": "/indicators/import",
        # the administrator's (the nation's manager): other scopes get 403 and show "—"
        "users": "/admin/users",
        "new user": "/admin/users/new",
        "units": "/admin/units",
        "new outlet": "/admin/outlets/new",
        "audit log": "/admin/audit",
        "jobs": "/admin/jobs",
        "deliveries": "/admin/deliveries",
        "configuration": "/admin/config",
    }


def measure(app, username: str, runs: int, only: list[str] | None = None) -> list[tuple[str, float, float, int, int]]:
    engine = app.extensions["db_engine"]
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args, **_kwargs):
        counter["n"] += 1

    client = app.test_client()
    with Session(engine) as db:
        user = db.exec(select(User).where(User.username == username)).one()
        sid = open_session(db, user=user, user_agent="bench", ip="127.0.0.1")
        db.commit()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"], sess[SESSION_KEY] = user.get_id(), True, sid
    rows = []
    for name, url in pages().items():
        if only and not any(word in name for word in only):
            continue
        response = client.get(url)  # warm: templates compiled, caches filled
        if response.status_code == 403 and url.startswith("/admin/"):
            rows.append((name, None, None, None, None))  # not this viewer's page
            continue
        assert response.status_code == 200, (url, response.status_code)
        times, queries = [], []
        for _ in range(runs):
            counter["n"] = 0
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            queries.append(counter["n"])
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        rows.append((name, statistics.median(times), p95, max(queries), len(response.data)))
    return rows


def outlets_of(engine, username: str) -> int:
    with Session(engine) as db:
        user = db.exec(select(User).where(User.username == username)).one()
        if user.unit_id is None:
            return db.exec(select(sa.func.count()).select_from(sa.text("outlet"))).one()
        path = db.get(Unit, user.unit_id).path
        return db.execute(sa.text("SELECT count(*) FROM outlet JOIN unit ON unit.id = outlet.unit_id "
                                  "WHERE unit.path LIKE :p"), {"p": path + "%"}).scalar()


def report(results: dict[str, tuple[int, list]]) -> bool:
    names = [name for name, *_ in next(iter(results.values()))[1]]
    ok = True
    print(f"\n{'page':32} " + " ".join(f"{f'{scope} ({n})':>24}" for scope, (n, _) in results.items()))
    print(f"{'':32} " + " ".join(f"{'median/p95 ms, queries':>24}" for _ in results))
    for i, name in enumerate(names):
        cells, counts = [], set()
        for _scope, (_n, rows) in results.items():
            _, median, p95, queries, _size = rows[i]
            if median is None:
                cells.append("—")
                continue
            miss = median > MEDIAN_MS or p95 > P95_MS
            ok = ok and not miss
            counts.add(queries)
            cells.append(f"{median:7.1f}/{p95:6.1f}, {queries:3d}{'!' if miss else ' '}")
        print(f"{name:32} " + " ".join(f"{c:>24}" for c in cells) + ("" if len(counts) == 1 else "  (count differs by level)"))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--postgres", action="store_true", help="start a temp PostgreSQL and load the dataset")
    parser.add_argument("--user", action="append", help="username (repeat); default: one per scope")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-keep", action="store_true", help="do not run the worker's composite job first")
    parser.add_argument("--kept-composite", action="store_true",
                        help="the composite was kept by an earlier run today: only the bulletins' job")
    parser.add_argument("--page", action="append", help="only the pages whose name holds this (repeat)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    server = None
    url = args.database_url
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    if args.postgres:
        from inspect_app.db import migrate
        from tests.pg import TempPostgres

        server = TempPostgres(durable=True)
        base = server.start()
        admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE inspect")
        url = f"{base}/inspect"
        migrate(url)
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench",
                          })
        from inspect_app import demo
        from inspect_app.demo_large import load_large

        with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
            demo.load_demo(session)
            started = time.monotonic()
            load_large(session, echo=lambda *_: None)
            from inspect_app.rectifications.stats import rebuild

            rebuild(session)
            print(f"PostgreSQL: large dataset loaded in {time.monotonic() - started:.0f} s")
            session.execute(sa.text("ANALYZE"))
            session.commit()
    try:
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench",
                          })
        engine = app.extensions["db_engine"]
        with engine.connect() as conn:
            counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("outlet", "visit", "rectification_line", "photo")}
        ensure_county_manager(engine)
        scopes = [(u, u) for u in args.user] if args.user else SCOPES
        if not args.no_keep:
            if not args.kept_composite:
                keep_composite(app)
            keep_bulletins(app, [username for _scope, username in scopes])
        gc.collect()
        gc.freeze()  # as `inspect-app serve` does once the app is loaded
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"{engine.dialect.name}: {counts}, {args.runs} runs per page; load average at start {load}; "
              f"CPU reference {cpu_reference():.0f} ms")
        results = {}
        for scope, username in scopes:
            results[scope] = (outlets_of(engine, username), measure(app, username, args.runs, args.page))
            print(f"  {scope} ({username}, {results[scope][0]} outlets): " + "; ".join(
                f"{name} {median:.0f}/{p95:.0f} ms {queries}q" for name, median, p95, queries, _ in results[scope][1]
                if median is not None), flush=True)
        ok = report(results)
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"\nCPU reference at the end {cpu_reference():.0f} ms")
        print(f"load average at the end {load}; '!' marks a page over median {MEDIAN_MS} ms or p95 {P95_MS} ms")
        print("statements: a page's count differs between scope levels by what it shows (a county lists outlets, a "
              "city or province its units and their escalations, the nation has no unit above it); it does not "
              "grow with the data (tests/dashboard/test_query_counts.py) nor with the plan (test_scope_plans.py)")
        print("targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
