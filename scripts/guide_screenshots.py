"""The guides' screenshots (docs/images): the demo, driven in Chromium at 360 px, as each role sees it.

    .venv/bin/python scripts/guide_screenshots.py [--out docs/images] [--port 18340] [--only NAME ...]

It builds the demo in a throwaway folder (the data of ``make run``, plus a few secret visits for
the shopper and the reviewer, and one backup for the system page), serves it on a loopback port
with the browser tests' machinery (werkzeug in a thread, Playwright driving Debian's Chromium
with --no-sandbox) and writes one optimised PNG per entry of ``SHOTS``; the notice PDF's first
page is rendered by pdftoppm. Run it whenever the screens change and commit the PNGs.

``SHOTS`` is the declared list: tests/guides checks, without a browser, that every image a guide
or the README refers to is one of them.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
WIDTH, HEIGHT = 360, 740
CHROMIUM_ARGS = ["--no-sandbox", "--lang=zh-CN", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class Shot:
    user: str
    path: str  # may name ids found in the demo: {draft}, {line_answered}, …
    height: int = HEIGHT  # the top of the page, this tall (a phone's screen by default)
    scroll_to: str | None = None  # a selector brought up to just below the sticky header first


SHOTS: dict[str, Shot] = {
    "inspector-home": Shot("inspector", "/home"),
    "inspector-tour": Shot("inspector", "/home?tour=1"),
    "inspector-checkin": Shot("inspector", "/visits/{today_visit}/checkin"),
    "inspector-fill": Shot("inspector", "/visits/{draft}/fill", scroll_to="#item-{failed_item}"),
    "inspector-result": Shot("inspector", "/visits/{released}"),
    "inspector-recheck": Shot("inspector", "/lines/{line_answered}"),
    "shopper-home": Shot("shopper", "/home"),
    "shopper-fill": Shot("shopper", "/visits/{secret_draft}/fill"),
    "reviewer-queue": Shot("reviewer", "/review"),
    "reviewer-review": Shot("reviewer", "/review/{secret_review}"),
    "chief-home": Shot("chief", "/home"),
    "chief-notice": Shot("chief", "/notices/{notice}"),
    "chief-line": Shot("chief", "/lines/{line_open}", height=900),
    "manager-board": Shot("manager", "/board", height=1100),
    "manager-schedule": Shot("manager", "/schedule"),
    "manager-stars": Shot("manager", "/stars"),
    "manager-bulletin": Shot("manager", "/bulletins"),
    "handler-home": Shot("handler", "/home"),
    "handler-new": Shot("handler", "/complaints/new"),
    "handler-detail": Shot("handler", "/complaints/{complaint}"),
    "admin-accounts": Shot("admin", "/admin/users"),
    "admin-outlets": Shot("admin", "/outlets"),
    "admin-system": Shot("admin", "/admin/system"),
    "quality-config": Shot("admin", "/admin/config"),
    "quality-import": Shot("admin", "/indicators/import"),
    "quality-ranking": Shot("director", "/indicators"),
}
#: Made from the PDF, not a page: the first page of the chief's notice.
PDF_SHOTS = {"notice-pdf": ("chief", "/notices/{notice}/pdf")}


def shot_names() -> set[str]:
    """Every file the script writes (``<name>.png``), for the test that guides refer to real ones."""
    return {f"{name}.png" for name in (*SHOTS, *PDF_SHOTS)}


# --- the demo ------------------------------------------------------------------------------------

def build_demo(folder: Path):
    """The app of ``make run`` on a fresh database in ``folder``, with its demo data, plus what the
    guides show that the demo lacks; returns (app, the ids the shots' paths name)."""
    from sqlmodel import Session

    from inspect_app import create_app, demo
    from inspect_app.db import get_engine, migrate
    from inspect_app.rectifications.stats import rebuild

    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'inspect.db'}", "INSTANCE_PATH": str(folder),
                      "MEDIA_ROOT": str(folder / "media"), "SECRET_KEY": "guide-screenshots"})
    migrate(app.config["DATABASE_URL"])
    logging.getLogger("inspect_app.audit.services").setLevel(logging.WARNING)  # as `inspect-app demo` does
    with app.app_context(), app.test_request_context(), Session(get_engine()) as session:
        demo.load_demo(session)
        demo.load_demo_visits(session)
        demo.load_demo_complaints(session)
        demo.load_demo_plans(session)
        demo.load_demo_operating_values(session)
        rebuild(session)
        session.commit()
        ids = _extras(app, session)
        session.commit()
    return app, ids


