"""Command line: ``inspect-app init | demo | serve | db ...`` (plus Flask's own commands)."""
from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import secrets
import time
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command as alembic_command
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlmodel import Session, select

from inspect_app import backup, clock, demo, worker
from inspect_app.auth.models import Role, User
from inspect_app.auth.services import create_user
from inspect_app.checklists.definition import ChecklistError, load_directory
from inspect_app.complaints import stats as complaint_stats
from inspect_app.config import PROJECT_ROOT
from inspect_app.db import alembic_config, get_engine, migrate, writing
from inspect_app.demo_large import load_large
from inspect_app.demo_national import NeedsPostgres, load_national
from inspect_app.evidence.models import Photo
from inspect_app.evidence.services import sweep_orphan_files
from inspect_app.evidence.storage import get_storage
from inspect_app.indicators import services as indicator_services
from inspect_app.jobs import queue
from inspect_app.rectifications.stats import rebuild


def ensure_admin(session: Session, password: str | None) -> tuple[str, str | None]:
    """Create the first administrator when there is none; returns (username, new password)."""
    existing = session.exec(select(User).where(User.role == Role.admin)).first()
    if existing:
        return existing.username, None
    password = password or secrets.token_urlsafe(12)
    create_user(session, actor=None, username="admin", display_name="系统管理员", password=password, role=Role.admin)
    session.commit()
    return "admin", password


@click.command("init")
@click.option("--admin-password", envvar="ADMIN_PASSWORD", help="Password for the first admin account.")
@with_appcontext
def init_command(admin_password: str | None) -> None:
    """Migrate the database to the newest schema and create the first admin."""
    migrate(current_app.config["DATABASE_URL"])
    with Session(get_engine()) as session:
        username, password = ensure_admin(session, admin_password)
    click.echo("Database is up to date.")
    if password:
        click.echo(f"Administrator created: {username} / {password}")


@click.command("demo")
@click.option("--scale", type=click.Choice(["small", "large", "national"]), default="small",
              help="large: 5,000 outlets (SQLite or PostgreSQL); national: 50,000 outlets, PostgreSQL only.")
