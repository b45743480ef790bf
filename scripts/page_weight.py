"""What the visit fill page costs on the network: cold, warm and offline, on a phone-sized Chromium.

    .venv/bin/python scripts/page_weight.py [--url http://127.0.0.1:5000] [--budget-kb 100] [--keep]

Without ``--url`` it makes its own instance in a temp folder (``INSPECT_INSTANCE``), loads the demo
data (``inspect-app demo``) and starts gunicorn (``inspect-app serve``, 2 workers) on a free port;
with ``--url`` it uses a running server that has the demo accounts.

1. Setup (a throwaway browser context): logs in as ``inspector`` (``demo-2026``) through the login
   form and starts an ad hoc ``open_inspection`` visit at the first outlet offered
   (``/visits/new`` → check-in with a granted position), which lands on ``/visits/<id>/fill``.
2. Cold: a fresh context (empty HTTP cache, no service worker) holding only the session cookie
   opens the fill page. Every request the page makes is recorded through CDP
   (``Network.responseReceived`` / ``Network.loadingFinished``: ``encodedDataLength`` = bytes on
   the wire, headers included), and the requests the service worker makes while it installs
   (pre-caching the app shell) through Playwright's context events (``request.sizes()``).
3. Warm: once the service worker controls the page, a reload. Static files should come from the
   service worker (0 bytes on the network); the HTML is fetched again (the worker is network-first
   for pages, and keeps the copy).
4. Offline: ``context.set_offline(True)`` (and, when this script started the server, the server
   stopped as well), reload: the page must render from the service worker (the checklist items are
   there).

Photos (``/photos/`` URLs) are left out. Prints a table per phase (URL, status, where it came from,
encoding, bytes transferred) and the totals; exit status 1 when the cold total (page requests plus
the service worker's install requests) is above the budget (default 100 KB = 102,400 bytes) or
the offline reload does not render the page.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
USERNAME, PASSWORD = "inspector", "demo-2026"


# --------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_command() -> str:
    for candidate in (Path(sys.executable).parent / "inspect-app", ROOT / ".venv" / "bin" / "inspect-app"):
        if candidate.exists():
            return str(candidate)
    raise SystemExit("inspect-app not found in the virtualenv")


def start_server(instance: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, INSPECT_INSTANCE=str(instance))
    env.pop("DATABASE_URL", None)
    env.pop("MEDIA_ROOT", None)
    with open(instance / "demo.log", "wb") as out:
        subprocess.run([app_command(), "demo"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True, cwd=ROOT)
    port = free_port()
    out = open(instance / "server.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen([app_command(), "serve", "--port", str(port), "--workers", "2"], env=env, stdout=out,
                            stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {instance / 'server.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # started in its own session: gunicorn and its workers
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# --------------------------------------------------------------------------- recording

@dataclass
class Row:
    url: str
    type: str = ""
    status: int = 0
    source: str = "network"   # network | disk cache | memory cache | service worker | failed
    encoding: str = ""
    transferred: int = 0      # bytes on the network (headers + encoded body); 0 when not from the network
    body: int = 0             # decoded body bytes
    by_worker: bool = False   # a request the service worker made itself
    error: str = ""
    cache_control: str = ""
    vary: str = ""


class Recorder:
    """Collects one phase's requests: the page's through CDP, the service worker's through Playwright."""

    def __init__(self, context, page):
        self.rows: dict[str, Row] = {}
        self.worker_rows: list[Row] = []
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.on("Network.requestWillBeSent", self._will_be_sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.dataReceived", self._data)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        context.on("requestfinished", self._worker_finished)
        context.on("requestfailed", self._worker_failed)
        self.active = False

    def reset(self) -> None:
        self.rows, self.worker_rows, self.active = {}, [], True

    # -- the page, through CDP
    def _will_be_sent(self, e):
        if not self.active:
            return
        rid = e["requestId"]
        if e.get("redirectResponse") and rid in self.rows:  # the redirect itself is a finished request
            old = self.rows.pop(rid)
            old.status = e["redirectResponse"]["status"]
            old.transferred = e["redirectResponse"].get("encodedDataLength", 0)
            self.rows[f"{rid}-redirect-{len(self.rows)}"] = old
        self.rows[rid] = Row(url=e["request"]["url"], type=e.get("type", ""))

    def _response(self, e):
        row = self.rows.get(e["requestId"])
        if row is None:
            return
        response = e["response"]
        row.status = response["status"]
        row.type = e.get("type", row.type)
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        row.encoding = headers.get("content-encoding", "")
        row.cache_control, row.vary = headers.get("cache-control", ""), headers.get("vary", "")
        if response.get("fromServiceWorker"):
            row.source = "service worker"
        elif response.get("fromDiskCache"):
            row.source = "disk cache"
        elif response.get("fromPrefetchCache"):
            row.source = "prefetch cache"

    def _from_cache(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.source = "memory cache"

    def _data(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.body += e.get("dataLength", 0)

    def _finished(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.transferred = int(e.get("encodedDataLength", 0)) if row.source == "network" else 0

    def _failed(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.source, row.error, row.transferred = "failed", e.get("errorText", ""), 0

    # -- the service worker's own fetches, through Playwright
    def _worker_finished(self, request):
        if not self.active or request.service_worker is None:
            return
        try:
            response = request.response()
            sizes = request.sizes()
        except Exception:  # noqa: BLE001 - the context closed meanwhile
            return
        transferred = sizes["responseHeadersSize"] + sizes["responseBodySize"]
        headers = response.headers if response else {}
        self.worker_rows.append(Row(url=request.url, type=request.resource_type, status=response.status if response else 0,
                                    source="network" if transferred > 0 else "cache",
                                    encoding=headers.get("content-encoding", ""), transferred=max(0, transferred),
                                    by_worker=True))

    def _worker_failed(self, request):
        if not self.active or request.service_worker is None:
            return
        self.worker_rows.append(Row(url=request.url, type=request.resource_type, source="failed",
                                    error=request.failure or "", by_worker=True))

    def all_rows(self) -> list[Row]:
        return [r for r in list(self.rows.values()) + self.worker_rows if "/photos/" not in urllib.parse.urlsplit(r.url).path]


def short(url: str, base: str) -> str:
    url = url[len(base):] if url.startswith(base) else url
    return url if len(url) <= 58 else url[:55] + "..."


def check_headers(rows: list[Row], base: str) -> list[str]:
    """Cache headers of what the cold load got from the network: hashed static files should be
    cacheable for good and not vary by cookie (a new session cookie would make them stale)."""
    notes = []
    print()
    print("--- cache headers (cold, from the network) " + "-" * 58)
    for r in rows:
        if r.by_worker or r.source != "network":
            continue
        print(f"{short(r.url, base):<60} cache-control: {r.cache_control or '-':<38} vary: {r.vary or '-'}")
        path = urllib.parse.urlsplit(r.url)
        if path.path.startswith("/static/") and "v=" in path.query:
            if "immutable" not in r.cache_control or "max-age=31536000" not in r.cache_control:
                notes.append(f"{short(r.url, base)}: hashed static file without a year's immutable caching")
            if "cookie" in r.vary.lower():
                notes.append(f"{short(r.url, base)}: 'Vary: {r.vary}' on a public immutable file")
        elif r.type == "Document" and "no-store" not in r.cache_control and "private" not in r.cache_control:
            notes.append(f"{short(r.url, base)}: a logged-in page that shared caches may keep")
    return notes


def report(title: str, rows: list[Row], base: str) -> dict:
    print()
    print(f"--- {title} " + "-" * max(0, 100 - len(title)))
    print(f"{'url':<60} {'type':<11} {'status':>6} {'from':<15} {'enc':<5} {'transferred':>11} {'body':>8}")
    page_total = worker_total = 0
    for r in rows:
        who = "sw→" if r.by_worker else ""
        source = (who + r.source)[:15]
        print(f"{short(r.url, base):<60} {r.type[:11]:<11} {r.status or '-':>6} {source:<15} {r.encoding[:5] or '-':<5} "
              f"{r.transferred:>11,} {r.body or '':>8}" + (f"  {r.error}" if r.error else ""))
        if r.by_worker:
            worker_total += r.transferred
        else:
            page_total += r.transferred
    html = sum(r.transferred for r in rows if not r.by_worker and r.type == "Document")
    static = sum(r.transferred for r in rows if "/static/" in r.url)
    print(f"{'':<60} {'':<11} {'':>6} {'page requests':<15} {'':<5} {page_total:>11,}")
    print(f"{'':<60} {'':<11} {'':>6} {'sw requests':<15} {'':<5} {worker_total:>11,}")
    print(f"{'':<60} {'':<11} {'':>6} {'TOTAL':<15} {'':<5} {page_total + worker_total:>11,}")
    return {"page": page_total, "worker": worker_total, "total": page_total + worker_total, "html": html,
            "static": static, "count": len(rows)}


# --------------------------------------------------------------------------- the browser

def new_context(browser, storage_state=None, geolocation=False):
    extra = {"permissions": ["geolocation"], "geolocation": {"latitude": 30.2741, "longitude": 120.1551}} if geolocation else {}
    return browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                               has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai",
                               storage_state=storage_state, **extra)


def poll(page, function: str, limit_s: float) -> None:
    """Wait until ``function`` is true. (Not wait_for_function: polling a string predicate needs
    eval, which the app's Content-Security-Policy rightly refuses.)"""
    end = time.monotonic() + limit_s
    while not page.evaluate(function):
        if time.monotonic() > end:
            raise TimeoutError(f"still false after {limit_s} s: {function}")
        page.wait_for_timeout(100)


def start_visit(page, base: str) -> str:
    """Log in through the form and start an ad hoc open inspection; returns the fill page URL."""
    page.goto(base + "/login")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.locator("form button.btn-primary").click()
    page.wait_for_url(re.compile(r".*/home$"))
    page.goto(base + "/visits/new")
    page.locator('a.list-link[href*="outlet="]').first.click()
    page.wait_for_url(re.compile(r".*/visits/new\?outlet=\d+"))
    page.select_option("select[name=checklist]", "open_inspection")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/visits/\d+/checkin$"))
    poll(page, "() => !!document.querySelector('#lat') && document.querySelector('#lat').value !== ''", 10)
    page.locator("#checkin-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/visits/\d+/fill$"))
    return page.url


def settle(page, recorder: Recorder, quiet_ms: int = 1500, limit_s: float = 20) -> None:
    """Wait until no request has started or finished for ``quiet_ms``."""
    end = time.monotonic() + limit_s
    last = None
    stable_since = time.monotonic()
    while time.monotonic() < end:
        state = (len(recorder.rows), len(recorder.worker_rows), sum(r.transferred for r in recorder.rows.values()))
        if state != last:
            last, stable_since = state, time.monotonic()
        elif (time.monotonic() - stable_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(200)


def items_rendered(page) -> int:
    return page.evaluate("document.querySelectorAll('#visit article.item').length")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="use a running server (with the demo accounts) instead of starting one")
    parser.add_argument("--budget-kb", type=float, default=100.0, help="cold budget in KB of 1024 bytes")
    parser.add_argument("--keep", action="store_true", help="keep the temp instance folder")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    proc = instance = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        instance = Path(tempfile.mkdtemp(prefix="page-weight-"))
        print(f"instance {instance}: loading demo data, starting gunicorn")
        proc, base = start_server(instance)
    problems = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            setup = new_context(browser, geolocation=True)
            fill_url = start_visit(setup.new_page(), base)
            state = setup.storage_state()
            setup.close()
            cookies_only = {"cookies": state["cookies"], "origins": []}
            print(f"visit page: {fill_url}")

            context = new_context(browser, storage_state=cookies_only)
            page = context.new_page()
            recorder = Recorder(context, page)

            # cold
            recorder.reset()
            page.goto(fill_url, wait_until="load")
            poll(page, "() => !!navigator.serviceWorker && navigator.serviceWorker.controller !== null", 15)
            settle(page, recorder)
            cold_rows = recorder.all_rows()
            cold = report("COLD load (empty cache, no service worker yet)", cold_rows, base)
            cold_items = items_rendered(page)
            header_notes = check_headers(cold_rows, base)

            # warm
            recorder.reset()
            page.reload(wait_until="load")
            settle(page, recorder)
            warm_rows = recorder.all_rows()
            warm = report("WARM reload (service worker + HTTP cache)", warm_rows, base)
            warm_items = items_rendered(page)
            warm_static_network = sum(r.transferred for r in warm_rows if "/static/" in r.url)

            # offline
            context.set_offline(True)
            if proc is not None:
                stop_server(proc)  # and really offline: nothing answers any more
            recorder.reset()
            try:
                page.reload(wait_until="load", timeout=20_000)
                settle(page, recorder)
                offline_items = items_rendered(page)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"offline reload failed: {exc}")
                offline_items = 0
            offline = report("OFFLINE reload (context offline" + (", server stopped)" if proc else ")"),
                             recorder.all_rows(), base)
            offline_title = page.title() if offline_items else ""
            browser.close()
    finally:
        stop_server(proc)
        if instance is not None and not args.keep:
            shutil.rmtree(instance, ignore_errors=True)

    budget = int(args.budget_kb * 1024)
    print()
    print("=" * 78)
    print(" PAGE WEIGHT SUMMARY   /visits/<id>/fill at 360×740, photos excluded")
    print("=" * 78)
    print(f" cold    page requests {cold['page']:>8,} B   + service worker install {cold['worker']:>7,} B"
          f"   = {cold['total']:>8,} B ({cold['total'] / 1024:.1f} KB)   HTML {cold['html']:,} B, items {cold_items}")
    print(f" warm    page requests {warm['page']:>8,} B   + service worker fetches {warm['worker']:>7,} B"
          f"   = {warm['total']:>8,} B ({warm['total'] / 1024:.1f} KB)   static from network {warm_static_network:,} B, items {warm_items}")
    print(f" offline page requests {offline['page']:>8,} B   + service worker fetches {offline['worker']:>7,} B"
          f"   = {offline['total']:>8,} B   items rendered {offline_items}" + (f" ({offline_title})" if offline_title else ""))
    within = cold["total"] <= budget
    print(f" cold total {cold['total']:,} B {'<=' if within else '>'} budget {budget:,} B ({args.budget_kb:g} KB): "
          f"{'OK' if within else 'OVER BUDGET'}")
    if not within:
        problems.append("cold load over budget")
    if warm_static_network:
        problems.append(f"warm reload fetched {warm_static_network} B of static files from the network")
    if header_notes:
        print(f" cache header warnings ({len(header_notes)}, not counted in the result):")
        for note in header_notes:
            print(f"   - {note}")
    if not offline_items or offline_items != cold_items:
        problems.append(f"offline reload rendered {offline_items} checklist items (online: {cold_items})")
    print(f" RESULT: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")
    print("=" * 78)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
