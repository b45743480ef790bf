"""The chief's 签收 with a handwritten signature (optional, or required by SIGNATURE_ON_ACKNOWLEDGE)
and the inspector's signed re-check on site (现场复查): stored once however often a form kept
offline is sent, refused when it is no signature, shown on the pages and printed on the notice
and its 回执."""
from __future__ import annotations

import base64
import io

import pytest
from pypdf import PdfReader
from sqlmodel import select

from inspect_app import create_app
from inspect_app.evidence.models import Signature
from inspect_app.evidence.storage import get_storage
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import LineStatus, RectificationEvent, RectificationLine, RectificationNotice
from tests import images
from tests.visit_helpers import release_mini_visit

JSON = {"Accept": "application/json"}


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def signed(png: bytes | None = None, *, client_id: str = "s-1", name: str = "张卫东", post: str = "网点负责人") -> dict:
    fields = {"signer_name": name, "signer_post": post, "signature_client_id": client_id,
              "signed_at": "2026-12-03T02:30:00Z"}
    if png is not None:
        fields["signature_png"] = data_url(png)
    return fields


@pytest.fixture
def notice(app, db, org_tree, people):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-02": dict(occurrences=1, note="倚靠")})
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


def line_of(db, notice) -> RectificationLine:
    return db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).one()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_image_sizes(data: bytes) -> set[tuple[int, int]]:
    return {image.image.size for page in PdfReader(io.BytesIO(data)).pages for image in page.images}


def test_the_chief_signs_the_acknowledgement_and_the_notice_prints_it(notice, client_as, people, db):
    chief = client_as(people["chief"])
    png = images.signature()
    response = chief.post(f"/notices/{notice.id}/acknowledge", signed(png), follow_redirects=True)
    assert "已签收" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is not None
    sig = db.exec(select(Signature)).one()
    assert (sig.purpose, sig.notice_id, sig.signer_name, sig.signer_post) == ("notice_ack", notice.id, "张卫东", "网点负责人")
    page = chief.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert f"/signatures/{sig.id}.png" in page and "签收时签名" in page
    assert client_as(people["manager"]).get(f"/signatures/{sig.id}.png").data == png
    assert client_as(people["other_chief"]).get(f"/signatures/{sig.id}.png").status_code == 404
    printed = chief.get(f"/notices/{notice.id}/pdf").data
    text = pdf_text(printed)
    # above the notice's signature line, and on its 回执
    assert text.count("张卫东(网点负责人)") == 2 and "签收时手写签名" in text
    assert (660, 300) in pdf_image_sizes(printed)


def test_an_acknowledgement_kept_offline_and_sent_twice_is_stored_once(notice, client_as, people, db):
    chief = client_as(people["chief"])
    form = signed(images.signature(), client_id="offline-1")
    first = chief.post(f"/notices/{notice.id}/acknowledge", form, headers=JSON)
    assert first.status_code == 200 and first.get_json()["ok"] is True
    again = chief.post(f"/notices/{notice.id}/acknowledge", form, headers=JSON)  # the reply was lost
    assert again.status_code == 200 and again.get_json()["ok"] is True
    assert len(db.exec(select(Signature)).all()) == 1
    # a different signing of a notice acknowledged already is refused, in words
    other = chief.post(f"/notices/{notice.id}/acknowledge", signed(images.signature(), client_id="offline-2"),
                       headers=JSON)
    assert other.status_code == 400 and "已于" in other.get_json()["error"]


@pytest.mark.parametrize(("png", "message"), [
    (images.signature(dot=True), "这还不是签名"), (images.signature(blank=True), "这还不是签名"),
    (b"GIF89a not a png", "签名不是可读的 PNG 图片"), (images.jpeg((600, 300)), "签名不是可读的 PNG 图片")],
    ids=["dot", "blank", "garbage", "jpeg"])
def test_an_acknowledgement_with_no_real_signature_is_refused_and_nothing_changes(notice, client_as, people, db, app,
                                                                                 png, message):
    response = client_as(people["chief"]).post(f"/notices/{notice.id}/acknowledge", signed(png), headers=JSON)
    assert response.status_code in (400, 422) and message in response.get_json()["error"]
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is None
    assert db.exec(select(Signature)).all() == []


