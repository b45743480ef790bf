"""Publishing a bulletin: a number in the network's style, the figures and the PDF kept, so that a
reprint months later is the same document, byte for byte."""
from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.auth.models import Role, User
from inspect_app.errors import Conflict, DomainError, PermissionDenied
from inspect_app.evidence.storage import new_prefix
from inspect_app.notifications.services import notify
from inspect_app.org.models import Unit
from inspect_app.reports import bulletins, kept, pdf
from inspect_app.reports.models import PublishedBulletin

KIND_TITLES = {"day": "日通报", "week": "周分析", "month": "月总结"}


def compose(session: Session, viewer, *, node: Unit | None, kind: str, day: dt.date, zone: str,
            fresh: bool | None = None):
    """The bulletin of the period around ``day``: the kept one where it may be (``kept``)."""
    period = bulletins.Period.around(kind, day)
    b = kept.compose(session, viewer, node=node, period=period, zone=zone,
                     rules=bulletins.RankingRules.from_config(current_app.config), fresh=fresh)
    return b, title_of(node, kind, day)


def title_of(node: Unit | None, kind: str, day: dt.date) -> str:
    period = bulletins.Period.around(kind, day)
    name = node.name if node else _("All units")
    return f"{name}{KIND_TITLES[kind]}({period.start:%Y-%m-%d}至{period.last_day:%Y-%m-%d})"


def render_pdf(b, title: str, number: str = "") -> bytes:
    from inspect_app.evidence.storage import get_storage

    html = render_template("reports/bulletin_pdf.html", b=b, title=title, number=number,
                           img=lambda p: f"inspect:photo/{p.id}/display/photo-row")
    return pdf.render(html, photos={p.id: p for p in b.photos}, storage=get_storage())


def figures(b) -> dict:
    """What the bulletin said, kept beside its PDF (strings for decimals: read back exactly)."""
    text = lambda value: None if value is None else str(value)  # noqa: E731
    return {
        "visits": b.total_visits, "average": text(b.average), "red_lines": b.red_lines,
        "lines_issued": b.lines_issued, "lines_done": b.lines_done, "close_rate": text(b.close_rate),
        "overdue": b.overdue_count, "extensions": b.extensions_count, "as_of": b.as_of.isoformat() if b.as_of else None,
        "rows": [{"name": r.name, "visits": r.visits, "average": text(r.average), "rank": r.rank,
                  "coverage": text(r.coverage), "red_lines": r.red_lines, "veto": r.vetoed,
                  "commended": r.commended, "named": r.named} for r in b.rows],
        "complaints": [{"name": r.unit.name, "received": r.received, "substantiated": r.at_fault, "appeals": r.appeals,
                        "overdue": r.overdue, "first_contact": text(r.first_contact_percent)} for r in b.complaint_rows],
        "coverage": [{"name": r.name, "planned": r.planned, "done": r.done, "missed": r.missed,
                      "percent": text(r.percent)} for r in b.coverage_rows],
        **({"self_inspection": [{"name": r.name, "planned": r.planned, "done": r.done, "missed": r.missed,
                                 "percent": text(r.percent), "false_checks": r.false_checks} for r in b.self_rows],
            "self_check_false": b.self_total.false_checks} if b.self_total is not None else {}),
    }


def number_for(session: Session, unit: Unit, year: int) -> tuple[int, str]:
    sequence = (session.execute(select(sa.func.max(PublishedBulletin.sequence)).where(
        PublishedBulletin.unit_id == unit.id, PublishedBulletin.year == year)).scalar() or 0) + 1
    prefix = current_app.config.get("BULLETIN_PREFIX", "质通")
    return sequence, f"{unit.name}{prefix}〔{year}〕{sequence}号"