def demo_in(folder: Path):
    """The demo of an earlier run with ``--work`` when it is there, else a new one."""
    saved = folder / "shot-ids.json"
    if saved.is_file():
        from inspect_app import create_app

        return create_app({"DATABASE_URL": f"sqlite:///{folder / 'inspect.db'}", "INSTANCE_PATH": str(folder),
                           "MEDIA_ROOT": str(folder / "media"), "SECRET_KEY": "guide-screenshots"}), \
            json.loads(saved.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    app, ids = build_demo(folder)
    saved.write_text(json.dumps(ids))
    return app, ids


def _jpeg(color) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), color)
    ImageDraw.Draw(image).rectangle((120, 380, 680, 560), fill=(235, 235, 230))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _extras(app, session) -> dict:
    """Secret visits (one scheduled, one half done, one in review), a backup, the tours seen; and
    the ids of the objects the shots open."""
    from sqlmodel import select

    from inspect_app import backup, clock
    from inspect_app.auth.models import User
    from inspect_app.complaints.models import Complaint
    from inspect_app.evidence.storage import get_storage
    from inspect_app.guides.services import mark_tour_seen
    from inspect_app.org.models import Outlet
    from inspect_app.rectifications.models import LineStatus, RectificationLine, RectificationNotice
    from inspect_app.rectifications.services import branch_chiefs_of
    from inspect_app.visits import secret, timers
    from inspect_app.visits import services as visits
    from inspect_app.visits.models import Visit, VisitStatus

    users = {u.username: u for u in session.exec(select(User)).all()}
    manager, shopper, inspector, chief = users["manager"], users["shopper"], users["inspector"], users["chief"]
    outlets = session.exec(select(Outlet).where(Outlet.code.startswith("3301")).order_by(Outlet.code)).all()
    today = clock.today(outlets[0].timezone)
    chief_outlets = {o.id for o in outlets if chief.id in {u.id for u in branch_chiefs_of(session, o.id)}}
    others = [o for o in outlets if o.id not in chief_outlets]

    def schedule(outlet):
        return visits.schedule_visits(session, actor=manager, checklist_code="secret_visit", outlet_ids=[outlet.id],
                                      assignee=shopper, due_from=today, due_until=today + dt.timedelta(days=6))[0]

    schedule(others[10])  # waiting on the shopper's home
    draft = schedule(others[11])
    visits.check_in(session, actor=shopper, visit=draft, lat=others[11].lat, lon=others[11].lon, accuracy=18)
    draft.checkin_at = draft.started_at = start = clock.now() - dt.timedelta(minutes=15)  # checked in at the door
    for k, name in enumerate(list(timers.TIMERS)[:2]):
        secret.set_timer(session, actor=shopper, visit=draft, name=name, at=start + dt.timedelta(minutes=4 * k))

    review = schedule(others[12])
    visits.check_in(session, actor=shopper, visit=review, lat=others[12].lat, lon=others[12].lon, accuracy=22)
    review.checkin_at = review.started_at = start = clock.now() - dt.timedelta(minutes=45)
    for k, name in enumerate(timers.TIMERS):
        secret.set_timer(session, actor=shopper, visit=review, name=name, at=start + dt.timedelta(minutes=3 * k))
    failed = False
    for item in visits.checklist_of(session, review).items:
        if item.rule == "timer":
            continue
        if not failed and item.rule == "pass_fail" and not item.red_line and not item.photo_on_fail:
            visits.save_answer(session, actor=shopper, visit=review, item_code=item.code, result="fail",
                               note="工作人员未起身迎候,也没有问好")
            failed = True
        elif item.rule == "per_occurrence":
            visits.save_answer(session, actor=shopper, visit=review, item_code=item.code, occurrences=0)
        elif item.rule == "scale":
            visits.save_answer(session, actor=shopper, visit=review, item_code=item.code, scale_value=item.scale_max)
        else:
            visits.save_answer(session, actor=shopper, visit=review, item_code=item.code, result="pass")
    for purpose, color in (("receipt", (250, 250, 240)), ("general", (40, 110, 70)), ("general", (70, 80, 150)),
                           ("general", (150, 70, 60))):
        visits.add_visit_photo(session, get_storage(), actor=shopper, visit=review, data=_jpeg(color),
                               item_code=None, purpose=purpose)
    secret.save_details(session, actor=shopper, visit=review, counter_number="2",
                        impression="进门取号后排队约三分钟。2 号窗口的工作人员没有起身迎候,也没有问好;"
                                   "办理寄件时询问了物品内容并查验了身份证,唱收唱付清楚,最后道别。"
                                   "大厅整洁,宣传资料摆放整齐,叫号屏和自助设备都正常。")
    try:
        visits.submit_visit(session, actor=shopper, visit=review, token=f"guide-{review.id}")
    except visits.IncompleteVisit as exc:
        raise SystemExit(f"the shopper's visit would not submit: {exc.missing} {exc.warnings}") from None
    session.flush()

    # the inspector's draft: after the eight passes, a failure with its note and photo
    inspector_draft = session.exec(select(Visit).where(Visit.assignee_id == inspector.id,
                                                       Visit.status == VisitStatus.in_progress)).first()
    answered = set(visits.answers_of(session, inspector_draft))
    failing = next(i for i in visits.checklist_of(session, inspector_draft).items
                   if i.code not in answered and i.rule == "pass_fail" and i.photo_on_fail)
    note = {"SET-05": "柜台内电脑线缆散乱未捆扎,打印纸堆在台面"}.get(failing.code, "现场不符合要求,已拍照并当场告知负责人")
    visits.save_answer(session, actor=inspector, visit=inspector_draft, item_code=failing.code, result="fail", note=note)
    visits.add_visit_photo(session, get_storage(), actor=inspector, visit=inspector_draft, data=_jpeg((120, 90, 60)),
                           item_code=failing.code)
    # a notice that has just arrived at the chief's outlet: today's inspection, two failures with photos
    chief_outlet = session.get(Outlet, min(chief_outlets))
    fresh = visits.start_adhoc_visit(session, actor=inspector, outlet=chief_outlet, checklist_code="open_inspection",
                                      despite_planned=True)
    visits.check_in(session, actor=inspector, visit=fresh, lat=chief_outlet.lat, lon=chief_outlet.lon, accuracy=10)
    failures = {"ENV-03": "橱窗内仍张贴已结束的中秋寄递活动海报", "UNI-02": "资费公示表为旧版,未随资费调整更新"}
    items = visits.checklist_of(session, fresh).items
    if not set(failures) <= {i.code for i in items}:
        raise SystemExit(f"open_inspection no longer has {sorted(failures)}: choose the notice's failures again")
    for item in items:
        if item.code in failures:
            visits.save_answer(session, actor=inspector, visit=fresh, item_code=item.code, result="fail",
                               note=failures[item.code])
            visits.add_visit_photo(session, get_storage(), actor=inspector, visit=fresh, data=_jpeg((90, 100, 130)),
                                   item_code=item.code)
        elif item.rule == "per_occurrence":
            visits.save_answer(session, actor=inspector, visit=fresh, item_code=item.code, occurrences=0)
        elif item.rule == "scale":
            visits.save_answer(session, actor=inspector, visit=fresh, item_code=item.code, scale_value=item.scale_max)
        elif item.rule != "timer":
            visits.save_answer(session, actor=inspector, visit=fresh, item_code=item.code, result="pass")
    visits.submit_visit(session, actor=inspector, visit=fresh, token=f"guide-{fresh.id}", accept_warnings=True)
    session.flush()
    checkin_outlet = session.get(Outlet, session.exec(
        select(Visit.outlet_id).where(Visit.assignee_id == inspector.id, Visit.status == VisitStatus.scheduled,
                                      Visit.due_from <= today, Visit.due_until >= today).order_by(Visit.id)).first())

    def first(query):
        found = session.exec(query.limit(1)).first()
        if found is None:
            raise SystemExit(f"the demo has nothing for {query}")
        return found

    ids = {
        "today_visit": first(select(Visit.id).where(Visit.assignee_id == inspector.id,
                                                    Visit.status == VisitStatus.scheduled, Visit.due_from <= today,
                                                    Visit.due_until >= today).order_by(Visit.id)),
        "draft": inspector_draft.id, "failed_item": failing.code,
        "geo": [checkin_outlet.lat, checkin_outlet.lon],
        "released": first(select(Visit.id).join(RectificationNotice, RectificationNotice.visit_id == Visit.id)
                          .where(Visit.assignee_id == inspector.id, Visit.status == VisitStatus.released)
                          .order_by(Visit.released_at.desc())),
        "line_answered": first(select(RectificationLine.id).join(Visit, Visit.id == RectificationLine.visit_id)
                               .where(RectificationLine.status == LineStatus.answered,
                                      Visit.assignee_id == inspector.id).order_by(RectificationLine.id)),
        "notice": first(select(RectificationNotice.id).where(RectificationNotice.visit_id == fresh.id)),
        "line_open": first(select(RectificationLine.id).where(
            RectificationLine.outlet_id.in_(chief_outlets),
            RectificationLine.status.in_([LineStatus.acknowledged, LineStatus.issued, LineStatus.returned]))
            .order_by(RectificationLine.deadline_at)),
        "complaint": first(select(Complaint.id).where(Complaint.owner_id == users["handler"].id,
                                                      Complaint.status == "handling").order_by(Complaint.id.desc())),
        "secret_draft": draft.id, "secret_review": review.id,
    }
    for user in users.values():  # the tour has its own shot; elsewhere it would cover the page
        mark_tour_seen(session, user=user, skipped=False)
    session.commit()
    backup.backup(database_url=app.config["DATABASE_URL"], media_root=app.config["MEDIA_ROOT"],
                  target=Path(app.instance_path) / "backups" / f"inspect-{clock.local_now():%Y%m%d-%H%M%S}.tar.gz")
    return ids


