"""Evidence checks worded for the pages and papers of the people who judge the evidence (照片核验).

What is checked is defined once, in ``evidence.checks``; here a visit (or a rectification answer,
through ``answer_checks``) says which time and place its photos should fit, and each finding is
worded for one viewer: another visit that holds the same picture is named and linked only where the
viewer may open it, otherwise it is "another visit", never more (a secret visit not yet released,
a shopper, an outlet out of scope). Only ``permissions.judges_evidence`` people get any of it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from inspect_app import permissions
from inspect_app.evidence import checks
from inspect_app.evidence.checks import PhotoFacts
from inspect_app.evidence.models import Photo
from inspect_app.i18n import format_local
from inspect_app.org.models import Outlet
from inspect_app.visits import services as visits
from inspect_app.visits.models import Visit

PLACE_LABELS = {"receipt": _l("Receipt"), "general": _l("Storefront, hall, counter")}

#: The flag code of each check (the secret-visit review's codes, kept).
FLAG_CODES = {"reused": "reused_photo", "no_time": "photo_no_time", "before": "photo_time", "after": "photo_time",
              "before_finding": "photo_before_finding", "far": "photo_far"}
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass
class EvidenceFlag:
    """One doubtful thing about one photo. ``message`` is the whole sentence (papers, badges);
    ``lead`` and ``places`` the same for a page, each other place linked where the viewer may open it."""

    code: str
    message: str
    photo_id: int
    item_code: str | None = None
    lead: str = ""
    places: list[tuple[str, str | None]] = field(default_factory=list)


def photo_labels(photos: list[Photo]) -> dict[int, str]:
    """Each photo named as a reviewer sees it on the page: its place and number there ("A-01 #2")."""
    labels, counts = {}, {}
    for photo in photos:
        place = photo.item_code or str(PLACE_LABELS.get(photo.purpose, photo.purpose))
        counts[place] = counts.get(place, 0) + 1
        labels[photo.id] = f"{place} #{counts[place]}"
    return labels


def _link(endpoint: str, fallback: str, **values) -> str:
    return url_for(endpoint, **values) if has_request_context() else fallback


def distance_words(meters: float) -> str:
    return f"{meters / 1000:.1f} km" if meters >= 1000 else f"{meters:.0f} m"


def describe_holder(session: Session, viewer, holder: checks.Holder) -> tuple[str, str | None]:
    """The other place a picture was sent to, as this viewer may learn it: (words, link or None)."""
    if holder.visit_id is not None:
        other = session.get(Visit, holder.visit_id)
        if viewer is not None and other is not None and permissions.can_view_visit(session, viewer, other):
            outlet = session.get(Outlet, other.outlet_id)
            moment = other.checkin_at or other.started_at or other.created_at
            day = format_local(moment, outlet.timezone, "%Y-%m-%d") if moment else "—"
            return (_("the visit of %(day)s at %(outlet)s", day=day, outlet=outlet.name),
                    _link("visits.detail", f"/visits/{other.id}", visit_id=other.id))
        return _("another visit"), None
    if holder.line_id is not None:
        if viewer is not None and permissions.can_view_line_id(session, viewer, holder.line_id):
            outlet = session.get(Outlet, holder.outlet_id)
            return (_("a rectification answer at %(outlet)s", outlet=outlet.name),
                    _link("rectifications.line", f"/lines/{holder.line_id}", line_id=holder.line_id))
        return _("another rectification answer"), None
    return _("a complaint's evidence"), None  # complaint photos are the complaint handlers' alone


def flags_for(session: Session, viewer, facts: dict[int, PhotoFacts], *, labels: dict[int, str], zone: str,
              span: str | None = None, found_at: dt.datetime | None = None) -> list[EvidenceFlag]:
    """Each check of each photo as a sentence. ``span``: the visit's time as shown ("10:05–10:48");
    without it the photos are an answer's (after-photos), judged against ``found_at``."""
    flags: list[EvidenceFlag] = []
    for photo_id, found in facts.items():
        photo, name = found.photo, labels.get(photo_id, "#")
        when = format_local(photo.taken_at, zone, TIME_FORMAT) if photo.taken_at else ""
        for code in found.checks:
            places: list[tuple[str, str | None]] = []
            if code == "reused":
                places = [describe_holder(session, viewer, holder) for holder in found.others]
                lead = _("Photo %(photo)s is the same picture as one sent for:", photo=name)
                message = f"{lead} {'; '.join(words for words, _link_ in places)}"
            elif code == "no_time":
                message = _("Photo %(photo)s carries no capture time.", photo=name)
            elif code in ("before", "after") and span is not None:
                message = _("Photo %(photo)s was taken %(when)s, outside the visit (%(span)s).",
                            photo=name, when=when, span=span)
            elif code == "after":
                message = _("Photo %(photo)s claims to be taken %(when)s, after it arrived (%(arrived)s).",
                            photo=name, when=when, arrived=format_local(photo.received_at, zone, TIME_FORMAT))
            elif code in ("before", "before_finding"):
                message = _("Photo %(photo)s was taken %(when)s, before the problem was found (%(found)s).",
                            photo=name, when=when, found=format_local(found_at, zone, TIME_FORMAT) if found_at else "—")
            else:  # far
                message = _("Photo %(photo)s was taken %(distance)s from the outlet (more than %(limit)d m).",
                            photo=name, distance=distance_words(found.meters), limit=checks.distance_limit())
            flags.append(EvidenceFlag(FLAG_CODES[code], message, photo_id, photo.item_code,
                                      lead if code == "reused" else message, places))
    return flags