def publish(session: Session, storage, *, actor, node: Unit, kind: str, day: dt.date, zone: str) -> PublishedBulletin:
    """Publish ``node``'s bulletin of the period around ``day`` (a period that is over); publishing
    it again gives the one already published."""
    if kind not in bulletins.KINDS:
        raise DomainError(_("Unknown bulletin."))
    if not (permissions.is_admin(actor) or (actor.role == Role.manager and permissions.unit_in_scope(session, actor, node))):
        raise PermissionDenied(_("Only a manager of this unit publishes its bulletins."))
    period = bulletins.Period.around(kind, day)
    existing = session.exec(select(PublishedBulletin).where(
        PublishedBulletin.unit_id == node.id, PublishedBulletin.kind == kind,
        PublishedBulletin.period_start == period.start)).first()
    if existing is not None:
        return existing
    if period.end > clock.today(zone):
        raise DomainError(_("This period is not over yet: a bulletin is published once its period has ended."))
    # what is published is kept for good: its composite is computed unless kept fresh
    b, title = compose(session, actor, node=node, kind=kind, day=day, zone=zone, fresh=True)
    year = clock.today(zone).year
    sequence, number = number_for(session, node, year)
    data = render_pdf(b, title, number)
    key = f"{new_prefix('bulletins')}/document.pdf"
    storage.put(key, data, "application/pdf")
    published = PublishedBulletin(
        unit_id=node.id, kind=kind, period_start=period.start, period_end=period.end, year=year, sequence=sequence,
        number=number, title=title, figures=figures(b), pdf_key=key, sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), published_by_id=actor.id)
    session.add(published)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        session.rollback()
        storage.delete(key)
        raise Conflict(_("This bulletin was published a moment ago; open it from the list.")) from None
    record(session, actor=actor if actor.id else None, action="bulletin.published", obj=published,
           after={"number": number, "unit_id": node.id, "kind": kind, "period_start": period.start,
                  "sha256": published.sha256})
    # the managers it ranks hear of it (and the unit's channels: the PDF rides along in e-mail)
    notify(session, user_ids=managers_under(session, node), kind="bulletin_published",
           params={"number": number, "title": title}, link=f"/bulletins/published/{published.id}.pdf",
           unit_id=node.id, attachment={"key": key, "filename": f"{number}-{title}.pdf", "mimetype": "application/pdf"})
    return published


def managers_under(session: Session, node: Unit) -> list[int]:
    """The active managers of ``node`` and of the units below it."""
    return list(session.exec(select(User.id).join(Unit, Unit.id == User.unit_id).where(
        User.role == Role.manager, User.active.is_(True), Unit.path.startswith(node.path, autoescape=True))).all())


def already_published(session: Session, unit: Unit, kind: str, day: dt.date) -> PublishedBulletin | None:
    return session.exec(select(PublishedBulletin).where(
        PublishedBulletin.unit_id == unit.id, PublishedBulletin.kind == kind,
        PublishedBulletin.period_start == bulletins.Period.around(kind, day).start)).first()


def visible(session: Session, viewer: User, *, limit: int = 200) -> list[tuple[PublishedBulletin, Unit]]:
    """The published bulletins that concern the viewer: those of their own unit and of the units
    above it (which rank it), and those of the units below it in their scope."""
    if not permissions.can_see_board(viewer):
        return []
    query = select(PublishedBulletin, Unit).join(Unit, Unit.id == PublishedBulletin.unit_id)
    if not permissions.is_admin(viewer):
        path = permissions.scope_path(session, viewer)
        if path is None:
            return []
        above = [int(p) for p in path.strip("/").split("/") if p]
        query = query.where(sa.or_(Unit.path.startswith(path, autoescape=True), Unit.id.in_(above)))
    return [tuple(r) for r in session.execute(
        query.order_by(PublishedBulletin.published_at.desc(), PublishedBulletin.id.desc()).limit(limit)).all()]


def may_read(session: Session, viewer: User, published: PublishedBulletin) -> bool:
    return any(p.id == published.id for p, _unit in visible(session, viewer, limit=10_000))


def scheduled(config_value: str) -> list[tuple[str, list[str]]]:
    """``BULLETIN_SCHEDULE`` = "33=month;3301=week,month": which unit (by code) publishes which kinds."""
    plan = []
    for part in (config_value or "").split(";"):
        if not part.strip():
            continue
        code, _sep, kinds = part.partition("=")
        wanted = [k.strip() for k in kinds.split(",") if k.strip() in bulletins.KINDS]
        if code.strip() and wanted:
            plan.append((code.strip(), wanted))
    return plan
