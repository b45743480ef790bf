"""On site, through the phone's API: the outlet's person confirming the findings (a signature, or a
refusal with its reason) and the inspector marking up a finding's photo. Each is stored once
however often the outbox retries, refused in words when it is not what it claims to be (with
nothing written), and answered 404 for anyone else's visit or photo."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.evidence import services as evidence
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature
from inspect_app.visits import services as visits
from tests import images
from tests.conftest import Client
from tests.visit_helpers import checked_in_visit

EMPTY = "签名为空,请先在框内签名。"
NO_SIGNATURE = "这还不是签名(框内是空的或只有一个点),请签上姓名。"
NOT_PNG = "签名不是可读的 PNG 图片,请重新签名。"
UNREADABLE_MARKS = "标注无法读取,请重新绘制。"


@pytest.fixture
def media(app) -> Path:
    return Path(app.config["MEDIA_ROOT"])


@pytest.fixture
def visit(app, db, org_tree, people):
    return checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])


@pytest.fixture
def inspector(client_as, people) -> Client:
    return client_as(people["inspector"])


def files(media: Path, kind: str) -> list[Path]:
    return sorted(p for p in (media / kind).rglob("*") if p.is_file()) if (media / kind).exists() else []


def sign(client: Client, visit, png: bytes | None = None, *, client_id: str = "sig-1", **fields):
    form = {"signer_name": "王晓红", "signer_post": "营业主管", "signed_at": "2026-12-03T02:10:00Z",
            "signature_client_id": client_id, **fields}
    if png is not None:
        form["signature"] = (io.BytesIO(png), "signature.png")
    return client.post(f"/api/visits/{visit.id}/signature", form, csrf=False, content_type="multipart/form-data",
                       headers={"X-CSRFToken": client.csrf_token(), "Accept": "application/json"})


def upload_photo(client: Client, visit, data: bytes, *, item_code: str, client_id: str):
    return client.post(f"/api/visits/{visit.id}/photos",
                       {"file": (io.BytesIO(data), "photo.jpg"), "item_code": item_code, "purpose": "item",
                        "client_id": client_id},
                       csrf=False, content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf_token()})


def mark(client: Client, visit, marked: bytes, shapes, *, client_id: str = "mk-1", **photo):
    form = {"file": (io.BytesIO(marked), "marked.jpg"), "client_id": client_id,
            "shapes": shapes if isinstance(shapes, str) else json.dumps(shapes), **photo}
    return client.post(f"/api/visits/{visit.id}/markups", form, csrf=False, content_type="multipart/form-data",
                       headers={"X-CSRFToken": client.csrf_token()})


CIRCLE = {"w": 800, "h": 600, "shapes": [
    {"type": "circle", "x": 400, "y": 300, "r": 120, "color": "#e11d48"},
    {"type": "arrow", "x1": 100, "y1": 100, "x2": 300, "y2": 250, "color": "#e11d48"},
    {"type": "text", "x": 420, "y": 80, "text": "灭火器过期", "color": "#facc15"}]}


# --- the outlet's confirmation -----------------------------------------------------------------

def test_the_outlet_signs_once_however_often_the_phone_retries(visit, inspector, db, media, client_as, people):
    png = images.signature()
    first = sign(inspector, visit, png)
    assert first.status_code == 201, first.get_json()
    again = sign(inspector, visit, png)  # the reply was lost: the outbox sends it again
    assert again.status_code == 200 and again.get_json()["signature"]["id"] == first.get_json()["signature"]["id"]
    stored = db.exec(select(Signature)).all()
    assert len(stored) == 1
    sig = stored[0]
    assert (sig.purpose, sig.visit_id, sig.signer_name, sig.signer_post, sig.refused) == (
        "visit_confirm", visit.id, "王晓红", "营业主管", False)
    assert sig.recorded_by_id == people["inspector"].id and sig.signed_at.isoformat() == "2026-12-03T02:10:00+00:00"
    assert sig.sha256 == hashlib.sha256(png).hexdigest() and (sig.width, sig.height) == (660, 300)
    assert [p.read_bytes() for p in files(media, "signatures")] == [png]
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "signature.added")).one()
    image = inspector.get(f"/signatures/{sig.id}.png")
    assert image.status_code == 200 and image.data == png and image.mimetype == "image/png"
    page = inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    assert "王晓红" in page and f"/signatures/{sig.id}.png" in page
    assert client_as(people["other_manager"]).get(f"/signatures/{sig.id}.png").status_code == 404


def test_signing_again_before_submit_replaces_the_first_which_stays_on_record(visit, inspector, db):
    assert sign(inspector, visit, images.signature(), client_id="a").status_code == 201
    assert sign(inspector, visit, images.signature((600, 280)), client_id="b", signer_name="李强").status_code == 201
    first, second = db.exec(select(Signature).order_by(Signature.id)).all()
    assert first.replaced_at is not None and second.replaced_at is None and second.signer_name == "李强"
    assert "李强" in inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True)


def test_a_refusal_to_sign_is_recorded_with_its_reason(visit, inspector, db, media):
    refused = sign(inspector, visit, None, refused="1", refusal_reason="负责人认为检查标准不合理")
    assert refused.status_code == 201, refused.get_json()
    sig = db.exec(select(Signature)).one()
    assert sig.refused and sig.refusal_reason == "负责人认为检查标准不合理" and sig.storage_key is None
    assert files(media, "signatures") == []
    without_reason = sign(inspector, visit, None, client_id="sig-2", refused="1")
    assert without_reason.status_code == 400 and without_reason.get_json()["error"] == "请写明对方拒绝签字的理由。"


@pytest.mark.parametrize(("png", "message"), [
    (None, EMPTY),
    (images.signature(blank=True), NO_SIGNATURE),
    (images.signature(dot=True), NO_SIGNATURE),
    (images.jpeg((660, 300)), NOT_PNG),
    (b"\x89PNG\r\n\x1a\n not really", NOT_PNG),
    (images.HTML, NOT_PNG),
], ids=["no-image", "blank", "one-dot", "jpeg", "broken-png", "html"])
def test_what_is_no_signature_is_refused_in_words_and_nothing_is_written(visit, inspector, db, media, png, message):
    response = sign(inspector, visit, png)
    assert response.status_code in (400, 422) and response.get_json()["error"] == message
    assert db.exec(select(Signature)).all() == [] and files(media, "signatures") == []


def test_a_signature_for_someone_elses_visit_is_404(visit, client_as, create_user, org_tree, people, db):
    colleague = create_user("inspector", unit=org_tree["hz"])  # may read the visit, never sign on it
    for who in (colleague, people["other_manager"], people["chief"], people["manager"]):
        refused = sign(client_as(who), visit, images.signature())
        assert refused.status_code == 404 and refused.get_json()["error"] == "页面不存在,或您无权查看。"
    assert db.exec(select(Signature)).all() == []


def test_a_submitted_visit_takes_no_new_signature_but_a_retry_is_answered(app, db, visit, inspector, people):
    assert sign(inspector, visit, images.signature()).status_code == 201
    with app.test_request_context():
        visits.cancel_visit(db, actor=people["manager"], visit=db.get(type(visit), visit.id), reason="测试结束")
    db.commit()
    assert sign(inspector, visit, images.signature()).status_code == 200  # the same one again
    late = sign(inspector, visit, images.signature(), client_id="sig-late")
    assert late.status_code == 400 and len(db.exec(select(Signature)).all()) == 1


# --- photo markup --------------------------------------------------------------------------------

def test_markup_is_kept_beside_the_untouched_photo_once(visit, inspector, db, media, client_as, people):
    original = images.jpeg((1600, 1200), seed=3)
    assert upload_photo(inspector, visit, original, item_code="ENV-01", client_id="ph-1").status_code == 201
    photo = db.exec(select(Photo)).one()
    marked = images.marked_copy(original)
    # marked before the photo's id was known on the phone: named by the photo's client id
    response = mark(inspector, visit, marked, CIRCLE, photo_client_id="ph-1")
    assert response.status_code == 201, response.get_json()
    assert mark(inspector, visit, marked, CIRCLE, photo_client_id="ph-1").status_code == 200  # a retry
    found = db.exec(select(PhotoMarkup)).one()
    photo = db.get(Photo, photo.id)
    assert photo.markup_id == found.id and found.photo_id == photo.id
    assert found.sha256 == hashlib.sha256(marked).hexdigest()
    # the shapes in the photo's own coordinates (drawn on an 800 × 600 picture: twice as large)
    assert found.shapes["w"] == 1600 and found.shapes["h"] == 1200
    assert found.shapes["shapes"][0] == {"type": "circle", "x": 800.0, "y": 600.0, "r": 240.0, "color": "#e11d48"}
    assert found.shapes["shapes"][2]["text"] == "灭火器过期"
    # the photo as taken is untouched, byte for byte
    assert (media / evidence.key(photo, "original")).read_bytes() == original
    assert hashlib.sha256(original).hexdigest() == photo.sha256
    shown = inspector.get(response.get_json()["markup"]["display"])
    assert shown.status_code == 200 and Image.open(io.BytesIO(shown.data)).size == (1600, 1200)
    detail = client_as(people["manager"]).get(f"/visits/{visit.id}/fill")  # not theirs to fill: the visit page
    assert detail.status_code == 302
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "photo.marked")).one()


def test_marking_again_shows_the_new_marks_and_keeps_the_old(visit, inspector, db):
    original = images.jpeg((800, 600), seed=4)
    photo_id = upload_photo(inspector, visit, original, item_code="ENV-01", client_id="ph-1").get_json()["photo"]["id"]
    assert mark(inspector, visit, images.marked_copy(original), CIRCLE, client_id="a", photo_id=photo_id).status_code == 201
    again = mark(inspector, visit, images.marked_copy(original, (0.3, 0.3, 0.1)), CIRCLE, client_id="b", photo_id=photo_id)
    assert again.status_code == 201
    first, second = db.exec(select(PhotoMarkup).order_by(PhotoMarkup.id)).all()
    assert first.replaced_at is not None and db.get(Photo, photo_id).markup_id == second.id


def test_markup_on_a_photo_of_another_visit_is_404(app, db, visit, inspector, org_tree, people, media):
    other = checked_in_visit(app, db, people["inspector"], org_tree["xihu2"])
    original = images.jpeg((800, 600), seed=5)
    theirs = upload_photo(inspector, other, original, item_code="ENV-01", client_id="ph-o").get_json()["photo"]["id"]
    for photo in ({"photo_id": theirs}, {"photo_client_id": "ph-o"}, {"photo_id": 999999}, {}):
        response = mark(inspector, visit, images.marked_copy(original), CIRCLE, **photo)
        assert response.status_code == 404, photo
        assert response.get_json()["error"] == "该照片不存在,或不是本次检查发现问题的照片。"
    assert db.exec(select(PhotoMarkup)).all() == [] and files(media, "markups") == []


BAD_MARKS = [
    ("not json at all", UNREADABLE_MARKS),
    (json.dumps([1, 2, 3]), UNREADABLE_MARKS),
    (json.dumps({"w": 800, "h": 600, "shapes": [{"type": "star", "x": 1, "y": 1}]}), UNREADABLE_MARKS),
    (json.dumps({"w": 800, "h": 600, "shapes": [{"type": "circle", "x": "a", "y": 1, "r": 3}]}), UNREADABLE_MARKS),
    (json.dumps({"w": 800, "h": 600, "shapes": [{"type": "circle", "x": 1e308 * 10, "y": 1, "r": 3}]}),
     UNREADABLE_MARKS),
    (json.dumps({"w": 800, "h": 600, "shapes": []}), "请至少画一个圆圈、箭头或标签。"),
    (json.dumps({"w": 800, "h": 600, "shapes": [{"type": "circle", "x": 5000, "y": 1, "r": 3}]}),
     "有一处标注在照片之外,请重新绘制。"),
    (json.dumps({"w": 600, "h": 600, "shapes": [{"type": "circle", "x": 5, "y": 1, "r": 3}]}),
     "标注所画的图片与这张照片的形状不同。"),
    (json.dumps({"w": 800, "h": 600, "shapes": [{"type": "text", "x": 5, "y": 5, "text": "字" * 40}]}),
     "标签最多 20 个字。"),
]


@pytest.mark.parametrize(("shapes", "message"), BAD_MARKS,
                         ids=["text", "list", "unknown-type", "string-number", "infinite", "empty", "outside",
                              "other-shape", "long-label"])
def test_malformed_marks_are_refused_in_words_and_nothing_is_written(visit, inspector, db, media, shapes, message):
    original = images.jpeg((800, 600), seed=6)
    photo_id = upload_photo(inspector, visit, original, item_code="ENV-01", client_id="ph-1").get_json()["photo"]["id"]
    response = mark(inspector, visit, images.marked_copy(original), shapes, photo_id=photo_id)
    assert response.status_code == 422 and response.get_json()["error"] == message
    assert db.exec(select(PhotoMarkup)).all() == [] and files(media, "markups") == []
    assert db.get(Photo, photo_id).markup_id is None


@pytest.mark.parametrize("marked", [images.HTML, images.pdf(), b"", images.jpeg((600, 800))],
                         ids=["html", "pdf", "empty", "other-shape"])
def test_a_marked_copy_that_is_no_image_of_this_photo_is_refused_and_nothing_is_written(visit, inspector, db, media,
                                                                                        marked):
    original = images.jpeg((800, 600), seed=7)
    photo_id = upload_photo(inspector, visit, original, item_code="ENV-01", client_id="ph-1").get_json()["photo"]["id"]
    response = mark(inspector, visit, marked, CIRCLE, photo_id=photo_id)
    assert response.status_code in (400, 422)
    assert "标注" in response.get_json()["error"] or "照片" in response.get_json()["error"]
    assert db.exec(select(PhotoMarkup)).all() == [] and files(media, "markups") == []
    assert db.get(Photo, photo_id).markup_id is None


@pytest.mark.parametrize("photo_id", ["9" * 23, "abc"])
def test_a_photo_id_no_phone_sends_is_no_photo_and_nothing_is_written(visit, inspector, db, media, photo_id):
    """``photo_id`` past 64 bits went to the query as it was and SQLite's driver failed (a 500)."""
    original = images.jpeg((800, 600), seed=8)
    upload_photo(inspector, visit, original, item_code="ENV-01", client_id="ph-1")
    response = mark(inspector, visit, images.marked_copy(original), CIRCLE, photo_id=photo_id)
    assert response.status_code == 404 and "照片" in response.get_json()["error"]
    assert db.exec(select(PhotoMarkup)).all() == [] and files(media, "markups") == []