def test_a_required_signature_refuses_a_plain_acknowledgement(app, notice, client_as, people, db):
    app.config["SIGNATURE_ON_ACKNOWLEDGE"] = "required"
    chief = client_as(people["chief"])
    assert 'data-signature-required="1"' in chief.get(f"/notices/{notice.id}").get_data(as_text=True)
    plain = chief.post(f"/notices/{notice.id}/acknowledge", signed(None), follow_redirects=True)
    assert "需要手写签名" in plain.get_data(as_text=True)
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is None
    ok = chief.post(f"/notices/{notice.id}/acknowledge", signed(images.signature()), headers=JSON)
    assert ok.status_code == 200
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is not None


def test_an_optional_signature_may_be_left_out(notice, client_as, people, db):
    chief = client_as(people["chief"])
    assert 'data-signature-required="0"' in chief.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert chief.post(f"/notices/{notice.id}/acknowledge", signed(None), headers=JSON).status_code == 200
    db.expire_all()
    assert db.get(RectificationNotice, notice.id).acknowledged_at is not None and db.exec(select(Signature)).all() == []


def test_the_setting_takes_only_optional_or_required(tmp_path, database_url):
    with pytest.raises(ValueError, match="SIGNATURE_ON_ACKNOWLEDGE"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url,
                    "INSTANCE_PATH": str(tmp_path), "SIGNATURE_ON_ACKNOWLEDGE": "sometimes"})


@pytest.fixture
def answered(app, db, notice, people):
    """The notice acknowledged and its line answered with an after-photo: ready to re-check."""
    line = line_of(db, notice)
    with app.test_request_context():
        rect.acknowledge_notice(db, actor=people["chief"], notice=notice)
        rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=line, data=images.jpeg(seed=9),
                              client_id="after-1")
        rect.answer_line(db, actor=people["chief"], line=line, description="已重新统一着装")
    db.commit()
    return db.get(RectificationLine, line.id)


def test_a_re_check_on_site_is_signed_by_the_inspector(answered, client_as, people, db, notice):
    inspector = client_as(people["inspector"])
    form = {"decision": "accept", "on_site": "y", "version": answered.row_version, "reason": "现场查看已整改"}
    unsigned = inspector.post(f"/lines/{answered.id}/verify", {**form, **signed(None, name="inspector")},
                              follow_redirects=True)
    assert "现场复查需由检查人员签字" in unsigned.get_data(as_text=True)
    assert db.get(RectificationLine, answered.id).status == LineStatus.answered
    dot = inspector.post(f"/lines/{answered.id}/verify", {**form, **signed(images.signature(dot=True))}, headers=JSON)
    assert dot.status_code == 422 and db.exec(select(Signature)).all() == []
    fields = {**form, **signed(images.signature(), client_id="recheck-1", name="李检查", post="检查员")}
    ok = inspector.post(f"/lines/{answered.id}/verify", fields, headers=JSON)
    assert ok.status_code == 200, ok.get_json()
    assert inspector.post(f"/lines/{answered.id}/verify", fields, headers=JSON).status_code == 200  # sent again
    db.expire_all()
    assert db.get(RectificationLine, answered.id).status == LineStatus.closed
    event = db.exec(select(RectificationEvent).where(RectificationEvent.line_id == answered.id,
                                                     RectificationEvent.action == "verified")).one()
    sig = db.exec(select(Signature)).one()
    assert event.on_site and (sig.purpose, sig.line_id, sig.event_id, sig.signer_name) == (
        "line_verify", answered.id, event.id, "李检查")
    page = inspector.get(f"/lines/{answered.id}").get_data(as_text=True)
    assert f"/signatures/{sig.id}.png" in page and "检查人员现场签字" in page
    chief_view = client_as(people["chief"]).get(f"/signatures/{sig.id}.png")
    assert chief_view.status_code == 200  # the outlet sees who re-checked its line
    printed = client_as(people["chief"]).get(f"/notices/{notice.id}/pdf").data
    assert "现场复查签字" in pdf_text(printed)


def test_a_re_check_not_on_site_needs_no_signature(answered, client_as, people, db):
    inspector = client_as(people["inspector"])
    ok = inspector.post(f"/lines/{answered.id}/verify", {"decision": "accept", "version": answered.row_version},
                        follow_redirects=True)
    db.expire_all()
    assert ok.status_code == 200 and db.get(RectificationLine, answered.id).status == LineStatus.closed
    assert db.exec(select(Signature)).all() == []

