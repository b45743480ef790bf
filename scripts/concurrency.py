"""20 inspectors answering and submitting at once through gunicorn with several workers.

    .venv/bin/python scripts/concurrency.py            # SQLite (the embedded default)
    .venv/bin/python scripts/concurrency.py --postgres # a throwaway PostgreSQL server

Each client logs in, starts a visit at its own outlet, checks in, answers all 59 items one request
at a time, and submits. Prints the requests made, the errors seen (5xx, "database is locked" in
the server log) and what the database holds afterwards; exits 1 on any error or lost update.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENTS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None
        self.requests = 0
        self.errors: list[str] = []

    def call(self, method, path, data=None, json_body=None):
        headers = {"Accept": "application/json" if json_body is not None else "text/html"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.update({"Content-Type": "application/json", "X-CSRFToken": self.token})
        elif data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.token}, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        self.requests += 1
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode(), response.geturl()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            if exc.code >= 500:
                self.errors.append(f"{exc.code} {method} {path}")
            return exc.code, text, path

    def page_token(self, html: str) -> None:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        if found:
            self.token = found.group(1)


def run_client(base: str, username: str, outlet_id: int, result: dict) -> None:
    c = Client(base)
    _, html, _ = c.call("GET", "/login")
    c.page_token(html)
    _, html, _ = c.call("POST", "/login", {"username": username, "password": "Conc-2026"})
    c.page_token(html)
    _, html, url = c.call("POST", "/visits/new", {"outlet_id": outlet_id, "checklist": "open_inspection", "window_id": ""})
    visit_id = int(re.search(r"/visits/(\d+)/checkin", url).group(1))
    _, html, _ = c.call("POST", f"/visits/{visit_id}/checkin", {"lat": "30.2", "lon": "120.1", "accuracy": "10"})
    c.page_token(html)
    codes = re.findall(r'data-code="([A-Z0-9-]+)"\s+data-rule="([a-z_]+)"', html)
    for code, rule in codes:
        body = {"item_code": code, "base_version": 0, "client_id": f"{username}-{code}"}
        if rule == "per_occurrence":
            body["occurrences"] = 0
        elif rule == "scale":
            body["scale_value"] = 5
        else:
            body["result"] = "pass"
        status, text, _ = c.call("POST", f"/api/visits/{visit_id}/answers", json_body=body)
        if status == 400 and rule == "scale":  # scale maximum differs per item: ask the server's words, retry
            for value in range(4, 1, -1):
                body["scale_value"] = value
                status, text, _ = c.call("POST", f"/api/visits/{visit_id}/answers", json_body=body)
                if status == 200:
                    break
        if status != 200:
            c.errors.append(f"answer {code}: {status} {text[:80]}")
    status, html, url = c.call("POST", f"/visits/{visit_id}/submit", {"token": f"{username}-submit"})
    result[username] = {"visit": visit_id, "items": len(codes), "requests": c.requests, "errors": c.errors,
                        "submitted": url.endswith(f"/visits/{visit_id}")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="concurrency-"))
    env = {**os.environ, "INSPECT_INSTANCE": str(tmp), "SECRET_KEY": "concurrency"}
    server_pg = None
    if args.postgres:
        import sqlalchemy as sa

        from tests.pg import TempPostgres

        server_pg = TempPostgres()
        base = server_pg.start()
        admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE inspect")
        env["DATABASE_URL"] = f"{base}/inspect"
    bin_ = ROOT / ".venv" / "bin" / "inspect-app"
    subprocess.run([str(bin_), "demo"], env=env, check=True, capture_output=True)
    # twenty inspectors in the city whose outlets they visit
    setup = (
        "from inspect_app import create_app\n"
        "from sqlmodel import Session, select\n"
        "from inspect_app.auth.services import create_user\n"
        "from inspect_app.auth.models import Role\n"
        "from inspect_app.org.models import Unit, Outlet\n"
        "app = create_app()\n"
        "with app.test_request_context(), Session(app.extensions['db_engine']) as s:\n"
        "    hz = s.exec(select(Unit).where(Unit.code == '3301')).one()\n"
        "    for n in range(20):\n"
        "        create_user(s, actor=None, username=f'conc{n}', display_name=f'并发{n}', password='Conc-2026', role=Role.inspector, unit_id=hz.id)\n"
        "    s.commit()\n"
        "    print(','.join(str(o.id) for o in s.exec(select(Outlet).where(Outlet.code.startswith('3301')).order_by(Outlet.id)).all()[:20]))\n")
    outlets = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", setup], env=env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1].split(",")
    port = free_port()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen([str(bin_), "serve", "--port", str(port), "--workers", "4", "--threads", "4"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base_url + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        results: dict = {}
        threads = [threading.Thread(target=run_client, args=(base_url, f"conc{n}", int(outlets[n]), results))
                   for n in range(CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    server_log = (tmp / "server.log").read_text()
    locked = server_log.count("database is locked")
    tracebacks = server_log.count("Traceback")
    import sqlalchemy as sa

    url = env.get("DATABASE_URL") or f"sqlite:///{tmp / 'inspect.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = {}
        for name, r in results.items():
            answers = conn.execute(sa.text("SELECT count(*) FROM answer WHERE visit_id = :v"), {"v": r["visit"]}).scalar()
            status = conn.execute(sa.text("SELECT status FROM visit WHERE id = :v"), {"v": r["visit"]}).scalar()
            stored[name] = (answers, status)
    engine.dispose()
    requests = sum(r["requests"] for r in results.values())
    errors = [e for r in results.values() for e in r["errors"]]
    lost = [name for name, r in results.items() if stored[name][0] != r["items"]]
    unsubmitted = [name for name, r in results.items() if stored[name][1] != "released"]
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}; gunicorn 4 workers × 4 threads; {CLIENTS} clients")
    print(f"requests: {requests} in {elapsed:.1f} s ({requests / elapsed:.0f}/s)")
    print(f"answers expected {sum(r['items'] for r in results.values())}, stored {sum(v[0] for v in stored.values())}; "
          f"visits released {sum(1 for v in stored.values() if v[1] == 'released')}/{CLIENTS}")
    print(f"client errors: {len(errors)}; 'database is locked' in server log: {locked}; tracebacks: {tracebacks}")
    print(f"lost updates: {len(lost)}; unsubmitted visits: {len(unsubmitted)}")
    for e in errors[:10]:
        print("  ", e)
    if server_pg:
        server_pg.stop()
    ok = not (errors or locked or tracebacks or lost or unsubmitted) and len(results) == CLIENTS
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
