"""After release the outlet side learns the findings and the date of a secret visit, nothing
more: no times (in lists, in their order, in photo stamps), no receipt or hall photos, no text
hidden in a photo's metadata, and nothing of outlets outside its scope."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlmodel import select

from inspect_app import clock
from inspect_app.evidence import imaging
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.visits import services as visits
from tests.secret_helpers import secret_visit


@pytest.fixture
def released(app, db, org_tree, people):
    visit, failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                 outlet=org_tree["xihu1"], submit=False)
    picture = io.BytesIO()
    Image.new("RGB", (900, 600), (140, 30, 30)).save(picture, "JPEG", comment=b"sender 13800000003")
    with app.test_request_context():
        evidence_photo, _ = visits.add_visit_photo(db, get_storage(), actor=people["shopper"], visit=visit,
                                                   data=picture.getvalue(), item_code=failed)
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="after-release", accept_warnings=True)
        visits.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    return visit, evidence_photo, picture.getvalue()


def test_lists_show_the_date_only(released, client_as, people, org_tree):
    visit, _photo, _data = released
    minute = visit.submitted_at.astimezone(clock.zone("Asia/Shanghai")).strftime("%H:%M")
    day = visit.submitted_at.astimezone(clock.zone("Asia/Shanghai")).strftime("%Y-%m-%d")
    chief = client_as(people["chief"])
    for path in ("/visits", f"/outlets/{org_tree['xihu1'].id}"):
        page = chief.get(path).get_data(as_text=True)
        assert day in page and minute not in page, path
    assert minute in client_as(people["manager"]).get("/visits").get_data(as_text=True)


def test_the_outlet_side_sees_released_visits_in_release_order(app, db, released, client_as, people, org_tree):
    visit, _photo, _data = released
    # an open visit submitted before the secret one was, released (on submit) after it was released
    from tests.visit_helpers import release_mini_visit

    later = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
    later.submitted_at = visit.submitted_at - dt.timedelta(hours=1)
    db.add(later)
    db.commit()
    page = client_as(people["chief"]).get("/visits").get_data(as_text=True)
    ids = [int(n) for n in re.findall(r'href="/visits/(\d+)"', page)]
    assert ids.index(later.id) < ids.index(visit.id)  # newest release first, whatever the submit times


def test_photos_only_where_they_are_the_evidence_of_a_finding(released, db, client_as, people):
    visit, evidence_photo, _data = released
    chief = client_as(people["chief"])
    others = db.exec(select(Photo).where(Photo.visit_id == visit.id, Photo.id != evidence_photo.id)).all()
    assert {p.purpose for p in others} == {"receipt", "general"}
    for photo in others:
        for variant in ("display", "thumb"):
            assert chief.get(f"/photos/{photo.id}/{variant}").status_code == 404, (photo.purpose, variant)
    assert chief.get(f"/photos/{evidence_photo.id}/display").status_code == 200
    reviewer = client_as(people["reviewer"])
    assert all(reviewer.get(f"/photos/{p.id}/display").status_code == 200 for p in others)


def test_a_secret_visits_photo_stamp_has_no_time(app, released, org_tree):
    visit, evidence_photo, data = released
    outlet = org_tree["xihu1"]
    day = evidence_photo.received_at.astimezone(clock.zone(outlet.timezone)).strftime("%Y-%m-%d")
    with app.app_context():
        stored = get_storage().get(f"{evidence_photo.storage_key}/display.jpg")
    assert stored == imaging.process(data, stamp_text=f"{outlet.code}  {day}", zone=outlet.timezone).display


def test_derived_copies_carry_pixels_only(app, released):
    _visit, evidence_photo, _data = released
    with app.app_context():
        storage = get_storage()
        for variant in ("display.jpg", "thumb.jpg"):
            copy = storage.get(f"{evidence_photo.storage_key}/{variant}")
            assert b"13800000003" not in copy and b"sender" not in copy
            assert "comment" not in Image.open(io.BytesIO(copy)).info


def test_nothing_of_outlets_out_of_scope(client_as, people, org_tree):
    manager = client_as(people["manager"])  # 杭州市: 海曙区 (宁波) is not theirs
    far = org_tree["haishu1"]
    assert manager.get(f"/board/lines?outlet={far.id}").status_code == 404
    for path in (f"/schedule?outlet={far.id}", f"/visits/new?outlet={far.id}"):
        page = client_as(people["inspector"] if "new" in path else people["manager"]).get(path).get_data(as_text=True)
        assert "1 号窗口" not in page and "2 号窗口" not in page, path
    # in scope, the windows are offered
    assert "1 号窗口" in manager.get(f"/schedule?outlet={org_tree['xihu1'].id}").get_data(as_text=True)
