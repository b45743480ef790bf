"""The scale-out topology on one machine, on loopback, as it is deployed on several hosts: a durable
PostgreSQL, Redis (the job queue's broker), S3-compatible storage (moto's server), two web processes
(``inspect-app serve``, gunicorn) and one ``inspect-app worker``, every process with its own
instance folder (nothing shared on disk) and the same SECRET_KEY, DATABASE_URL, REDIS_URL and S3
settings. Then it proves the state is shared and loads both web processes:

    .venv/bin/python scripts/topology.py [--seconds 30] [--managers 4] [--inspectors 12]
                                         [--keep-running] [--pg-port 55450] [--redis-port 56390]
                                         [--s3-port 55651] [--web-ports 55601,55602]

1. ``inspect-app init`` and ``inspect-app demo`` against PostgreSQL, the demo's photos into the bucket;
2. checks, each printed PASS or FAIL: a session signed in on web 1 works on web 2 (a page, and a
   POST with the CSRF token web 1 gave); a photo uploaded through web 1 is served by web 2, the
   bytes of the S3 object, with no file on either web process's disk; a bulletin PDF asked for on
   web 2 is made by the worker (the job row done) and downloaded through web 1;
3. ``scripts/bench_load.py``'s load (inspectors answering, managers downloading bulletins) spread
   over both web processes: requests/s, p50/p95 and errors per process, the load average, and
   what each process's access log saw (both served, no 5xx);
4. teardown on exit, Ctrl-C or SIGTERM: web processes, worker, S3, Redis, PostgreSQL, the temp
   folder; nothing left running. ``--keep-running`` leaves it up (the URLs and demo accounts are
   printed) until Ctrl-C. ``--seconds 0`` skips the load.

Exits 1 when a check fails, the load saw an error or no PDF came. Latency goals are printed, not
enforced: on a shared 2-core machine they say more about the neighbours than about the code.
Leaves out: real network hops between hosts, TLS and the reverse proxy (see the README's
"Deploying on several hosts"), moto keeps objects in memory (not a durable store).
"""
from __future__ import annotations

import argparse
import ctypes
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_load  # noqa: E402
from concurrency import Client  # noqa: E402

from tests.images import jpeg  # noqa: E402
from tests.pg import TempPostgres  # noqa: E402
from tests.redis_server import TempRedis  # noqa: E402

#: ``inspect-app`` of this checkout, with this virtualenv's Python (a console script's shebang and an
#: editable install may point at another checkout)
CLI = [str(bench_load.PYTHON), "-c", "from inspect_app.app import main; main()"]
BUCKET = "inspect-media"
DEMO_PASSWORD = "demo-2026"
ADMIN_PASSWORD = "Topology-admin-2026"
#: ``--demo org``: the demo's organisation and accounts without its history (visits, complaints,
#: plans), which takes a minute or two on PostgreSQL; printed as ``inspect-app demo`` prints them.
DEMO_ORG = (
    "from sqlmodel import Session\n"
    "from inspect_app import create_app, demo\n"
    "app = create_app()\n"
    "with app.test_request_context(), Session(app.extensions['db_engine']) as s:\n"
    "    accounts = demo.load_demo(s)\n"
    "    s.commit()\n"
    "for username, role, password in accounts:\n"
    "    print(f'  {role:<13} {username:<14} {password}')\n"
)