# --- the pictures --------------------------------------------------------------------------------

def save_png(data: bytes, target: Path, height: int) -> int:
    """The top ``height`` pixels, 360 wide, as a 256-colour PNG (a screen of text needs no more)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width != WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    image = image.crop((0, 0, WIDTH, min(height, image.height)))
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        target, "PNG", optimize=True)
    return target.stat().st_size


def pdf_page_png(pdf: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "notice.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-scale-to-x", str(WIDTH),
                        "-scale-to-y", "-1", str(source), str(Path(tmp) / "page")], check=True)
        return next(Path(tmp).glob("page*.png")).read_bytes()


def shoot(base: str, ids: dict, out: Path, only: set[str] | None) -> list[tuple[str, int]]:
    from playwright.sync_api import sync_playwright

    from inspect_app.demo import DEMO_PASSWORD

    wanted = {n: s for n, s in SHOTS.items() if not only or n in only}
    pdfs = {n: s for n, s in PDF_SHOTS.items() if not only or n in only}
    users = sorted({s.user for s in wanted.values()} | {u for u, _ in pdfs.values()})
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=CHROMIUM_ARGS)
        for username in users:
            lat, lon = ids["geo"]  # standing at the door of the inspector's outlet of the day
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1,
                                          is_mobile=True, has_touch=True, locale="zh-CN",
                                          timezone_id="Asia/Shanghai", permissions=["geolocation"],
                                          geolocation={"latitude": lat, "longitude": lon, "accuracy": 12})
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(base + "/login")
            page.fill("#username", username)
            page.fill("#password", DEMO_PASSWORD)
            page.locator("form button.btn-primary").click()
            page.wait_for_url(lambda url: "/login" not in url)
            for name, shot in wanted.items():
                if shot.user != username:
                    continue
                # a taller screen rather than a full-page shot: the tab bar stays at the bottom
                page.set_viewport_size({"width": WIDTH, "height": shot.height})
                page.goto(base + shot.path.format(**ids))
                page.wait_for_load_state("networkidle")
                if shot.scroll_to:
                    page.locator(shot.scroll_to.format(**ids)).first.evaluate(
                        "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 140)")
                page.wait_for_timeout(400)
                data = page.screenshot()
                written.append((name, save_png(data, out / f"{name}.png", shot.height)))
            for name, (owner, path) in pdfs.items():
                if owner == username:
                    response = context.request.get(base + path.format(**ids))
                    if not response.ok or response.headers.get("content-type") != "application/pdf":
                        raise SystemExit(f"{name}: {response.status} {response.headers.get('content-type')}")
                    written.append((name, save_png(pdf_page_png(response.body()), out / f"{name}.png", 10_000)))
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--port", type=int, default=18340, help="a free loopback port for the demo server")
    parser.add_argument("--only", nargs="*", help="just these shots (names without .png)")
    parser.add_argument("--work", type=Path, help="keep the demo in this folder and reuse it on the next run "
                                                  "(default: a throwaway folder)")
    args = parser.parse_args()
    from werkzeug.serving import make_server

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="guide-shots-") as tmp:
        app, ids = demo_in(args.work or Path(tmp))
        server = make_server("127.0.0.1", args.port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            written = shoot(f"http://127.0.0.1:{args.port}", ids, args.out, set(args.only or ()) or None)
        finally:
            server.shutdown()
            app.extensions["db_engine"].dispose()
    for name, size in written:
        print(f"{args.out / name}.png  {size / 1024:.0f} KB")
    total = sum(p.stat().st_size for p in args.out.glob("*.png"))
    print(f"{len(written)} written; docs images {total / 1e6:.2f} MB in all", file=sys.stderr)


if __name__ == "__main__":
    main()
