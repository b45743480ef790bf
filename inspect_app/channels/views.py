from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.channels import events, services
from inspect_app.channels.forms import ChannelForm, PreferenceForm
from inspect_app.channels.models import CHANNEL_KIND_LABELS, DELIVERY_STATUS_LABELS, Channel
from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import REFUSED, run_service
from inspect_app.org import services as org

bp = Blueprint("channels", __name__)


def _admin_only() -> None:
    if not permissions.is_admin(current_user):
        abort(403)


@bp.route("/admin/channels")
@login_required
def index():
    _admin_only()
    db = get_session()
    return render_template("channels/index.html", rows=services.channels_listed(db), mask=services.mask_target,
                           kind_labels=CHANNEL_KIND_LABELS, topics=events.TOPIC_BY_CODE,
                           smtp=services.smtp_configured(), form=ActionForm())


@bp.route("/admin/channels/new", methods=["GET", "POST"])
@bp.route("/admin/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@login_required
def edit(channel_id: int | None = None):
    _admin_only()
    db = get_session()
    channel = services.load_channel(db, channel_id) if channel_id else None
    form = ChannelForm(obj=None if request.method == "POST" else channel)
    if channel is not None and request.method == "GET":
        form.topics.data, form.target.data = list(channel.events or []), ""
    form.unit_id.choices = [(u.id, label) for u, label in org.unit_tree_labels(db)]
    if form.validate_on_submit():
        saved = run_service(lambda db: services.save_channel(
            db, actor=current_user, channel=channel, unit_id=form.unit_id.data, name=form.name.data,
            kind=form.kind.data, target=form.target.data, secret=form.secret.data, topics=form.topics.data or [],
            subunits=form.subunits.data, active=form.active.data), _("Channel saved."))
        if saved is not REFUSED:
            return redirect(url_for("channels.index"))
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("channels/form.html", form=form, channel=channel, topics=events.TOPICS,
                           masked=services.mask_target(channel) if channel else "")


@bp.route("/admin/channels/<int:channel_id>/test", methods=["POST"])
@login_required
def test(channel_id: int):
    _admin_only()
    form = ActionForm()
    if form.validate_on_submit():
        channel = services.load_channel(get_session(), channel_id)
        run_service(lambda db: services.send_test(db, actor=current_user, channel=db.get(Channel, channel.id)),
                    _("A test message is on its way: see the delivery log."))
    else:
        flash_form_errors(form)
    return redirect(url_for("channels.deliveries"))


@bp.route("/admin/deliveries")
@login_required
def deliveries():
    """Every attempt to send outside the app: event, channel, status, error, attempts, time."""
    _admin_only()
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUS_LABELS else None
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total = services.deliveries_listed(get_session(), status=status, page=page)
    return render_template("channels/deliveries.html", rows=rows, total=total, page=page, per_page=50,
                           status=status, status_labels=DELIVERY_STATUS_LABELS, title=events.title)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """A person's e-mail for notifications: at once or in one digest at 08:00 (their time)."""
    db = get_session()
    pref = services.preference_of(db, current_user.id)
    form = PreferenceForm(obj=None if request.method == "POST" else pref)
    if form.validate_on_submit():
        done = run_service(lambda db: services.save_preference(db, actor=current_user, email=form.email.data,
                                                               mode=form.mode.data), _("Saved."))
        if done is not REFUSED:
            return redirect(url_for("channels.preferences"))
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("channels/preferences.html", form=form, smtp=services.smtp_configured())
