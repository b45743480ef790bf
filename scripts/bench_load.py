"""Bulletins downloaded while inspectors answer, through gunicorn: PDFs in the request (before the
job queue) against PDFs made by a worker (after).

    .venv/bin/python scripts/bench_load.py [--seconds 60] [--managers 8] [--inspectors 20]
                                           [--port 18150] [--before REV] [--only before|after]
    .venv/bin/python scripts/bench_load.py --url http://web1:8000 --url http://web2:8000 [--seconds 60]

Each phase is a throwaway instance (the demo's data plus the bench's accounts, SQLite) served by
gunicorn as ``inspect-app serve`` serves it (2 processes × 4 threads):

- **before**: the code of ``--before`` (default: where this branch left main, the last commit
  without the queue), exported with ``git archive`` to a temp folder: a bulletin's PDF renders
  in the web process that was asked;
- **after**: this checkout, with ``inspect-app worker`` (one thread, niced) beside gunicorn: the
  request queues the PDF and the manager polls 我的文件 until it is there, then downloads it.

Managers each ask for the province's month bulletin, get the file, and ask again at once (8 people
clicking 下载 without pause: more than real managers do). Inspectors each save an answer, wait
0.5–1.5 s (a person reading the next item), and every fourth time open /home. Prints p50/p95/max
of the answer saves and of /home per phase, and the PDFs delivered; exits 1 when the after phase
misses its goal (answer save p95 ≤ 100 ms, /home p95 ≤ 200 ms).

With ``--url`` (once per web process) it starts nothing: it loads servers already running (with
their worker), spreading the people over them in turn (person n on URL n mod k), and prints each
server's requests per second, latencies and errors. Its accounts are made through the app's
services in this process's environment, which must therefore name the servers' DATABASE_URL (and
their storage and queue settings); ``scripts/topology.py`` runs it this way.

Leaves out: the network to the phones, photo uploads (scripts/bench_upload_lock.py), PostgreSQL
(except with ``--url`` against servers on it).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_instance import PYTHON, Instance  # noqa: E402
from concurrency import Client  # noqa: E402

PASSWORD = "Bench-load-2026"
GOALS = {"answer save": 100.0, "/home": 200.0}

SETUP = (
    "from inspect_app import create_app\n"
    "from sqlmodel import Session, select\n"
    "from inspect_app.auth.services import create_user\n"
    "from inspect_app.auth.models import Role, User\n"
    "from inspect_app.org.models import Outlet, Unit\n"
    "app = create_app()\n"
    "with app.test_request_context(), Session(app.extensions['db_engine']) as s:\n"
    "    top = s.exec(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).first()\n"
    "    have = set(s.exec(select(User.username)).all())  # a second run against the same servers\n"
    "    for n in range({managers}):\n"
    "        if f'mgr{{n}}' not in have:\n"
    "            create_user(s, actor=None, username=f'mgr{{n}}', display_name=f'经理{{n}}', password='{password}',\n"
    "                        role=Role.manager, unit_id=top.id)\n"
    "    for n in range({inspectors}):\n"
    "        if f'insp{{n}}' not in have:\n"
    "            create_user(s, actor=None, username=f'insp{{n}}', display_name=f'检查员{{n}}', password='{password}',\n"
    "                        role=Role.inspector, unit_id=top.id)\n"
    "    s.commit()\n"
    "    outlets = s.exec(select(Outlet.id).order_by(Outlet.id)).all()\n"
    "    print(top.id, ','.join(str(o) for o in outlets))\n"
)


def sign_in(base: str, username: str) -> Client:
    c = Client(base)
    _, html, _ = c.call("GET", "/login")
    c.page_token(html)
    _, html, _ = c.call("POST", "/login", {"username": username, "password": PASSWORD})
    c.page_token(html)
    return c


def start_visit(base: str, username: str, outlet_id: int):
    c = sign_in(base, username)
    _, html, url = c.call("POST", "/visits/new", {"outlet_id": outlet_id, "checklist": "open_inspection",
                                                  "window_id": "", "despite_planned": "1"})
    visit_id = int(re.search(r"/visits/(\d+)/checkin", url).group(1))
    _, html, _ = c.call("POST", f"/visits/{visit_id}/checkin", {"lat": "30.2", "lon": "120.1", "accuracy": "10",
                                                               "far_reason": "压测：不在网点"})
    c.page_token(html)
    codes = [code for code, rule in re.findall(r'data-code="([A-Z0-9-]+)"\s+data-rule="([a-z_]+)"', html)
             if rule == "pass_fail"]
    return c, visit_id, codes


class Tally:
    """What the people measured, by server: latencies of each kind of request, the bulletins' ask →
    file, and the errors seen."""

    def __init__(self):
        self.samples: list[tuple[str, str, float]] = []  # (server, kind, ms); list.append is atomic
        self.errors: list[tuple[str, str]] = []

    def add(self, base: str, kind: str, ms: float) -> None:
        self.samples.append((base, kind, ms))

    def error(self, base: str, what: str) -> None:
        self.errors.append((base, what))

    def values(self, kind: str, base: str | None = None) -> list[float]:
        return [ms for b, k, ms in self.samples if k == kind and base in (None, b)]

    def errors_of(self, base: str | None = None) -> list[str]:
        return [what for b, what in self.errors if base in (None, b)]


def inspector(c: Client, visit_id: int, codes: list[str], stop: threading.Event, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    n = 0
    while not stop.is_set():
        code = codes[n % len(codes)]
        body = {"item_code": code, "result": "pass" if n % 3 else "fail", "note": f"第{n}次检查记录",
                "base_version": versions.get(code, 0), "client_id": uuid.uuid4().hex}
        started = time.perf_counter()
        status, text, _ = c.call("POST", f"/api/visits/{visit_id}/answers", json_body=body)
        tally.add(c.base, "answer save", (time.perf_counter() - started) * 1000)
        if status == 200:
            versions[code] = json.loads(text)["answer"]["version"]
        elif status == 409:
            versions[code] = json.loads(text)["current"]["version"]
        else:
            tally.error(c.base, f"save {status}")
        if n % 4 == 3:
            started = time.perf_counter()
            status, _html, _url = c.call("GET", "/home")
            tally.add(c.base, "/home", (time.perf_counter() - started) * 1000)
            if status != 200:
                tally.error(c.base, f"/home {status}")
        n += 1
        stop.wait(rng.uniform(0.5, 1.5))


def fetch(c: Client, path: str) -> tuple[int, bytes, str]:
    """A GET as the browser does it, the body as bytes (a PDF is no text)."""
    request = urllib.request.Request(c.base + path, headers={"Accept": "text/html,application/pdf"})
    c.requests += 1
    try:
        with c.opener.open(request, timeout=300) as response:
            return response.status, response.read(), response.geturl()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), path


def manager(c: Client, url: str, stop: threading.Event, tally: Tally) -> None:
    """Ask for the bulletin; a PDF answered at once (before) or made by the worker (after: poll
    我的文件 every half second for the newest ready file, then download it)."""
    while not stop.is_set():
        started = time.perf_counter()
        status, body, final = fetch(c, url)
        if final.endswith("/files"):
            seen = set(re.findall(r'href="/files/(\d+)"', body.decode()))
            ready = None
            while not stop.is_set() and ready is None:
                stop.wait(0.5)
                status, page, _ = c.call("GET", "/files")
                fresh = set(re.findall(r'href="/files/(\d+)"', page)) - seen
                ready = max(fresh, key=int) if fresh else None
            if ready is None:
                break
            status, body, _ = fetch(c, f"/files/{ready}")
        if status == 200 and body.startswith(b"%PDF"):
            tally.add(c.base, "bulletin", (time.perf_counter() - started) * 1000)
        elif not stop.is_set():
            tally.error(c.base, f"bulletin {status}")
            stop.wait(1)


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(ordered), "p50": statistics.median(ordered),
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], "max": ordered[-1]}


def show(name: str, s: dict) -> str:
    if not s["n"]:
        return f"{name}: no samples"
    return f"{name}: p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms, max {s['max']:.0f} ms ({s['n']})"


def make_accounts(env: dict, code: Path, managers: int, inspectors: int) -> tuple[int, list[int]]:
    """The bench's managers and inspectors (made once: a second run against the same database
    reuses them) through the app's services in ``env``; returns the top unit and the outlets."""
    script = SETUP.format(managers=managers, inspectors=inspectors, password=PASSWORD)
    done = subprocess.run([str(PYTHON), "-c", script], env=env, cwd=code, check=True, capture_output=True, text=True)
    top, outlets = done.stdout.strip().splitlines()[-1].split(" ")
    return int(top), [int(o) for o in outlets.split(",")]


