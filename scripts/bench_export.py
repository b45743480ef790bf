"""Exporting 1,000,000 rectification lines as CSV and as XLSX: rows/s and peak memory.

    .venv/bin/python scripts/bench_export.py [--lines 1000000] [--database FILE] [--keep]
                                             [--only csv,xlsx,naive-csv,naive-xlsx] [--tracemalloc]

Builds a temporary SQLite database with the large demo dataset's bulk inserts
(``demo_large.load_large``: 5,000 outlets, 200,000 visits, the lines in every state), unless
``--database`` names one built before (``--keep`` keeps the one it builds). Then each measurement
runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own:

- ``csv`` / ``xlsx``: the real code path, ``GET /board/lines/export.csv|xlsx`` as the administrator
  (every line) through the Flask test client, the body read in chunks and thrown away (/dev/null);
- ``naive-csv``: the usual way, the whole list loaded first (the page's own ``line_rows`` with no
  limit) and written with ``csv.writer`` into a ``StringIO``, then encoded;
- ``naive-xlsx``: the same list written with xlsxwriter without ``constant_memory`` (every cell
  kept until the file is closed), into memory. It runs under a 12 GB address-space limit, so a
  machine without the memory sees "MemoryError" instead of swapping.

Prints rows/s, the RSS when the export starts (the app loaded, one page served), the highest RSS
seen while it runs (sampled every 20 ms from /proc), the process's ``ru_maxrss`` at the end (the
same peak over its whole life), and (``--tracemalloc``, several times slower) Python's own peak
allocation during the export. Memory figures are MiB.

Measured on a 2-core VM (SQLite, 1,000,056 lines, MiB):

    way          rows/s   s     file MB  RSS at start  peak during
    csv          7,474    134   312      139           155
    xlsx         3,124    320   125      139           153
    naive-csv    6,842    146   305      139           4,661
    naive-xlsx   2,805    357    67      139           6,856

The streamed exports stay within ~16 MiB of the idle app; the whole-list ways grow by 4.5-6.7 GB.
XLSX time is mostly xlsxwriter's own per-cell work (about 70 % in a profile).

Leaves out: the network (the test client hands the body over in-process: no sockets, no TLS, no
slow client holding the stream open), gunicorn, PostgreSQL (``yield_per`` there is a server-side
cursor), a browser's download, and other requests running meanwhile; SQLite's page cache and the
OS file cache are warm after the first run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEASURES = ("csv", "xlsx", "naive-csv", "naive-xlsx")


def make_app(database: Path, folder: Path):
    from inspect_app import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{database}", "INSTANCE_PATH": str(folder / "instance"),
                       "MEDIA_ROOT": str(folder / "media"), "SECRET_KEY": "bench"})


def build(database: Path, folder: Path, lines: int) -> None:
    from sqlmodel import Session

    from inspect_app.auth.models import Role
    from inspect_app.auth.services import create_user
    from inspect_app.db import migrate
    from inspect_app.demo_large import load_large

    migrate(f"sqlite:///{database}")
    app = make_app(database, folder)
    started = time.perf_counter()
    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        create_user(session, actor=None, username="bench.admin", display_name="Bench", password="bench-pass-2026",
                    role=Role.admin)
        session.commit()
        load_large(session, visits=max(1000, lines // 5), lines=lines, echo=lambda text: print("  " + text, flush=True))
        session.commit()
    with app.extensions["db_engine"].connect() as conn:  # as a running site's file would be: no long WAL
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"built {lines:,} lines in {time.perf_counter() - started:.0f} s: {database} "
          f"({database.stat().st_size / 1e6:.0f} MB)", flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler(threading.Thread):
    """The process's RSS every 20 ms while the export runs: its own peak, whatever came before."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._done = 0.0, threading.Event()
        self.start()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, current_rss_mb())
            self._done.wait(0.02)

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, current_rss_mb())


def measure(kind: str, database: Path, folder: Path, trace: bool) -> dict:
    """One measurement in this (fresh) process."""
    from sqlmodel import Session, select

    from inspect_app.auth.models import User
    from inspect_app.auth.services import SESSION_KEY, open_session

    app = make_app(database, folder)
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        admin = session.exec(select(User).where(User.username == "bench.admin")).one()
        with app.test_request_context():
            key = open_session(session, user=admin, user_agent="bench", ip="127.0.0.1")
        session.commit()
        admin_id, token = admin.id, admin.get_id()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess[SESSION_KEY] = token, True, key
    assert client.get("/board/lines?outlet=1").status_code == 200  # warm: templates, catalogues, the user
    base, peak_before = current_rss_mb(), rss_mb()
    sampler = Sampler()
    if trace:
        import tracemalloc

        tracemalloc.start()
    started = time.perf_counter()
    if kind in ("csv", "xlsx"):
        size, rows = route(client, kind)
    else:
        size, rows = naive(app, kind, admin_id)
    took = time.perf_counter() - started
    sampler.stop()
    result = {"kind": kind, "rows": rows, "seconds": round(took, 1), "rows_per_s": round(rows / took),
              "bytes": size, "peak_rss_mb": round(rss_mb()), "base_rss_mb": round(base),
              "peak_before_mb": round(peak_before), "during_mb": round(sampler.peak)}
    if trace:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    return result


