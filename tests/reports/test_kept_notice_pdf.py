"""Notice PDFs kept once rendered: served again while nothing they print changed, rendered again
when anything did (reports.kept_notices). Real Typst, real storage; renders are counted, not faked."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlmodel import select

from inspect_app.evidence import markup
from inspect_app.evidence.models import Photo
from inspect_app.evidence.services import VARIANTS
from inspect_app.evidence.storage import get_storage, new_prefix
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.reports import notice_paper
from inspect_app.reports.models import KeptNoticePdf
from inspect_app.visits import services as visits_services
from tests import images
from tests.reports.test_reports import text_of
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit


@pytest.fixture
def renders(monkeypatch):
    """How many times a notice was typeset (each call renders for real)."""
    count = {"n": 0}
    real = notice_paper.render

    def counting(*args, **kwargs):
        count["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(notice_paper, "render", counting)
    return count


@pytest.fixture
def notice(app, db, org_tree, people, clock_at):
    clock_at("2026-12-01T02:00:00Z")  # 10:00 in Shanghai
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=1, note="倚靠柜台"), "A-01": dict(result="fail", note="未着工装")})
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


def _lines(db, notice) -> list[RectificationLine]:
    return list(db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                        .order_by(RectificationLine.id)).all())


def _kept(db, notice) -> list[KeptNoticePdf]:
    db.expire_all()
    return list(db.exec(select(KeptNoticePdf).where(KeptNoticePdf.notice_id == notice.id)).all())


def test_an_unchanged_notice_is_served_from_its_kept_copy(app, db, notice, client_as, people, renders):
    chief = client_as(people["chief"])
    first = chief.get(f"/notices/{notice.id}/pdf")
    assert first.status_code == 200 and renders["n"] == 1
    second = chief.get(f"/notices/{notice.id}/pdf")
    assert second.status_code == 200 and renders["n"] == 1  # not rendered again
    assert second.data == first.data and second.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert second.headers["Cache-Control"] == "private, no-store"
    [kept] = _kept(db, notice)
    with app.app_context():
        assert get_storage().get(kept.storage_key) == first.data
    # the manager's document names everyone as the chief's does: the same bytes, no render
    assert client_as(people["manager"]).get(f"/notices/{notice.id}/pdf").data == first.data
    assert renders["n"] == 1


def test_a_kept_copy_unreadable_is_rendered_again(app, db, notice, client_as, people, renders):
    chief = client_as(people["chief"])
    chief.get(f"/notices/{notice.id}/pdf")
    [kept] = _kept(db, notice)
    with app.app_context():
        get_storage().delete(kept.storage_key)
    assert chief.get(f"/notices/{notice.id}/pdf").status_code == 200 and renders["n"] == 2


def _acknowledge(app, db, notice, people):
    with app.test_request_context():
        rect.acknowledge_notice(db, actor=people["chief"], notice=db.get(RectificationNotice, notice.id))
    db.commit()


def _answer(app, db, notice, people):
    _acknowledge(app, db, notice, people)
    with app.test_request_context():
        line = _lines(db, notice)[0]
        rect.stage_line_photo(db, get_storage(), actor=people["chief"], line=line, data=images.jpeg(seed=4),
                              client_id=None)
        rect.answer_line(db, actor=people["chief"], line=line, description="已重新张贴服务监督牌并培训员工")
    db.commit()


def _verify(app, db, notice, people):
    _answer(app, db, notice, people)
    with app.test_request_context():
        rect.verify_line(db, actor=people["inspector"], line=_lines(db, notice)[0], accept=True)
    db.commit()


def _new_photo(app, db, notice, people):
    """A further photo of a failed item (its files stored as the pipeline stores them)."""
    with app.test_request_context():
        storage = get_storage()
        prefix = new_prefix()
        data = images.jpeg(seed=9)
        for variant in ("original", "display", "thumb"):
            storage.put(f"{prefix}/{VARIANTS[variant]}", data, "image/jpeg")
        db.add(Photo(visit_id=notice.visit_id, item_code="A-02", purpose="item", outlet_id=notice.outlet_id,
                     sha256=hashlib.sha256(data).hexdigest(), storage_key=prefix, content_type="image/jpeg",
                     width=800, height=600, size_bytes=len(data), uploaded_by_id=people["inspector"].id))
    db.commit()


def _markup(app, db, notice, people):
    """The inspector marks up the photo printed on the notice: the marked copy prints in its place."""
    with app.test_request_context():
        storage = get_storage()
        photo = db.exec(select(Photo).where(Photo.visit_id == notice.visit_id)).one()
        marked = images.marked_copy(storage.get(f"{photo.storage_key}/{VARIANTS['original']}"))
        shapes = markup.parse_shapes(json.dumps({"w": photo.width, "h": photo.height, "shapes": [
            {"type": "circle", "x": photo.width / 2, "y": photo.height / 2, "r": 50, "color": "#e11d48"}]}),
            width=photo.width, height=photo.height)
        prepared = markup.prepare(storage, photo=photo, data=marked, stamp="检查 2026-12-01")
        markup.store(db, storage, actor=people["inspector"], photo=photo, data=marked, shapes=shapes, client_id=None,
                     prepared=prepared)
    db.commit()


@pytest.mark.parametrize("change", [_acknowledge, _answer, _verify, _new_photo, _markup])
def test_any_change_renders_again_and_replaces_the_old_copy(app, db, notice, client_as, people, renders, change):
    chief = client_as(people["chief"])
    before = chief.get(f"/notices/{notice.id}/pdf").data
    [old] = _kept(db, notice)
    old_digest, old_key = old.digest, old.storage_key
    change(app, db, notice, people)
    after = chief.get(f"/notices/{notice.id}/pdf")
    assert after.status_code == 200 and renders["n"] == 2
    assert after.data != before
    [new] = _kept(db, notice)  # one copy per notice and audience: the old one replaced
    assert new.digest != old_digest and new.storage_key != old_key
    with app.app_context():
        storage = get_storage()
        assert not storage.exists(old_key)  # its file removed
        assert storage.get(new.storage_key) == after.data
    assert chief.get(f"/notices/{notice.id}/pdf").data == after.data and renders["n"] == 2


def test_the_clock_passing_midnight_in_shanghai_renders_an_overdue_line_again(app, db, notice, client_as, people,
                                                                                renders, clock_at):
    line = _lines(db, notice)[0]
    line.deadline_date = dt.date(2026, 11, 28)
    line.deadline_at = dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.timezone.utc)  # the end of 28 Nov, Shanghai
    db.add(line)
    db.commit()
    clock_at("2026-12-01T15:40:00Z")  # 23:40 on 1 Dec in Shanghai: 3 days late
    chief = client_as(people["chief"])
    late3 = chief.get(f"/notices/{notice.id}/pdf").data
    assert "逾期 3 天" in text_of(late3) and renders["n"] == 1
    clock_at.shift(minutes=15)  # 23:55, still 1 Dec: the same document
    assert chief.get(f"/notices/{notice.id}/pdf").data == late3 and renders["n"] == 1
    clock_at.shift(minutes=10)  # 00:05 on 2 Dec in Shanghai (16:05 UTC, still 1 Dec in UTC)
    late4 = chief.get(f"/notices/{notice.id}/pdf").data
    assert renders["n"] == 2 and "逾期 4 天" in text_of(late4)
    assert len(_kept(db, notice)) == 1


def test_a_viewer_named_differently_never_gets_another_viewers_copy(app, db, org_tree, people, client_as, renders):
    """A secret visit's shopper is a code name to the outlet and a name to the reviewer: each gets
    their own document, kept side by side; the outlet's never carries the name."""
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        visits_services.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    inside = client_as(people["reviewer"]).get(f"/notices/{notice.id}/pdf")
    assert people["shopper"].display_name in text_of(inside.data) and renders["n"] == 1
    chief = client_as(people["chief"])
    outside = chief.get(f"/notices/{notice.id}/pdf")
    assert renders["n"] == 2 and outside.data != inside.data
    assert "暗访员A07" in text_of(outside.data) and people["shopper"].display_name not in text_of(outside.data)
    assert len(_kept(db, notice)) == 2  # two audiences, one copy each
    assert chief.get(f"/notices/{notice.id}/pdf").data == outside.data and renders["n"] == 2
    assert client_as(people["reviewer"]).get(f"/notices/{notice.id}/pdf").data == inside.data and renders["n"] == 2
    # the shopper who made the visit sees neither the notice nor its lines: they are the outlet's work
    shopper = client_as(people["shopper"])
    line = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).first()
    for url in (f"/notices/{notice.id}", f"/notices/{notice.id}/pdf", f"/lines/{line.id}"):
        assert shopper.get(url).status_code == 404, url
    assert shopper.get(f"/visits/{visit.id}").status_code == 200 and renders["n"] == 2


