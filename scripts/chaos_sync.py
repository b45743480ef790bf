"""Chaos proof that syncing answers and photos loses nothing and duplicates nothing.

    .venv/bin/python scripts/chaos_sync.py [--seed 2026] [--answers 850] [--photos 150] [--visits 6]
                                           [--sequential] [--keep]

What it does:

1. Makes its own instance in a temp folder (``INSPECT_INSTANCE``), loads the demo data
   (``inspect-app demo``) and starts the real app with gunicorn (``inspect-app serve``, 2 workers)
   on a free port.
2. Puts a chaos proxy in front of it (asyncio, in this process). Each request it receives is, at
   random (seeded): passed through; dropped before it is forwarded; forwarded and then dropped
   before the reply reaches the client (no reply, or a truncated one: the server did the work, the
   client never hears); delayed past the client's timeout (the request forwarded late, after the
   client gave up and retried, or the reply held back); or duplicated (sent twice to the server:
   both at once, one after the other, or the copy arriving late, after the reply).
3. One simulated phone per visit (threads, stdlib ``http.client`` only) logs in as the demo
   inspector through the proxy, starts an ad hoc visit (``/visits/new`` → ``/visits/<id>/checkin``)
   at a 杭州市 outlet (``open_inspection`` and ``fives`` alternately) and then works the visit: 1,000
   edits in all (answers and ~800×600 JPEG photos of random content), each with its own client
   id, put into an outbox that behaves like ``static/js/visit.js``: keyed per item (a newer edit
   of an item replaces its unsent edit), sent oldest first one at a time, ``base_version`` = the
   version of the item from the server's last reply, retried with backoff on network errors,
   timeouts, 5xx and 429, dropped on any other 4xx (a 409 takes the server's ``current`` answer, as
   the page does). While the outbox backs off the inspector keeps working (notes are typed a few
   characters at a time: several edits of one item in a row). ``--sequential`` instead waits for
   each edit to be confirmed before making the next one (no edit is ever replaced).
4. Waits until the proxy has nothing in flight (late copies included), stops the server and checks
   the SQLite database and the media folder directly:
   * one ``answer`` row per (visit, item) the inspector touched, none other, each holding the
     inspector's last edit of that item (result, occurrences, scale value, note) and the version
     and client id of the last write the phone heard about;
   * one ``photo`` row per photo op (by client id), with the sha256 the phone computed, and
     ``<media>/<storage_key>/original`` hashing to that sha256; display and thumbnail present;
     one ``photo.added`` audit event each; no photo folder left without a row;
   * no 5xx from the server (counted on every forwarded request, including copies nobody read).

Exit status 0 when everything matches, 1 otherwise. The summary block at the end says why.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from inspect_app.checklists.definition import load_directory  # noqa: E402

PASSWORD = "demo-2026"
USERNAME = "inspector"
ANSWER_TIMEOUT = 2.0      # seconds the phone waits for an answer's reply
PHOTO_TIMEOUT = 5.0       # ... for a photo's (the page uses 120 s; scaled down like the backoff)
PAGE_TIMEOUT = 5.0
DELAY_RANGE = (5.5, 7.0)  # what the proxy holds a delayed request or reply: past both timeouts
BACKOFF_BASE, BACKOFF_CAP = 0.1, 3.0  # visit.js: 1 s doubling to 60 s; here a tenth of that, capped
NOTE_WORDS = ["柜台", "地面", "有纸屑", "标识", "不清", "价目表", "未更新", "工作人员", "未着工装", "灭火器",
              "过期", "排队", "较长", "已整改", "复查", "ok", " ", "窗口2", "监控", "正常"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# =========================================================================== the chaos proxy

class ChaosProxy:
    """An HTTP/1.1 proxy (one request per connection) that misbehaves at random, seeded."""

    ACTIONS = ("pass", "drop_before", "drop_after", "delay_request", "delay_reply", "dup_parallel",
               "dup_serial", "dup_late")

    def __init__(self, upstream_port: int, seed: int, p_drop_before: float, p_drop_after: float,
                 p_delay: float, p_dup: float):
        self.upstream = ("127.0.0.1", upstream_port)
        self.rng = random.Random(seed)
        self.p = (p_drop_before, p_drop_after, p_delay, p_dup)
        self.stats: Counter = Counter()
        self.upstream_status: Counter = Counter()
        self.server_errors: list[str] = []
        self.busy = 0  # connections being handled + late copies pending
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # -- lifecycle
    def start(self) -> int:
        self._thread.start()
        self._ready.wait(10)
        return self.port

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 20))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    def quiet(self, timeout: float = 60) -> bool:
        """Wait until nothing is in flight (delayed requests and late copies included)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.busy == 0:
                time.sleep(0.3)
                if self.busy == 0:
                    return True
            time.sleep(0.1)
        return False

    # -- decisions (only ever called on the loop thread: the seeded sequence is not shared)
    def _choose(self) -> str:
        r = self.rng.random()
        drop_before, drop_after, delay, dup = self.p
        if r < drop_before:
            return "drop_before"
        r -= drop_before
        if r < drop_after:
            return "drop_after"
        r -= drop_after
        if r < delay:
            return self.rng.choice(("delay_request", "delay_reply"))
        r -= delay
        if r < dup:
            return self.rng.choice(("dup_parallel", "dup_serial", "dup_late"))
        return "pass"

    # -- plumbing
    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[bytes, str]:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0]
        length = 0
        kept = [request_line]
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if name.strip().lower() in ("connection", "keep-alive", "proxy-connection"):
                continue
            kept.append(line)
        kept.append("Connection: close")
        body = await asyncio.wait_for(reader.readexactly(length), 60) if length else b""
        return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1") + body, request_line

    async def _forward(self, raw: bytes, request_line: str) -> bytes:
        self.stats["upstream_requests"] += 1
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(raw)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 180)
        finally:
            writer.close()
        match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        status = int(match.group(1)) if match else 0
        self.upstream_status[status] += 1
        if status >= 500 or status == 0:
            body = data.split(b"\r\n\r\n", 1)[-1][:300].decode("utf-8", "replace")
            self.server_errors.append(f"{request_line} -> {status} {body}")
        return data

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _late_copy(self, raw: bytes, request_line: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self._forward(raw, request_line)
        except Exception as exc:  # noqa: BLE001 - a copy nobody waits for
            self.stats["late_copy_errors"] += 1
            self.server_errors.append(f"late copy {request_line}: {exc!r}")
        finally:
            self.busy -= 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.busy += 1
        try:
            action = self._choose()
            self.stats["requests"] += 1
            if action == "drop_before" and self.rng.random() < 0.3:
                # dropped at once: the client may still be sending its body
                self.stats["drop_before"] += 1
                writer.transport.abort()
                return
            try:
                raw, request_line = await self._read_request(reader)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, ValueError):
                self.stats["client_gave_up_early"] += 1
                writer.transport.abort()
                return
            self.stats[action] += 1
            if action == "drop_before":
                writer.transport.abort()
                return
            if action == "pass":
                await self._reply(writer, await self._forward(raw, request_line))
            elif action == "drop_after":
                data = await self._forward(raw, request_line)
                if self.rng.random() < 0.5 and len(data) > 20:
                    self.stats["drop_after_truncated"] += 1
                    try:
                        writer.write(data[: self.rng.randrange(1, len(data) - 1)])
                        await writer.drain()
                    except (ConnectionError, OSError):
                        pass
                writer.transport.abort()
            elif action == "delay_request":
                await asyncio.sleep(self.rng.uniform(*DELAY_RANGE))
                await self._reply(writer, await self._forward(raw, request_line))
            elif action == "delay_reply":
                data = await self._forward(raw, request_line)
                await asyncio.sleep(self.rng.uniform(*DELAY_RANGE))
                await self._reply(writer, data)
            elif action == "dup_parallel":
                first, second = await asyncio.gather(self._forward(raw, request_line),
                                                     self._forward(raw, request_line))
                await self._reply(writer, first if self.rng.random() < 0.5 else second)
            elif action == "dup_serial":
                first = await self._forward(raw, request_line)
                second = await self._forward(raw, request_line)
                await self._reply(writer, second if self.rng.random() < 0.7 else first)
            elif action == "dup_late":
                data = await self._forward(raw, request_line)
                self.busy += 1
                asyncio.ensure_future(self._late_copy(raw, request_line, self.rng.uniform(0.2, 4.0)))
                await self._reply(writer, data)
        except Exception as exc:  # noqa: BLE001 - the proxy must survive anything
            self.stats["proxy_errors"] += 1
            self.server_errors.append(f"proxy: {exc!r}")
            writer.transport.abort()
        finally:
            self.busy -= 1