def _run(threads: list[threading.Thread], stop: threading.Event, seconds: float) -> None:
    """The people for ``seconds``; stopped (and waited for) also when this thread is interrupted."""
    try:
        for t in threads:
            t.start()
        time.sleep(seconds)
    finally:
        stop.set()
        for t in threads:
            if t.ident is not None:
                t.join()


def run_load(bases: list[str], top: int, outlets: list[int], *, managers: int, inspectors: int,
             seconds: float) -> dict:
    """Inspectors alone for a while (the quiet numbers), then inspectors with managers asking for
    bulletins for ``seconds``; person n works on ``bases[n % len(bases)]``."""
    people = [start_visit(bases[n % len(bases)], f"insp{n}", outlets[n % len(outlets)]) for n in range(inspectors)]
    bosses = [sign_in(bases[n % len(bases)], f"mgr{n}") for n in range(managers)]
    day = time.strftime("%Y-%m-%d")
    url = f"/bulletins/pdf?kind=month&date={day}&unit={top}"
    quiet = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=inspector, args=(c, v, codes, stop, quiet, n))
               for n, (c, v, codes) in enumerate(people)]
    _run(threads, stop, min(15.0, seconds / 3))
    clients = [c for c, _v, _codes in people] + bosses
    before = {base: sum(c.requests for c in clients if c.base == base) for base in bases}
    loaded = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=inspector, args=(c, v, codes, stop, loaded, n))
               for n, (c, v, codes) in enumerate(people)]
    threads += [threading.Thread(target=manager, args=(c, url, stop, loaded)) for c in bosses]
    started = time.monotonic()
    _run(threads, stop, seconds)
    took = time.monotonic() - started  # the last request in flight included
    requests = {base: sum(c.requests for c in clients if c.base == base) - before[base] for base in bases}
    return {"bases": bases, "quiet": quiet, "loaded": loaded, "requests": requests, "seconds": took}


