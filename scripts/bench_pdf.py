"""PDF benchmark, through the real views in one running process (renders warm).

    .venv/bin/python scripts/bench_pdf.py [--runs 10]

What it measures:
- a Chinese rectification notice of 10, 40 and 100 lines with one photo per line (the growth per
  line is what a long notice costs), and the 40-line notice of a real visit with 20 photos.
  Columns: ``first s`` the first render (printed copies made); ``median s`` / ``max s`` wall time
  and ``CPU s`` this process's CPU time of a render (the kept copy is dropped before each, so
  these are the honest cost of rendering: the ≤ 0.5 s target is about rendering);
  ``CPU ms/line`` the growth per added line; ``kept ms`` / ``kept CPU ms`` the median wall and CPU
  time of the same download served from its kept copy (``reports.kept_notices``: the notice unchanged
  since it was rendered) through the real view, test client signed in as the manager, as a web
  request (not the worker's replay), with ``load`` the 1-minute load average while it ran;
- the process's memory before the first notice and after them (Typst keeps its fonts and caches),
  and what one more 100-line notice adds at its peak;
- the visit report (检查报告) with 20 and 60 photos: time, PDF size and the memory one render adds
  (peak RSS during the request above RSS before it, VmHWM reset per render; Linux);
- the monthly bulletin for 200 outlets.
Photos are 2,048 px phone copies stored through the real pipeline (display 1,600 px, thumb
320 px); the printed copies (``evidence.services.sized_copy``) are made on the first (untimed)
render and read back on the timed ones, as on a server that printed the document before.
Renders go through ``pdf.render`` as the worker's do (the garbage collector paused for the render
included). The CPU column is this process's CPU time: on the shared 2-core machine other sessions'
load inflates wall time far more than CPU time, so compare CPU across runs and read the load.
What it leaves out: the network and the browser's download; the first render of a document
(fonts found, templates compiled, printed copies made) is reported once, not in the medians;
photos are synthetic (noise and shapes), so JPEG sizes are close to, not equal to, real ones.

Prints the renderers (notices: Typst; the other papers: WeasyPrint and its font subsetter), the load average, median and max render times and
sizes; exits 1 when a target is missed (a 100-line notice with 100 photos ≤ 0.5 s median; the 40-line
notice ≤ 0.5 s and ≤ 3 MB; a visit report with 60 photos ≤ 5 MB and ≤ 50 MB more memory; the
bulletin ≤ 2 s).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typst  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from inspect_app import (
    clock,  # noqa: E402
    create_app,  # noqa: E402
)
from inspect_app.auth.models import Role, User  # noqa: E402
from inspect_app.auth.services import SESSION_KEY, create_user, open_session  # noqa: E402
from inspect_app.db import migrate  # noqa: E402
from inspect_app.downloads.services import DEFERRED  # noqa: E402
from inspect_app.evidence import imaging  # noqa: E402
from inspect_app.evidence.models import Photo  # noqa: E402
from inspect_app.evidence.services import VARIANTS  # noqa: E402
from inspect_app.evidence.storage import get_storage, new_prefix  # noqa: E402
from inspect_app.org import services as org  # noqa: E402
from inspect_app.rectifications.models import RectificationLine, RectificationNotice  # noqa: E402
from inspect_app.reports import pdf  # noqa: E402
from inspect_app.reports.models import KeptNoticePdf  # noqa: E402
from inspect_app.visits import services as visits  # noqa: E402
from inspect_app.visits.models import Visit, VisitStatus  # noqa: E402


def photo(rng: random.Random) -> bytes:
    """A phone-like picture (noise and shapes compress like a real photo), 2048 px long edge."""
    image = Image.effect_noise((2048, 1536), 40).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rng.randint(0, 1900), rng.randint(0, 1400)
        draw.rectangle((x, y, x + rng.randint(50, 400), y + rng.randint(50, 300)),
                       fill=tuple(rng.randint(0, 255) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def build(app, rng: random.Random) -> tuple[int, int]:
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as db:
        province = org.create_unit(db, actor=None, code="33", name="浙江省", parent=None)
        manager = create_user(db, actor=None, username="manager", display_name="王经理", password="bench-2026",
                              role=Role.manager, unit_id=province.id)
        inspector = create_user(db, actor=None, username="inspector", display_name="李明", password="bench-2026",
                                role=Role.inspector, unit_id=province.id)
        outlets = []
        for c in range(4):
            city = org.create_unit(db, actor=None, code=f"33{c:02d}", name=f"第{c + 1}市", parent=province)
            for k in range(5):
                county = org.create_unit(db, actor=None, code=f"33{c:02d}{k:02d}", name=f"第{c + 1}市第{k + 1}区",
                                         parent=city)
                for n in range(10):
                    outlets.append(org.save_outlet(db, actor=None, outlet=None, code=f"{county.code}{n:03d}",
                                                   name=f"{county.name}第{n + 1}邮政营业所", address="测试路 1 号",
                                                   lat=30.2, lon=120.1, unit_id=county.id, timezone="Asia/Shanghai"))
        create_user(db, actor=None, username="chief", display_name="张丽", password="bench-2026",
                    role=Role.branch_chief, outlet_ids=[outlets[0].id])
        # the notice: 40 failures with notes, 20 of them with a photo
        visit = visits.start_adhoc_visit(db, actor=inspector, outlet=outlets[0], checklist_code="open_inspection")
        visits.check_in(db, actor=inspector, visit=visit, lat=30.2, lon=120.1, accuracy=10)
        checklist = visits.checklist_of(db, visit)
        needs_photo = [i.code for i in checklist.items if i.photo_on_fail and not i.red_line][:20]
        plain = sorted((i for i in checklist.items if not i.photo_on_fail and i.rule != "timer"),
                       key=lambda i: i.red_line)  # a red line too, if the sheet runs short
        plain = [i.code for i in plain][:40 - len(needs_photo)]
        failing = set(needs_photo) | set(plain)
        assert len(failing) == 40, len(failing)
        photos_left = 20
        for item in checklist.items:
            fail = item.code in failing
            note = "现场检查发现该问题,工作人员未按规范执行,已当场指出并要求整改。" if fail else None
            if item.rule == "per_occurrence":
                visits.save_answer(db, actor=inspector, visit=visit, item_code=item.code, occurrences=2 if fail else 0,
                                   note=note)
            elif item.rule == "scale":
                visits.save_answer(db, actor=inspector, visit=visit, item_code=item.code,
                                   scale_value=0 if fail else item.scale_max, note=note)
            else:
                visits.save_answer(db, actor=inspector, visit=visit, item_code=item.code,
                                   result="fail" if fail else "pass", note=note)
            if fail and photos_left > 0 and (item.photo_on_fail or photos_left > len(
                    [c for c in needs_photo if c not in {a.item_code for a in visits.answers_of(db, visit).values()}])):
                visits.add_visit_photo(db, get_storage(), actor=inspector, visit=visit, data=photo(rng),
                                         item_code=item.code)
                photos_left -= 1
        visits.submit_visit(db, actor=inspector, visit=visit, token="bench")
        db.commit()
        notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
        lines = len(db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).all())
        # a month of results for 200 outlets: visits and lines straight into the tables
        last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=10)
        moment = dt.datetime.combine(last_month, dt.time(3), dt.timezone.utc)
        for outlet in outlets:
            for k in range(3):
                v = Visit(checklist_version_id=visit.checklist_version_id, checklist_code="open_inspection", kind="open",
                          outlet_id=outlet.id, assignee_id=inspector.id, status=VisitStatus.released,
                          score=round(rng.uniform(78, 99), 1), red_line=rng.random() < 0.03, passed=True,
                          checkin_at=moment, submitted_at=moment, released_at=moment + dt.timedelta(days=k))
                db.add(v)
        db.flush()
        notice_rows = []
        for v in db.exec(select(Visit).where(Visit.id != visit.id)).all():
            n = RectificationNotice(visit_id=v.id, outlet_id=v.outlet_id, issued_at=v.released_at, number=f"B{v.id}")
            db.add(n)
            notice_rows.append((n, v))
        db.flush()
        codes = [i.code for i in checklist.items[:25]]
        for n, v in notice_rows:
            for code in rng.sample(codes, 2):
                day = v.released_at.date() + dt.timedelta(days=7)
                db.add(RectificationLine(notice_id=n.id, visit_id=v.id, outlet_id=v.outlet_id, item_code=code,
                                         checklist_kind="open", problem=checklist.item(code).text_zh,
                                         requirement=checklist.item(code).requirement_zh, severity="general",
                                         deadline_date=day, deadline_at=dt.datetime.combine(day, dt.time(16), dt.timezone.utc),
                                         status=rng.choice(["closed", "closed", "answered", "acknowledged"]),
                                         issued_at=v.released_at, closed_at=clock.now()))
        db.commit()
        return notice.id, lines, manager.id, visit.id


def _stored_copies(rng: random.Random, count: int) -> list[tuple[imaging.Processed, bytes]]:
    """A few distinct phone photos through the real pipeline; rows reuse them under their own keys."""
    made = []
    for _ in range(count):
        original = photo(rng)
        made.append((imaging.process(original, stamp_text="B-0001  2026-12-01 10:00"), original))
    return made


def add_photos(db, storage, copies, *, visit: Visit, item_codes: list[str], uploaded_by: int) -> None:
    """Photo rows with their files (original, display, thumb), one per code given, in order."""
    for n, code in enumerate(item_codes):
        processed, original = copies[n % len(copies)]
        prefix = new_prefix()
        storage.put(f"{prefix}/{VARIANTS['original']}", original, "image/jpeg")
        storage.put(f"{prefix}/{VARIANTS['display']}", processed.display, "image/jpeg")
        storage.put(f"{prefix}/{VARIANTS['thumb']}", processed.thumb, "image/jpeg")
        db.add(Photo(visit_id=visit.id, item_code=code, purpose="item", outlet_id=visit.outlet_id,
                     sha256=hashlib.sha256(prefix.encode()).hexdigest(), storage_key=prefix, content_type="image/jpeg",
                     width=processed.width, height=processed.height, size_bytes=len(original),
                     uploaded_by_id=uploaded_by))


def long_notice(app, visit_id: int, copies, lines: int) -> int:
    """A notice of ``lines`` lines on a released visit, each line with one photo of its own."""
    with app.test_request_context(), Session(app.extensions["db_engine"]) as db:
        base = db.get(Visit, visit_id)
        moment = clock.now() - dt.timedelta(days=3)
        visit = Visit(checklist_version_id=base.checklist_version_id, checklist_code=base.checklist_code, kind="open",
                      outlet_id=base.outlet_id, assignee_id=base.assignee_id, status=VisitStatus.released,
                      score=61.5, red_line=False, passed=False, checkin_at=moment, submitted_at=moment,
                      released_at=moment)
        db.add(visit)
        db.flush()
        notice = RectificationNotice(visit_id=visit.id, outlet_id=visit.outlet_id, issued_at=moment,
                                     number=f"BENCH-{lines}")
        db.add(notice)
        db.flush()
        codes = [f"B-{n:03d}" for n in range(lines)]
        for n, code in enumerate(codes):
            day = moment.date() + dt.timedelta(days=1 + n % 15)
            db.add(RectificationLine(
                notice_id=notice.id, visit_id=visit.id, outlet_id=visit.outlet_id, item_code=code,
                checklist_kind="open", problem=f"第{n + 1}项:现场检查发现该问题,工作人员未按规范执行,已当场指出并要求整改。",
                requirement="按规范整改,拍摄整改后照片在系统中回复。", severity="general", deadline_date=day,
                deadline_at=dt.datetime.combine(day, dt.time(16), dt.timezone.utc),
                status="closed" if n % 3 == 0 else "issued", issued_at=moment))
        add_photos(db, get_storage(), copies, visit=visit, item_codes=codes, uploaded_by=base.assignee_id)
        db.commit()
        return notice.id


def report_photos(app, visit_id: int, copies, total: int) -> None:
    """Brings the visit's item photos up to ``total``, spread over its failed items (a report
    shows up to 4 per item)."""
    with app.test_request_context(), Session(app.extensions["db_engine"]) as db:
        visit = db.get(Visit, visit_id)
        have = db.exec(select(Photo).where(Photo.visit_id == visit_id, Photo.item_code.is_not(None))).all()
        failing = sorted({line.item_code for line in db.exec(
            select(RectificationLine).where(RectificationLine.visit_id == visit_id)).all()})
        counts = {code: sum(1 for p in have if p.item_code == code) for code in failing}
        wanted = []
        for _ in range(total - len(have)):
            code = min(failing, key=lambda c: (counts[c], c))
            counts[code] += 1
            wanted.append(code)
        add_photos(db, get_storage(), copies, visit=visit, item_codes=wanted, uploaded_by=visit.assignee_id)
        db.commit()


def vm(field: str) -> int:
    """VmRSS / VmHWM in kB (Linux), 0 elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def render_memory(client, url: str, app=None) -> float:
    """MB one render adds at its peak: VmHWM reset to the current RSS, then peak − RSS before; with
    ``app``, the kept copies are dropped first, so it renders."""
    import gc

    if app is not None:
        forget_kept(app)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return float("nan")
    before = vm("VmRSS")
    response = client.get(url)
    assert response.status_code == 200
    return (vm("VmHWM") - before) / 1024


