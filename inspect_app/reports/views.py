from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.auth.services import person_label
from inspect_app.db import get_session
from inspect_app.downloads import views as downloads
from inspect_app.downloads.services import rendering_in_worker
from inspect_app.evidence import markup, signatures
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import get_storage
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import REFUSED, public_url, run_service
from inspect_app.i18n import duration_words
from inspect_app.indicators import services as indicator_services
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit, Window
from inspect_app.rectifications import services as rect_services
from inspect_app.rectifications.models import RectificationEvent, RectificationLine
from inspect_app.rectifications.views import load_notice
from inspect_app.reports import bulletins, kept, kept_notices, notice_paper, pdf, publishing
from inspect_app.reports.models import PublishedBulletin
from inspect_app.visits import onsite, photo_checks, services, timers
from inspect_app.visits.models import Visit
from inspect_app.visits.views import load_visit

bp = Blueprint("reports", __name__)

#: The papers people sign (整改通知书, 检查报告) are Chinese whatever language the viewer reads the
#: site in: their labels (kinds, severities, statuses, people) too.
PAPER_LOCALE = "zh_CN"



def _visit_photos(db, visit) -> dict[str, list[Photo]]:
    return services.photos_by_place(db, visit)


def is_long(*, lines: int = 0, photos: int = 0) -> bool:
    """A paper the worker makes (``PDF_INLINE_LINES`` lines or ``PDF_INLINE_PHOTOS`` photos at most
    are rendered in the request); the worker's own replay always renders."""
    if rendering_in_worker():
        return False
    config = current_app.config
    return lines > int(config.get("PDF_INLINE_LINES", 200)) or photos > int(config.get("PDF_INLINE_PHOTOS", 12))


def finding(item, answer, visit: Visit) -> str:
    """What was found, as observed: the note, how often, the value given or the time measured."""
    parts = []
    if item.rule == "per_occurrence" and answer is not None and answer.occurrences:
        parts.append(f"发现 {answer.occurrences} 次")
    elif item.rule == "scale" and answer is not None and answer.scale_value is not None:
        parts.append(f"评分 {answer.scale_value}/{item.scale_max}")
    elif item.rule == "timer":
        seconds = timers.durations(visit).get(item.timer) if visit.kind == "secret" else (answer.seconds if answer else None)
        if seconds is not None:
            parts.append(f"实测 {duration_words(seconds)}" + (f"（限 {item.limit_minutes:g} 分钟）" if item.limit_minutes else ""))
    if answer is not None and answer.note:
        parts.append(answer.note)
    return "；".join(parts) if parts else "—"


@bp.route("/notices/<int:notice_id>/pdf")
@login_required
def notice_pdf(notice_id: int):
    """A notice's PDF: the kept copy when this viewer's document was rendered before and nothing
    it prints changed (``reports.kept_notices``); otherwise rendered here, or by the worker when
    long, and kept."""
    notice = load_notice(notice_id)  # 404 unless the viewer may see the visit (secrecy included)
    db = get_session()
    with force_locale(PAPER_LOCALE):
        paper = _notice_print(db, notice)
    digest = kept_notices.digest_of(paper.document.source, photos=paper.photos.values(), markups=paper.markups.values(),
                                    signatures=paper.signatures.values())
    filename = f"整改通知书-{notice.number}-{paper.outlet_name}.pdf"
    found = kept_notices.find(db, notice.id, digest)
    data = kept_notices.read(get_storage(), found) if found is not None else None
    if data is not None:
        return pdf.pdf_response(data, filename)
    # by its lines alone: Typst sets a 100-line notice with 100 photos in about 0.1 s
    if is_long(lines=paper.lines):
        return downloads.defer(f"整改通知书-{notice.number}")
    data = notice_paper.render(paper.document, storage=get_storage(), qr=pdf.qr_png(paper.link), markups=paper.markups)
    kept_notices.keep(db.get_bind(), get_storage(), notice_id=notice.id, audience=paper.audience, digest=digest,
                      data=data)
    return pdf.pdf_response(data, filename)


@dataclass(frozen=True)
class NoticePrint:
    """A notice as the viewer's paper (``notice_paper``), with the stored files it prints (by id)
    and its audience (how it names people, ``_audience``)."""
    document: notice_paper.NoticeDocument
    photos: dict[int, Photo]
    markups: dict[int, object]
    signatures: dict[int, object]
    audience: str
    link: str
    outlet_name: str
    lines: int


