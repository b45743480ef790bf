from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm, flash_form_errors, record_id
from inspect_app.http import run_service
from inspect_app.jobs import queue, services
from inspect_app.jobs.models import JobStatus

bp = Blueprint("jobs", __name__)

STATUSES = ("dead", "retrying", JobStatus.queued.value, JobStatus.running.value, JobStatus.done.value)


@bp.route("/admin/jobs")
@login_required
def index():
    """The queue at a glance and the dead-letter list (failed for good), each with 重试."""
    if not permissions.is_admin(current_user):
        abort(403)
    status = request.args.get("status") if request.args.get("status") in STATUSES else "dead"
    page = max(1, request.args.get("page", 1, type=record_id))
    db = get_session()
    rows, total = services.listed(db, status=status, page=page)
    return render_template("jobs/index.html", rows=rows, total=total, page=page, per_page=services.PER_PAGE,
                           status=status, statuses=STATUSES, counts=services.counts(db), label=queue.label,
                           form=ActionForm())


@bp.route("/admin/jobs/<int:job_id>/retry", methods=["POST"])
@login_required
def retry(job_id: int):
    if not permissions.is_admin(current_user):
        abort(403)
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        run_service(lambda db: services.retry(db, actor=current_user, job_id=job_id), _("The job runs again."))
    return redirect(url_for("jobs.index", status="dead"))
