"""Answer saves while other inspectors upload 12 MP photos, through gunicorn.

    .venv/bin/python scripts/bench_upload_lock.py [--uploaders 4] [--seconds 30] [--postgres]
                                                  [--code /path/to/a/checkout]

One inspector saves answers one after another (as the phone's outbox sends them) while N others
each upload 12 MP JPEGs (4032×3024, about 3–4 MB, every one different) as fast as the server
takes them. Prints the answer-save latency (p50, p95, max, count) with no uploads running and
with them, and the uploads done. ``--code`` serves another checkout (an older commit, for the
before/after comparison) with this project's virtualenv.

Leaves out: the phone's own downscaling (photo.js sends about 0.5 MB, which makes uploads
lighter than here), the network between phone and server, and other kinds of requests.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
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
from concurrency import Client  # noqa: E402

PASSWORD = "Bench-upload-2026"


def twelve_megapixels(seed: int) -> bytes:
    """A 4032×3024 JPEG with texture (noise blocks), so it compresses like a photo, not a flat card."""
    from PIL import Image

    rng = random.Random(seed)
    small = Image.frombytes("RGB", (252, 189), bytes(rng.randrange(256) for _ in range(252 * 189 * 3)))
    big = small.resize((4032, 3024), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=92)
    return out.getvalue()


def multipart(fields: dict, file_bytes: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
                 f'Content-Type: image/jpeg\r\n\r\n'.encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def sign_in(base: str, username: str) -> Client:
    c = Client(base)
    _, html, _ = c.call("GET", "/login")
    c.page_token(html)
    _, html, _ = c.call("POST", "/login", {"username": username, "password": PASSWORD})
    c.page_token(html)
    return c


def new_visit(c: Client, outlet_id: int) -> tuple[int, list[tuple[str, str]]]:
    import re

    _, html, url = c.call("POST", "/visits/new", {"outlet_id": outlet_id, "checklist": "open_inspection",
                                                  "window_id": "", "despite_planned": "1"})
    visit_id = int(re.search(r"/visits/(\d+)/checkin", url).group(1))
    _, html, _ = c.call("POST", f"/visits/{visit_id}/checkin", {"lat": "30.2", "lon": "120.1", "accuracy": "10"})
    c.page_token(html)
    return visit_id, re.findall(r'data-code="([A-Z0-9-]+)"\s+data-rule="([a-z_]+)"', html)


def start_visit(base: str, username: str, outlet_id: int) -> tuple[Client, int, list[tuple[str, str]], int]:
    c = sign_in(base, username)
    visit_id, codes = new_visit(c, outlet_id)
    return c, visit_id, codes, outlet_id


VERSIONS: dict[int, dict[str, int]] = {}
SLOW: list[tuple[float, float]] = []  # (when it started, ms) of saves over a second


def save_answers(c, visit_id: int, codes, stop: threading.Event, latencies: list[float],
                 failed: list[str] | None = None) -> None:
    """Answer saves one after another; a save that fails or times out (60 s) counts with its time."""
    versions = VERSIONS.setdefault(visit_id, {})
    pass_fail = [code for code, rule in codes if rule == "pass_fail"]
    n = 0
    while not stop.is_set():
        code = pass_fail[n % len(pass_fail)]
        body = {"item_code": code, "result": "pass" if n % 2 else "fail", "note": f"第{n}次",
                "base_version": versions.get(code, 0), "client_id": uuid.uuid4().hex}
        started = time.perf_counter()
        try:
            status, text, _ = c.call("POST", f"/api/visits/{visit_id}/answers", json_body=body)
        except OSError as exc:
            status, text = 0, str(exc)
        latencies.append((time.perf_counter() - started) * 1000)
        if latencies[-1] > 1000:
            SLOW.append((started, latencies[-1]))
        if status == 200:
            versions[code] = json.loads(text)["answer"]["version"]
        elif status == 409:  # the bench's own stale version (a second run): take the current one
            versions[code] = json.loads(text)["current"]["version"]
        elif failed is not None:
            failed.append(f"{status} {text[:80]}")
        n += 1


def upload_photos(c: Client, visit_id: int, codes, outlet_id: int, photos: list[bytes], stop: threading.Event,
                  done: list) -> None:
    """Uploads without pause; a visit full of photos (60) is followed by a new one at the outlet."""
    item_codes = [code for code, rule in codes if rule != "timer"]
    n = in_visit = 0
    while not stop.is_set():
        if in_visit >= 60:
            visit_id, _codes = new_visit(c, outlet_id)
            in_visit = 0
        body, ctype = multipart({"item_code": item_codes[n % len(item_codes)], "client_id": uuid.uuid4().hex},
                                photos[n % len(photos)])
        request = urllib.request.Request(c.base + f"/api/visits/{visit_id}/photos", data=body, method="POST",
                                         headers={"Content-Type": ctype, "X-CSRFToken": c.token,
                                                  "Accept": "application/json"})
        try:
            with c.opener.open(request, timeout=120) as response:
                done.append(response.status)
        except urllib.error.HTTPError as exc:
            done.append(exc.code)
        n += 1
        in_visit += 1


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"{name}: p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms "
            f"({len(ordered)} saves)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploaders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--code", default=str(ROOT), help="the checkout to serve (default: this one)")
    args = parser.parse_args()
    code = Path(args.code).resolve()
    instance = Instance(code, postgres=args.postgres, prefix="bench-upload-")
    setup = SETUP + (
        f"    for n in range({args.uploaders + 1}):\n"
        "        org.save_outlet(s, actor=None, outlet=None, code=f'B{n:03d}', name=f'网点{n}', address='路', lat=30.2,\n"
        "                        lon=120.1, unit_id=unit.id, timezone='Asia/Shanghai')\n"
        f"        create_user(s, actor=None, username=f'bench{{n}}', display_name=f'测{{n}}', password='{PASSWORD}',\n"
        "                    role=Role.inspector, unit_id=unit.id)\n"
        "    s.commit()\n"
        "    print(','.join(str(o.id) for o in s.exec(select(Outlet).order_by(Outlet.id)).all()))\n")
    outlets = instance.setup(setup).split(",")
    print(f"making {min(8, args.uploaders * 2)} distinct 12 MP photos…", flush=True)
    photos = [twelve_megapixels(seed) for seed in range(min(8, args.uploaders * 2))]
    print(f"photo size: {statistics.mean(len(p) for p in photos) / 1e6:.1f} MB", flush=True)
    try:
        base_url = instance.serve(workers=4, threads=4)
        answerer, visit_id, codes, _outlet = start_visit(base_url, "bench0", int(outlets[0]))
        uploaders = [start_visit(base_url, f"bench{n}", int(outlets[n])) for n in range(1, args.uploaders + 1)]
        quiet: list[float] = []
        stop = threading.Event()
        t = threading.Thread(target=save_answers, args=(answerer, visit_id, codes, stop, quiet))
        t.start()
        time.sleep(min(8.0, args.seconds / 3))
        stop.set()
        t.join()
        loaded: list[float] = []
        done: list[int] = []
        stop = threading.Event()
        threads = [threading.Thread(target=save_answers, args=(answerer, visit_id, codes, stop, loaded))]
        threads += [threading.Thread(target=upload_photos, args=(c, v, cs, o, photos, stop, done))
                    for c, v, cs, o in uploaders]
        for th in threads:
            th.start()
        time.sleep(args.seconds)
        stop.set()
        for th in threads:
            th.join()
    finally:
        server_log = instance.stop()
    print(f"code: {code}; database: {instance.database}; gunicorn 4 workers × 4 threads")
    print(summary("answer saves, no uploads      ", quiet))
    print(summary(f"answer saves, {args.uploaders} uploading      ", loaded))
    print(f"uploads: {sum(1 for s in done if s in (200, 201))} stored, {sum(1 for s in done if s >= 400)} refused "
          f"in {args.seconds:.0f} s; 'database is locked' in server log: {server_log.count('database is locked')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