# =========================================================================== the phone

class NetError(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass
class Op:
    key: str
    kind: str                 # answer | photo
    visit_id: int
    client_id: str
    seq: int                  # the edit's number in the inspector's sequence (for "last write")
    item_code: str | None = None
    payload: dict = field(default_factory=dict)  # answers: result/occurrences/scale_value/note
    purpose: str = "item"
    data: bytes = b""
    sha256: str = ""
    created: int = 0
    attempts: int = 0
    outcome: str = ""         # ok | conflict | rejected | replaced
    reply: dict | None = None


class Totals:
    """Counters shared by all phones."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c: Counter = Counter()
        self.problems: list[str] = []
        self.conflicts: list[dict] = []

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.c[name] += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


class Phone:
    """A browser on a phone: a cookie jar, a CSRF token, requests with timeouts, retries."""

    def __init__(self, name: str, port: int, totals: Totals, rng: random.Random):
        self.name, self.port, self.totals, self.rng = name, port, totals, rng
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    # -- one HTTP exchange
    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = PAGE_TIMEOUT, counter: str = "setup_attempts") -> tuple[int, dict, bytes]:
        self.totals.add("http_attempts")
        self.totals.add(counter)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Connection": "close"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            status, msg = resp.status, resp.msg
        except (socket.timeout, TimeoutError) as exc:
            self.totals.add("client_timeouts")
            raise NetError("timeout", repr(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            self.totals.add("client_network_errors")
            raise NetError("network", repr(exc)) from None
        finally:
            conn.close()
        if msg.get("Content-Length") is None and status not in (204, 304):
            # The connection closed inside the headers: http.client (like Chromium on plain HTTP)
            # would take what came as a whole response with an empty body. Treat it as the
            # network failure it is.
            self.totals.add("client_truncated_headers")
            raise NetError("network", "reply cut off inside the headers")
        for cookie in msg.get_all("Set-Cookie") or []:
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            expired = "max-age=0" in cookie.lower() or "expires=thu, 01 jan 1970" in cookie.lower()
            if expired or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        return status, {k.lower(): v for k, v in msg.items()}, data

    def backoff_sleep(self, n: int) -> None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, n - 1)))
        time.sleep(delay * self.rng.uniform(0.5, 1.0))

    def page(self, method: str, path: str, form: dict | None = None, expect=(200, 302)) -> tuple[int, dict, str]:
        """A page or form post, retried until the server answers (setup steps only)."""
        for attempt in range(1, 80):
            body, headers = None, {}
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            try:
                status, hdrs, data = self.request(method, path, body, headers)
            except NetError:
                self.backoff_sleep(attempt)
                continue
            if status >= 500 or status == 429:
                self.totals.add("client_5xx")
                self.backoff_sleep(attempt)
                continue
            if status not in expect:
                raise RuntimeError(f"{self.name}: {method} {path} answered {status}: {data[:300]!r}")
            return status, hdrs, data.decode("utf-8", "replace")
        raise RuntimeError(f"{self.name}: {method} {path}: no answer after many attempts")

    @staticmethod
    def token_in(html: str) -> str | None:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', html)
        return found.group(1) if found else None

    def login(self) -> None:
        while True:
            self.cookies.clear()
            _, _, html = self.page("GET", "/login")
            token = self.token_in(html)
            if not token:
                raise RuntimeError("no CSRF token on /login")
            status, hdrs, _ = self.page("POST", "/login", {"username": USERNAME, "password": PASSWORD,
                                                           "csrf_token": token})
            if status == 302 and hdrs.get("location", "").endswith("/home"):
                break
            raise RuntimeError(f"login refused: {status}")
        self.refresh_token()
        self.totals.add("logins")

    def refresh_token(self, path: str = "/home") -> None:
        status, hdrs, html = self.page("GET", path)
        if status == 302 and "/login" in hdrs.get("location", ""):
            self.login()
            return
        token = self.token_in(html)
        if not token:
            raise RuntimeError(f"no CSRF token on {path}")
        self.csrf = token

    def start_visit(self, outlet_id: int, checklist: str) -> int:
        """Ad hoc visit → check-in. A retried POST /visits/new may leave an extra visit behind."""
        _, _, html = self.page("GET", f"/visits/new?outlet={outlet_id}")
        token = self.token_in(html)
        status, hdrs, _ = self.page("POST", "/visits/new", {"csrf_token": token, "outlet_id": outlet_id,
                                                             "checklist": checklist, "window_id": ""})
        found = re.search(r"/visits/(\d+)/checkin", hdrs.get("location", ""))
        if status != 302 or not found:
            raise RuntimeError(f"starting a visit failed: {status} {hdrs.get('location')}")
        visit_id = int(found.group(1))
        _, _, html = self.page("GET", f"/visits/{visit_id}/checkin")
        token = self.token_in(html)
        if token:  # not yet checked in
            status, hdrs, _ = self.page("POST", f"/visits/{visit_id}/checkin", {
                "csrf_token": token, "lat": "30.2741", "lon": "120.1551", "accuracy": "12", "window_id": "",
                "no_location_reason": ""})
            if not hdrs.get("location", "").endswith(f"/visits/{visit_id}/fill"):
                raise RuntimeError(f"check-in failed: {status} {hdrs.get('location')}")
        self.refresh_token(f"/visits/{visit_id}/fill")
        return visit_id


# =========================================================================== the inspector's work

def make_jpeg(rng: random.Random) -> bytes:
    """~800×600 JPEG with random blocks and a patch of noise: every one different."""
    w, h = 800, 600
    image = Image.new("RGB", (w, h), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(8, 20)):
        x, y = rng.randrange(w), rng.randrange(h)
        box = (x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 200))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)(box, fill=colour)
    nw, nh = rng.randint(60, 180), rng.randint(40, 120)
    image.paste(Image.frombytes("RGB", (nw, nh), rng.randbytes(nw * nh * 3)), (rng.randrange(w - nw), rng.randrange(h - nh)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(75, 90))
    return out.getvalue()


def random_state(rng: random.Random, item) -> dict:
    """An answer as the page sends it (stateOf in visit.js)."""
    if item.rule == "per_occurrence":
        if item.na_allowed and rng.random() < 0.1:
            return {"result": "na"}
        n = rng.choice([0, 0, 1, 2, 3, 5])
        return {"result": "fail" if n else "pass", "occurrences": n}
    if item.rule == "scale":
        if item.na_allowed and rng.random() < 0.1:
            return {"result": "na"}
        return {"result": None, "scale_value": rng.randint(0, item.scale_max)}
    choices = ["pass", "pass", "fail"] + (["na"] if item.na_allowed else [])
    return {"result": rng.choice(choices)}


def expected_row(item, payload: dict) -> dict:
    """What the server must store for this payload (services.save_answer's rules)."""
    result = payload.get("result") or None
    occ, scale = payload.get("occurrences"), payload.get("scale_value")
    if item.rule == "per_occurrence" and result != "na":
        occ = 0 if occ is None and result == "pass" else occ
        result = "fail" if occ > 0 else "pass"
    elif item.rule == "scale" and result != "na":
        result = "fail" if scale < item.fail_below else "pass"
    if result == "na" or item.rule == "pass_fail":
        occ = scale = None
    return {"result": result, "occurrences": occ if item.rule == "per_occurrence" else None,
            "scale_value": scale if item.rule == "scale" else None, "note": (payload.get("note") or "").strip()}


def plan_edits(rng: random.Random, checklist, n_answers: int, n_photos: int, photo_rng: random.Random) -> list[dict]:
    """The inspector's edits for one visit, in order: answers come in bursts on one item (set the
    result, then type a note a word at a time, sometimes change the result), photos in between."""
    items = [i for i in checklist.items if i.rule != "timer"]
    answers: list[dict] = []
    while len(answers) < n_answers:
        item = rng.choice(items)
        state = random_state(rng, item)
        note = ""
        for step in range(min(rng.choice([1, 1, 2, 3, 4, 5]), n_answers - len(answers))):
            if step and rng.random() < 0.25:
                state = random_state(rng, item)
            elif step:
                note += rng.choice(NOTE_WORDS)
            answers.append({"kind": "answer", "item": item, "payload": dict(state, note=note)})
    photos_per_item: Counter = Counter()
    photos = []
    for _ in range(n_photos):
        if rng.random() < 0.15:
            photos.append({"kind": "photo", "item": None, "purpose": rng.choice(["general", "receipt"])})
            continue
        item = rng.choice([i for i in items if photos_per_item[i.code] < 6])
        photos_per_item[item.code] += 1
        photos.append({"kind": "photo", "item": item, "purpose": "item"})
    for photo in photos:
        photo["data"] = make_jpeg(photo_rng)
    # photos at random places between the answer bursts' edits
    edits = answers[:]
    for photo in photos:
        edits.insert(rng.randrange(len(edits) + 1), photo)
    return edits


class Worker(threading.Thread):
    """One phone filling one visit through the outbox."""

    def __init__(self, index: int, phone: Phone, visit_id: int, checklist, edits: list[dict], totals: Totals,
                 sequential: bool, rng: random.Random):
        super().__init__(daemon=True)
        self.index, self.phone, self.visit_id, self.checklist = index, phone, visit_id, checklist
        self.edits, self.totals, self.sequential, self.rng = edits, totals, sequential, rng
        self.outbox: dict[str, Op] = {}
        self.ops: list[Op] = []                   # every op ever put into the outbox
        self.versions: dict[str, int] = {}       # el.dataset.version per item
        self.heard: dict[str, Op] = {}           # per item: the last op the server confirmed to us
        self.last_edit: dict[str, Op] = {}       # per item: the inspector's last edit
        self.sent_payloads: dict[str, list[Op]] = defaultdict(list)
        self.lost_replies: set[str] = set()      # client ids whose attempt failed after being sent
        self.unconfirmed: dict[str, list[str]] = {}  # item key -> ids sent but not confirmed (visit.js)
        self.counter = 0
        self.error: BaseException | None = None

    # -- the outbox (store.put / finish in visit.js)
    def put(self, edit: dict) -> None:
        self.counter += 1
        if edit["kind"] == "answer":
            item = edit["item"]
            op = Op(key=f"answer:{self.visit_id}:{item.code}", kind="answer", visit_id=self.visit_id,
                    client_id=str(uuid.uuid4()), seq=self.counter, item_code=item.code, payload=edit["payload"],
                    created=self.counter)
            old = self.outbox.get(op.key)
            if old is not None:
                old.outcome = old.outcome or "replaced"
                self.totals.add("edits_replaced_in_outbox")
            self.last_edit[item.code] = op
            self.totals.add("answer_edits")
        else:
            cid = str(uuid.uuid4())
            op = Op(key=f"photo:{cid}", kind="photo", visit_id=self.visit_id, client_id=cid, seq=self.counter,
                    item_code=edit["item"].code if edit["item"] else None, purpose=edit["purpose"],
                    data=edit["data"], sha256=hashlib.sha256(edit["data"]).hexdigest(), created=self.counter)
            self.totals.add("photo_edits")
        self.outbox[op.key] = op
        self.ops.append(op)

    def finish(self, op: Op) -> None:
        current = self.outbox.get(op.key)
        if current is not None and current.client_id == op.client_id:
            del self.outbox[op.key]

    # -- sending one op once (send / handle / sendPhoto in visit.js); True when done with it
    def send_once(self, op: Op) -> bool:
        phone = self.phone
        if op.attempts == 0:
            self.totals.add(f"{op.kind}_ops_sent")
            if op.kind == "answer":
                self.sent_payloads[op.item_code].append(op)
        op.attempts += 1
        headers = {"X-CSRFToken": phone.csrf, "Accept": "application/json"}
        if op.kind == "answer":
            # as visit.js: ids of this item's writes sent but never confirmed go along, so the
            # server recognises its stored version as this phone's own earlier write
            sent = self.unconfirmed.setdefault(op.key, [])
            if op.client_id not in sent:
                sent.append(op.client_id)
            body = dict(op.payload, item_code=op.item_code, client_id=op.client_id,
                        base_version=self.versions.get(op.item_code, 0),
                        supersedes=[c for c in sent if c != op.client_id][-20:])
            headers["Content-Type"] = "application/json"
            path, data, timeout = f"/api/visits/{self.visit_id}/answers", json.dumps(body).encode(), ANSWER_TIMEOUT
        else:
            boundary = "----chaos" + uuid.uuid4().hex
            fields = [("purpose", op.purpose), ("client_id", op.client_id)]
            if op.item_code:
                fields.insert(0, ("item_code", op.item_code))
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in fields]
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
                         f"Content-Type: image/jpeg\r\n\r\n".encode() + op.data + b"\r\n")
            parts.append(f"--{boundary}--\r\n".encode())
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            path, data, timeout = f"/api/visits/{self.visit_id}/photos", b"".join(parts), PHOTO_TIMEOUT
        try:
            status, _, raw = phone.request("POST", path, data, headers, timeout=timeout, counter="sync_attempts")
        except NetError:
            self.lost_replies.add(op.client_id)
            return False
        try:
            reply = json.loads(raw or b"{}")
        except ValueError:
            reply = {"_raw": raw[:200].decode("utf-8", "replace")}
        self.totals.add(f"{op.kind}_status_{status}")
        if status >= 500 or status == 429:
            self.totals.add("client_5xx" if status >= 500 else "client_429")
            return False
        if status == 401:
            self.totals.add("relogins")
            phone.login()
            phone.refresh_token(f"/visits/{self.visit_id}/fill")
            return False
        if status == 400 and op.attempts < 6:  # the CSRF token (the only 400 a valid op can get)
            self.totals.add("csrf_refreshes")
            phone.refresh_token(f"/visits/{self.visit_id}/fill")
            return False
        if op.kind == "answer":
            return self.handle_answer(op, status, reply)
        return self.handle_photo(op, status, reply)

    def handle_answer(self, op: Op, status: int, reply: dict) -> bool:
        item = self.checklist.item(op.item_code)
        want = expected_row(item, op.payload)
        if status == 200 and reply.get("answer"):
            got = reply["answer"]
            if {k: got.get(k) for k in want} != want:
                self.totals.problem(f"visit {self.visit_id} {op.item_code}: reply {got} does not hold what was sent {want}")
            self.versions[op.item_code] = got["version"]
            op.outcome, op.reply = "ok", got
            self.heard[op.item_code] = op
            self.unconfirmed.pop(op.key, None)
            self.finish(op)
            return True
        if status in (200, 201):
            return False  # as visit.js: a 2xx without the stored answer is not a confirmation; retry
        if status == 409:
            current = reply.get("current") or {}
            own = [o for o in self.sent_payloads[op.item_code]
                   if o is not op and expected_row(item, o.payload) == {k: current.get(k) for k in want}]
            self.totals.add("conflicts_409")
            record = {"visit": self.visit_id, "item": op.item_code, "client_id": op.client_id,
                      "sent": dict(op.payload, base_version=self.versions.get(op.item_code, 0)),
                      "reply": reply, "is_own_earlier_write": bool(own),
                      "earlier_reply_lost": bool(own) and own[-1].client_id in self.lost_replies,
                      "earlier_client_id": own[-1].client_id if own else None}
            with self.totals.lock:
                self.totals.conflicts.append(record)
            if {k: current.get(k) for k in want} == want:
                self.totals.add("conflicts_409_already_stored")  # the server holds exactly this edit
            # visit.js: take the server's current answer and version, drop the op
            if current.get("version") is not None:
                self.versions[op.item_code] = current["version"]
            op.outcome, op.reply = "conflict", current
            self.finish(op)
            return True
        op.outcome, op.reply = "rejected", reply
        self.totals.problem(f"visit {self.visit_id} answer {op.item_code} {op.payload}: refused {status} {reply}")
        self.finish(op)
        return True

    def handle_photo(self, op: Op, status: int, reply: dict) -> bool:
        if status in (200, 201) and reply.get("photo"):
            photo = reply["photo"]
            if photo.get("sha256") != op.sha256 or photo.get("client_id") not in (op.client_id, None):
                self.totals.problem(f"photo {op.client_id}: reply {photo} does not match sha {op.sha256}")
            op.outcome, op.reply = "ok", photo
            self.totals.add("photo_created" if status == 201 else "photo_recognised_as_repeat")
            self.finish(op)
            return True
        op.outcome, op.reply = "rejected", reply
        self.totals.problem(f"visit {self.visit_id} photo {op.client_id} ({op.item_code or op.purpose}): "
                            f"refused {status} {reply}")
        self.finish(op)
        return True

    # -- the page's loop (kick) with the inspector working alongside
    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            self.totals.problem(f"worker {self.index} crashed: {exc!r}")

    def _run(self) -> None:
        plan = list(self.edits)
        failures = 0

        def user_works(n: int) -> None:
            for _ in range(n):
                if plan:
                    self.put(plan.pop(0))

        while plan or self.outbox:
            if self.sequential:
                if not self.outbox:
                    user_works(1)
            else:
                user_works(self.rng.choice([0, 1, 1, 1, 2]))
                if not self.outbox:
                    user_works(1)
            op = min(self.outbox.values(), key=lambda o: o.created)
            if self.send_once(op):
                failures = 0
                continue
            failures += 1
            if op.attempts > 200:
                self.totals.problem(f"op {op.key} never got through")
                self.finish(op)
                continue
            if not self.sequential:
                user_works(self.rng.choice([0, 1, 2, 3]))  # typing on while the outbox waits
            self.phone.backoff_sleep(failures)