def caption(found: PhotoFacts, zone: str) -> str:
    """When and where a photo was taken, as read from the photo itself."""
    photo = found.photo
    parts = [_("taken %(when)s", when=format_local(photo.taken_at, zone, TIME_FORMAT)) if photo.taken_at
             else _("no capture time")]
    if found.meters is not None:
        parts.append(_("%(distance)s from the outlet", distance=distance_words(found.meters)))
    elif photo.gps_lat is not None:
        parts.append(f"{photo.gps_lat:.5f}, {photo.gps_lon:.5f}")
    else:
        parts.append(_("no place in the photo"))
    return " · ".join(parts)


@dataclass
class EvidenceReview:
    """A page's evidence checks: the flags, and each photo's caption (id → words)."""

    flags: list[EvidenceFlag] = field(default_factory=list)
    captions: dict[int, str] = field(default_factory=dict)
    doubtful: set[int] = field(default_factory=set)


def _review(session: Session, viewer, facts: dict[int, PhotoFacts], zone: str, **kwargs) -> EvidenceReview:
    photos = [f.photo for f in facts.values()]
    return EvidenceReview(flags_for(session, viewer, facts, labels=kwargs.pop("labels", None) or photo_labels(photos),
                                    zone=zone, **kwargs),
                          {pid: caption(f, zone) for pid, f in facts.items()},
                          {pid for pid, f in facts.items() if f.doubtful})


def visit_span(visit: Visit, outlet: Outlet) -> str:
    start = visit.checkin_at or visit.started_at
    return (f"{format_local(start, outlet.timezone, '%H:%M') if start else '…'}–"
            f"{format_local(visit.submitted_at, outlet.timezone, '%H:%M') if visit.submitted_at else '…'}")


def visit_checks(session: Session, viewer, visit: Visit, photos: list[Photo] | None = None) -> EvidenceReview:
    """The checks of a visit's photos (every kind of visit): taken during the visit, at the outlet,
    never sent for anything else. An empty review for anyone who does not judge evidence."""
    if viewer is not None and not permissions.judges_evidence(viewer):
        return EvidenceReview()
    outlet = session.get(Outlet, visit.outlet_id)
    photos = photos if photos is not None else visits.photos_of(session, visit)
    facts = checks.check_photos(session, photos, start=visit.checkin_at or visit.started_at, end=visit.submitted_at,
                                place=(outlet.lat, outlet.lon) if outlet.lat is not None else None)
    return _review(session, viewer, facts, outlet.timezone, span=visit_span(visit, outlet))


def answer_checks(session: Session, viewer, *, photos: list[Photo], outlet: Outlet, found_at: dt.datetime | None,
                  labels: dict[int, str]) -> EvidenceReview:
    """The checks of a rectification answer's after-photos: never taken before the problem was
    found, nor after they arrived; at the outlet; not a picture sent before (the finding's own
    photo, another answer's)."""
    if viewer is not None and not permissions.judges_evidence(viewer):
        return EvidenceReview()
    facts = checks.check_photos(session, photos, start=None, end=None, found_at=found_at,
                                place=(outlet.lat, outlet.lon) if outlet.lat is not None else None)
    return _review(session, viewer, facts, outlet.timezone, labels=labels, found_at=found_at)
