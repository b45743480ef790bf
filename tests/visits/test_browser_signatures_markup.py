"""On a 360 px phone with touch: the inspector fails an item and circles the problem on its photo
with no network, the outlet's person signs with a finger, and once the network is back all of it
arrives exactly once (a lost reply is retried, never stored twice), the photo as taken unchanged.
The visit is submitted; the notice's PDF shows the marked photo and the signature."""
from __future__ import annotations

import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature
from inspect_app.rectifications.models import RectificationNotice
from inspect_app.visits.models import Visit, VisitStatus
from tests import images
from tests.browser_helpers import answer_item, phone, wait_saved
from tests.conftest import OUTPUT, browser_login
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.browser


def draw_with_a_finger(context, page, canvas, points) -> None:
    """A finger's stroke on the canvas, as touch events (Chromium makes pointer events of them)."""
    box = canvas.bounding_box()
    cdp = context.new_cdp_session(page)
    at = [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for point in at[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def lose_first_reply(page, pattern: str, seen: list) -> None:
    """The first request reaches the server but its reply never reaches the phone."""
    def handler(route):
        seen.append(route.request.url)
        if len(seen) == 1:
            route.fetch()  # the server stores it...
            route.abort("connectionreset")  # ...and the phone hears nothing
        else:
            route.continue_()
    page.route(pattern, handler)


def test_offline_markup_and_signature_arrive_once(browser, live_server, app, db, org_tree, people, client_as, media):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], checklist="mini", window=True)
    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1' "
                           "&& document.getElementById('visit').dataset.role === 'writer'")
    items = page.locator("article.item:not([data-rule=timer])")
    for i in range(1, items.count()):
        answer_item(items.nth(i), "pass")
    wait_saved(page)

    # --- the network drops: A-01 fails, its photo is taken and the problem circled
    context.set_offline(True)
    first = page.locator("#item-A-01")
    first.locator("[data-set=fail]").click()
    first.locator("[data-note]").fill("工装不统一,胸牌缺失")
    photo = {"name": "evidence.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg((1600, 1200), seed=11)}
    first.locator("[data-photo-input]").set_input_files(photo)
    thumb = first.locator("figure.thumb")
    thumb.wait_for()
    thumb.locator(".thumb-mark").click()
    editor = page.locator("[data-markup-editor]")
    editor.wait_for()
    page.wait_for_function("() => document.querySelector('[data-markup-editor] canvas').width > 100")
    canvas = editor.locator("canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7, steps=5)
    page.mouse.up()
    editor.locator("[data-tool=arrow]").click()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.72, box["y"] + box["height"] * 0.72, steps=6)
    page.mouse.up()
    editor.locator("[data-tool=text]").click()
    editor.locator("[data-markup-text]").fill("缺胸牌")
    canvas.tap(position={"x": box["width"] * 0.08, "y": box["height"] * 0.12})
    page.screenshot(path=str(OUTPUT / "markup_editor_360.png"))
    editor.locator("[data-markup-save]").click()
    page.wait_for_selector("figure.thumb.is-marked.is-mark-pending")

    # --- the outlet's person signs with a finger, on the same phone, still offline
    card = page.locator("[data-sign-card]")
    card.scroll_into_view_if_needed()
    card.locator("[data-sign-name]").fill("王晓红")
    card.locator("[data-sign-post]").fill("营业主管")
    pad = card.locator("[data-signature-pad] canvas")
    draw_with_a_finger(context, page, pad, [(0.1, 0.5)])  # a tap: no signature
    card.locator("[data-sign-save]").click()
    assert "还不是签名" in card.locator("[data-sign-status]").inner_text()
    card.locator("[data-signature-clear]").click()
    draw_with_a_finger(context, page, pad, [(0.1 + 0.04 * i, 0.3 + (0.35 if i % 2 else 0)) for i in range(18)])
    draw_with_a_finger(context, page, pad, [(0.15, 0.8), (0.5, 0.75), (0.85, 0.7)])
    card.locator("[data-sign-save]").click()
    page.wait_for_selector("[data-sign-current].is-pending")
    page.screenshot(path=str(OUTPUT / "signed_offline_360.png"), full_page=True)
    assert db.exec(select(Photo).where(Photo.visit_id == visit.id)).all() == []
    assert db.exec(select(Signature)).all() == []

    # --- back online; the first reply of each write is lost on the way back, so each is sent twice
    markup_posts, signature_posts = [], []
    lose_first_reply(page, "**/api/visits/*/markups", markup_posts)
    lose_first_reply(page, "**/api/visits/*/signature", signature_posts)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '0'", timeout=60_000)
    wait_saved(page)
    assert len(markup_posts) >= 2 and len(signature_posts) >= 2
    page.wait_for_selector("[data-sign-current]:not(.is-pending)")

    signatures = db.exec(select(Signature)).all()
    assert len(signatures) == 1
    sig = signatures[0]
    assert (sig.purpose, sig.visit_id, sig.signer_name, sig.signer_post, sig.refused) == (
        "visit_confirm", visit.id, "王晓红", "营业主管", False)
    assert sig.sha256 and sig.width >= 300
    photos = db.exec(select(Photo).where(Photo.visit_id == visit.id)).all()
    assert len(photos) == 1 and photos[0].item_code == "A-01"
    markups = db.exec(select(PhotoMarkup)).all()
    assert len(markups) == 1 and photos[0].markup_id == markups[0].id
    kinds = [s["type"] for s in markups[0].shapes["shapes"]]
    assert kinds == ["circle", "arrow", "text"] and markups[0].shapes["shapes"][2]["text"] == "缺胸牌"
    assert (markups[0].shapes["w"], markups[0].shapes["h"]) == (photos[0].width, photos[0].height)
    # the photo as taken: the file sent, byte for byte, unchanged by its marks
    assert photos[0].sha256 == hashlib.sha256(photo["buffer"]).hexdigest()
    assert hashlib.sha256((media / evidence.key(photos[0], "original")).read_bytes()).hexdigest() == photos[0].sha256

    # --- submitted; the notice's PDF prints the marked photo and the outlet's signature
    page.locator("[data-submit-form] button").click()
    page.wait_for_url(re.compile(rf".*/visits/{visit.id}$"), timeout=30_000)
    db.expire_all()
    assert db.get(Visit, visit.id).status == VisitStatus.released
    assert page.locator("#confirmation img").count() == 1 and "王晓红" in page.locator("#confirmation").inner_text()
    assert page.locator(f"a.photo-link.is-marked[href*='/marked/{markups[0].id}/']").count() == 1
    page.screenshot(path=str(OUTPUT / "visit_detail_signed_marked.png"), full_page=True)
    context.close()

    # --- the chief acknowledges on a phone with no network: signed, kept, sent once when it is back
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    context, page = phone(browser)
    browser_login(page, live_server, "chief")
    page.goto(f"{live_server}/notices/{notice.id}")
    page.wait_for_function("() => window.inspectOutbox && document.querySelector('[data-signature-pad] canvas').width > 100")
    context.set_offline(True)
    form = page.locator("form.ack-form")
    form.locator("[name=signer_name]").fill("张卫东")
    draw_with_a_finger(context, page, form.locator("canvas"), [(0.08 + 0.05 * i, 0.6 - (0.3 if i % 3 == 1 else 0))
                                                               for i in range(16)])
    form.locator("button[type=submit]").click()
    form.locator("[data-signature-queued]").wait_for()
    page.screenshot(path=str(OUTPUT / "acknowledge_offline_360.png"), full_page=True)
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is None
    ack_posts: list = []
    lose_first_reply(page, "**/notices/*/acknowledge", ack_posts)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1500)  # the first try's reply is lost: the form stays kept
    page.evaluate("() => window.inspectOutbox.flushForms()")  # the next page, or the next 'online', sends it again
    page.wait_for_selector("main .flash-success", timeout=15_000)
    assert "已签收" in page.locator("main .flash-success").first.inner_text()
    assert len(ack_posts) == 2
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is not None
    acks = db.exec(select(Signature).where(Signature.purpose == "notice_ack")).all()
    assert len(acks) == 1 and acks[0].signer_name == "张卫东"
    context.close()

    response = client_as(people["chief"]).get(f"/notices/{notice.id}/pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "王晓红" in text and "营业主管" in text and "现场确认" in text and "张卫东" in text and "签收时手写签名" in text
    sizes = {image.image.size for page in reader.pages for image in page.images}
    assert (markups[0].width // 2, markups[0].height // 2) in sizes or any(w >= 300 for w, _h in sizes)
    pdf_path = OUTPUT / "notice_signed_marked.pdf"
    pdf_path.write_bytes(response.data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf_path), str(OUTPUT / "notice_signed_marked")], check=True)
    assert (OUTPUT / "notice_signed_marked-1.png").exists()
    report = client_as(people["manager"]).get(f"/visits/{visit.id}/pdf")
    assert "现场确认" in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report.data)).pages)
    (OUTPUT / "visit_report_signed_marked.pdf").write_bytes(report.data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(OUTPUT / "visit_report_signed_marked.pdf"),
                    str(OUTPUT / "visit_report_signed_marked")], check=True)


@pytest.fixture
def media(app) -> Path:
    return Path(app.config["MEDIA_ROOT"])