def _die_with_parent() -> None:
    """In the child before exec: its own session (the terminal's Ctrl-C reaches only this script,
    which stops the children in order), and SIGTERM should this script be killed outright."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def wait_until(what: str, ready, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Topology:
    def __init__(self, args):
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="topology-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.pg: TempPostgres | None = None
        self.redis: TempRedis | None = None
        self.env: dict[str, str] = {}
        self.webs: list[str] = []
        # every process of this topology carries the mark, so a test can prove none is left
        os.environ["INSPECT_TOPOLOGY"] = str(self.folder)

    # --- starting -------------------------------------------------------------------------------

    def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.logs[name] = self.folder / f"{name}.log"
        with open(self.logs[name], "w") as log:
            process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.processes[name] = process
        return process

    def instance_env(self, name: str) -> dict[str, str]:
        """What each host is given: the shared settings, and an instance folder of its own."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        return {**self.env, "INSPECT_INSTANCE": str(folder)}

    def start(self) -> None:
        a = self.args
        for port in (a.pg_port, a.redis_port, a.s3_port, *a.web_ports):
            if not port_free(port):
                raise RuntimeError(f"port {port} is taken")
        step = time.monotonic()
        self.pg = TempPostgres(durable=not a.no_fsync, port=a.pg_port, prefix="topology-pg-")
        server = self.pg.start()
        import sqlalchemy as sa

        engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE inspect")
        engine.dispose()
        database_url = f"{server}/inspect"
        self.redis = TempRedis(port=a.redis_port, prefix="topology-redis-")
        redis_url = self.redis.start()
        s3_url = f"http://127.0.0.1:{a.s3_port}"
        moto = self.spawn("s3", [str(bench_load.PYTHON), "-c", "from moto.server import main; main()",
                                 "-H", "127.0.0.1", "-p", str(a.s3_port)], dict(os.environ))
        wait_until("the S3 server", lambda: answers(f"{s3_url}/moto-api/"), process=moto)
        aws = {"AWS_ACCESS_KEY_ID": "topology", "AWS_SECRET_ACCESS_KEY": "topology",
               "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        os.environ.update(aws)
        os.environ.pop("AWS_PROFILE", None)
        self.s3().create_bucket(Bucket=BUCKET)
        self.env = {**os.environ, **aws, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
                    "REDIS_URL": redis_url, "STORAGE_BACKEND": "s3", "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": s3_url,
                    "S3_REGION": "us-east-1", "SECRET_KEY": secrets.token_hex(32)}
        print(f"PostgreSQL ({'fsync off' if a.no_fsync else 'durable'}) {database_url}\nRedis {redis_url}\n"
              f"S3 {s3_url} bucket {BUCKET}  [{time.monotonic() - step:.1f} s]", flush=True)

        step = time.monotonic()
        setup = self.instance_env("setup")
        subprocess.run([*CLI, "init", "--admin-password", ADMIN_PASSWORD], env=setup, cwd=ROOT, check=True,
                       capture_output=True)
        if a.demo == "full":
            demo = subprocess.run([*CLI, "demo"], env=setup, cwd=ROOT, check=True, capture_output=True,
                                  text=True)
        else:
            demo = subprocess.run([str(bench_load.PYTHON), "-c", DEMO_ORG], env=setup, cwd=ROOT, check=True,
                                  capture_output=True, text=True)
        self.demo_output = demo.stdout
        self.top, self.outlets = bench_load.make_accounts(setup, ROOT, a.managers, a.inspectors)
        print(f"init + demo ({a.demo}) + bench accounts on PostgreSQL"
              f"{', photos into S3' if a.demo == 'full' else ''}  [{time.monotonic() - step:.1f} s]", flush=True)

        step = time.monotonic()
        for n, port in enumerate(a.web_ports, 1):
            self.spawn(f"web{n}", [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", str(a.web_workers), "--threads", str(a.web_threads)],
                       self.instance_env(f"web{n}"))
            self.webs.append(f"http://127.0.0.1:{port}")
        worker = self.spawn("worker", [*CLI, "worker", "--threads", str(a.worker_threads), "--nice", "10"],
                            self.instance_env("worker"))
        for n, base in enumerate(self.webs, 1):
            wait_until(f"web {n}", lambda base=base: answers(f"{base}/healthz"), process=self.processes[f"web{n}"])
        wait_until("the worker", lambda: "Huey consumer started" in self.logs["worker"].read_text(), process=worker)
        print(f"web {', '.join(self.webs)} (gunicorn {a.web_workers} × {a.web_threads} threads each), "
              f"worker ({a.worker_threads} threads)  [{time.monotonic() - step:.1f} s]", flush=True)

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.args.s3_port}", region_name="us-east-1")

    def sql(self, query: str, **params):
        import sqlalchemy as sa

        engine = sa.create_engine(self.env["DATABASE_URL"])
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(query), params).first()
        finally:
            engine.dispose()

    # --- stopping -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Web processes first (no new work), then the worker (it finishes what it runs), then the
        stores. Each one waited for; a process that does not stop is killed."""
        order = [n for n in self.processes if n.startswith("web")] + ["worker", "s3"]
        for name in order:
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            try:
                process.send_signal(signal.SIGINT if name == "worker" else signal.SIGTERM)
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        for process in self.processes.values():  # anything a process group left behind
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            self.pg.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.logs.get(name)
        text = path.read_text(errors="replace") if path and path.exists() else ""
        return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])


# --- the checks ------------------------------------------------------------------------------------

def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
              "Content-Type: image/jpeg\r\n\r\n".encode())
    out.write(data + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def get_bytes(c: Client, path: str) -> tuple[int, bytes, str, str]:
    try:
        with c.opener.open(urllib.request.Request(c.base + path), timeout=60) as response:
            return response.status, response.read(), response.headers.get("Content-Type", ""), response.geturl()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), "", path


def same_session(c: Client, base: str) -> Client:
    """A client on another web process carrying ``c``'s cookies and CSRF token: the same browser
    sent there by a load balancer without sticky sessions."""
    other = Client(base)
    other.jar, other.opener, other.token = c.jar, c.opener, c.token
    return other


def check_session(topology: Topology) -> tuple[bool, str, tuple]:
    web1, web2 = topology.webs[:2]
    c1, visit_id, codes = bench_load.start_visit(web1, "insp0", topology.outlets[0])
    c2 = same_session(c1, web2)
    status, html, url = c2.call("GET", "/home")
    home_ok = status == 200 and "/login" not in url and "检查员0" in html
    saved, text, _ = c2.call("POST", f"/api/visits/{visit_id}/answers",
                             json_body={"item_code": codes[0], "result": "pass", "base_version": 0,
                                        "client_id": uuid.uuid4().hex})
    stranger_status, _, stranger_url = Client(web2).call("GET", "/home")
    stranger_refused = "/login" in stranger_url
    ok = home_ok and saved == 200 and stranger_refused
    return ok, (f"signed in on web 1, web 2 serves /home to the same cookie ({status}, "
                f"{'own name shown' if home_ok else 'NOT signed in: ' + url}) and takes an answer "
                f"with web 1's CSRF token ({saved}{'' if saved == 200 else ' ' + text[:80]}); "
                f"without the cookie web 2 sends to /login ({'yes' if stranger_refused else 'NO'})"), \
        (c1, c2, visit_id, codes)


def check_photo(topology: Topology, session: tuple) -> tuple[bool, str]:
    c1, c2, visit_id, codes = session
    body, content_type = multipart({"item_code": codes[0], "purpose": "item", "client_id": uuid.uuid4().hex},
                                   "photo.jpg", jpeg((1600, 1200), seed=22))
    request = urllib.request.Request(f"{c1.base}/api/visits/{visit_id}/photos", data=body, method="POST",
                                     headers={"Content-Type": content_type, "X-CSRFToken": c1.token,
                                              "Accept": "application/json"})
    try:
        with c1.opener.open(request, timeout=60) as response:
            status, answer = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return False, f"upload through web 1 answered {exc.code}: {exc.read()[:120]!r}"
    photo_id = int(re.search(r'"id":\s*(\d+)', answer).group(1))
    served_status, served, served_type, _ = get_bytes(c2, f"/photos/{photo_id}/display")
    storage_key = topology.sql("SELECT storage_key FROM photo WHERE id = :id", id=photo_id)[0]
    stored = topology.s3().get_object(Bucket=BUCKET, Key=f"{storage_key}/display.jpg")["Body"].read()
    on_disk = [str(p) for name in ("web1", "web2") for p in (topology.folder / name).rglob("*") if p.is_file()
               and p.suffix in (".jpg", ".jpeg", ".png")]
    ok = status == 201 and served_status == 200 and served_type == "image/jpeg" and served == stored and not on_disk
    return ok, (f"photo {photo_id} uploaded through web 1 ({status}), served by web 2 ({served_status}, "
                f"{served_type}, {len(served)} bytes, {'the S3 object' if served == stored else 'NOT the S3 object'}), "
                f"files on the web processes' disks: {len(on_disk)}")


def check_job(topology: Topology) -> tuple[bool, str]:
    web1, web2 = topology.webs[:2]
    manager = bench_load.sign_in(web2, "mgr0")
    _, page, _ = manager.call("GET", "/files")
    seen = set(re.findall(r'href="/files/(\d+)"', page))
    day = time.strftime("%Y-%m-%d")
    asked = time.monotonic()
    status, _, url = manager.call("GET", f"/bulletins/pdf?kind=month&date={day}&unit={topology.top}")
    queued = url.endswith("/files")
    on_web1 = same_session(manager, web1)
    ready = None
    deadline = time.monotonic() + 120
    while ready is None and time.monotonic() < deadline:
        time.sleep(0.5)
        _, page, url = on_web1.call("GET", "/files")
        if "/login" in url:
            return False, f"bulletin asked on web 2 (queued: {queued}); web 1 sends web 2's session to /login"
        fresh = set(re.findall(r'href="/files/(\d+)"', page)) - seen
        ready = max(fresh, key=int) if fresh else None
    if ready is None:
        return False, f"bulletin asked on web 2 ({status}, queued: {queued}); no file within 120 s"
    got, data, content_type, _ = get_bytes(on_web1, f"/files/{ready}")
    took = time.monotonic() - asked
    job = topology.sql("SELECT j.id, j.name, j.status FROM job j JOIN user_account u ON u.id = j.requested_by_id "
                       "WHERE u.username = 'mgr0' ORDER BY j.id DESC LIMIT 1")
    ok = queued and got == 200 and data.startswith(b"%PDF") and job is not None and job[2] == "done"
    return ok, (f"bulletin PDF asked on web 2 (queued: {queued}), job {job[0] if job else '-'} "
                f"{job[1] if job else ''} {job[2] if job else 'missing'} by the worker, downloaded through web 1 "
                f"({got}, {content_type}, {len(data) / 1000:.0f} kB) {took:.1f} s after asking")


def access_counts(topology: Topology) -> dict[str, tuple[int, int]]:
    """Requests and 5xx answers in each web process's gunicorn access log."""
    counts = {}
    for n in range(1, len(topology.webs) + 1):
        text = topology.logs[f"web{n}"].read_text(errors="replace")
        statuses = re.findall(r'" (\d{3}) ', text)
        counts[f"web{n}"] = (len(statuses), sum(1 for s in statuses if s.startswith("5")))
    return counts


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def run(args) -> int:
    topology = Topology(args)
    ok = True
    try:
        print(f"folder: {topology.folder}\nload average at start: {loadavg()}", flush=True)
        topology.start()
        print("\nchecks:", flush=True)
        results = []
        passed, text, session = check_session(topology)
        results.append(("session made on web 1 works on web 2", passed, text))
        results.append(("photo uploaded through web 1 is served by web 2 from S3",
                        *(check_photo(topology, session) if passed else (False, "not tried (no shared session)"))))
        results.append(("job queued by web 2 is run by the worker", *check_job(topology)))
        for name, passed, text in results:
            print(f"  {'PASS' if passed else 'FAIL'}  {name}: {text}", flush=True)
            ok = ok and passed

        if args.seconds > 0:
            print(f"\nload: {args.inspectors} inspectors answering (0.5–1.5 s apart, /home every 4th) and "
                  f"{args.managers} managers downloading the province's month bulletin without pause, "
                  f"person n on web n mod 2; {min(15.0, args.seconds / 3):.0f} s inspectors alone, then "
                  f"{args.seconds:.0f} s all; load average before: {loadavg()}", flush=True)
            before = access_counts(topology)
            load = bench_load.run_load(topology.webs, topology.top, topology.outlets, managers=args.managers,
                                       inspectors=args.inspectors, seconds=args.seconds)
            print("\n".join(bench_load.server_lines(load)))
            print(f"load average after: {loadavg()} (1, 5, 15 min; {os.cpu_count()} cores)")
            after = access_counts(topology)
            served = {name: (after[name][0] - before[name][0], after[name][1] - before[name][1]) for name in after}
            print("access logs during the load: " + ", ".join(f"{name} {n} requests, {errors} 5xx"
                                                            for name, (n, errors) in served.items()))
            f = bench_load.figures(load)
            goal = (f["saves"].get("p95", 1e9) <= bench_load.GOALS["answer save"]
                    and f["home"].get("p95", 1e9) <= bench_load.GOALS["/home"])
            print(f"latency goal (answer save p95 ≤ 100 ms, /home p95 ≤ 200 ms): {'met' if goal else 'missed'}")
            load_ok = bool(f["pdfs"]) and not f["errors"] and all(n and not e for n, e in served.values())
            print(f"  {'PASS' if load_ok else 'FAIL'}  load spread over both web processes: "
                  f"{f['pdfs']} PDFs, {len(f['errors'])} errors, every process served, no 5xx")
            ok = ok and load_ok
        if not ok:
            for name in topology.logs:
                print(f"\n{name}.log ends:\n{topology.tail(name)}")
        if args.keep_running:
            print("\nRunning. Open in a browser (every account works on both):")
            for n, base in enumerate(topology.webs, 1):
                print(f"  web {n}: {base}/login")
            print(f"  admin / {ADMIN_PASSWORD}; demo accounts, password {DEMO_PASSWORD}:")
            print("\n".join(f"  {line.strip()}" for line in topology.demo_output.splitlines()
                            if DEMO_PASSWORD in line))
            print(f"  S3 objects: http://127.0.0.1:{args.s3_port}/moto-api/  logs: {topology.folder}")
            print("Ctrl-C stops everything.", flush=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
        ok = False if not args.keep_running else ok
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not cut it short
            signal.signal(sig, signal.SIG_IGN)
        print("stopping…", flush=True)
        topology.stop()
        left = [p for p in (args.pg_port, args.redis_port, args.s3_port, *args.web_ports) if not port_free(p)]
        print(f"stopped; ports still open: {left or 'none'}", flush=True)
    return 0 if ok else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="the loaded part of the bench (0: none)")
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--inspectors", type=int, default=12)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes per web process")
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-threads", type=int, default=2)
    parser.add_argument("--pg-port", type=int, default=55450)
    parser.add_argument("--redis-port", type=int, default=56390)
    parser.add_argument("--s3-port", type=int, default=55651)
    parser.add_argument("--web-ports", default="55601,55602",
                        type=lambda v: [int(p) for p in v.split(",")], help="two (or more) comma-separated")
    parser.add_argument("--demo", choices=("full", "org"), default="full",
                        help="org: the demo's units, outlets and accounts only (quicker, for the test)")
    parser.add_argument("--no-fsync", action="store_true",
                        help="PostgreSQL without fsync (the test: it proves shared state, not durability)")
    parser.add_argument("--keep-running", action="store_true", help="leave it up until Ctrl-C")
    args = parser.parse_args()
    if len(args.web_ports) < 2:
        parser.error("--web-ports needs two ports at least")
    # Ctrl-C (also when started from a shell that ignores it in background jobs), SIGTERM and a
    # closed terminal: the same teardown
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
