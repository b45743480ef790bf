"""The app factory (top layer, with the web wiring and the CLI): the one place that wires every
domain into a Flask app. Nothing below imports it."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request
from flask.cli import FlaskGroup
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import exc as sa_exc
from werkzeug.middleware.proxy_fix import ProxyFix

from inspect_app import assets, cli, db, web, worker
from inspect_app import config as config_module
from inspect_app.audit.views import bp as audit_bp
from inspect_app.auth.views import bp as auth_bp
from inspect_app.channels import hooks as channel_hooks
from inspect_app.channels.views import bp as channels_bp
from inspect_app.checklists import services as checklist_services
from inspect_app.complaints import hooks as complaint_hooks
from inspect_app.complaints.views import bp as complaints_bp
from inspect_app.config import PROJECT_ROOT
from inspect_app.dashboard.views import bp as dashboard_bp
from inspect_app.downloads import hooks as download_hooks
from inspect_app.downloads.views import bp as downloads_bp
from inspect_app.evidence import storage
from inspect_app.evidence.views import bp as evidence_bp
from inspect_app.extensions import babel, compress, csrf, login_manager
from inspect_app.guides import views as guides_views
from inspect_app.i18n import compile_catalogues, install_template_gettext, select_locale, select_timezone
from inspect_app.indicators import services as indicator_services
from inspect_app.indicators.config_views import bp as config_bp
from inspect_app.indicators.views import bp as indicators_bp
from inspect_app.jobs import queue
from inspect_app.jobs.views import bp as jobs_bp
from inspect_app.notifications.views import bp as notifications_bp
from inspect_app.org.views import bp as org_bp
from inspect_app.plans.views import bp as plans_bp
from inspect_app.rectifications import hooks as rectification_hooks
from inspect_app.rectifications.views import bp as rectifications_bp
from inspect_app.reports import hooks as report_hooks
from inspect_app.reports.exports import bp as exports_bp
from inspect_app.reports.views import bp as reports_bp
from inspect_app.visits import hooks as visit_hooks
from inspect_app.visits.review_views import bp as review_bp
from inspect_app.visits.views import bp as visits_bp


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        try:
            return request.is_secure
        except RuntimeError:
            return False


#: Libraries that narrate their own work at INFO (WeasyPrint's rendering steps, font subsetting,
#: each migration): the app's log says what the app did, and theirs only when something is wrong.
QUIET_LOGGERS = ("weasyprint", "weasyprint.progress", "fontTools", "alembic", "PIL", "botocore", "boto3", "urllib3")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _record_definition_files() -> None:
    """Checklist and indicator-tree files changed on disk become new versions before any page reads
    them (once per process; a page that finds one unrecorded still records it itself)."""
    try:
        checklist_services.record_files()
        indicator_services.record_file()
    except sa_exc.SQLAlchemyError:
        logging.getLogger(__name__).exception("could not record the checklist and indicator files")


def create_app(config: dict | None = None) -> Flask:
    settings = config_module.load(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)
    app.session_interface = _SessionInterface()
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    configure_logging()


    db.init_app(app)
    app.before_request(_record_definition_files)
    csrf.init_app(app)
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "application/javascript", "text/javascript",
                                                 "application/json", "image/svg+xml", "application/manifest+json"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    compress.init_app(app)
    compile_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    install_template_gettext(app)
    login_manager.init_app(app)
    web.init_app(app)


    checklist_services.init_app(app)
    indicator_services.init_app(app, {c.code: {s.code for s in c.sections} for c in app.extensions["checklists"].values()})
    storage.init_app(app)


    queue.init_app(app)
    visit_hooks.init_app(app)
    rectification_hooks.init_app(app)
    complaint_hooks.init_app(app)
    channel_hooks.init_app(app)
    download_hooks.init_app(app)
    report_hooks.init_app(app)
    worker.init_app(app)


    assets.init_app(app)


    for bp in (auth_bp, dashboard_bp, org_bp, audit_bp, visits_bp, review_bp, evidence_bp, rectifications_bp,
               notifications_bp, reports_bp, exports_bp, complaints_bp, indicators_bp, config_bp, plans_bp, jobs_bp,
               channels_bp, downloads_bp):
        app.register_blueprint(bp)


    guides_views.init_app(app)
    cli.init_app(app)
    return app


def main() -> None:
    """The ``inspect-app`` command: Flask's CLI on this app, plus the checklist check, which must
    work when a checklist is broken (without building the app)."""
    group = FlaskGroup(create_app=lambda: create_app(), add_default_commands=True)
    group.add_command(cli.checklists_group)
    group(prog_name="inspect-app")
