from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from inspect_app import permissions
from inspect_app.auth import services
from inspect_app.auth.forms import LoginForm, OwnPasswordForm, PasswordForm, UserForm, role_choices
from inspect_app.auth.importing import ACCOUNTS
from inspect_app.auth.models import User, UserSession
from inspect_app.csv_import import import_page
from inspect_app.db import get_session, lock_on_write_only
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import REFUSED, get_or_404, is_safe_next, redirect_back, run_service
from inspect_app.i18n import SUPPORTED
from inspect_app.org import services as org_services
from inspect_app.org.models import Unit

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        # The one view that commits by hand: a failed attempt is recorded (throttling) and must
        # land although the login is refused.
        db = get_session()
        try:
            user = services.authenticate(
                db,
                username=form.username.data,
                password=form.password.data,
                ip=request.remote_addr or "-",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                max_failures_per_ip=current_app.config["LOGIN_MAX_FAILURES_PER_IP"],
                window_minutes=current_app.config["LOGIN_WINDOW_MINUTES"],
            )
        except services.TooManyAttempts as exc:
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 429
        db.commit()
        if user is None:
            flash(_("Wrong username or password."), "error")
        else:
            _sign_in(user)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("dashboard.home"))
    return render_template("auth/login.html", form=form)


def _sign_in(user: User) -> None:
    """A fresh cookie (nothing carried over but the language) and a new device row behind it."""
    db = get_session()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    key = services.open_session(db, user=user, user_agent=request.user_agent.string or "",
                                ip=request.remote_addr or "-")
    db.commit()
    session[services.SESSION_KEY] = key
    session.permanent = True  # the cookie survives closing the browser; the server decides how long
    login_user(user)


@bp.route("/logout", methods=["POST"])
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        signed_in = current_user.is_authenticated  # loads the user, and with it this device's row
        row = g.get("user_session")
        if row is not None and signed_in:
            run_service(lambda db: services.end_session(db, actor=current_user, row=row))
        lang = session.get("lang")
        logout_user()
        session.clear()
        if lang:
            session["lang"] = lang
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/outbox-key")
@login_required
def outbox_key():
    """The key the phone seals this person's unsent work with at logout and opens it with at their
    next login there. Never cached, and only for the person themself."""
    db = get_session()
    key = services.outbox_key(db, current_user)
    db.commit()
    response = jsonify(key=key, user=current_user.id)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/account/devices")
@login_required
def devices():
    """The user's signed-in devices, this one marked; any of the others can be signed out."""
    db = get_session()
    rows = services.active_sessions(db, current_user, idle_hours=current_app.config["SESSION_IDLE_HOURS"],
                                    max_days=current_app.config["SESSION_MAX_DAYS"])
    current = g.get("user_session")
    return render_template("auth/devices.html", rows=rows, current_id=current.id if current else None,
                           form=ActionForm())


@bp.route("/account/devices/<int:session_id>/end", methods=["POST"])
@login_required
def end_device(session_id: int):
    row = get_or_404(UserSession, session_id)
    if row.user_id != current_user.id:
        abort(404)
    if ActionForm().validate_on_submit():
        run_service(lambda db: services.end_session(db, actor=current_user, row=row), _("That device is signed out."))
    return redirect(url_for("auth.devices"))


@bp.route("/account/devices/end-others", methods=["POST"])
@login_required
def end_other_devices():
    if ActionForm().validate_on_submit():
        current = g.get("user_session")
        run_service(lambda db: services.end_other_sessions(db, actor=current_user, keep=current),
                    lambda n: _("%(n)d other devices signed out.", n=n))
    return redirect(url_for("auth.devices"))


@bp.route("/language", methods=["POST"])
def set_language():
    form = ActionForm()
    lang = request.form.get("lang")
    if form.validate_on_submit() and lang in SUPPORTED:
        session["lang"] = lang
        if current_user.is_authenticated:
            services.set_locale(get_session(), user=current_user, locale=lang)
            get_session().commit()
    return redirect_back()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = OwnPasswordForm()
    if form.validate_on_submit() and run_service(lambda db: services.change_own_password(
            db, user=current_user, current=form.current.data, password=form.password.data),
            _("Your password has been changed. Other devices are logged out.")) is not REFUSED:
        _sign_in(current_user._get_current_object())  # every device ended: this one starts again
        return redirect(url_for("dashboard.home"))
    return render_template("auth/password.html", form=form, user=current_user, own=True)


