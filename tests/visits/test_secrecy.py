"""Secrecy, tested like an attacker: while a secret visit waits for release, the outlet side
must learn nothing — no page, count, badge, notification, search, photo URL or error differs from
a world where the visit does not exist. After release: findings, date and code name only."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select
from werkzeug.routing import IntegerConverter

from inspect_app import clock
from inspect_app.evidence.models import Photo
from inspect_app.guides import services as guides
from inspect_app.visits import services as visits_services
from tests.secret_helpers import secret_visit

TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+|(value=")[^"]+("[^>]*name="csrf_token")')
IDS_TO_PROBE = range(1, 13)  # covers the secret visit, its answers, photos, and ids not used at all
UNUSED = 999_999


def normalise(text: str) -> str:
    return TOKEN.sub(lambda m: (m.group(1) or m.group(2) or "") + "TOKEN" + (m.group(3) or ""), text)


def urls(app, method: str):
    """Every route of the app for ``method``, each integer argument tried with many ids."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or method not in rule.methods:
            continue
        if rule.endpoint in ("auth.logout", "auth.set_language", "auth.end_device", "auth.end_other_devices"):
            continue
        ints = [a for a, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        others = {a: conv for a, conv in rule._converters.items() if a not in ints}
        values = {}
        for arg, conv in others.items():
            choices = getattr(conv, "items", None)
            values[arg] = sorted(choices)[0] if choices else "x"
        if not ints:
            yield rule.build(values, append_unknown=False)[1] if False else _build(app, rule, values)
            continue
        for n in [*IDS_TO_PROBE, UNUSED]:
            yield _build(app, rule, {**values, **{a: n for a in ints}})


def _build(app, rule, values):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def crawl(client, app):
    pages = {}
    for url in sorted(set(urls(app, "GET"))):
        response = client.get(url)
        pages[("GET", url)] = (response.status_code, normalise(response.get_data().decode("utf-8", "replace")))
    for url in sorted(set(urls(app, "POST"))):
        response = client.post(url, {"comment": "x", "reason": "x", "description": "x", "name": "entry"})
        pages[("POST", url)] = (response.status_code, normalise(response.get_data().decode("utf-8", "replace")))
    return pages


@pytest.fixture
def outlet_side(app, db, client_as, people):
    # the first-login tour seen already: the crawl's POSTs would otherwise close it between two crawls
    with app.test_request_context():
        guides.mark_tour_seen(db, user=people["chief"], skipped=True)
    db.commit()
    return client_as(people["chief"])


def test_pending_secret_visit_leaves_no_trace_for_the_outlet(app, db, org_tree, people, outlet_side, client_as):
    before = crawl(outlet_side, app)
    assert len(before) > 150  # every route, with many ids
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    photos = db.exec(select(Photo).where(Photo.visit_id == visit.id)).all()
    assert visit.id in IDS_TO_PROBE and all(p.id in IDS_TO_PROBE for p in photos)
    after = crawl(outlet_side, app)
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"the outlet side can tell a secret visit exists: {changed[:5]}"
    # the outlet's own POSTs against the secret visit answer exactly like a made-up id
    def without_path(key):
        status, body = after[key]
        return status, body.replace(key[1], "PATH")

    for path in (f"/visits/{visit.id}", f"/visits/{visit.id}/fill", f"/photos/{photos[0].id}/display"):
        unused = re.sub(r"/\d+", f"/{UNUSED}", path, count=1)
        assert without_path(("GET", path)) == without_path(("GET", unused)), path
    assert after[("GET", f"/photos/{photos[0].id}/display")][0] == 404
    # the inspection side does see it: the crawl really reaches the objects
    reviewer = client_as(people["reviewer"])
    assert reviewer.get(f"/visits/{visit.id}").status_code == 200
    assert reviewer.get(f"/photos/{photos[0].id}/thumb").status_code == 200


def test_after_release_code_name_only(app, db, org_tree, people, outlet_side):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        visits_services.release_visit(db, actor=people["reviewer"], visit=visit)
    shopper = people["shopper"]
    shopper.username = "lin.xiaoyu"  # a real login name, not the word "shopper" the guides print
    db.add(shopper)
    db.commit()
    seen = crawl(outlet_side, app)
    texts = "\n".join(body for _status, body in seen.values())
    assert "暗访员A07" in texts  # the code name shows
    for secret_fact in (shopper.display_name, shopper.username, f"{visit.checkin_lat:.5f}", f"{visit.checkin_lat:.4f}"):
        assert secret_fact not in texts, secret_fact
    page = outlet_side.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "检查日期" in page
    checkin = visit.checkin_at.astimezone(clock.zone("Asia/Shanghai")).strftime("%H:%M")
    assert checkin not in page  # the date, never the time of the visit
    photo = db.exec(select(Photo).where(Photo.visit_id == visit.id)).first()
    assert photo.purpose == "receipt"
    # the receipt can print the shopper's name and phone: never for the outlet side (issue 14)
    assert outlet_side.get(f"/photos/{photo.id}/display").status_code == 404
    assert outlet_side.get(f"/photos/{photo.id}/original").status_code == 404  # EXIF keeps place and device