def _audience(viewer: User) -> str:
    """Which naming of people a viewer's paper carries (``auth.person_label``): shoppers by code
    name (the outlet side), by name (who may know them), or a shopper's own papers. One copy is
    kept per notice and audience; the digest, not this, decides whether a copy may be served."""
    if viewer.role == Role.shopper:
        return f"shopper:{viewer.id}"
    return "named" if permissions.sees_shopper_identity(viewer) else "coded"


def _notice_print(db, notice) -> NoticePrint:
    visit = db.get(Visit, notice.visit_id) if notice.visit_id else None  # none: raised from a complaint
    outlet = db.get(Outlet, notice.outlet_id)
    lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)
                    .order_by(RectificationLine.red_line.desc(), RectificationLine.deadline_at, RectificationLine.id)).all()
    photos = _visit_photos(db, visit) if visit else {}
    link = public_url(url_for("rectifications.notice", notice_id=notice.id))
    acknowledged_by = db.get(User, notice.acknowledged_by_id) if notice.acknowledged_by_id else None
    checklist = services.checklist_of(db, visit) if visit else None
    answers = services.answers_of(db, visit) if visit else {}
    people = {u.id: u for u in db.exec(select(User).where(User.id.in_(
        {line.responsible_id for line in lines if line.responsible_id}))).all()}
    reviews = {}  # the last 复查 of each line: verified (closed) or returned, by whom, when
    for event in db.exec(select(RectificationEvent).where(
            RectificationEvent.line_id.in_([line.id for line in lines]),
            RectificationEvent.action.in_(["verified", "returned", "closed_own"])).order_by(RectificationEvent.at)).all():
        reviews[event.line_id] = event
    reviewers = {u.id: u for u in db.exec(select(User).where(User.id.in_(
        {e.actor_id for e in reviews.values() if e.actor_id}))).all()}
    verified_on_site = signatures.by_event(db, [line.id for line in lines])
    confirmation = onsite.confirmation_of(db, visit) if visit and visit.kind != "secret" else None
    acknowledgement = signatures.latest_of(db, purpose=rect_services.ACKNOWLEDGED, notice_id=notice.id)
    now = clock.now()
    rows = []
    for line in lines:
        item = checklist.item(line.item_code) if checklist else None
        review = reviews.get(line.id)
        rows.append({
            "line": line, "standard": item.text_zh if item else line.problem.split("\n")[0],
            "found": finding(item, answers.get(line.item_code), visit) if item else line.problem,
            "responsible": person_label(current_user, people.get(line.responsible_id)) if line.responsible_id else "—",
            "late": -rect_services.days_left(line, outlet, now) if rect_services.is_overdue(line, now) else 0,
            "review": review, "reviewer": person_label(current_user, reviewers.get(review.actor_id)) if review and review.actor_id else "",
            "review_signature": verified_on_site.get(review.id) if review else None,
        })
    person = person_label(current_user, db.get(User, visit.assignee_id)) if visit else ""
    document = notice_paper.document(
        notice=notice, visit=visit, outlet=outlet, rows=rows, photos=photos, link=link, person=person,
        acknowledged_by=acknowledged_by.display_name if acknowledged_by else "", confirmation=confirmation,
        acknowledgement=acknowledgement)
    allowed = {p.id: p for group in photos.values() for p in group}
    signed = [s for s in (confirmation, acknowledgement, *verified_on_site.values()) if s is not None]
    audience = _audience(current_user)
    return NoticePrint(document=document, photos=allowed, markups=markup.current_of(db, list(allowed.values())),
                       signatures={s.id: s for s in signed}, audience=audience, link=link, outlet_name=outlet.name,
                       lines=len(lines))