# --- administration of accounts -------------------------------------------------------------

def _require_admin():
    if not permissions.can_manage_org(current_user):
        abort(403)


@bp.route("/admin/users")
@login_required
def users():
    _require_admin()
    db = get_session()
    role = request.args.get("role") or None
    q = (request.args.get("q") or "").strip()[:100]
    unit_id = request.args.get("unit", type=record_id)
    shown = db.get(Unit, unit_id) if unit_id else None
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total = services.search_users(db, role=role, q=q, unit=shown, page=page)
    return render_template("auth/users.html", users=rows, total=total, page=page, per_page=30, role=role, q=q,
                           roles=role_choices(), unit_id=shown.id if shown else None,
                           units=org_services.unit_tree_labels(db, org_services.picker_units(shown)),
                           unit_names=org_services.unit_names(db, [u.unit_id for u in rows if u.unit_id]))


def _scope(db, form: UserForm) -> dict:
    """The unit and outlets the form names by code, checked (a code that names nothing is refused
    with the code in the message)."""
    code = (form.unit_code.data or "").strip()
    return {"unit_id": org_services.unit_by_code(db, code).id if code else None,
            "outlet_ids": [o.id for o in org_services.outlets_by_codes(db, form.outlet_codes.data)]}


def _form_page(form: UserForm, user: User | None, **extra):
    """The account form with what its codes name now (the unit's name, the outlets' names)."""
    db = get_session()
    unit = db.get(Unit, user.unit_id) if user is not None and user.unit_id else None
    outlets = services.outlet_codes_of(db, user) if user is not None else []
    return render_template("auth/user_form.html", form=form, user=user, unit=unit, outlets=outlets, **extra)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    _require_admin()
    form = UserForm()
    form.role.choices = role_choices()
    if form.validate_on_submit():
        user = run_service(lambda db: services.create_user(
            db, actor=current_user, username=form.username.data, display_name=form.display_name.data,
            password=form.password.data or "", role=form.role.data, **_scope(db, form),
            code_name=form.code_name.data, phone=form.phone.data or "",
        ), lambda user: _("Account %(name)s created.", name=user.username))
        if user is not REFUSED:
            return redirect(url_for("auth.user_edit", user_id=user.id))
    return _form_page(form, None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    _require_admin()
    db = get_session()
    user = get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.role.choices = role_choices()
    del form.password
    if request.method == "GET":
        form.unit_code.data = db.get(Unit, user.unit_id).code if user.unit_id else ""
        form.outlet_codes.data = " ".join(code for code, _name in services.outlet_codes_of(db, user))
    form.username.data = user.username  # not editable: it is the login and the audit identity
    if form.validate_on_submit():
        updated = run_service(lambda db: services.update_user(
            db, actor=current_user, user=user, display_name=form.display_name.data, role=form.role.data,
            **_scope(db, form), code_name=form.code_name.data, phone=form.phone.data or "",
        ), _("Saved."))
        if updated is not REFUSED:
            return redirect(url_for("auth.user_edit", user_id=user.id))
    return _form_page(form, user, action_form=ActionForm(), password_form=PasswordForm(prefix="pw"))


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@login_required
def user_set_active(user_id: int):
    _require_admin()
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        run_service(lambda db: services.set_active(db, actor=current_user, user=user, active=active),
                    _("Account activated.") if active else _("Account deactivated; its sessions have ended."))
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@login_required
def user_reset_password(user_id: int):
    _require_admin()
    user = get_or_404(User, user_id)
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        if run_service(lambda db: services.reset_password(db, actor=current_user, user=user, password=form.password.data),
                       _("Password reset; the user's sessions have ended.")) is not REFUSED and user.id == current_user.id:
            _sign_in(user)
    else:
        flash_form_errors(form)
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/users/import", methods=["GET", "POST"])
@lock_on_write_only
@login_required
def users_import():
    _require_admin()
    return import_page(ACCOUNTS, "users", "auth.users")
