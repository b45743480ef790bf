"""Benchmark of the server photo pipeline on realistic phone photos (a benchmark, not a test).

    .venv/bin/python scripts/bench_photos.py [--count N] [--dir PATH] [--keep] [--seed S]

What it does:

1. Generates ``--count`` (default 200) 12 MP phone photos (4032×3024 JPEG, quality 90, 4:2:0, with
   gradients, shapes, lines and sensor-like noise so they compress like real photos, ~3–5 MB each;
   EXIF with make/model and DateTimeOriginal on all, orientation 6 on every 4th, an offset time
   on every 3rd, GPS on every 2nd), deterministically from ``--seed``. Generation runs in worker
   processes so it does not inflate this process's memory figures. With ``--dir`` existing files
   are reused.
2. Makes the copy the phone sends by running static/js/photo.js itself (``InspectPhoto.prepare``)
   in Debian's Chromium through Playwright on each 12 MP file, and prints the distribution of the
   sizes it sends (median, p90, max, how many over 500 KB) and the long edges it chose. One HEIC
   (made from the first photo with pillow_heif) shows what happens where the browser cannot draw
   HEIC: the original goes (a 3 MP HEIC: encoding 12 MP with x265 takes minutes here).
3. Times per photo what the server does per upload minus the database row
   (``evidence.services.store_photo``): sha256 of the bytes + ``imaging.process(...)`` + writing
   original, display.jpg and thumb.jpg through ``LocalStorage`` (which fsyncs) into a temp folder.
   Peak RSS (VmHWM, reset via /proc/self/clear_refs before the loop) and current RSS are sampled
   after photo 10, 100, 200 (and the last one).
4. Times the standard Pillow recipe on the same files as the baseline: ``Image.open`` → ``draft``
   (reduced-scale JPEG decode) → ``exif_transpose`` → ``thumbnail`` to 1600 (Pillow's default
   filter) → JPEG q82, and a 320 px thumbnail from that (no sha256, no storage writes, no stamp:
   the baseline does less work than the pipeline).
5. Times the pipeline on the copies photo.js made (the realistic case).

What it leaves out: the network and the upload itself; the phone's own CPU (Chromium runs here, on
a server CPU, so its times are not a phone's; the sizes are what a phone's Chromium would send for
the same pixels); real camera noise (the scenes are synthetic); HEIC decoding in browsers that have
it (Safari): Debian's Chromium has no HEIC decoder.

Targets: pipeline median ≤ 100 ms per 12 MP photo AND ≥ 2× faster than the standard recipe's median AND
every photo.js copy ≤ 500 KB.
Exit status 0 when met, 1 when missed.

``imaging.process`` needs no Flask app: it only calls flask_babel's gettext when it refuses a
photo, and outside an app context that returns the untranslated message.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import io
import math
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import PIL  # noqa: E402
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, JpegImagePlugin, features  # noqa: E402

from inspect_app.evidence import imaging  # noqa: E402
from inspect_app.evidence.services import VARIANTS  # noqa: E402
from inspect_app.evidence.storage import LocalStorage, new_prefix  # noqa: E402

FULL_SIZE = (4032, 3024)
PHONE_MAX_BYTES = 500 * 1024  # photo.js's SMALL
TARGET_MEDIAN_MS = 100.0
TARGET_SPEEDUP = 2.0
SAMPLE_AT = (10, 100, 200)
DEVICES = [("Apple", "iPhone 13"), ("HUAWEI", "ANA-AN00"), ("Xiaomi", "M2102K1C"), ("OPPO", "PEGM00"),
           ("vivo", "V2134A"), ("samsung", "SM-S9080")]


# ---------------------------------------------------------------- generating photos

def _noise(rng: random.Random, size: tuple[int, int], amp: int) -> Image.Image:
    """Sensor-like noise centred on 128: full-resolution luma noise plus softer chroma noise."""
    w, h = size
    luma = Image.frombytes("L", size, rng.randbytes(w * h))
    luma = luma.point([128 + (v * (2 * amp + 1)) // 256 - amp for v in range(256)])
    camp = max(1, amp // 2)
    chroma = Image.frombytes("L", (w // 2, h // 2), rng.randbytes((w // 2) * (h // 2)))
    chroma = chroma.point([128 + (v * (2 * camp + 1)) // 256 - camp for v in range(256)]).resize(size)
    return Image.merge("RGB", (ImageChops.add(luma, chroma, 1.0, -128), luma,
                               ImageChops.subtract(luma, chroma, 1.0, -128)))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))


def _scene(rng: random.Random) -> Image.Image:
    """A 12 MP RGB image that compresses like a photo: soft large forms, sharp edges, noise."""
    w, h = FULL_SIZE
    sw, sh = w // 4, h // 4
    ramp = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR).resize((sw, sh))
    base = Image.composite(Image.new("RGB", (sw, sh), _colour(rng)), Image.new("RGB", (sw, sh), _colour(rng)), ramp)
    glow = Image.radial_gradient("L").resize((sw, sh))
    base = Image.composite(base, Image.new("RGB", (sw, sh), _colour(rng)), glow.point(lambda v: 96 + v * 5 // 8))
    draw = ImageDraw.Draw(base)
    for _ in range(rng.randint(25, 45)):  # shelves, boxes, signs, people-sized blobs
        fill = _colour(rng)
        x0, y0 = rng.randrange(sw), rng.randrange(sh)
        x1, y1 = x0 + rng.randrange(20, sw // 3), y0 + rng.randrange(20, sh // 3)
        kind = rng.random()
        if kind < 0.4:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif kind < 0.7:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([(rng.randrange(sw), rng.randrange(sh)) for _ in range(rng.randint(3, 6))], fill=fill)
    base = base.filter(ImageFilter.GaussianBlur(1.2))
    image = base.resize(FULL_SIZE, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(300, 600)):  # sharp detail at full resolution: edges, labels, cables
        x, y = rng.randrange(w), rng.randrange(h)
        draw.line((x, y, x + rng.randrange(-300, 300), y + rng.randrange(-300, 300)), fill=_colour(rng),
                  width=rng.randint(1, 4))
    return ImageChops.add(image, _noise(rng, FULL_SIZE, rng.randint(10, 16)), 1.0, -128)


def _exif(rng: random.Random, index: int, orientation: int) -> Image.Exif:
    exif = Image.Exif()
    make, model = DEVICES[index % len(DEVICES)]
    taken = f"2026:{rng.randint(1, 12):02d}:{rng.randint(1, 28):02d} {rng.randint(8, 20):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    exif[0x010F], exif[0x0110], exif[0x0112], exif[0x0132] = make, model, orientation, taken
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken  # DateTimeOriginal
    if index % 3 == 0:
        ifd[0x9011] = "+08:00"  # OffsetTimeOriginal
    if index % 2 == 0:
        exif.get_ifd(0x8825).update({1: "N", 2: (31.0, float(rng.randrange(60)), rng.randrange(6000) / 100),
                                     3: "E", 4: (121.0, float(rng.randrange(60)), rng.randrange(6000) / 100)})
    return exif


def _generate_one(args: tuple[int, int, str]) -> tuple[int, int]:
    """Writes photo ``index`` (12 MP); returns (index, size)."""
    index, seed, full_path = args
    rng = random.Random(seed * 1_000_003 + index)
    orientation = 6 if index % 4 == 1 else 1
    exif = _exif(rng, index, orientation)
    image = _scene(rng)
    if not os.path.exists(full_path):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90, exif=exif.tobytes())  # 4:2:0 like phone cameras
        _write(full_path, buf.getvalue())
    return index, os.path.getsize(full_path)


def _write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def generate(folder: Path, count: int, seed: int) -> tuple[list[Path], int]:
    (folder / "full").mkdir(parents=True, exist_ok=True)
    full = [folder / "full" / f"photo_{i:04d}.jpg" for i in range(count)]
    todo = [(i, seed, str(full[i])) for i in range(count) if not full[i].exists()]
    if todo:
        started = time.perf_counter()
        workers = max(1, min(os.cpu_count() or 1, 4))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, _ in enumerate(pool.map(_generate_one, todo, chunksize=1), 1):
                if done % 20 == 0 or done == len(todo):
                    print(f"  generated {done}/{len(todo)} ({time.perf_counter() - started:.0f} s)", flush=True)
    return full, len(todo)


PHOTO_JS = ROOT / "static" / "js" / "photo.js"
CHROMIUM = "/usr/bin/chromium"
PREPARE = """async (mime) => {
  const input = document.querySelector("input");
  const file = new File([input.files[0]], input.files[0].name, { type: mime });
  const started = performance.now();
  const blob = await window.InspectPhoto.prepare(file);
  const ms = performance.now() - started;
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return { data: btoa(text), ms: ms, same: blob === file, type: blob.type };
}"""


def phone_copies(full: list[Path], folder: Path, heic: Path) -> tuple[list[Path], list[float], dict]:
    """Runs static/js/photo.js (the browser's own canvas and JPEG encoder) on every 12 MP photo in
    Chromium and writes what it would send; also the HEIC case. Returns paths, times, HEIC facts."""
    import base64

    from playwright.sync_api import sync_playwright

    (folder / "phone").mkdir(parents=True, exist_ok=True)
    phone = [folder / "phone" / f"photo_{i:04d}.jpg" for i in range(len(full))]
    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 360, "height": 740})
        page.set_content("<input type=file>")
        page.add_script_tag(path=str(PHOTO_JS))
        for source, target in zip(full, phone):
            page.set_input_files("input", str(source))
            result = page.evaluate(PREPARE, "image/jpeg")
            _write(str(target), base64.b64decode(result["data"]))
            times.append(result["ms"] / 1000)
        page.set_input_files("input", str(heic))
        result = page.evaluate(PREPARE, "image/heic")
        heic_facts = {"sent": len(base64.b64decode(result["data"])), "original": heic.stat().st_size,
                      "as_is": result["same"], "ms": result["ms"]}
        browser.close()
    return phone, times, heic_facts


def make_heic(source: Path, target: Path) -> Path:
    if not target.exists():
        from pillow_heif import register_heif_opener

        register_heif_opener()
        with Image.open(source) as image:
            # 3 MP, not 12: x265 takes minutes for 12 MP here, and the browser's answer (can it
            # draw HEIC at all) does not depend on the size
            image.reduce(2).save(target, "HEIF", quality=80)
    return target


# ---------------------------------------------------------------- measuring

def proc_status() -> dict[str, int]:
    """VmRSS / VmHWM in kB from /proc/self/status (Linux); empty elsewhere."""
    try:
        with open("/proc/self/status") as f:
            return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}
    except OSError:
        return {}


def peak_rss_kb() -> int:
    status = proc_status()
    if "VmHWM" in status:
        return status["VmHWM"]
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0), so a phase's peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def stamp_text() -> str:
    now = time.time()
    local = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
    return f"SH-0042  {local}"


def server_upload(data: bytes, storage: LocalStorage, text: str, zone: str) -> tuple[dict, imaging.Processed, str]:
    """What evidence.services.store_photo does for a new photo, minus the database row."""
    c0 = time.thread_time()
    t0 = time.perf_counter()
    digest = hashlib.sha256(data).hexdigest()
    t1 = time.perf_counter()
    processed = imaging.process(data, stamp_text=text, zone=zone)
    t2 = time.perf_counter()
    prefix = new_prefix()
    for variant, content, content_type in ((VARIANTS["original"], data, processed.content_type),
                                           (VARIANTS["display"], processed.display, "image/jpeg"),
                                           (VARIANTS["thumb"], processed.thumb, "image/jpeg")):
        storage.put(f"{prefix}/{variant}", content, content_type)
    t3 = time.perf_counter()
    cpu = time.thread_time() - c0
    assert digest
    return {"total": t3 - t0, "sha256": t1 - t0, "process": t2 - t1, "storage": t3 - t2, "cpu": cpu}, processed, prefix


def remove_outputs(storage: LocalStorage, prefix: str) -> None:
    for variant in VARIANTS.values():
        storage.delete(f"{prefix}/{variant}")


def naive(data: bytes) -> tuple[bytes, bytes]:
    """The standard Pillow recipe (Pillow's docs for making a thumbnail): open, draft, transpose,
    thumbnail with its default filter."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (imaging.DISPLAY_EDGE, imaging.DISPLAY_EDGE))
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((imaging.DISPLAY_EDGE, imaging.DISPLAY_EDGE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    thumb = image.copy()
    thumb.thumbnail((imaging.THUMB_EDGE, imaging.THUMB_EDGE))
    small = io.BytesIO()
    thumb.save(small, "JPEG", quality=75)
    return out.getvalue(), small.getvalue()


def probe_draft(data: bytes, storage: LocalStorage, text: str, zone: str) -> tuple[str, imaging.Processed]:
    """One warm-up upload with a spy on JpegImageFile.draft: did process() decode at reduced scale?"""
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        before = self.size
        result = original(self, mode, size)
        calls.append((before, size, self.size))
        return result

    JpegImagePlugin.JpegImageFile.draft = spy
    try:
        _, processed, prefix = server_upload(data, storage, text, zone)
    finally:
        JpegImagePlugin.JpegImageFile.draft = original
    remove_outputs(storage, prefix)
    if not calls:
        return "no (Image.draft was not called)", processed
    # Image.thumbnail also calls draft(), a no-op once the pixels are loaded: look for the call
    # that shrank the decode, else report the first one.
    shrunk = [c for c in calls if c[2] != c[0]]
    (bw, bh), (rw, rh), (aw, ah) = shrunk[0] if shrunk else calls[0]
    if (aw, ah) == (bw, bh):
        return f"no (draft asked for {rw}×{rh}, libjpeg kept {bw}×{bh})", processed
    return f"yes (libjpeg DCT scale 1/{round(bw / aw)}: {bw}×{bh} decoded as {aw}×{ah}, asked ≥ {rw}×{rh})", processed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"median {statistics.median(ms):7.1f} ms   p95 {pct(ms, 0.95):7.1f} ms   max {max(ms):7.1f} ms"


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:.2f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="photos per scenario (default 200)")
    parser.add_argument("--dir", type=Path, help="folder for the generated photos (reused when present)")
    parser.add_argument("--keep", action="store_true", help="keep generated photos and written outputs")
    parser.add_argument("--seed", type=int, default=20260301, help="generator seed (default 20260301)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be ≥ 1")

    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the temp folder is still removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench_photos_"))
    photo_dir = args.dir.resolve() if args.dir else work / "photos"
    storage = LocalStorage(work / "media")
    zone = "Asia/Shanghai"
    ZoneInfo(zone)
    text = stamp_text()
    try:
        print(f"Python {platform.python_version()}  Pillow {PIL.__version__}  libjpeg-turbo "
              f"{features.version('jpg') if features.check_feature('libjpeg_turbo') else 'no (' + str(features.version('jpg')) + ')'}"
              f"  CPUs {os.cpu_count()}  {platform.machine()}")
        print(f"imaging: {Path(imaging.__file__).resolve()}")
        print(f"photos: {photo_dir}   outputs: {work / 'media'}")
        full, made = generate(photo_dir, args.count, args.seed)
        print(f"generated {made}, reused {args.count - made}")
        full_sizes = [p.stat().st_size for p in full]
        heic = make_heic(full[0], photo_dir / "photo_0000.heic")
        phone, js_times, heic_facts = phone_copies(full, photo_dir, heic)
        phone_sizes = [p.stat().st_size for p in phone]
        edges: dict[int, int] = {}
        qualities: dict[str, int] = {}
        # libjpeg's standard luminance table scaled to a quality starts 6 at 0.8, 10 at 0.7, 13 at 0.6, 16 at 0.5
        quality_of = {6: "0.8", 10: "0.7", 13: "0.6", 16: "0.5"}
        for path in phone:
            with Image.open(path) as im:
                edges[max(im.size)] = edges.get(max(im.size), 0) + 1
                q = quality_of.get(im.quantization[0][0], f"DC quantiser {im.quantization[0][0]}")
                qualities[q] = qualities.get(q, 0) + 1
        over = sum(1 for n in phone_sizes if n > PHONE_MAX_BYTES)
        print(f"\n[photo.js in Chromium] InspectPhoto.prepare on {len(full)} × 12 MP: sent size median "
              f"{mb(statistics.median(phone_sizes))}, p90 {mb(pct(phone_sizes, 0.9))}, max {mb(max(phone_sizes))}, "
              f"min {mb(min(phone_sizes))}; over 500 KB: {over}")
        print(f"  long edge sent: {', '.join(f'{e} px × {n}' for e, n in sorted(edges.items(), reverse=True))}; "
              f"time in the browser median {statistics.median(js_times) * 1000:.0f} ms (server CPU, not a phone's)")
        print(f"  quality chosen: {', '.join(f'{q} × {n}' for q, n in sorted(qualities.items(), reverse=True))}")
        print(f"  HEIC ({mb(heic_facts['original'])}): "
              + ("the browser cannot draw it, the original goes" if heic_facts["as_is"]
                 else f"drawn and sent as {mb(heic_facts['sent'])}"))
        with Image.open(full[0]) as im:
            print(f"inputs: {len(full)} × {im.size[0]}×{im.size[1]} JPEG q90, size median {mb(statistics.median(full_sizes))} "
                  f"(min {mb(min(full_sizes))}, max {mb(max(full_sizes))}); orientation 6 on {sum(1 for i in range(args.count) if i % 4 == 1)}")

        # Warm-up (font, codecs, page cache) and the reduce-on-decode probe; not timed.
        for path in full[:3]:
            path.read_bytes()
        draft_info, _ = probe_draft(full[0].read_bytes(), storage, text, zone)
        print(f"reduce-on-decode (Image.draft) used: {draft_info}")
        naive(full[0].read_bytes())

        # ---- the server pipeline, 12 MP inputs
        gc.collect()
        reset_ok = reset_peak()
        base = proc_status()
        print(f"\n[pipeline, 12 MP] sha256 + imaging.process + 3 × LocalStorage.put (fsync), {len(full)} photos")
        print(f"  RSS before loop: {base.get('VmRSS', 0) / 1024:.1f} MB"
              f"{'' if reset_ok else '  (could not reset VmHWM: peaks include generation/warm-up)'}")
        times: list[dict] = []
        display_sizes, thumb_sizes, dims, samples = [], [], set(), []
        checkpoints = sorted({n for n in SAMPLE_AT if n <= len(full)} | {len(full)})
        for n, path in enumerate(full, 1):
            data = path.read_bytes()  # the upload body is in memory before the server starts
            t, processed, prefix = server_upload(data, storage, text, zone)
            times.append(t)
            display_sizes.append(len(processed.display))
            thumb_sizes.append(len(processed.thumb))
            if n <= 8:
                with Image.open(io.BytesIO(processed.display)) as d:
                    dims.add(d.size)
            if not args.keep:
                remove_outputs(storage, prefix)
            del data, processed
            if n in checkpoints:
                status = proc_status()
                samples.append((n, status.get("VmRSS", 0), peak_rss_kb()))
        total = [t["total"] for t in times]
        print(f"  per photo:  {summary(total)}")
        for part in ("sha256", "process", "storage"):
            print(f"    {part:8s}  {summary([t[part] for t in times])}")
        print(f"    CPU time  {summary([t['cpu'] for t in times])}  (this thread only: insensitive to other load)")
        print(f"  display copy size median {mb(statistics.median(display_sizes))} ({', '.join(f'{w}×{h}' for w, h in sorted(dims))}),"
              f" thumb median {mb(statistics.median(thumb_sizes))}")
        print("  memory (VmRSS now / VmHWM peak since loop start):")
        for n, rss, hwm in samples:
            print(f"    after photo {n:4d}: RSS {rss / 1024:7.1f} MB   peak {hwm / 1024:7.1f} MB")
        if len(samples) >= 2:
            growth = (samples[-1][2] - samples[0][2]) / 1024
            print(f"  peak growth from photo {samples[0][0]} to {samples[-1][0]}: {growth:+.1f} MB "
                  f"-> {'flat' if growth < 16 else 'GROWING'}")

        # tracemalloc on a short extra pass (kept out of the timed loop: it slows allocations).
        gc.collect()
        tracemalloc.start()
        for path in full[: min(20, len(full))]:
            _, processed, prefix = server_upload(path.read_bytes(), storage, text, zone)
            remove_outputs(storage, prefix)
            del processed
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  tracemalloc peak (Python objects only; Pillow's pixel buffers are C memory), "
              f"{min(20, len(full))} photos: {mb(traced_peak)}")

        # ---- the naive baseline, same files
        gc.collect()
        reset_peak()
        print(f"\n[standard Pillow recipe, 12 MP] open + draft + exif_transpose + thumbnail 1600 + q82 + thumb, {len(full)} photos")
        naive_times, naive_cpu, naive_sizes = [], [], []
        for path in full:
            data = path.read_bytes()
            c0, t0 = time.thread_time(), time.perf_counter()
            display, _thumb = naive(data)
            naive_times.append(time.perf_counter() - t0)
            naive_cpu.append(time.thread_time() - c0)
            naive_sizes.append(len(display))
            del data, display, _thumb
        print(f"  per photo:  {summary(naive_times)}")
        print(f"    CPU time  {summary(naive_cpu)}")
        print(f"  display copy size median {mb(statistics.median(naive_sizes))};  peak RSS {peak_rss_kb() / 1024:.1f} MB")

        # ---- the realistic case: the phone already downscaled
        gc.collect()
        reset_peak()
        with Image.open(phone[0]) as im:
            phone_dims = im.size
        print(f"\n[pipeline, photo.js copies] {len(phone)} × {phone_dims[0]}×{phone_dims[1]} (portrait ones rotated), "
              f"size median {mb(statistics.median(phone_sizes))} (max {mb(max(phone_sizes))})")
        server_upload(phone[0].read_bytes(), storage, text, zone)  # warm-up
        phone_times, phone_display = [], []
        for path in phone:
            t, processed, prefix = server_upload(path.read_bytes(), storage, text, zone)
            phone_times.append(t)
            phone_display.append(len(processed.display))
            if not args.keep:
                remove_outputs(storage, prefix)
        print(f"  per photo:  {summary([t['total'] for t in phone_times])}")
        for part in ("sha256", "process", "storage"):
            print(f"    {part:8s}  {summary([t[part] for t in phone_times])}")
        print(f"    CPU time  {summary([t['cpu'] for t in phone_times])}")
        print(f"  display copy size median {mb(statistics.median(phone_display))};  peak RSS {peak_rss_kb() / 1024:.1f} MB")

        # ---- verdict
        pipe_median = statistics.median(total) * 1000
        naive_median = statistics.median(naive_times) * 1000
        speedup = naive_median / pipe_median
        fast = pipe_median <= TARGET_MEDIAN_MS
        faster = speedup >= TARGET_SPEEDUP
        print("\nSummary")
        print(f"  Pillow {PIL.__version__}; reduce-on-decode: {draft_info}")
        print(f"  photos: {len(full)} × 12 MP (input median {mb(statistics.median(full_sizes))}), "
              f"display copy median {mb(statistics.median(display_sizes))}")
        print(f"  pipeline  {summary(total)}")
        print(f"  standard  {summary(naive_times)}")
        print(f"  speed-up (standard recipe median / pipeline median): {speedup:.2f}×   (CPU-time medians: pipeline "
              f"{statistics.median([t['cpu'] for t in times]) * 1000:.1f} ms, standard {statistics.median(naive_cpu) * 1000:.1f} ms)")
        load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
        pipe_cpu = statistics.median([t["cpu"] for t in times]) * 1000
        busy = statistics.median(total) * 1000 > 1.10 * (pipe_cpu + statistics.median([t["storage"] for t in times]) * 1000)
        print(f"  load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
              f"{'  (wall time well above CPU time: other work was running, wall times are inflated)' if busy else ''}")
        print(f"  photo.js copies as inputs: pipeline median {statistics.median([t['total'] for t in phone_times]) * 1000:.1f} ms")
        print(f"  target median ≤ {TARGET_MEDIAN_MS:.0f} ms: {'met' if fast else 'MISSED'} ({pipe_median:.1f} ms)")
        print(f"  target ≥ {TARGET_SPEEDUP:.0f}× faster than the standard recipe: {'met' if faster else 'MISSED'} ({speedup:.2f}×)")
        print(f"  target every photo.js copy ≤ 500 KB: {'met' if not over else 'MISSED'} ({over} over)")
        passed = fast and faster and not over
        print(f"  RESULT: {'PASS' if passed else 'FAIL'}")
        return 0 if passed else 1
    finally:
        if args.keep:
            print(f"kept: {work}" + (f" and {photo_dir}" if args.dir else ""))
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
