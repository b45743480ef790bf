"""Evidence checks (照片核验): the one definition of what makes a photo doubtful as evidence.

A photo is doubtful when the same picture was sent for another visit, answer or complaint (reused),
when it carries no capture time, when it was taken outside the time it claims to show (before the
visit or after it was sent; for a rectification answer, before the problem was even found) and when
the place written in it lies far from the outlet. The checks warn people who judge the evidence;
they never refuse a photo. This module knows photos and places only: the domain that owns a photo
says which time span and which place it should fit, and words the findings for its pages.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlmodel import Session, select

from inspect_app.evidence.models import Photo

#: A photo taken this long before the span it claims to show (or after it) is flagged: a phone's
#: clock is rarely right to the minute, and a visit is often prepared on the way.
CAPTURE_TOLERANCE = dt.timedelta(hours=2)
#: An after-photo taken this little before the finding is the phone's clock, not an old picture.
FINDING_SKEW = dt.timedelta(minutes=10)
#: How far from the outlet the place written in a photo may lie (``PHOTO_DISTANCE_METERS``).
DEFAULT_DISTANCE_METERS = 500

#: The checks, in the order they are shown.
CODES = ("reused", "no_time", "before", "before_finding", "after", "far")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def distance_limit() -> int:
    if has_app_context():
        return int(current_app.config.get("PHOTO_DISTANCE_METERS", DEFAULT_DISTANCE_METERS))
    return DEFAULT_DISTANCE_METERS


@dataclass(frozen=True)
class Holder:
    """Another place the same picture was sent to: a visit, a rectification line's answer or a complaint."""

    visit_id: int | None
    line_id: int | None
    complaint_id: int | None
    outlet_id: int


def _holder(photo) -> Holder:
    return Holder(photo.visit_id, photo.line_id, photo.complaint_id, photo.outlet_id)


@dataclass
class PhotoFacts:
    """What the checks found for one photo: when and where it was taken, and what is doubtful."""

    photo: Photo
    meters: float | None = None  # from the outlet, when the photo and the outlet have a position
    checks: list[str] = field(default_factory=list)
    others: list[Holder] = field(default_factory=list)  # for "reused"

    @property
    def doubtful(self) -> bool:
        return bool(self.checks)


def same_picture_elsewhere(session: Session, photos: list[Photo]) -> dict[int, list[Holder]]:
    """Photo id → the other visits, answers and complaints holding a photo with the same content
    hash (the same file, byte for byte). Photos of one holder (two items of one visit) do not count."""
    if not photos:
        return {}
    hashes = {p.sha256 for p in photos}
    rows = session.exec(select(Photo.id, Photo.sha256, Photo.visit_id, Photo.line_id, Photo.complaint_id,
                               Photo.outlet_id).where(Photo.sha256.in_(hashes), Photo.deleted_at.is_(None))
                        .order_by(Photo.id)).all()
    result: dict[int, list[Holder]] = {}
    for photo in photos:
        own = _holder(photo)
        others: list[Holder] = []
        for pid, sha, visit_id, line_id, complaint_id, outlet_id in rows:
            holder = Holder(visit_id, line_id, complaint_id, outlet_id)
            if sha == photo.sha256 and pid != photo.id and holder != own and holder not in others:
                others.append(holder)
        if others:
            result[photo.id] = others
    return result


def time_check(taken_at: dt.datetime | None, *, start: dt.datetime | None, end: dt.datetime | None,
               found_at: dt.datetime | None = None) -> str | None:
    """'no_time', 'before' (the span), 'before_finding' (taken before the problem it should show
    fixed was found), 'after' (the span, or the photo's own arrival), or None when it fits."""
    if taken_at is None:
        return "no_time"
    if found_at is not None and taken_at < found_at - FINDING_SKEW:
        return "before_finding"
    if start is not None and taken_at < start - CAPTURE_TOLERANCE:
        return "before"
    if end is not None and taken_at > end + CAPTURE_TOLERANCE:
        return "after"
    return None


def check_photos(session: Session, photos: list[Photo], *, start: dt.datetime | None, end: dt.datetime | None,
                 place: tuple[float, float] | None, found_at: dt.datetime | None = None) -> dict[int, PhotoFacts]:
    """Every check on each photo. ``start``/``end``: the span the photos should have been taken in
    (a photo never counts as taken after it arrived: ``end`` is at most its arrival); ``place``: the
    outlet's position; ``found_at``: for an answer's after-photos, when the problem was found."""
    reused = same_picture_elsewhere(session, photos)
    limit = distance_limit()
    result: dict[int, PhotoFacts] = {}
    for photo in photos:
        facts = PhotoFacts(photo)
        if photo.id in reused:
            facts.checks.append("reused")
            facts.others = reused[photo.id]
        until = min(end, photo.received_at) if end and photo.received_at else (end or photo.received_at)
        when = time_check(photo.taken_at, start=start, end=until, found_at=found_at)
        if when:
            facts.checks.append(when)
        if place and place[0] is not None and photo.gps_lat is not None and photo.gps_lon is not None:
            facts.meters = distance_m(photo.gps_lat, photo.gps_lon, place[0], place[1])
            if facts.meters > limit:
                facts.checks.append("far")
        facts.checks.sort(key=CODES.index)
        result[photo.id] = facts
    return result
