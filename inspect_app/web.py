"""The web wiring (top layer): user loading, security headers, error pages, template globals.

Nothing imports this module but the app factory; the view helpers every domain uses live in
``inspect_app.http`` (core).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlmodel import Session, select
from werkzeug.exceptions import SecurityError

from inspect_app import clock, permissions
from inspect_app.auth import services as auth_services
from inspect_app.auth.models import ROLE_LABELS, Role, User, UserSession
from inspect_app.auth.services import SESSION_KEY, person_label, zone_of
from inspect_app.checklists import services as checklists
from inspect_app.checklists.definition import KIND_LABELS, RESULT_LABELS, SEVERITY_LABELS
from inspect_app.complaints import privacy as complaint_privacy
from inspect_app.complaints import services as complaint_services
from inspect_app.complaints import settings as complaint_settings
from inspect_app.complaints.models import (
    ACCOUNTABILITY_ACTION_LABELS,
    ACCOUNTABILITY_STATUS_LABELS,
    COMPLAINT_STATUS_LABELS,
    SATISFACTION_LABELS,
    TIER_LABELS,
    VERDICT_LABELS,
)
from inspect_app.complaints.models import EVENT_LABELS as COMPLAINT_EVENT_LABELS
from inspect_app.db import get_engine, get_session, wants_write_lock, writing
from inspect_app.errors import DomainError
from inspect_app.evidence.views import photo_url
from inspect_app.extensions import login_manager
from inspect_app.http import RowIdConverter, export_url, page_url, wants_json
from inspect_app.i18n import duration_words, format_local, select_locale, zone_note
from inspect_app.notifications.services import unread_count
from inspect_app.plans.models import (
    ASSIGN_MODE_LABELS,
    COVERAGE_STATE_LABELS,
    OUTLET_RULE_LABELS,
    PERIOD_LABELS,
    PLAN_STATUS_LABELS,
)
from inspect_app.rectifications.models import EVENT_LABELS, EXTENSION_STATUS_LABELS, LINE_STATUS_LABELS
from inspect_app.rectifications.queries import BOARD_KINDS
from inspect_app.rectifications.services import days_left, deadline_day_of, is_overdue
from inspect_app.reports.pdf import print_photo
from inspect_app.visits.models import VISIT_STATUS_LABELS
from inspect_app.visits.services import CHECKIN_FLAG_LABELS, star_last_day, window_flag

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    # before any blueprint's rules are added: they take their converters when added
    app.url_map.converters["int"] = RowIdConverter
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)

    app.before_request(_refuse_unstorable_form)
    app.after_request(_security_headers)
    app.add_url_rule("/healthz", "health", _health)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(DomainError, _domain_error)
    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, _http_error)

    app.jinja_env.globals.update(
        perm=permissions,
        Role=Role,
        role_label=lambda role: ROLE_LABELS.get(role, role),
        current_locale=select_locale,
        page_url=page_url,
        export_url=export_url,
        visit_status_label=lambda status: VISIT_STATUS_LABELS.get(status, status),
        kind_label=lambda kind: KIND_LABELS.get(kind, kind),
        result_label=lambda result: RESULT_LABELS.get(result, "—") if result else "—",
        checklist_title=_checklist_title,
        person_label=lambda user, visit=None: person_label(current_user, user),
        window_flag=window_flag,
        checkin_flag_label=lambda flag: CHECKIN_FLAG_LABELS.get(flag, flag),
        star_last_day=lambda rating, zone: star_last_day(rating, zone).isoformat(),
        zone_note=zone_note,
        visit_url=visit_url,
        sees_visit_times=lambda visit: permissions.sees_visit_times(current_user, visit),
        line_status_label=lambda status: LINE_STATUS_LABELS.get(status, status),
        severity_label=lambda severity: SEVERITY_LABELS.get(severity, severity),
        event_label=lambda action: EVENT_LABELS.get(action, action),
        extension_status_label=lambda status: EXTENSION_STATUS_LABELS.get(status, status),
        severities=list(SEVERITY_LABELS),
        board_kinds=BOARD_KINDS,
        line_days_left=days_left,
        line_overdue=is_overdue,
        line_deadline_day=deadline_day_of,
        complaint_status_label=lambda status: COMPLAINT_STATUS_LABELS.get(status, status),
        complaint_event_label=lambda action: COMPLAINT_EVENT_LABELS.get(action, action),
        complaint_contact_late=complaint_services.contact_overdue,
        complaint_resolve_late=complaint_services.resolve_overdue,
        complaint_due_day=lambda c, zone: complaint_services.resolve_day(c, zone).isoformat(),
        verdict_label=lambda verdict: VERDICT_LABELS.get(verdict, verdict),
        source_label=lambda source: complaint_settings.SOURCE_LABELS.get(source, source),
        grade_label=complaint_settings.grade_label,
        complaint_grade_label=complaint_settings.complaint_grade_label,
        satisfaction_label=lambda value: SATISFACTION_LABELS.get(value, value),
        tier_label=lambda tier: TIER_LABELS.get(tier, tier),
        accountability_status_label=lambda status: ACCOUNTABILITY_STATUS_LABELS.get(status, status),
        accountability_action_label=lambda action: ACCOUNTABILITY_ACTION_LABELS.get(action, action),
        # customers' contact details: in full for complaint handlers, nowhere for anyone else
        contact_of=lambda obj: complaint_services.contact_of(current_user, obj),
        private_text=lambda text, obj=None: complaint_privacy.text_for(current_user, text, obj),
        hidden_contact=complaint_privacy.HIDDEN_CONTACT,
        period_label=lambda kind: PERIOD_LABELS.get(kind, kind),
        outlet_rule_label=lambda rule: OUTLET_RULE_LABELS.get(rule, rule),
        assign_mode_label=lambda mode: ASSIGN_MODE_LABELS.get(mode, mode),
        plan_status_label=lambda status: PLAN_STATUS_LABELS.get(status, status),
        coverage_state_label=lambda state: COVERAGE_STATE_LABELS.get(state, state),
        photo_url=photo_url,
        print_photo=print_photo,
    )
    app.extensions["viewer_zone"] = _viewer_zone
    app.context_processor(_badges)
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["duration"] = _duration
    app.jinja_env.filters["duration_words"] = duration_words


def _load_user(token: str) -> User | None:
    try:
        user_id, version = (int(p) for p in token.split(":"))
    except ValueError:
        return None
    db = get_session()
    user = db.exec(select(User).where(User.id == user_id)).first()
    if user is None or not user.active or user.session_version != version:
        return None
    row = auth_services.find_session(db, session.get(SESSION_KEY))
    state = auth_services.session_state(row, user, idle_hours=current_app.config["SESSION_IDLE_HOURS"],
                                        max_days=current_app.config["SESSION_MAX_DAYS"])
    if state != "ok":
        g.session_ended = state
        return None
    if auth_services.needs_touch(row):
        if not wants_write_lock():
            # its own short write, so a page never holds the write lock while it renders
            with writing(), Session(get_engine()) as touch:
                touch.execute(sa.update(UserSession).where(UserSession.id == row.id).values(last_seen_at=clock.now()))
                touch.commit()
        else:  # a write request holds the lock already: the touch commits with its work
            row.last_seen_at = clock.now()
            db.add(row)
    g.user_session = row
    return user


def _unauthorized():
    ended = g.get("session_ended") in ("idle", "expired")
    message = (_("You were signed out after a long time without use. Please log in again.") if ended
               else _("Your session has ended. Please log in again."))
    if wants_json():
        return jsonify(error=message, login=url_for("auth.login")), 401
    flash(message if g.get("session_ended") else login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def _health():
    """For load balancers and supervisors: 200 while this process answers and reaches the database,
    503 when it cannot (take it out of rotation). No login, no session, nothing about the data.
    Redis and S3 are left out: every host shares them, so they would take all hosts out at once,
    and pages without photos work without them (a job's failed push is retried by the pump)."""
    try:
        with get_engine().connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError:
        log.exception("health check: the database cannot be reached")
        return jsonify(status="database unreachable"), 503
    return jsonify(status="ok")


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure:  # over HTTPS (directly, or behind a proxy with TRUST_PROXY): stay on it
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint == "static":
        return response  # public files: no session is read, so no Vary: Cookie on them
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")

    if current_user and getattr(current_user, "is_authenticated", False):
        # Pages of a logged-in user never sit in a shared cache or the back-forward cache of
        # a shared phone after logout.
        response.headers.setdefault("Cache-Control", "private, no-store")
        response.vary.add("Cookie")
    return response


def _refuse_unstorable_form():
    """A form value no database can store (a NUL character) is a bad request, not a 500 later."""
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any("\x00" in value for value in request.form.values()):
            abort(400)


def _untrusted_host(error: SecurityError):
    """A request for a host not in TRUSTED_HOSTS: refused plainly (no page: its links would name
    that host)."""
    return Response("Unknown host.\n", status=400, mimetype="text/plain")


def _csrf_error(error: CSRFError):
    message = _("This form has expired or was sent twice. Please reload the page and try again.")
    if wants_json():
        return jsonify(error=message), 400
    return render_template("errors/error.html", code=400, message=message), 400


def _domain_error(error: DomainError):
    if wants_json():
        return jsonify(error=error.message), error.status_code
    return render_template("errors/error.html", code=error.status_code, message=error.message), error.status_code


ERROR_MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have permission to see this page."),
    404: _l("This page does not exist, or you cannot see it."),
    405: _l("This action is not allowed here."),
    409: _l("This record was changed by someone else. Reload and try again."),
    413: _l("The upload is too large."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
}


def _http_error(error):
    code = getattr(error, "code", 500) or 500
    message = str(ERROR_MESSAGES.get(code, ERROR_MESSAGES[500]))
    if wants_json():
        return jsonify(error=message), code
    return render_template("errors/error.html", code=code, message=message), code


def _checklist_title(code: str) -> str:
    checklist = checklists.registry().get(code)
    return checklist.title(select_locale()) if checklist else code


def visit_url(visit) -> str:
    """Where a visit in a list opens: on the review for whoever reviews it while it waits."""
    if visit.status == "in_review" and permissions.can_review_secret_visits(current_user):
        return url_for("review.review", visit_id=visit.id)
    return url_for("visits.detail", visit_id=visit.id)


def _viewer_zone() -> str | None:
    if not (current_user and getattr(current_user, "is_authenticated", False)):
        return None
    return zone_of(get_session(), current_user)


def _badges() -> dict:
    """The unread-notification count for the badge, once per rendered page."""
    if not (current_user and getattr(current_user, "is_authenticated", False)):
        return {"unread_count": 0}
    return {"unread_count": unread_count(get_session(), current_user.id)}


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"