def test_a_kept_copy_is_never_served_out_of_scope(app, db, notice, org_tree, people, client_as, renders):
    assert client_as(people["chief"]).get(f"/notices/{notice.id}/pdf").status_code == 200
    for role in ("other_chief", "other_manager", "shopper"):
        assert client_as(people[role]).get(f"/notices/{notice.id}/pdf").status_code == 404, role
    assert renders["n"] == 1


def test_a_secret_visit_pending_release_has_no_notice_to_keep(app, db, org_tree, people, client_as, renders):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    assert db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).first() is None
    assert db.exec(select(KeptNoticePdf)).all() == [] and renders["n"] == 0


def test_a_long_notice_kept_is_served_at_once_instead_of_queued(app, db, notice, client_as, people, renders):
    """Long notices are made by the worker; once one is kept, the same document comes back in the
    request (the worker's replay keeps what it renders)."""
    from inspect_app.downloads.models import GeneratedFile
    from inspect_app.jobs import queue

    app.config["PDF_INLINE_LINES"] = 0
    chief = client_as(people["chief"])
    queued = chief.get(f"/notices/{notice.id}/pdf")
    assert queued.status_code in (302, 303) and renders["n"] == 0
    queue.run_pending(app)
    made = db.exec(select(GeneratedFile)).one()
    assert made.status == "ready" and renders["n"] == 1
    served = chief.get(f"/notices/{notice.id}/pdf")
    assert served.status_code == 200 and served.mimetype == "application/pdf" and renders["n"] == 1
    with app.app_context():
        assert get_storage().get(made.storage_key) == served.data