@bp.route("/visits/<int:visit_id>/pdf")
@login_required
def visit_pdf(visit_id: int):
    visit = load_visit(visit_id)
    db = get_session()
    if visit.score is None:
        abort(404)  # a report exists once the visit is submitted
    checklist = services.checklist_of(db, visit)
    answers = services.answers_of(db, visit)
    result = services.score_visit(checklist, answers, visit)
    outlet = db.get(Outlet, visit.outlet_id)
    failed = sorted((checklist.item(c) for c in result.failed_items), key=lambda i: (not i.red_line, i.section, i.code))
    photos = _visit_photos(db, visit)
    if is_long(photos=sum(len(group) for code, group in photos.items() if not code.startswith("_"))):
        return downloads.defer(f"检查报告-{outlet.name}")
    confirmation = onsite.confirmation_of(db, visit) if visit.kind != "secret" else None
    with force_locale(PAPER_LOCALE):
        html = _visit_report_html(db, visit, checklist, answers, result, outlet, failed, photos, confirmation)
    allowed = {p.id: p for code, group in photos.items() if not code.startswith("_") for p in group}
    data = pdf.render(html, photos=allowed, storage=get_storage(), markups=markup.current_of(db, list(allowed.values())),
                      signatures={confirmation.id: confirmation} if confirmation else {})
    day = clock.local_date(visit.checkin_at, outlet.timezone).strftime("%Y%m%d") if visit.checkin_at else ""
    return pdf.pdf_response(data, f"检查报告-{outlet.name}-{day}.pdf")


def _visit_report_html(db, visit, checklist, answers, result, outlet, failed, photos, confirmation) -> str:
    show_times = permissions.sees_visit_times(current_user, visit)
    return render_template(
        "reports/visit_pdf.html", visit=visit, checklist=checklist, answers=answers, result=result, outlet=outlet,
        window=db.get(Window, visit.window_id) if visit.window_id else None, failed=failed, photos=photos,
        person=person_label(current_user, db.get(User, visit.assignee_id)),
        time_format="%Y-%m-%d %H:%M" if show_times else "%Y-%m-%d",
        timers=timers.timer_moments(visit) if visit.kind == "secret" and show_times else {},
        timer_labels=timers.TIMER_LABELS, durations=timers.durations(visit) if visit.kind == "secret" else {},
        awards_stars=checklist.kind == "star", finding=lambda item, answer: finding(item, answer, visit),
        checkin_flag=visit.checkin_flag if permissions.sees_checkin_flags(current_user, visit) else "",
        radius=services.checkin_radius(),
        confirmation=confirmation,
        # for those who judge the evidence only (the outlet side downloads this report too)
        evidence=photo_checks.visit_checks(db, current_user, visit, [p for group in photos.values() for p in group]),
    )


def _bulletin_scope():
    """The bulletin the query string asks for, once the viewer may see it: (db, node, kind, day, zone)."""
    db = get_session()
    if not permissions.can_see_board(current_user):
        abort(403)
    kind = request.args.get("kind") if request.args.get("kind") in bulletins.KINDS else "month"
    zone = current_app.config["DEFAULT_TIMEZONE"]
    try:
        day = dt.date.fromisoformat(request.args["date"]) if request.args.get("date") else None
    except ValueError:
        day = None
    if day is None or not clock.MONTH_YEARS[0] <= day.year <= clock.MONTH_YEARS[1]:  # no slip to year 9999
        day = bulletins.latest_complete(kind, clock.today(zone))
    node_id = request.args.get("unit", type=record_id) or current_user.unit_id
    node = db.get(Unit, node_id) if node_id else None
    if (node_id and node is None) or (node is not None and not permissions.unit_in_scope(db, current_user, node)):
        abort(404)  # a unit that is not there is not "every unit"
    return db, node, kind, day, zone


def _bulletin_args():
    db, node, kind, day, zone = _bulletin_scope()
    b, title = publishing.compose(db, current_user, node=node, kind=kind, day=day, zone=zone)
    args = {"kind": kind, "date": b.period.start.isoformat(), **({"unit": node.id} if node else {})}
    return db, b, title, args


