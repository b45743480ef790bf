"""Evidence checks on every visit kind and on rectification answers (照片核验): a reused photo (the
other visit named and linked where the viewer may open it, never a secret visit before its
release), a capture time outside the visit or before the finding, none at all, a photo taken far
from the outlet. Shown to those who judge the evidence on the visit, review and line pages and in
the visit report, with each photo's capture time and place; never to the outlet side."""
from __future__ import annotations

import datetime as dt
import io
import subprocess
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlmodel import select

from inspect_app import clock
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationEvent, RectificationLine, RectificationNotice
from inspect_app.visits import photo_checks, secret
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit, VisitStatus
from tests import images, secret_helpers
from tests.browser_helpers import phone as phone_context
from tests.conftest import OUTPUT, browser_login
from tests.visit_helpers import checked_in_visit

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEAR = ((30, 15, 36.0), "N", (120, 7, 48.0), "E")  # the outlet itself (30.26, 120.13)
FAR = ((30, 18, 18.0), "N", (120, 7, 48.0), "E")  # 5 km north
RECEIPT = secret_helpers.jpeg((250, 250, 240))  # the pending secret visit's receipt, byte for byte


def shot(moment: dt.datetime | None, *, seed: int, gps=NEAR) -> bytes:
    exif = images.exif_block(taken=f"{moment.astimezone(SHANGHAI):%Y:%m:%d %H:%M:%S}" if moment else None,
                             offset="+08:00" if moment else None, gps=gps)
    return images.jpeg((640, 480), seed=seed, exif=exif)


def fine_shot(visit) -> bytes:
    """The finding's good photo, the same bytes every time it is made."""
    return shot(visit.checkin_at + dt.timedelta(minutes=5), seed=1)


@pytest.fixture
def pending_secret(app, db, org_tree, people):
    """A secret visit at the same outlet, submitted and waiting for review: nobody on the outlet
    side may learn of it, and an inspector may not open it."""
    visit, _failed = secret_helpers.secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                                 outlet=org_tree["xihu1"])
    assert db.get(Visit, visit.id).status == VisitStatus.in_review
    return visit


@pytest.fixture
def checked(app, db, org_tree, people, pending_secret, client_as):
    """An open inspection with one photo of each kind of doubt, and one that is fine, released."""
    inspector = people["inspector"]
    visit = checked_in_visit(app, db, inspector, org_tree["xihu1"], checklist="mini", window=True)
    now = clock.now()
    photos = {"fine": fine_shot(visit), "before": shot(now - dt.timedelta(days=3), seed=2),
              "far": shot(now, seed=3, gps=FAR), "reused": RECEIPT}
    answers = {"A-01": dict(result="fail", note="胸牌缺失"), "A-02": dict(occurrences=0), "B-01": dict(scale_value=4),
               "B-02": dict(result="pass"), "B-03": dict(result="pass")}
    with app.test_request_context():
        for code, kw in answers.items():
            visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
        for data in photos.values():
            visits.add_visit_photo(db, get_storage(), actor=inspector, visit=visit, item_code="A-01", data=data)
        visits.add_visit_photo(db, get_storage(), actor=inspector, visit=visit, item_code="B-03",
                               data=images.jpeg((640, 480), seed=4))  # no EXIF at all
    db.commit()
    phone = client_as(inspector)  # the outlet's person signs the findings on the inspector's phone
    signed = phone.post(f"/api/visits/{visit.id}/signature",
                        {"signer_name": "王晓红", "signer_post": "营业主管", "signature_client_id": "sig-1",
                         "signature": (io.BytesIO(images.signature()), "signature.png")},
                        csrf=False, content_type="multipart/form-data",
                        headers={"X-CSRFToken": phone.csrf_token(), "Accept": "application/json"})
    assert signed.status_code == 201, signed.get_json()
    with app.test_request_context():
        visits.submit_visit(db, actor=inspector, visit=db.get(Visit, visit.id), token=f"t{visit.id}")
    db.commit()
    return db.get(Visit, visit.id)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_checks_are_defined_once_and_found_on_an_open_inspection(app, db, checked, pending_secret, people):
    with app.test_request_context():
        review = photo_checks.visit_checks(db, people["manager"], checked)
    codes = sorted(f.code for f in review.flags)
    assert codes == ["photo_far", "photo_no_time", "photo_no_time", "photo_time", "reused_photo"]  # the reused one has no time either
    reused = next(f for f in review.flags if f.code == "reused_photo")
    assert reused.places == [(f"西湖区文三路邮政营业所({clock.local_date(pending_secret.checkin_at, 'Asia/Shanghai')})的检查",
                              f"/visits/{pending_secret.id}")]
    far = next(f for f in review.flags if f.code == "photo_far")
    assert "5.0 km" in far.message and "超过 500 米" in far.message
    assert len(review.captions) == 5 and len(review.doubtful) == 4
    # the secret visit's review names the open inspection the same way (one definition)
    with app.test_request_context():
        flags = secret.review_flags(db, db.get(Visit, pending_secret.id), people["reviewer"])
    shared = [f for f in flags if f.code == "reused_photo"]
    assert shared and shared[0].places[0][1] == f"/visits/{checked.id}"


def test_the_distance_is_configurable(app, db, checked, people):
    app.config["PHOTO_DISTANCE_METERS"] = 10_000
    with app.test_request_context():
        codes = {f.code for f in photo_checks.visit_checks(db, people["manager"], checked).flags}
    assert "photo_far" not in codes and "reused_photo" in codes


