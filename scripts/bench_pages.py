"""Manager pages on a national-size dataset: median / p95 time and SQL queries per page.

    .venv/bin/python scripts/bench_pages.py --database-url sqlite:///instance/inspect.db [--user mgr41] [--runs 20]
    .venv/bin/python scripts/bench_pages.py --postgres     # starts a throwaway server, loads the data, measures

The dataset comes from `inspect-app demo --scale large`. Requests go through the real app (test
client: no network), logged in as a province manager, so scope checks are part of the work.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from inspect_app import create_app  # noqa: E402
from inspect_app.auth.models import User  # noqa: E402


def pages() -> dict[str, str]:
    month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    return {
        "status board": "/board",
        "status board, last 90 days": f"/board?from={(dt.date.today() - dt.timedelta(days=90)).isoformat()}",
        "overdue list": "/board/lines?state=overdue",
        "star board": "/stars",
        "ranking (monthly bulletin page)": f"/bulletins?kind=month&date={month}",
        "home": "/home",
    }


def measure(app, username: str, runs: int) -> list[tuple[str, float, float, int, int]]:
    engine = app.extensions["db_engine"]
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args, **_kwargs):
        counter["n"] += 1

    client = app.test_client()
    with Session(engine) as db:
        user = db.exec(select(User).where(User.username == username)).one()
        token = user.get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
    rows = []
    for name, url in pages().items():
        response = client.get(url)  # warm: templates compiled, caches filled
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


def report(label: str, rows) -> bool:
    print(f"\n{label}")
    print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bytes':>9}")
    ok = True
    for name, median, p95, queries, size in rows:
        flag = "" if (median <= 200 and p95 <= 500) else "  <-- over target"
        ok = ok and not flag
        print(f"{name:34} {median:10.1f} {p95:8.1f} {queries:8d} {size:9d}{flag}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--postgres", action="store_true", help="start a temp PostgreSQL and load the dataset")
    parser.add_argument("--user", default="mgr41")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    server = None
    url = args.database_url
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    if args.postgres:
        from inspect_app.db import migrate
        from tests.pg import TempPostgres

        server = TempPostgres()
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
        ok = report(f"{engine.dialect.name}: {counts}, {args.runs} runs per page, as {args.user}",
                    measure(app, args.user, args.runs))
        print("\ntargets met (median ≤ 200 ms, p95 ≤ 500 ms)" if ok else "\nTARGET MISSED")
        return 0 if ok else 1
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