def figures(load: dict, base: str | None = None) -> dict:
    quiet, loaded = load["quiet"], load["loaded"]
    pdfs = loaded.values("bulletin", base)
    requests = sum(n for b, n in load["requests"].items() if base in (None, b))
    return {"quiet_saves": summary(quiet.values("answer save", base)),
            "quiet_home": summary(quiet.values("/home", base)),
            "saves": summary(loaded.values("answer save", base)), "home": summary(loaded.values("/home", base)),
            "pdfs": len(pdfs), "pdf_wait": summary(pdfs), "requests": requests,
            "errors": quiet.errors_of(base) + loaded.errors_of(base)}


def server_lines(load: dict) -> list[str]:
    """One block per server (and all together): requests/s under load, latencies, PDFs, errors."""
    lines = []
    for base in [*load["bases"], None]:
        f = figures(load, base)
        if base is None and len(load["bases"]) == 1:
            break
        lines.append(f"{base or 'all servers'}: {f['requests']} requests in {load['seconds']:.0f} s, "
                     f"{f['requests'] / load['seconds']:.1f}/s")
        lines.append("  " + show("answer save, inspectors alone", f["quiet_saves"]))
        lines.append("  " + show("answer save, with bulletins  ", f["saves"]))
        lines.append("  " + show("/home, with bulletins        ", f["home"]))
        lines.append(f"  PDFs delivered: {f['pdfs']}; ask → file "
                     + (f"p50 {f['pdf_wait']['p50'] / 1000:.1f} s, p95 {f['pdf_wait']['p95'] / 1000:.1f} s"
                        if f["pdf_wait"]["n"] else "-"))
        lines.append(f"  errors: {len(f['errors'])} {sorted(set(f['errors']))[:5]}")
    return lines