@with_appcontext
def demo_command(scale: str) -> None:
    """Fill the database with realistic demo data (run after init)."""
    if scale == "national" and get_engine().dialect.name != "postgresql":
        # refused before anything is written: the small demo is not loaded either
        raise click.ClickException("--scale national needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://… "
                                   "(全国规模演示数据需要 PostgreSQL 数据库)")
    started = time.monotonic()
    migrate(current_app.config["DATABASE_URL"])
    # Thousands of audit lines for data nobody entered by hand would bury what matters; the
    # summary below says what was loaded (the events themselves are in the audit table).
    logging.getLogger("inspect_app.audit.services").setLevel(logging.WARNING)
    # Services speak the user's language; a request context gives them the default one.
    with current_app.test_request_context(), Session(get_engine()) as session:
        if not session.exec(select(Photo.id).limit(1)).first():
            # No photo has a row yet, so every photo file is left from a load that was cut short.
            sweep_orphan_files(session, get_storage(), older_than=dt.timedelta(0))
            session.rollback()
        passwords = demo.load_demo(session)
        visits = demo.load_demo_visits(session)
        complaint_count = demo.load_demo_complaints(session)
        planned = demo.load_demo_plans(session)
        self_checks = demo.load_demo_self_inspection(session)
        demo.load_demo_operating_values(session)
        if scale == "large":
            load_large(session, echo=click.echo)
        if scale == "national":
            session.commit()  # the small demo first: the national load is one transaction of its own
            try:
                counts = load_national(session, echo=click.echo)
            except NeedsPostgres as exc:
                raise click.ClickException(str(exc)) from None
        rebuild(session)  # the demo back-dates its lines; totals are computed from them at the end
        complaint_stats.rebuild(session)  # and the national one writes its complaints with COPY
        session.commit()
        if scale == "national" and counts:
            session.execute(sa.text("ANALYZE"))
            session.commit()
            click.echo("Rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items() if table != "seconds"))
            click.echo(f"National dataset loaded in {time.monotonic() - started:.0f} s (with the small demo, the "
                       f"running totals and ANALYZE).")
    # the composite figures the worker keeps, kept once now: a new install's first pages show the
    # rankings, not 正在计算… (on the national dataset this takes a few minutes)
    zone = current_app.config["DEFAULT_TIMEZONE"]
    with current_app.test_request_context(), Session(get_engine()) as session:
        kept = indicator_services.refresh(session, periods=indicator_services.periods_to_refresh(session, zone),
                                          zone=zone)
        session.commit()
    click.echo("Composite figures kept: " + ", ".join(f"{label} {n} units" for label, n in kept.items()))
    if visits:
        click.echo(f"Demo visits: {visits}")
    if complaint_count:
        click.echo(f"Demo complaints: {complaint_count}")
    if planned:
        click.echo(f"Demo plans: 2, their visits made: {planned}")
    if self_checks:
        click.echo(f"Demo self-inspection (自查) plan of the chiefs: {self_checks} visits")
    if passwords:
        click.echo("Demo accounts (username / password):")
        for username, role, password in passwords:
            click.echo(f"  {role:<13} {username:<14} {password}")
    else:
        click.echo("Demo data already present; nothing added.")


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"))
@click.option("--port", default=lambda: int(os.environ.get("PORT", 5000)), type=int)
@click.option("--workers", default=2, type=int)
@click.option("--threads", default=4, type=int)
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (several processes, threads each)."""
    from gunicorn.app.base import BaseApplication  # loaded only to serve: it patches the process on import

    load_app = click.get_current_context().ensure_object(ScriptInfo).load_app

    class _Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)

        def load(self):
            app = load_app()
            # what was made at start-up (the app, its checklists, templates, the libraries) lives as
            # long as the process: out of the collector's generations, a full collection no longer
            # walks it (it was about 100 ms landing in one request of five, by bench_indicators)
            gc.collect()
            gc.freeze()
            return app

    click.echo(f"Serving on http://{host}:{port}")
    _Server().run()


@click.group("db")
def db_group() -> None:
    """Schema migrations (Alembic)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    migrate(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models."""
    alembic_command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=True)


@click.group("checklists")
def checklists_group() -> None:
    """Checklist definitions in forms/."""


@checklists_group.command("check")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
def checklists_check(folder: str | None) -> None:
    """Validate every checklist file; exit 1 with the file, item and problem when one is wrong."""


    try:
        found = load_directory(Path(folder) if folder else PROJECT_ROOT / "forms")
    except ChecklistError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    for checklist in found.values():
        items = checklist.items
        click.echo(f"{checklist.code}: {checklist.kind}, {len(checklist.sections)} sections, {len(items)} items, "
                   f"{sum(1 for i in items if i.red_line)} red lines, {sum(i.points for i in items):g} points")


@click.command("sweep")
@click.option("--jobs/--no-jobs", "run_jobs", default=True,
              help="Then run the jobs it caused here (messages to send), for cron without a worker.")
@with_appcontext
def sweep_command(run_jobs: bool) -> None:
    """Send due-soon reminders and escalation notices (safe to run from cron every few minutes).
    The worker runs the same sweep by itself every SWEEP_MINUTES."""
    with current_app.test_request_context():
        sent = worker.run_sweep()
    click.echo(f"Reminders sent: {sent['due_soon']}, overdue notes: {sent['overdue']}, "
               f"escalations sent: {sent['escalated']}, "
               f"complaint reminders: {sent['complaints_due']}, complaint escalations: {sent['complaints_escalated']}, "
               f"first-contact reminders: {sent['complaints_contact_due']}, "
               f"missed first contacts escalated: {sent['complaints_contact_escalated']}, "
               f"planned visits made: {sent['plan_visits']}, plan problems reported: {sent['plan_problems']}, "
               f"unfinished photo files removed: {sent['temp_removed']}, "
               f"photos without a record removed: {sent['orphans_removed']}")
    if run_jobs:
        click.echo(f"Jobs run: {queue.run_pending(current_app._get_current_object())}")


@click.command("publish-bulletins")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["day", "week", "month"]),
              help="Only these kinds (default: every kind the schedule names).")
@with_appcontext
def publish_bulletins_command(kinds: tuple[str, ...]) -> None:
    """Publish the last complete period's bulletin for every unit in BULLETIN_SCHEDULE
    ("33=month;3301=week,month"). Safe to run from cron daily: a period is published once (the
    worker does it by itself after BULLETIN_TIME)."""
    if not current_app.config.get("BULLETIN_SCHEDULE"):
        click.echo("BULLETIN_SCHEDULE is empty: nothing to publish.")
        return
    with current_app.test_request_context():
        worker.publish_scheduled(kinds=kinds, echo=click.echo)


@click.command("worker")
@click.option("--threads", default=2, type=int, help="Worker threads (jobs run at once).")
@click.option("--nice", default=10, type=int, help="Lower the worker's CPU priority by this much (0: as is), "
                                                     "so PDFs rendered here yield to the web processes.")
@with_appcontext
def worker_command(threads: int, nice: int) -> None:
    """Run the background jobs: the periodic sweep, scheduled bulletins, notifications by e-mail and
    group robots, big PDFs and exports. Stop it with Ctrl-C (it finishes the jobs it runs)."""
    app = current_app._get_current_object()
    if nice:
        os.nice(nice)
    broker = "Redis" if app.config.get("REDIS_URL") else "SQLite (instance/queue.db)"
    click.echo(f"Worker: {threads} threads, queue on {broker}")
    queue.consumer(app, threads=threads).run()


@click.group("stats")
def stats_group() -> None:
    """Running totals behind the managers' board."""


@stats_group.command("rebuild")
@with_appcontext
def stats_rebuild() -> None:
    """Recompute the board's running totals from the rectification lines and the complaints."""
    with writing(), Session(get_engine()) as session:
        rows = rebuild(session)
        complaint_rows = complaint_stats.rebuild(session)
        session.commit()
    click.echo(f"Running totals rebuilt: {rows} rows of lines, {complaint_rows} rows of complaints.")


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(target: str | None) -> None:
    """Back up the SQLite database and the photos into one .tar.gz (safe while the app runs)."""


    path = Path(target) if target else Path(current_app.instance_path) / "backups" / (
        f"inspect-{clock.local_now():%Y%m%d-%H%M%S}.tar.gz")
    try:
        backup.backup(database_url=current_app.config["DATABASE_URL"], media_root=current_app.config["MEDIA_ROOT"],
                      target=path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written: {path} ({path.stat().st_size / 1e6:.1f} MB)")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing database (stop the app first).")
@with_appcontext
def restore_command(archive: str, force: bool) -> None:
    """Restore a backup made by `inspect-app backup` (stop the app first)."""


    current_app.extensions["db_engine"].dispose()
    try:
        backup.restore(archive=Path(archive), database_url=current_app.config["DATABASE_URL"],
                       media_root=current_app.config["MEDIA_ROOT"], force=force)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Restored. Start the app again.")


def init_app(app: Flask) -> None:
    for command in (init_command, demo_command, serve_command, db_group, sweep_command, backup_command, restore_command,
                    stats_group, publish_bulletins_command, worker_command):
        app.cli.add_command(command)