def route(client, kind: str) -> tuple[int, int]:
    response = client.get(f"/board/lines/export.{kind}", buffered=False)
    assert response.status_code == 200, response.status_code
    size = 0
    with open(os.devnull, "wb") as sink:
        for chunk in response.response:
            sink.write(chunk)
            size += len(chunk)
    response.close()
    return size, -1  # the rows are counted by the export's own log line (the body is gone)


def naive(app, kind: str, admin_id: int) -> tuple[int, int]:
    import csv
    import io

    from sqlmodel import Session

    from inspect_app.auth.models import User
    from inspect_app.i18n import format_local
    from inspect_app.rectifications.queries import BoardFilters, line_rows

    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        admin = session.get(User, admin_id)
        lines = line_rows(session, admin, filters=BoardFilters(), limit=10**8)  # the whole list, at once
        table = [[notice.number, outlet.code, outlet.name, line.item_code, line.problem, line.requirement,
                  line.severity, line.red_line, line.responsible_id or "", line.deadline_date.isoformat(), line.status,
                  format_local(line.issued_at, outlet.timezone), format_local(line.acknowledged_at, outlet.timezone),
                  format_local(line.answered_at, outlet.timezone), format_local(line.closed_at, outlet.timezone), ""]
                 for line, notice, outlet in lines]
    if kind == "naive-csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(table)
        data = buffer.getvalue().encode("utf-8-sig")
    else:
        import xlsxwriter

        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"in_memory": True})
        sheet = book.add_worksheet()
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        book.close()
        data = out.getvalue()
    with open(os.devnull, "wb") as sink:
        sink.write(data)
    return len(data), len(table)


def child(kind: str, database: Path, folder: Path, trace: bool) -> dict:
    """Run one measurement in a fresh interpreter and read its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, __file__, "--measure", kind, "--database", str(database), "--folder", str(folder)]
    if trace:
        args.append("--tracemalloc")
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    found = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"kind": kind, "error": " / ".join(tail)[-300:]}
    result = json.loads(found[-1])
    if result["rows"] < 0:  # the export's own log line says how many rows it wrote
        logged = [line for line in done.stderr.splitlines() if "rows" in line and "export lines" in line]
        result["rows"] = int(logged[-1].rsplit(":", 1)[1].split()[0]) if logged else 0
        result["rows_per_s"] = round(result["rows"] / result["seconds"]) if result["seconds"] else 0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the database it builds")
    parser.add_argument("--only", default=",".join(MEASURES))
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        if args.measure == "naive-xlsx":
            limit = 12 * 1024 ** 3
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(measure(args.measure, args.database, args.folder, args.tracemalloc)), flush=True)
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = args.database or folder / "export.db"
    built_here = not database.exists()
    if built_here:
        build(database, folder, args.lines)
    try:
        print(f"{'way':<11} {'rows':>9} {'s':>7} {'rows/s':>8} {'MB out':>8} {'RSS at start':>12} "
              f"{'peak RSS during':>15} {'ru_maxrss':>9}"
              + ("  tracemalloc peak MB" if args.tracemalloc else ""), flush=True)
        for kind in args.only.split(","):
            r = child(kind, database, folder, args.tracemalloc)
            if "error" in r:
                print(f"{kind:<11} failed: {r['error']}", flush=True)
                continue
            print(f"{kind:<11} {r['rows']:>9,} {r['seconds']:>7} {r['rows_per_s']:>8,} {r['bytes'] / 1e6:>8.0f} "
                  f"{r['base_rss_mb']:>12,} {r['during_mb']:>15,} {r['peak_rss_mb']:>9,}"
                  + (f"  {r['tracemalloc_peak_mb']:>19}" if "tracemalloc_peak_mb" in r else ""), flush=True)
        print("csv/xlsx: GET /board/lines/export.* through the test client, body to /dev/null; naive-*: the whole "
              "list in memory first. Leaves out the network, gunicorn, PostgreSQL and concurrent requests.")
    finally:
        if built_here and not args.keep:
            database.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