def traced_peak(client, url: str) -> float:
    """MB of Python objects alive at the peak of one render (tracemalloc: what WeasyPrint holds of
    the images and boxes; C buffers are not traced). Kept apart: tracing slows the render."""
    import tracemalloc

    tracemalloc.start()
    client.get(url)
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return peak


def forget_kept(app) -> None:
    """Drop the kept notice PDFs (rows and files), so the next download renders."""
    with app.app_context(), Session(app.extensions["db_engine"]) as db:
        for row in db.exec(select(KeptNoticePdf)).all():
            get_storage().delete(row.storage_key)
            db.delete(row)
        db.commit()


def timed(client, url: str, runs: int, app=None) -> tuple[list[float], int, list[float]]:
    """Wall and CPU time of ``runs`` renders (wall time grows when other work shares the cores);
    with ``app``, the kept copies are dropped before each (untimed), so each one renders."""
    times, size = [], 0
    cpu = []
    for _ in range(runs):
        if app is not None:
            forget_kept(app)
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert response.status_code == 200 and response.mimetype == "application/pdf", (url, response.status_code)
        size = len(response.data)
    return times, size, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--save", metavar="DIR", help="write the notices' PDFs there, to look at them")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate(url)
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "MEDIA_ROOT": str(tmp / "media"),
                          "SECRET_KEY": "bench"})
        rng = random.Random(5)
        notice_id, lines, manager_id, visit_id = build(app, rng)
        copies = _stored_copies(rng, 8)
        client = app.test_client()
        # rendered as the worker renders them (a web request only queues a bulletin or a long notice)
        client.environ_base[DEFERRED] = True
        with Session(app.extensions["db_engine"]) as db:
            manager = db.get(User, manager_id)
            sid = open_session(db, user=manager, user_agent="bench", ip="127.0.0.1")
            db.commit()
            token = manager.get_id()
            with client.session_transaction() as sess:
                sess["_user_id"], sess["_fresh"], sess[SESSION_KEY] = token, True, sid
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"Notices typeset by Typst {typst.__version__}; other papers by WeasyPrint (font subsetter: "
              f"{pdf.subsetter()}); load average at start {load} on {os.cpu_count()} CPUs")
        ok = True

        # the same person downloading as a web request (not the worker's replay): served kept copies
        web = app.test_client()
        with web.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"], sess[SESSION_KEY] = token, True, sid

        print("\nnotice, one photo per line (first render makes the printed copies; then warm renders, each "
              "rendering: kept copies dropped; then the kept copy served)")
        print(f"{'lines':>6} {'photos':>7} {'first s':>8} {'median s':>9} {'max s':>7} {'CPU s':>7} {'MB':>6} "
              f"{'CPU ms/line':>12} {'kept ms':>8} {'kept CPU ms':>12} {'load':>5}")
        growth, cpu_of = {}, {}
        rss_before = vm("VmRSS") / 1024
        for count in (10, 40, 100):
            nid = long_notice(app, visit_id, copies, count)
            url = f"/notices/{nid}/pdf"
            started = time.perf_counter()
            client.get(url)
            first = time.perf_counter() - started
            times, size, cpu = timed(client, url, args.runs, app)
            growth[count] = statistics.median(times)
            cpu_of[count] = statistics.median(cpu)
            # per added line from CPU time, which other work on the cores inflates far less than wall time
            per_line = (cpu_of[count] - cpu_of[10]) / (count - 10) * 1000 if count > 10 else float("nan")
            rendered = client.get(url).data  # kept by this render
            if args.save:
                Path(args.save, f"notice-{count}.pdf").write_bytes(rendered)
            kept_times, kept_size, kept_cpu = timed(web, url, max(10, args.runs))
            assert kept_size == len(rendered), "the kept copy differs from the render"
            print(f"{count:6d} {count:7d} {first:8.3f} {statistics.median(times):9.3f} {max(times):7.3f} "
                  f"{statistics.median(cpu):7.3f} {size / 1e6:6.2f} {per_line:12.1f} "
                  f"{statistics.median(kept_times) * 1000:8.1f} {statistics.median(kept_cpu) * 1000:12.1f} "
                  f"{os.getloadavg()[0]:5.2f}")
        ok = ok and growth[100] <= 0.5
        notice_url = f"/notices/{nid}/pdf"
        print(f"process RSS {rss_before:.0f} MB before the first notice, {vm('VmRSS') / 1024:.0f} MB after them "
              f"(Typst keeps its fonts and caches in the process); one more 100-line render adds "
              f"{max(render_memory(client, notice_url, app) for _ in range(3)):.1f} MB at its peak")

        client.get(f"/notices/{notice_id}/pdf")
        notice_times, notice_size, cpu = timed(client, f"/notices/{notice_id}/pdf", args.runs, app)
        if args.save:
            Path(args.save, "notice-real.pdf").write_bytes(client.get(f"/notices/{notice_id}/pdf").data)
        print(f"\nnotice of a real visit: {lines} lines, 20 photos: median {statistics.median(notice_times):.3f} s "
              f"(CPU {statistics.median(cpu):.3f} s), max {max(notice_times):.3f} s, size {notice_size / 1e6:.2f} MB")
        ok = ok and statistics.median(notice_times) <= 0.5 and notice_size <= 3e6

        print("\nvisit report (检查报告), 40 failed items")
        print(f"{'photos':>7} {'first s':>8} {'median s':>9} {'CPU s':>7} {'MB':>6} {'RSS peak +MB':>13} {'traced MB':>10}")
        for count in (20, 60):
            report_photos(app, visit_id, copies, count)
            url = f"/visits/{visit_id}/pdf"
            started = time.perf_counter()
            client.get(url)
            first = time.perf_counter() - started
            times, size, cpu = timed(client, url, max(3, args.runs // 2))
            memory = max(render_memory(client, url) for _ in range(3))
            traced = traced_peak(client, url)
            print(f"{count:7d} {first:8.3f} {statistics.median(times):9.3f} {statistics.median(cpu):7.3f} "
                  f"{size / 1e6:6.2f} {memory:13.1f} {traced:10.1f}")
            if count == 60:
                ok = ok and size <= 5e6 and memory <= 50 and traced <= 50

        month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).isoformat()
        bulletin_url = f"/bulletins/pdf?kind=month&date={month}"
        client.get(bulletin_url)
        bulletin_times, bulletin_size, cpu = timed(client, bulletin_url, max(3, args.runs // 2))
        print(f"\nmonthly bulletin, 200 outlets, 600 visits, 1200 lines: median {statistics.median(bulletin_times):.3f} s, "
              f"max {max(bulletin_times):.3f} s, size {bulletin_size / 1e6:.2f} MB")
        ok = ok and statistics.median(bulletin_times) <= 2.0
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"load average at the end {load}")
        print("targets met" if ok else "TARGET MISSED (100-line notice ≤ 0.5 s; 40-line notice ≤ 0.5 s and ≤ 3 MB; "
              "report with 60 photos ≤ 5 MB and ≤ 50 MB more memory; bulletin ≤ 2 s)")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