def phase(name: str, code: Path, args, port: int) -> dict:
    instance = Instance(code, postgres=False, prefix=f"bench-load-{name}-")
    worker = None
    try:
        subprocess.run([str(PYTHON), "-c", "from inspect_app.app import main; main()", "demo"], env=instance.env,
                       cwd=code, check=True, capture_output=True)
        top, outlets = make_accounts(instance.env, code, args.managers, args.inspectors)
        base = instance.serve(workers=2, threads=4, port=port)
        if name == "after":
            log = open(instance.folder / "worker.log", "w")
            worker = subprocess.Popen([str(PYTHON), "-c", "from inspect_app.app import main; main()", "worker",
                                       "--threads", "1", "--nice", "10"], env=instance.env, cwd=code,
                                      stdout=log, stderr=subprocess.STDOUT)
        load = run_load([base], top, outlets, managers=args.managers, inspectors=args.inspectors,
                        seconds=args.seconds)
    finally:
        worker_log = ""
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
            worker_log = (instance.folder / "worker.log").read_text()
        server_log = instance.stop()
        shutil.rmtree(instance.folder, ignore_errors=True)
    return {**figures(load), "locked": server_log.count("database is locked"), "worker_log": worker_log}


def export(rev: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-load-code-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--managers", type=int, default=8)
    parser.add_argument("--inspectors", type=int, default=20)
    parser.add_argument("--port", type=int, default=18150, help="gunicorn's loopback port")
    parser.add_argument("--before", default="", help="the code without the queue (default: merge-base with main)")
    parser.add_argument("--only", choices=("before", "after"))
    parser.add_argument("--url", action="append", default=[],
                        help="a running web process (repeat for each): load these instead of starting any")
    args = parser.parse_args()
    if args.url:
        bases = [u.rstrip("/") for u in args.url]
        top, outlets = make_accounts(dict(os.environ), ROOT, args.managers, args.inspectors)
        load = run_load(bases, top, outlets, managers=args.managers, inspectors=args.inspectors,
                        seconds=args.seconds)
        print(f"{args.managers} managers downloading the province's month bulletin without pause, "
              f"{args.inspectors} inspectors answering, over {len(bases)} servers; load average "
              + " ".join(f"{v:.2f}" for v in os.getloadavg()))
        print("\n".join(server_lines(load)))
        f = figures(load)
        return 0 if f["pdfs"] and not f["errors"] else 1
    rev = args.before or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout.strip()
    results = {}
    if args.only != "after":
        code = export(rev)
        try:
            print(f"before: PDFs in the request ({rev[:10]})…", flush=True)
            results["before"] = phase("before", code, args, args.port)
        finally:
            shutil.rmtree(code, ignore_errors=True)
    if args.only != "before":
        print("after: PDFs by the worker (this checkout)…", flush=True)
        results["after"] = phase("after", ROOT, args, args.port)
    print(f"\n{args.managers} managers downloading the province's month bulletin without pause, "
          f"{args.inspectors} inspectors answering (0.5–1.5 s between saves, /home every 4th), "
          f"{args.seconds:.0f} s, gunicorn 2 × 4 threads, SQLite")
    ok = True
    for name, r in results.items():
        print(f"{name}:")
        print("  " + show("answer save, inspectors alone", r["quiet_saves"]))
        print("  " + show("/home, inspectors alone      ", r["quiet_home"]))
        print("  " + show("answer save, with bulletins  ", r["saves"]))
        print("  " + show("/home, with bulletins        ", r["home"]))
        print(f"  PDFs delivered: {r['pdfs']} ({r['pdfs'] / args.seconds:.2f}/s); ask → file "
              + (f"p50 {r['pdf_wait']['p50'] / 1000:.1f} s, p95 {r['pdf_wait']['p95'] / 1000:.1f} s"
                 if r["pdf_wait"]["n"] else "-"))
        print(f"  errors: {len(r['errors'])} {sorted(set(r['errors']))[:5]}; 'database is locked': {r['locked']}")
        if r["worker_log"] and not r["pdfs"]:
            print("  the worker's log ends:\n" + "\n".join(r["worker_log"].splitlines()[-15:]))
    if "after" in results:
        r = results["after"]
        ok = (r["saves"].get("p95", 1e9) <= GOALS["answer save"] and r["home"].get("p95", 1e9) <= GOALS["/home"]
              and r["pdfs"] > 0 and not r["errors"])
        print("goal met (after: answer save p95 ≤ 100 ms, /home p95 ≤ 200 ms, PDFs delivered)" if ok
              else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
