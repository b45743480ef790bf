from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm
from inspect_app.http import is_safe_next, run_service
from inspect_app.notifications import services
from inspect_app.notifications.models import Notification

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    db = get_session()
    return render_template("notifications/index.html", items=services.recent(db, current_user.id),
                           render=services.render, form=ActionForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read():
    """Mark one (``id``) or all as read; with ``id`` it then follows the notification's link."""
    if ActionForm().validate_on_submit():
        note_id = request.form.get("id", type=int)
        run_service(lambda db: services.mark_read(db, user_id=current_user.id, notification_id=note_id))
        if note_id:
            note = get_session().get(Notification, note_id)
            if note is not None and note.user_id == current_user.id and is_safe_next(note.link):
                return redirect(note.link)
    return redirect(url_for("notifications.index"))
