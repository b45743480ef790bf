from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app.db import get_session
from inspect_app.downloads import services
from inspect_app.downloads.models import FileStatus
from inspect_app.evidence.storage import get_storage
from inspect_app.tabular import attachment

bp = Blueprint("downloads", __name__)


def defer(title: str):
    """For a view whose file is big: the worker makes it; the person is told so and sent to 我的文件."""
    path = request.full_path if request.query_string else request.path
    services.request_file(user=current_user, title=title, path=path)
    flash(_("Being made: %(title)s. It will be under “My files” in a moment; a notification says when it is ready.",
            title=title), "info")
    return redirect(url_for("downloads.index"))


@bp.route("/files")
@login_required
def index():
    rows = services.listed(get_session(), current_user.id)
    return render_template("downloads/index.html", rows=rows,
                           waiting=any(r.status == FileStatus.pending for r in rows))


@bp.route("/files/<int:file_id>")
@login_required
def download(file_id: int):
    found = services.load_file_for(get_session(), current_user, file_id)
    if found.status != FileStatus.ready:
        flash(_("This file is not ready yet.") if found.status == FileStatus.pending
              else _("This file could not be made."), "info")
        return redirect(url_for("downloads.index"))
    response = Response(get_storage().stream(found.storage_key), mimetype=found.mimetype)
    response.headers["Content-Disposition"] = attachment(found.filename or "download")
    response.headers["Content-Length"] = str(found.size)
    response.headers["Cache-Control"] = "private, no-store"
    return response
