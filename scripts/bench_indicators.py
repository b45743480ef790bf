"""The composite ranking on the large dataset: import a month of operating values for every county,
compute the month's ranking at each level, and time the ranking and drill-down pages.

    .venv/bin/inspect-app demo --scale large            # once: 5,000 outlets, 200,000 visits, 1M lines
    .venv/bin/python scripts/bench_indicators.py --instance instance [--runs 20]

Prints: the import (rows, seconds), the computation per level (the usual way of doing the job, a
grouped query per source rolled up in Python, against the naive way of one query per unit and
source), and median / p95 page times with their SQL statement counts. Leaves out: PostgreSQL
(SQLite only here), concurrent users, and the PDF of the month summary.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from inspect_app import clock, create_app  # noqa: E402
from inspect_app.auth.models import Role, User  # noqa: E402
from inspect_app.auth.services import SESSION_KEY, open_session  # noqa: E402
from inspect_app.csv_import import run_import  # noqa: E402
from inspect_app.indicators import services, sources  # noqa: E402
from inspect_app.indicators.importing import OperatingImporter  # noqa: E402
from inspect_app.org.models import Unit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", default="instance")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    instance = Path(args.instance).resolve()
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'inspect.db'}",
                      "MEDIA_ROOT": str(instance / "media"), "QUERY_BUDGET": None})
    engine = app.extensions["db_engine"]
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a, **_k):
        counter["n"] += 1

    zone = "Asia/Shanghai"
    with app.test_request_context(), Session(engine) as db:
        admin = db.exec(select(User).where(User.role == Role.admin)).first()
        counties = db.exec(select(Unit).where(Unit.level == "county")).all()
        month = clock.today(zone).replace(day=1)
        last = (month - dt.timedelta(days=1)).replace(day=1)
        rng = random.Random(5)
        rows = ["单位编码,月份,指标编码,数值"]
        for county in counties:
            for metric in services.tree().metrics:
                rows.append(f"{county.code},{last:%Y-%m},{metric},{rng.uniform(85, 99):.2f}")
        data = ("\n".join(rows) + "\n").encode()
        started = time.perf_counter()
        result = run_import(db, OperatingImporter(services.tree()), actor=admin, data=data)
        db.commit()
        print(f"import: {len(rows) - 1:,} values ({result.created:,} new, {result.updated:,} replaced) "
              f"in {time.perf_counter() - started:.2f} s")
        period = sources.Period.parse(f"{last:%Y-%m}")
        roots = db.exec(select(Unit).where(Unit.parent_id.is_(None))).all()
        levels = [("the nation (provinces)", None), ("a province (its cities)", roots[0])]
        city = db.exec(select(Unit).where(Unit.parent_id == roots[0].id)).first()
        levels.append(("a city (its counties)", city))
        print(f"\ncomposite for {period.label} ({len(services.tree().indicators)} indicators), admin's scope:")
        for label, node in levels:
            counter["n"] = 0
            started = time.perf_counter()
            ranking = services.ranking(db, admin, node=node, period=period, zone=zone)
            took = time.perf_counter() - started
            print(f"  {label:<26} {len(ranking.units):>3} units  {took:6.2f} s  {counter['n']:>3} statements "
                  f"(this period and the one before)")
        # the naive way: one query per unit and source (what a report script usually does)
        children = services.children_of(db, admin, roots[0])
        counter["n"] = 0
        started = time.perf_counter()
        for unit in children:
            sources.raw_values(db, services.tree(), [unit], since=clock.day_start(period.start, zone),
                               until=clock.day_start(period.end, zone), period=period)
        print(f"  unit by unit (a read per unit and source): {len(children)} units  {time.perf_counter() - started:6.2f} s  "
              f"{counter['n']} statements (one period)")
    client = app.test_client()
    with Session(engine) as db, app.test_request_context():
        manager = db.exec(select(User).where(User.role == Role.manager)).first()
        key = open_session(db, user=manager, user_agent="bench", ip="127.0.0.1")
        db.commit()
        token, unit = manager.get_id(), db.get(Unit, manager.unit_id)
        db.expunge_all()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess[SESSION_KEY] = token, True, key
    print(f"\npages as {manager.username} ({unit.name}), {args.runs} runs each:")
    for name, url in (("ranking", f"/indicators?period={period.label}"),
                      ("drill-down", f"/indicators/units/{unit.id}?period={period.label}"), ("home", "/home")):
        client.get(url)
        times, statements = [], []
        for _run in range(args.runs):
            counter["n"] = 0
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            statements.append(counter["n"])
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"  {name:<11} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  {max(statements):>3} statements")


if __name__ == "__main__":
    main()
