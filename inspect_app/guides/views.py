"""/help: the role guides and their screenshots; the tour's seen-state; /admin/system."""
from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm
from inspect_app.guides import services
from inspect_app.guides.content import GUIDES, ROLE_GUIDE, help_target
from inspect_app.http import run_service

bp = Blueprint("guides", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_help_context)


def _help_context() -> dict:
    """``help_url``: the guide section for this page and this reader's role (the topbar's "?"); and
    on the home page the tour, when it is due or asked for (``?tour=1``)."""
    if not has_request_context():  # papers rendered by the CLI or a job have no page to help with
        return {}
    role = current_user.role if current_user.is_authenticated else None
    slug, anchor = help_target(role, request.endpoint)
    context = {"help_url": url_for("guides.guide", slug=slug, _anchor=anchor) if slug != "index"
               else url_for("guides.index"), "tour_available": lambda r: bool(services.tour_of(r))}
    if role and request.endpoint == "dashboard.home":
        steps = services.tour_of(role)
        if steps and (request.args.get("tour") or services.tour_due(get_session(), current_user)):
            context["tour"] = {"steps": steps, "guide": ROLE_GUIDE[role], "form": ActionForm()}
    return context


@bp.route("/help")
def index():
    """The guides' list: open to everyone, like the docs/ folder they are rendered from."""
    guide = services.render_guide("index", base=url_for("guides.index"))
    if guide is None:
        abort(404)
    own = ROLE_GUIDE.get(current_user.role) if current_user.is_authenticated else None
    return render_template("guides/guide.html", guide=guide, guides=GUIDES, own=own, slug="index")


@bp.route("/help/<slug>")
def guide(slug: str):
    guide = services.render_guide(slug, base=url_for("guides.index"))
    if guide is None:
        abort(404)
    own = ROLE_GUIDE.get(current_user.role) if current_user.is_authenticated else None
    return render_template("guides/guide.html", guide=guide, guides=GUIDES, own=own, slug=slug)


@bp.route("/help/images/<name>")
def image(name: str):
    path = services.image_path(name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.route("/help/tour", methods=["POST"])
@login_required
def tour_done():
    """Finished or skipped (``skip``): the tour does not come back by itself; the menu reopens it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    skipped = bool(request.form.get("skip"))
    run_service(lambda db: services.mark_tour_seen(db, user=current_user, skipped=skipped))
    return redirect(url_for("dashboard.home"))


@bp.route("/admin/system")
@login_required
def system():
    if not permissions.is_admin(current_user):
        abort(403)
    status = services.system_status(current_app, get_session())
    jobs_page = url_for("jobs.index") if "jobs.index" in current_app.view_functions else None
    return render_template("guides/system.html", status=status, jobs_page=jobs_page,
                           job_state_labels=services.JOB_STATE_LABELS)
