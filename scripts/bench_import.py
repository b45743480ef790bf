"""An outlet CSV import while an inspector saves answers, through gunicorn.

    .venv/bin/python scripts/bench_import.py [--rows 10000] [--postgres] [--code /path/to/a/checkout]

An administrator imports a CSV of new outlets (each with two windows) through the real import
page, and then the same file again (every row an update); meanwhile one inspector saves answers
one after another, as the phone's outbox sends them. Prints the import's time and rows/s, and the
answer-save latency (p50, p95, max, saves over 1 s) and the "database is locked" failures during the import. ``--code``
serves another checkout (an older commit, for the before/after comparison) with this project's
virtualenv.

Leaves out: the upload of the file itself over a real network, other kinds of requests, and
photos (see bench_upload_lock.py).
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_instance import SETUP, Instance  # noqa: E402
from bench_upload_lock import PASSWORD, SLOW, save_answers, sign_in, start_visit, summary  # noqa: E402


def outlet_csv(rows: int, suffix: str = "") -> bytes:
    """Full rows (address, position, zone, two windows); above 20,000 rows, short ones (code, name,
    unit) so the file stays under the 5 MB limit (100,000 rows: about 3 MB)."""
    if rows > 20_000:
        return ("code,name,unit_code\n" + "".join(f"I{n:06d},第{n}号营业所{suffix},33\n" for n in range(rows))).encode()
    lines = ["code,name,address,lat,lon,unit_code,timezone,windows"]
    for n in range(rows):
        lines.append(f"I{n:06d},杭州市第{n}号邮政营业所{suffix},文三路{n}号,30.{n % 1000:03d},120.{n % 997:03d},33,"
                     "Asia/Shanghai,1;2")
    return ("\n".join(lines) + "\n").encode()


def post_file(c, path: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{c.token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="outlets.csv"\r\n'
            f'Content-Type: text/csv\r\n\r\n').encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(c.base + path, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with c.opener.open(request, timeout=900) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def timed_import(admin, answerer, visit_id, codes, data: bytes):
    latencies: list[float] = []
    failed: list[str] = []
    stop = threading.Event()
    saver = threading.Thread(target=save_answers, args=(answerer, visit_id, codes, stop, latencies, failed))
    saver.start()
    time.sleep(1.0)
    started = time.perf_counter()
    status, html = post_file(admin, "/admin/outlets/import", data)
    took = time.perf_counter() - started
    for at, ms in [x for x in SLOW if x[0] >= started - 1]:
        print(f"  a save started {at - started:+.1f} s into the import took {ms:.0f} ms", flush=True)
    time.sleep(0.5)
    stop.set()
    saver.join()
    import re

    flash = re.search(r"(导入[^<]*|Imported[^<]*)", html)
    return took, status, latencies, failed, flash.group(1) if flash else html[:300]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--code", default=str(ROOT), help="the checkout to serve (default: this one)")
    args = parser.parse_args()
    code = Path(args.code).resolve()
    instance = Instance(code, postgres=args.postgres, prefix="bench-import-")
    setup = SETUP + (
        "    o = org.save_outlet(s, actor=None, outlet=None, code='B000', name='网点', address='路', lat=30.2,\n"
        "                        lon=120.1, unit_id=unit.id, timezone='Asia/Shanghai')\n"
        f"    create_user(s, actor=None, username='bench0', display_name='测', password='{PASSWORD}',\n"
        "                role=Role.inspector, unit_id=unit.id)\n"
        f"    create_user(s, actor=None, username='benchadmin', display_name='管', password='{PASSWORD}',\n"
        "                role=Role.admin)\n"
        "    s.commit()\n"
        "    print(o.id)\n")
    results = []
    try:
        outlet_id = int(instance.setup(setup))
        base_url = instance.serve(workers=2, threads=4)
        answerer, visit_id, codes, _outlet = start_visit(base_url, "bench0", outlet_id)
        admin = sign_in(base_url, "benchadmin")
        _, html, _ = admin.call("GET", "/admin/outlets/import")
        admin.page_token(html)
        data = outlet_csv(args.rows)
        print(f"file: {args.rows} rows, {len(data) / 1e6:.1f} MB", flush=True)
        results.append(("new outlets", *timed_import(admin, answerer, visit_id, codes, data)))
        results.append(("same codes, renamed", *timed_import(admin, answerer, visit_id, codes,
                                                             outlet_csv(args.rows, "（更名）"))))
    finally:
        server_log = instance.stop()
    print(f"code: {code}; database: {instance.database}; gunicorn 2 workers × 4 threads")
    for name, took, status, latencies, failed, flash in results:
        slow = sum(1 for v in latencies if v > 1000)
        print(f"import ({name}): HTTP {status} in {took:.1f} s = {args.rows / took:.0f} rows/s — {flash.strip()}")
        print("  " + summary("answer saves meanwhile", latencies) + f"; over 1 s: {slow}; failed: {len(failed)}"
              + (f" (first: {failed[0]})" if failed else ""))
    print(f"'database is locked' in server log: {server_log.count('database is locked')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