def test_the_visit_page_shows_them_to_those_who_judge_and_hides_the_secret_visit(
        checked, pending_secret, client_as, people):
    secret_link = f'href="/visits/{pending_secret.id}"'
    manager = page(client_as(people["manager"]), f"/visits/{checked.id}")
    assert "照片核验" in manager and secret_link in manager
    assert "不在检查时段" in manager and "没有拍摄时间" in manager and "无拍摄时间" in manager
    assert "距网点 5.0 km" in manager and "超过 500 米" in manager
    assert "拍摄于" in manager and "距网点 0 m" in manager and "其他照片" in manager
    # the inspector judges too, but may not open a secret visit before its release: "another visit"
    inspector = page(client_as(people["inspector"]), f"/visits/{checked.id}")
    assert "照片核验" in inspector and "另一次检查" in inspector and secret_link not in inspector
    assert "西湖区文三路邮政营业所(" not in inspector
    # the outlet side sees the findings, never the checks (nor that a secret visit exists)
    chief = page(client_as(people["chief"]), f"/visits/{checked.id}")
    for word in ("照片核验", "另一次检查", secret_link, "距网点", "其他照片", "存疑"):
        assert word not in chief, word


def test_the_review_page_names_and_links_the_other_visit(checked, pending_secret, client_as, people):
    html = page(client_as(people["reviewer"]), f"/review/{pending_secret.id}")
    assert f'href="/visits/{checked.id}"' in html and "完全相同" in html and "距网点" in html


def test_the_visit_report_prints_them_for_judges_only(checked, client_as, people):
    def text(user) -> str:
        response = client_as(people[user]).get(f"/visits/{checked.id}/pdf")
        assert response.status_code == 200
        (OUTPUT / f"visit_report_evidence_{user}.pdf").write_bytes(response.data)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(OUTPUT / f"visit_report_evidence_{user}.pdf"),
                        str(OUTPUT / f"visit_report_evidence_{user}")], check=True)
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    manager = text("manager")
    assert "照片核验" in manager and "距网点" in manager and "无拍摄时间" in manager
    chief = text("chief")
    assert "照片核验" not in chief and "距网点" not in chief and "另一次检查" not in chief


@pytest.fixture
def answered(app, db, checked, people):
    """The chief answers with the finding's own photo (a fake fix) and one taken before the visit."""
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == checked.id)).one()
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()
    chief = people["chief"]
    with app.test_request_context():
        rect.acknowledge_notice(db, actor=chief, notice=notice)
        rect.stage_line_photo(db, get_storage(), actor=chief, line=line, data=fine_shot(checked), client_id="a1")
        rect.stage_line_photo(db, get_storage(), actor=chief, line=line,
                              data=shot(checked.checkin_at - dt.timedelta(minutes=30), seed=7), client_id="a2")
        rect.stage_line_photo(db, get_storage(), actor=chief, line=line, data=shot(clock.now(), seed=8), client_id="a3")
        rect.answer_line(db, actor=chief, line=line, description="已补发胸牌")
    db.commit()
    return db.get(RectificationLine, line.id)


def test_a_fake_fix_is_flagged_on_the_line_for_the_inspector_only(app, db, answered, checked, client_as, people):
    with app.test_request_context():
        review = rect.answer_evidence(db, people["inspector"], line=answered,
                                      **dict(zip(("events", "photos_by_event"), _bundle(db, answered))))
    assert sorted(f.code for f in review.flags) == ["photo_before_finding", "reused_photo"]
    html = page(client_as(people["inspector"]), f"/lines/{answered.id}")
    assert "整改照片核验" in html and f'href="/visits/{checked.id}"' in html
    assert "早于发现问题的时间" in html and "距网点 0 m" in html
    chief = page(client_as(people["chief"]), f"/lines/{answered.id}")
    for word in ("照片核验", "完全相同", "早于发现问题", "距网点"):
        assert word not in chief, word


def _bundle(db, line):
    events = db.exec(select(RectificationEvent).where(RectificationEvent.line_id == line.id)
                     .order_by(RectificationEvent.id)).all()
    by_event: dict[int, list] = {}
    for photo in db.exec(select(Photo).where(Photo.line_id == line.id)).all():
        by_event.setdefault(photo.response_id, []).append(photo)
    return events, by_event


@pytest.mark.browser
def test_the_visit_page_at_360_px_with_the_checks_and_the_signature(browser, live_server, checked, people):
    context, phone = phone_context(browser)
    browser_login(phone, live_server, "manager")
    phone.goto(f"{live_server}/visits/{checked.id}")
    phone.locator("#evidence-checks").wait_for()
    assert phone.locator("#evidence-checks li").count() == 5
    assert phone.locator("#confirmation img").count() == 1
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width} px"
    phone.screenshot(path=str(OUTPUT / "visit_evidence_checks_360.png"), full_page=True)
    reused = phone.locator("#evidence-checks li.flag-reused_photo")
    assert reused.locator("a[href^='/visits/']").count() == 1
    reused.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    phone.screenshot(path=str(OUTPUT / "visit_evidence_reused_360.png"))
    context.close()
    context, phone = phone_context(browser)
    browser_login(phone, live_server, "chief")
    phone.goto(f"{live_server}/visits/{checked.id}")
    assert phone.locator("#evidence-checks").count() == 0 and phone.locator(".photo-facts").count() == 0
    context.close()
