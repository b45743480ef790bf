"""Request-wide wiring: user loading, security headers, error pages, template helpers."""
from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlmodel import select

from inspect_app import permissions
from inspect_app.auth.models import Role, User
from inspect_app.db import get_session
from inspect_app.errors import DomainError
from inspect_app.extensions import login_manager
from inspect_app.i18n import format_local, select_locale, zone_note

ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.manager: _l("Regional manager"),
    Role.inspector: _l("Inspector"),
    Role.shopper: _l("Mystery shopper"),
    Role.reviewer: _l("Reviewer"),
    Role.branch_chief: _l("Branch chief"),
}

VISIT_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "in_progress": _l("In progress"),
    "in_review": _l("In review"),
    "returned": _l("Returned"),
    "released": _l("Released"),
    "cancelled": _l("Cancelled"),
}

RESULT_LABELS = {
    "pass": _l("Pass"),
    "fail": _l("Fail"),
    "na": _l("N/A"),
}

KIND_LABELS = {
    "open": _l("Open inspection"),
    "secret": _l("Secret visit"),
    "star": _l("Star rating"),
    "etiquette": _l("Service etiquette"),
    "fives": _l("5S check"),
}

LINE_STATUS_LABELS = {
    "issued": _l("Issued"),
    "acknowledged": _l("Acknowledged"),
    "answered": _l("Answered, to verify"),
    "returned": _l("Returned"),
    "closed": _l("Closed"),
    "disputed": _l("Disputed"),
    "withdrawn": _l("Withdrawn"),
}

SEVERITY_LABELS = {
    "on_spot": _l("On the spot"),
    "urgent": _l("Urgent (1 day)"),
    "serious": _l("Serious (3 days)"),
    "general": _l("General (7 days)"),
    "minor": _l("Minor (15 days)"),
}

EVENT_LABELS = {
    "issued": _l("issued"),
    "acknowledged": _l("acknowledged"),
    "answered": _l("answer sent"),
    "returned": _l("returned"),
    "verified": _l("verified and closed"),
    "disputed": _l("disputed"),
    "upheld": _l("dispute refused: finding upheld"),
    "withdrawn": _l("finding withdrawn"),
    "deadline_changed": _l("deadline changed"),
    "assigned": _l("responsible person set"),
}

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)

    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, _http_error)

    app.jinja_env.globals.update(
        perm=permissions,
        Role=Role,
        role_label=lambda role: ROLE_LABELS.get(role, role),
        current_locale=select_locale,
        page_url=page_url,
        visit_status_label=lambda status: VISIT_STATUS_LABELS.get(status, status),
        kind_label=lambda kind: KIND_LABELS.get(kind, kind),
        result_label=lambda result: RESULT_LABELS.get(result, "—") if result else "—",
        checklist_title=_checklist_title,
        person_label=person_label,
        window_flag=_window_flag,
        star_last_day=_star_last_day,
        zone_note=zone_note,
        visit_url=visit_url,
        line_status_label=lambda status: LINE_STATUS_LABELS.get(status, status),
        severity_label=lambda severity: SEVERITY_LABELS.get(severity, severity),
        event_label=lambda action: EVENT_LABELS.get(action, action),
        severities=list(SEVERITY_LABELS),
        line_days_left=_line_days_left,
        line_overdue=_line_overdue,
    )
    app.extensions["viewer_zone"] = _viewer_zone
    app.context_processor(_badges)
    app.before_request(_maybe_sweep)
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["duration"] = _duration


def _load_user(token: str) -> User | None:
    try:
        user_id, version = (int(p) for p in token.split(":"))
    except ValueError:
        return None
    user = get_session().exec(select(User).where(User.id == user_id)).first()
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def _unauthorized():
    if wants_json():
        return jsonify(error=_("Your session has ended. Please log in again.")), 401
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
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


def get_or_404(model, object_id):
    """Load one row by primary key or answer 404."""
    from flask import abort

    obj = get_session().get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def is_safe_next(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//") and "\\" not in target


def redirect_back(default_endpoint: str = "dashboard.home"):
    target = request.form.get("next") or request.args.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for(default_endpoint))


def page_url(page: int) -> str:
    """The current page's URL with its query string, at another page number."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _checklist_title(code: str) -> str:
    from flask import current_app

    checklist = current_app.extensions["checklists"].get(code)
    return checklist.title(select_locale()) if checklist else code


def person_label(user: User, visit=None) -> str:
    """How a person is named to the current viewer: the outlet side knows shoppers by code name only."""
    if user is None:
        return ""
    if user.role == Role.shopper:
        if permissions.sees_shopper_identity(current_user) or current_user.id == user.id:
            return f"{user.display_name} · {user.code_name}"
        return user.code_name or "—"
    return user.display_name


def _window_flag(visit, outlet):
    from inspect_app.visits.services import window_flag

    return window_flag(visit, outlet)


def visit_url(visit) -> str:
    """Where a visit in a list opens: on the review for whoever reviews it while it waits."""
    if visit.status == "in_review" and permissions.can_review_secret_visits(current_user):
        return url_for("review.review", visit_id=visit.id)
    return url_for("visits.detail", visit_id=visit.id)


def _star_last_day(rating, zone):
    from inspect_app.visits.services import star_last_day

    return star_last_day(rating, zone).isoformat()


def _viewer_zone() -> str | None:
    if not (current_user and getattr(current_user, "is_authenticated", False)):
        return None
    from inspect_app.auth.services import zone_of

    return zone_of(get_session(), current_user)


def _badges() -> dict:
    """The unread-notification count for the badge, once per rendered page."""
    if not (current_user and getattr(current_user, "is_authenticated", False)):
        return {"unread_count": 0}
    from inspect_app.notifications.services import unread_count

    return {"unread_count": unread_count(get_session(), current_user.id)}


_last_sweep = {"at": 0.0}


def _maybe_sweep() -> None:
    """Reminders and escalations go out without a cron job: at most every few minutes per process,
    from an ordinary request. ``inspect-app sweep`` does the same from cron when preferred."""
    import time

    from flask import current_app

    interval = current_app.config.get("SWEEP_INTERVAL_SECONDS", 300)
    if interval <= 0 or time.monotonic() - _last_sweep["at"] < interval or request.endpoint == "static":
        return
    _last_sweep["at"] = time.monotonic()
    from sqlmodel import Session

    from inspect_app.db import get_engine, writing
    from inspect_app.rectifications.services import sweep

    try:
        with writing(), Session(get_engine()) as session:
            sweep(session)
            session.commit()
    except Exception:  # a failed sweep must never break the user's page
        current_app.logger.exception("reminder sweep failed")


def _line_days_left(line, outlet):
    from inspect_app.rectifications.services import days_left

    return days_left(line, outlet)


def _line_overdue(line):
    from inspect_app.rectifications.services import is_overdue

    return is_overdue(line)


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


REFUSED = object()


def run_service(action, success=None):
    """One form's service call, in the view rhythm: run it, then commit and flash ``success``
    (a text, or a function of the result), or roll back and flash the refusal in the user's words.
    Returns the service's result, or ``REFUSED``."""
    from inspect_app.errors import DomainError

    db = get_session()
    try:
        result = action(db)
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
        return REFUSED
    db.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return result