@bp.route("/bulletins")
@login_required
def bulletin():
    db, b, title, args = _bulletin_args()
    units = org.unit_tree_labels(db, sa.and_(permissions.units_clause(db, current_user), org.picker_units(b.node)))
    previous = b.period.previous().start.isoformat()
    published = None
    if b.node is not None:
        published = db.exec(select(PublishedBulletin).where(
            PublishedBulletin.unit_id == b.node.id, PublishedBulletin.kind == b.period.kind,
            PublishedBulletin.period_start == b.period.start)).first()
    may_publish = (b.node is not None and published is None and current_user.role in (Role.manager, Role.admin)
                   and b.period.end <= clock.today(current_app.config["DEFAULT_TIMEZONE"]))
    finished = kept.finished(b.period, current_app.config["DEFAULT_TIMEZONE"])
    recomposing = finished and b.computed_at is not None and kept.pending(db, b.node, b.period)
    recompose = ActionForm() if finished and b.computed_at is not None and indicator_services.may_refresh(
        db, current_user, b.node) else None
    return render_template("reports/bulletin.html", b=b, title=title, args=args, units=units, previous=previous,
                           recompose=recompose, recomposing=recomposing, all_units=permissions.is_admin(current_user),
                           kinds=[("day", _("Daily bulletin")), ("week", _("Weekly analysis")), ("month", _("Monthly summary"))],
                           img=lambda p: url_for("evidence.photo", photo_id=p.id, variant="thumb"),
                           published=published, may_publish=may_publish, form=ActionForm(),
                           refresh=ActionForm() if b.composite and indicator_services.may_refresh(
                               db, current_user, b.node) else None)


@bp.route("/bulletins/recompose", methods=["POST"])
@login_required
def bulletin_recompose():
    """重新计算 a kept bulletin: the worker composes it again (a province's month takes seconds)."""
    db, node, kind, day, zone = _bulletin_scope()  # 403 / 404 out of scope
    if not indicator_services.may_refresh(db, current_user, node):
        abort(403)
    period = bulletins.Period.around(kind, day)
    args = {"kind": kind, "date": period.start.isoformat(), **({"unit": node.id} if node else {})}
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif not kept.finished(period, zone):
        flash(_("This period is still running: its bulletin is computed as you open it."), "info")
    else:
        kept.request_recompose(db, node=node, period=period, requested_by=current_user)
        db.commit()
        flash(_("Recomputing: the bulletin is composed again in the background and appears in a minute or two."),
              "success")
    return redirect(url_for("reports.bulletin", **args))


@bp.route("/bulletins/pdf")
@login_required
def bulletin_pdf():
    """A bulletin's PDF (a ranking of every unit, the period's figures): made by the worker, never
    in the request (it would hold a web process's CPU for seconds)."""
    if not rendering_in_worker():
        # its checks (403, 404 out of scope) answer here, not later in a notification
        _db, node, kind, day, _zone = _bulletin_scope()
        return downloads.defer(publishing.title_of(node, kind, day))
    _db, b, title, _args = _bulletin_args()
    return pdf.pdf_response(publishing.render_pdf(b, title), f"{title}.pdf")


@bp.route("/bulletins/publish", methods=["POST"])
@login_required
def bulletin_publish():
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("reports.bulletin", **request.args))
    db = get_session()
    kind = request.args.get("kind", "")
    node = db.get(Unit, request.args.get("unit", type=record_id) or 0)
    if node is None or not permissions.unit_in_scope(db, current_user, node):
        abort(404)
    try:
        day = dt.date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = None
    if day is None:
        flash(_("Choose the period to publish."), "error")
        return redirect(url_for("reports.bulletin", **request.args))
    published = run_service(lambda db: publishing.publish(
        db, get_storage(), actor=current_user, node=node, kind=kind, day=day,
        zone=current_app.config["DEFAULT_TIMEZONE"]))
    if published is REFUSED:
        return redirect(url_for("reports.bulletin", **request.args))
    flash(_("Published as %(number)s.", number=published.number), "success")
    return redirect(url_for("reports.published"))


@bp.route("/bulletins/published")
@login_required
def published():
    if not permissions.can_see_board(current_user):
        abort(403)
    rows = publishing.visible(get_session(), current_user)
    return render_template("reports/published.html", rows=rows, kind_titles=publishing.KIND_TITLES)


@bp.route("/bulletins/published/<int:bulletin_id>.pdf")
@login_required
def published_pdf(bulletin_id: int):
    db = get_session()
    found = db.get(PublishedBulletin, bulletin_id)
    if found is None or not publishing.may_read(db, current_user, found):
        abort(404)
    return pdf.pdf_response(get_storage().get(found.pdf_key), f"{found.number}-{found.title}.pdf")