# =========================================================================== the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_command() -> str:
    for candidate in (Path(sys.executable).parent / "inspect-app", ROOT / ".venv" / "bin" / "inspect-app"):
        if candidate.exists():
            return str(candidate)
    raise SystemExit("inspect-app not found: run `make run` or `pip install -e .` in .venv first")


def start_server(instance: Path, workers: int = 2) -> tuple[subprocess.Popen, int, Path]:
    env = dict(os.environ, INSPECT_INSTANCE=str(instance))
    env.pop("DATABASE_URL", None)
    env.pop("MEDIA_ROOT", None)
    logfile = instance / "chaos-server.log"
    with open(instance / "chaos-demo.log", "wb") as out:
        subprocess.run([app_command(), "demo"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True, cwd=ROOT)
    port = free_port()
    out = open(logfile, "wb")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen([app_command(), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {logfile}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port, logfile
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn's master and its workers
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# =========================================================================== the check

def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(instance: Path, workers: list[Worker], visit_ids_before: int, used_visits: set[int],
          inspector_id: int) -> tuple[list[str], dict]:
    problems: list[str] = []
    facts: dict = {}
    db = sqlite3.connect(f"file:{instance / 'inspect.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    media = instance / "media"

    # --- answers
    rows = db.execute(f"SELECT * FROM answer WHERE visit_id IN ({','.join('?' * len(used_visits))})",
                      sorted(used_visits)).fetchall()
    by_pair = defaultdict(list)
    for row in rows:
        by_pair[(row["visit_id"], row["item_code"])].append(row)
    expected_pairs = {(w.visit_id, code) for w in workers for code in w.last_edit}
    facts["answer_pairs_expected"] = len(expected_pairs)
    facts["answer_rows"] = len(rows)
    facts["answer_pairs_stored"] = len(by_pair)
    dup = [k for k, v in by_pair.items() if len(v) > 1]
    if dup:
        problems.append(f"answers stored more than once: {dup[:10]}")
    missing = expected_pairs - set(by_pair)
    extra = set(by_pair) - expected_pairs
    if missing:
        problems.append(f"{len(missing)} answered items have no row: {sorted(missing)[:10]}")
    if extra:
        problems.append(f"{len(extra)} rows for items never answered: {sorted(extra)[:10]}")
    matched_last = wrong_last = wrong_version = 0
    lost_examples = []
    for w in workers:
        for code, last in w.last_edit.items():
            row = (by_pair.get((w.visit_id, code)) or [None])[0]
            if row is None:
                continue
            want = expected_row(w.checklist.item(code), last.payload)
            have = {"result": row["result"], "occurrences": row["occurrences"], "scale_value": row["scale_value"],
                    "note": row["note"]}
            if have == want:
                matched_last += 1
            else:
                wrong_last += 1
                if len(lost_examples) < 8:
                    lost_examples.append(f"visit {w.visit_id} {code}: last edit {want} (client_id {last.client_id}, "
                                         f"outcome {last.outcome or 'unsent'}), stored {have} v{row['version']} "
                                         f"client_id {row['client_id']}")
            heard = w.heard.get(code)
            if w.versions.get(code) != row["version"] or (heard and last.outcome == "ok" and row["client_id"] != last.client_id):
                wrong_version += 1
                if len(lost_examples) < 8:
                    lost_examples.append(f"visit {w.visit_id} {code}: phone knows v{w.versions.get(code)}, "
                                         f"stored v{row['version']} by {row['client_id']}")
    facts["answers_last_edit_matched"] = matched_last
    facts["answers_last_edit_wrong"] = wrong_last
    facts["answers_version_unknown_to_phone"] = wrong_version
    if wrong_last:
        problems.append(f"{wrong_last} items do not hold the inspector's last edit (lost writes)")
    if wrong_version:
        problems.append(f"{wrong_version} items hold a version the phone never heard of")
    facts["lost_examples"] = lost_examples

    # --- photos
    photo_ops = [op for w in workers for op in w.ops if op.kind == "photo"]
    facts["photo_ops"] = len(photo_ops)
    rows = db.execute(f"SELECT * FROM photo WHERE visit_id IN ({','.join('?' * len(used_visits))})",
                      sorted(used_visits)).fetchall()
    facts["photo_rows"] = len(rows)
    by_client = defaultdict(list)
    for row in rows:
        by_client[row["client_id"]].append(row)
    by_sha_place = Counter((r["visit_id"], r["item_code"], r["purpose"], r["sha256"]) for r in rows)
    if any(n > 1 for n in by_sha_place.values()):
        problems.append("the same photo content stored twice at one place")
    ok_files = 0
    for op in photo_ops:
        found = by_client.get(op.client_id, [])
        if len(found) != 1:
            problems.append(f"photo {op.client_id} stored {len(found)} times")
            continue
        row = found[0]
        if row["sha256"] != op.sha256:
            problems.append(f"photo {op.client_id}: row sha256 {row['sha256']} != sent {op.sha256}")
        if row["deleted_at"] is not None:
            problems.append(f"photo {op.client_id} is marked deleted")
        if op.reply and op.reply.get("id") != row["id"]:
            problems.append(f"photo {op.client_id}: the phone was told id {op.reply.get('id')}, stored id {row['id']}")
        if (row["item_code"], row["purpose"]) != (op.item_code, op.purpose) or row["visit_id"] != op.visit_id:
            problems.append(f"photo {op.client_id} stored at the wrong place")
        original = media / row["storage_key"] / "original"
        if not original.is_file():
            problems.append(f"photo {op.client_id}: {original} missing")
            continue
        if sha256_file(original) != op.sha256 or original.stat().st_size != len(op.data):
            problems.append(f"photo {op.client_id}: stored original differs from the bytes sent")
            continue
        for variant in ("display.jpg", "thumb.jpg"):
            if not (media / row["storage_key"] / variant).is_file():
                problems.append(f"photo {op.client_id}: {variant} missing")
        ok_files += 1
    unknown = set(by_client) - {op.client_id for op in photo_ops}
    if unknown:
        problems.append(f"{len(unknown)} photo rows from no photo op: {sorted(unknown)[:5]}")
    facts["photo_originals_matching_sha256"] = ok_files
    added = Counter(r["object_id"] for r in db.execute(
        "SELECT object_id FROM audit_event WHERE action='photo.added' AND object_type='photo'"))
    our_ids = [r["id"] for r in rows]
    bad_audit = [pid for pid in our_ids if added.get(pid) != 1]
    facts["photo_added_audit_events"] = sum(added.get(pid, 0) for pid in our_ids)
    if bad_audit:
        problems.append(f"{len(bad_audit)} photos without exactly one photo.added audit event")
    keys = {r["storage_key"] for r in db.execute("SELECT storage_key FROM photo")}
    folders = {str(p.parent.relative_to(media)) for p in (media / "photos").glob("*/*/*/original")}
    leftover = {str(p.relative_to(media)) for p in (media / "photos").glob("*/*/*") if p.is_dir()} - keys
    facts["photo_folders_without_row"] = len(leftover)
    facts["photo_rows_without_folder"] = len(keys - folders)
    if leftover:
        problems.append(f"{len(leftover)} photo folders on disk without a row: {sorted(leftover)[:5]}")
    tmp_files = list((media / "photos").glob("**/.*.tmp"))
    if tmp_files:
        problems.append(f"{len(tmp_files)} half-written temp files left in media")

    # --- visits: how many the retried form posts left behind
    visits = db.execute("SELECT id, status, checklist_code FROM visit WHERE id > ? AND assignee_id = ?",
                        (visit_ids_before, inspector_id)).fetchall()
    facts["visits_created"] = len(visits)
    facts["visits_used"] = len(used_visits)
    facts["visits_orphaned"] = [(v["id"], v["status"]) for v in visits if v["id"] not in used_visits]
    not_started = [v["id"] for v in visits if v["id"] in used_visits and v["status"] != "in_progress"]
    if not_started:
        problems.append(f"visits not in progress: {not_started}")
    db.close()
    return problems, facts


# =========================================================================== main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--answers", type=int, default=850)
    parser.add_argument("--photos", type=int, default=150)
    parser.add_argument("--visits", type=int, default=6, help="visits = phones working at once")
    parser.add_argument("--sequential", action="store_true",
                        help="make each edit only after the previous one was confirmed (no edit replaced)")
    parser.add_argument("--p-drop-before", type=float, default=0.07)
    parser.add_argument("--p-drop-after", type=float, default=0.07)
    parser.add_argument("--p-delay", type=float, default=0.04)
    parser.add_argument("--p-dup", type=float, default=0.08)
    parser.add_argument("--keep", action="store_true", help="keep the temp instance folder")
    args = parser.parse_args()

    started = time.monotonic()
    rng = random.Random(args.seed)
    checklists = load_directory(ROOT / "forms")
    instance = Path(tempfile.mkdtemp(prefix="chaos-sync-"))
    log(f"instance {instance}; loading demo data and starting gunicorn (2 workers)")
    proc, port, server_log = start_server(instance)
    proxy = None
    try:
        db = sqlite3.connect(instance / "inspect.db")
        visit_ids_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM visit").fetchone()[0]
        inspector_id = db.execute("SELECT id FROM user_account WHERE username=?", (USERNAME,)).fetchone()[0]
        db.close()
        proxy = ChaosProxy(port, args.seed, args.p_drop_before, args.p_drop_after, args.p_delay, args.p_dup)
        proxy_port = proxy.start()
        log(f"app on :{port}, chaos proxy on :{proxy_port} (seed {args.seed})")
        totals = Totals()

        # --- phones: log in and start the visits, all through the proxy
        setup = Phone("setup", proxy_port, totals, random.Random(args.seed + 1))
        setup.login()
        _, _, html = setup.page("GET", "/visits/new")
        outlets = [int(i) for i, code in re.findall(
            r'/visits/new\?outlet=(\d+)[^"]*"><strong>[^<]*</strong><span class="list-meta">(\d+)', html)
            if code.startswith("3301")]
        if len(outlets) < args.visits:
            raise SystemExit(f"only {len(outlets)} 杭州市 outlets offered")
        rng.shuffle(outlets)
        workers: list[Worker] = []
        answers_left, photos_left = args.answers, args.photos
        for index in range(args.visits):
            code = "open_inspection" if index % 2 == 0 else "fives"
            phone = Phone(f"phone{index}", proxy_port, totals, random.Random(args.seed * 100 + index))
            phone.login()
            visit_id = phone.start_visit(outlets[index], code)
            share = args.visits - index
            n_answers = answers_left // share
            n_photos = photos_left // share
            answers_left -= n_answers
            photos_left -= n_photos
            edits = plan_edits(random.Random(args.seed * 1000 + index), checklists[code], n_answers, n_photos,
                               random.Random(args.seed * 7919 + index))
            workers.append(Worker(index, phone, visit_id, checklists[code], edits, totals, args.sequential,
                                  random.Random(args.seed * 31 + index)))
            log(f"phone{index}: visit {visit_id} ({code}, outlet {outlets[index]}): {n_answers} answer edits, "
                f"{n_photos} photos")
        setup_attempts = totals.c["setup_attempts"]
        log(f"setup done ({setup_attempts} HTTP attempts); syncing "
            f"{'sequentially' if args.sequential else 'while the inspector keeps working'}")
        sync_started = time.monotonic()
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            time.sleep(5)
            done = sum(1 for w in workers for op in w.ops if op.outcome)
            log(f"  ... {sum(len(w.ops) for w in workers)} edits made, {done} settled, "
                f"{totals.c['sync_attempts']} attempts, outboxes {[len(w.outbox) for w in workers]}")
        sync_seconds = time.monotonic() - sync_started
        log("all outboxes empty; waiting for delayed requests and late copies to land")
        if not proxy.quiet(60):
            totals.problem("the proxy still had requests in flight after 60 s")
        stop_server(proc)
        proxy.stop()

        problems, facts = check(instance, workers, visit_ids_before, {w.visit_id for w in workers}, inspector_id)
        problems = totals.problems + problems
        server_log_text = server_log.read_text(errors="replace")
        tracebacks = server_log_text.count("Traceback (most recent call last)")
        status_5xx = sum(n for s, n in proxy.upstream_status.items() if s >= 500)
        if status_5xx or proxy.server_errors:
            problems.append(f"server answered 5xx (or broke the connection) {status_5xx} times")
        if tracebacks:
            problems.append(f"{tracebacks} tracebacks in the server log {server_log}")

        # --- the report
        c, s = totals.c, proxy.stats
        ops = [op for w in workers for op in w.ops]
        answer_ops = [op for op in ops if op.kind == "answer"]
        sent = [op for op in ops if op.attempts]
        conflicts = totals.conflicts
        own = [x for x in conflicts if x["is_own_earlier_write"]]
        own_lost = [x for x in own if x["earlier_reply_lost"]]
        line = "=" * 78
        print()
        print(line)
        print(f" CHAOS SYNC SUMMARY   seed {args.seed}   mode {'sequential' if args.sequential else 'outbox (edits replace unsent edits)'}")
        print(line)
        print(f" edits made (ops)                  {len(ops):>6}   answers {len(answer_ops)}, photos {len(ops) - len(answer_ops)}")
        print(f"   replaced in the outbox unsent   {sum(1 for op in ops if op.outcome == 'replaced' and not op.attempts):>6}")
        print(f"   ops sent (distinct client ids)  {len(sent):>6}   answers {c['answer_ops_sent']}, photos {c['photo_ops_sent']}")
        print(f" HTTP attempts (client)            {c['http_attempts']:>6}   sync {c['sync_attempts']}, setup/login {c['setup_attempts']}")
        print(f"   timeouts seen by the client     {c['client_timeouts']:>6}")
        print(f"   other network errors            {c['client_network_errors'] + c['client_truncated_headers']:>6}   (of which reply cut inside the headers {c['client_truncated_headers']})")
        print(f"   5xx / 429 seen by the client    {c['client_5xx']:>6} / {c['client_429']}")
        print(f"   CSRF refreshes / re-logins      {c['csrf_refreshes']:>6} / {c['relogins']}")
        print(f" proxy: requests received          {s['requests']:>6}   forwarded to the server {s['upstream_requests']}")
        print(f"   dropped before forwarding       {s['drop_before']:>6}")
        print(f"   dropped after forwarding        {s['drop_after']:>6}   (of which reply truncated {s['drop_after_truncated']})")
        print(f"   delayed past the timeout        {s['delay_request'] + s['delay_reply']:>6}   (request late {s['delay_request']}, reply late {s['delay_reply']})")
        print(f"   duplicated                      {s['dup_parallel'] + s['dup_serial'] + s['dup_late']:>6}   (at once {s['dup_parallel']}, one after the other {s['dup_serial']}, copy late {s['dup_late']})")
        print(f"   passed untouched                {s['pass']:>6}")
        print(f"   server statuses                 {dict(sorted(proxy.upstream_status.items()))}")
        print(f" answers: 200 {c['answer_status_200']}, 409 {c['conflicts_409']} (of which the server already held that exact edit: "
              f"{c['conflicts_409_already_stored']}; against this phone's own earlier write: {len(own)}, "
              f"whose reply had been lost: {len(own_lost)})")
        print(f" photos: created {c['photo_created']}, recognised as a repeat {c['photo_recognised_as_repeat']}")
        print(line)
        print(f" answers stored                    {facts['answer_rows']:>6}   distinct (visit, item) edited: {facts['answer_pairs_expected']}")
        print(f"   holding the last edit           {facts['answers_last_edit_matched']:>6}   wrong: {facts['answers_last_edit_wrong']}")
        print(f"   version unknown to the phone    {facts['answers_version_unknown_to_phone']:>6}")
        print(f" photos stored                     {facts['photo_rows']:>6}   photo ops: {facts['photo_ops']}")
        print(f"   original sha256 == sent         {facts['photo_originals_matching_sha256']:>6}")
        print(f"   photo.added audit events        {facts['photo_added_audit_events']:>6}")
        print(f"   folders without a row           {facts['photo_folders_without_row']:>6}")
        print(f" visits created by the inspector   {facts['visits_created']:>6}   used {facts['visits_used']}, "
              f"extra, left by a repeated POST /visits/new: {facts['visits_orphaned']}")
        print(f" server 5xx / tracebacks           {status_5xx:>6} / {tracebacks}")
        print(f" time: sync {sync_seconds:.0f} s, total {time.monotonic() - started:.0f} s")
        print(line)
        if facts["lost_examples"]:
            print(" examples of items not holding the last edit:")
            for text in facts["lost_examples"]:
                print("   " + text)
        if own:
            x = own[0]
            print(" first 409 against the phone's own earlier write:")
            print(f"   POST /api/visits/{x['visit']}/answers {json.dumps(dict(x['sent'], item_code=x['item'], client_id=x['client_id']), ensure_ascii=False)}")
            print(f"   -> 409 {json.dumps(x['reply'], ensure_ascii=False)}")
            print(f"   the stored answer came from this phone's earlier edit {x['earlier_client_id']} "
                  f"({'its reply was lost' if x['earlier_reply_lost'] else 'reply received'})")
        for text in proxy.server_errors[:5]:
            print(f" server error: {text}")
        if problems:
            print(f" RESULT: FAIL ({len(problems)} problems)")
            for text in problems[:25]:
                print("   - " + text)
        else:
            print(" RESULT: PASS — nothing lost, nothing duplicated")
        print(line)
        return 1 if problems else 0
    finally:
        if proxy is not None:
            proxy.stop()
        stop_server(proc)
        if args.keep:
            print(f"instance kept in {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
