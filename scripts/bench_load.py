"""Bulletins downloaded while inspectors answer, through gunicorn: PDFs in the request (before the
job queue) against PDFs made by a worker (after).

    .venv/bin/python scripts/bench_load.py [--seconds 60] [--managers 8] [--inspectors 20]
                                           [--port 18150] [--before REV] [--only before|after]

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

Leaves out: the network to the phones, photo uploads (scripts/bench_upload_lock.py), PostgreSQL.
"""
from __future__ import annotations

import argparse
import json
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
    "from inspect_app.auth.models import Role\n"
    "from inspect_app.org.models import Outlet, Unit\n"
    "app = create_app()\n"
    "with app.test_request_context(), Session(app.extensions['db_engine']) as s:\n"
    "    top = s.exec(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).first()\n"
    "    for n in range({managers}):\n"
    "        create_user(s, actor=None, username=f'mgr{{n}}', display_name=f'经理{{n}}', password='{password}',\n"
    "                    role=Role.manager, unit_id=top.id)\n"
    "    for n in range({inspectors}):\n"
    "        create_user(s, actor=None, username=f'insp{{n}}', display_name=f'检查员{{n}}', password='{password}',\n"
    "                    role=Role.inspector, unit_id=top.id)\n"
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
    _, html, _ = c.call("POST", f"/visits/{visit_id}/checkin", {"lat": "30.2", "lon": "120.1", "accuracy": "10"})
    c.page_token(html)
    codes = [code for code, rule in re.findall(r'data-code="([A-Z0-9-]+)"\s+data-rule="([a-z_]+)"', html)
             if rule == "pass_fail"]
    return c, visit_id, codes


def inspector(c: Client, visit_id: int, codes: list[str], stop: threading.Event, saves: list, home: list,
              errors: list, seed: int) -> None:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    n = 0
    while not stop.is_set():
        code = codes[n % len(codes)]
        body = {"item_code": code, "result": "pass" if n % 3 else "fail", "note": f"第{n}次检查记录",
                "base_version": versions.get(code, 0), "client_id": uuid.uuid4().hex}
        started = time.perf_counter()
        status, text, _ = c.call("POST", f"/api/visits/{visit_id}/answers", json_body=body)
        saves.append((time.perf_counter() - started) * 1000)
        if status == 200:
            versions[code] = json.loads(text)["answer"]["version"]
        elif status == 409:
            versions[code] = json.loads(text)["current"]["version"]
        else:
            errors.append(f"save {status}")
        if n % 4 == 3:
            started = time.perf_counter()
            status, _html, _url = c.call("GET", "/home")
            home.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(f"/home {status}")
        n += 1
        stop.wait(rng.uniform(0.5, 1.5))


def fetch(c: Client, path: str) -> tuple[int, bytes, str]:
    """A GET as the browser does it, the body as bytes (a PDF is no text)."""
    request = urllib.request.Request(c.base + path, headers={"Accept": "text/html,application/pdf"})
    try:
        with c.opener.open(request, timeout=300) as response:
            return response.status, response.read(), response.geturl()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), path


def manager(c: Client, url: str, stop: threading.Event, pdfs: list, errors: list) -> None:
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
            pdfs.append(time.perf_counter() - started)
        elif not stop.is_set():
            errors.append(f"bulletin {status}")
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


def phase(name: str, code: Path, args, port: int) -> dict:
    instance = Instance(code, postgres=False, prefix=f"bench-load-{name}-")
    worker = None
    try:
        subprocess.run([str(PYTHON), "-c", "from inspect_app.app import main; main()", "demo"], env=instance.env,
                       cwd=code, check=True, capture_output=True)
        top, outlets = instance.setup(SETUP.format(managers=args.managers, inspectors=args.inspectors,
                                                   password=PASSWORD)).split(" ")
        outlets = [int(o) for o in outlets.split(",")]
        base = instance.serve(workers=2, threads=4, port=port)
        if name == "after":
            log = open(instance.folder / "worker.log", "w")
            worker = subprocess.Popen([str(PYTHON), "-c", "from inspect_app.app import main; main()", "worker",
                                       "--threads", "1", "--nice", "10"], env=instance.env, cwd=code,
                                      stdout=log, stderr=subprocess.STDOUT)
        people = [start_visit(base, f"insp{n}", outlets[n % len(outlets)]) for n in range(args.inspectors)]
        managers = [sign_in(base, f"mgr{n}") for n in range(args.managers)]
        day = time.strftime("%Y-%m-%d")
        url = f"/bulletins/pdf?kind=month&date={day}&unit={top}"
        quiet_saves: list[float] = []
        quiet_home: list[float] = []
        errors: list[str] = []
        stop = threading.Event()
        threads = [threading.Thread(target=inspector, args=(c, v, codes, stop, quiet_saves, quiet_home, errors, n))
                   for n, (c, v, codes) in enumerate(people)]
        for t in threads:
            t.start()
        time.sleep(min(15.0, args.seconds / 3))  # inspectors alone: the quiet numbers
        stop.set()
        for t in threads:
            t.join()
        saves: list[float] = []
        home: list[float] = []
        pdfs: list[float] = []
        stop = threading.Event()
        threads = [threading.Thread(target=inspector, args=(c, v, codes, stop, saves, home, errors, n))
                   for n, (c, v, codes) in enumerate(people)]
        threads += [threading.Thread(target=manager, args=(c, url, stop, pdfs, errors)) for c in managers]
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
    finally:
        worker_log = ""
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
            worker_log = (instance.folder / "worker.log").read_text()
        server_log = instance.stop()
        shutil.rmtree(instance.folder, ignore_errors=True)
    return {"quiet_saves": summary(quiet_saves), "quiet_home": summary(quiet_home), "saves": summary(saves),
            "home": summary(home), "pdfs": len(pdfs), "pdf_wait": summary([p * 1000 for p in pdfs]),
            "errors": errors, "locked": server_log.count("database is locked"), "worker_log": worker_log}


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
    args = parser.parse_args()
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
