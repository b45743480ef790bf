from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm, record_id
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
        typed = (request.form.get("id") or "").strip()
        note_id = request.form.get("id", type=record_id) if typed else None
        if typed and note_id is None:
            # an id no page sends (a word, a number past 64 bits) is no notification: it must not
            # read as "no id", which marks them all read
            return redirect(url_for("notifications.index"))
        run_service(lambda db: services.mark_read(db, user_id=current_user.id, notification_id=note_id))
        if note_id:
            note = get_session().get(Notification, note_id)
            if note is not None and note.user_id == current_user.id and is_safe_next(note.link):
                return redirect(note.link)
    return redirect(url_for("notifications.index"))