def test_the_worker_makes_a_changed_notice_ahead_for_the_outlet_side(app, db, notice, client_as, people, renders):
    """Issued, then acknowledged: each change queues one job (not one per line) that renders the
    outlet side's copy; the chief's download then renders nothing."""
    from inspect_app.jobs import queue
    from inspect_app.jobs.models import Job
    from inspect_app.reports.hooks import JOB

    assert len(db.exec(select(Job).where(Job.name == JOB)).all()) == 1  # issued on release
    queue.run_pending(app, names=(JOB,))
    assert renders["n"] == 1
    chief = client_as(people["chief"])
    issued = chief.get(f"/notices/{notice.id}/pdf")
    assert issued.status_code == 200 and renders["n"] == 1
    _acknowledge(app, db, notice, people)  # two lines acknowledged, one notice: one more job
    assert len(db.exec(select(Job).where(Job.name == JOB)).all()) == 2
    queue.run_pending(app, names=(JOB,))
    assert renders["n"] == 2
    acknowledged = chief.get(f"/notices/{notice.id}/pdf")
    assert acknowledged.data != issued.data and "未签收" not in text_of(acknowledged.data)
    assert renders["n"] == 2 and len(_kept(db, notice)) == 1
    queue.run_pending(app, names=(JOB,))  # nothing changed: nothing rendered
    assert renders["n"] == 2


def test_making_ahead_can_be_switched_off(app, db, notice, people):
    from inspect_app.jobs.models import Job
    from inspect_app.reports.hooks import JOB

    app.config["NOTICE_PDF_AHEAD"] = False
    _acknowledge(app, db, notice, people)
    assert len(db.exec(select(Job).where(Job.name == JOB)).all()) == 1  # the one queued at issue only
