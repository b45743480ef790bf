"""The background work of the whole app, on the queue (``inspect-app worker`` runs it):

- the sweep (reminders, overdue notes and escalations of rectification lines and complaints, the
  plans' next visits, what killed processes left in the photo store) every ``SWEEP_MINUTES``;
- the scheduled bulletins (``BULLETIN_SCHEDULE``) once a day after ``BULLETIN_TIME``;
- the kept composite ranking of every node (``indicators.services.refresh``) every
  ``INDICATOR_REFRESH_MINUTES``, and at once after an import or a manager's 重新计算;
- the last complete month's and week's bulletin of every unit someone reads, composed ahead and
  kept (``reports.kept``), checked every ten minutes;
- and, registered by their own packages, sending notifications (channels) and making big files
  (downloads).

Periodic tasks only enqueue keyed jobs (``sweep:<slot>``, ``bulletins:<day>``): several workers on
several hosts make one job of each slot, and a job that fails is retried and dead-lettered like
any other. ``inspect-app sweep`` and ``publish-bulletins`` run the same functions for cron users.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.complaints import services as complaint_services
from inspect_app.db import get_engine, writing
from inspect_app.evidence.services import sweep_orphan_files
from inspect_app.evidence.storage import get_storage
from inspect_app.indicators import services as indicator_services
from inspect_app.jobs import queue
from inspect_app.jobs.queue import JobRun
from inspect_app.org.models import Unit
from inspect_app.plans import services as plan_services
from inspect_app.rectifications import stats as rectification_stats
from inspect_app.rectifications.services import sweep as rectification_sweep
from inspect_app.reports import bulletins, kept, publishing

log = logging.getLogger(__name__)


def run_sweep() -> dict[str, int]:
    """Everything ``inspect-app sweep`` does; safe to run often and from several processes (each
    reminder once, each planned visit once)."""
    with writing(), Session(get_engine()) as session:
        sent = rectification_sweep(session)
        sent.update(complaint_services.sweep(session))
        session.commit()
        sent.update(plan_services.sweep(session))  # the plans' visits of this period and the next
        session.commit()
        # the nation's board reads its late lines from these counts (a large scope cannot count live)
        sent["overdue_rows"] = rectification_stats.keep_overdue(session)
        session.commit()
    sent["temp_removed"] = get_storage().sweep_temp()
    with Session(get_engine()) as session:
        sent["orphans_removed"] = sweep_orphan_files(session, get_storage())
    return sent


def publish_scheduled(*, kinds: tuple[str, ...] = (), echo: Callable[[str], None] = log.info) -> int:
    """The last complete period's bulletin of every unit in ``BULLETIN_SCHEDULE``, each published
    once (a period already published is left as it is). Returns how many were new."""
    plan = publishing.scheduled(current_app.config.get("BULLETIN_SCHEDULE", ""))
    zone = current_app.config["DEFAULT_TIMEZONE"]
    today = clock.today(zone)
    new = 0
    with writing(), Session(get_engine()) as session:
        for code, wanted in plan:
            unit = session.exec(select(Unit).where(Unit.code == code)).first()
            if unit is None:
                echo(f"{code}: no such unit")
                continue
            for kind in wanted:
                if kinds and kind not in kinds:
                    continue
                day = bulletins.latest_complete(kind, today)
                before = publishing.already_published(session, unit, kind, day)
                done = publishing.publish(session, get_storage(), actor=bulletins.System(), node=unit, kind=kind,
                                          day=day, zone=zone)
                session.commit()
                new += before is None
                echo(f"{code} {kind}: {done.number} ({'already published' if before else 'published'})")
    return new


def _sweep_job(run: JobRun) -> None:
    found = run_sweep()
    log.info("sweep: %s", ", ".join(f"{k} {v}" for k, v in sorted(found.items())))


def _bulletins_job(run: JobRun) -> None:
    publish_scheduled()


def _enqueue(name: str, key: str) -> None:
    with writing(), Session(get_engine()) as session:
        queue.enqueue(session, name, key=key)
        session.commit()


def _sweep_slot() -> None:
    minutes = max(1, int(current_app.config.get("SWEEP_MINUTES", 5)))
    now = clock.now()
    slot = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
    _enqueue("sweep", f"sweep:{slot:%Y%m%dT%H%M}")


def bulletins_due(now: dt.datetime | None = None) -> str | None:
    """The key of today's scheduled publishing once ``BULLETIN_TIME`` (local, 00:10) has passed."""
    if not current_app.config.get("BULLETIN_SCHEDULE"):
        return None
    zone = current_app.config["DEFAULT_TIMEZONE"]
    local = clock.local_now(zone) if now is None else now.astimezone(clock.zone(zone))
    hours, minutes = (int(p) for p in str(current_app.config.get("BULLETIN_TIME", "00:10")).split(":")[:2])
    if (local.hour, local.minute) < (hours, minutes):
        return None
    return f"bulletins:{local.date().isoformat()}"


def _bulletin_slot() -> None:
    key = bulletins_due()
    if key:
        _enqueue("bulletins", key)


def init_app(app: Flask) -> None:
    queue.register(app, "sweep", _sweep_job, attempts=3, label=_l("Reminders and escalations"))
    queue.register(app, "bulletins", _bulletins_job, attempts=5, label=_l("Scheduled bulletins"))
    minutes = max(1, int(app.config.get("SWEEP_MINUTES", 5)))
    queue.periodic(app, "inspect.sweep", {"minute": f"*/{minutes}"}, _sweep_slot)
    queue.periodic(app, "inspect.bulletins", {"minute": "*/10"}, _bulletin_slot)
    # the kept composite: every node's ranking of the periods pages read, every
    # INDICATOR_REFRESH_MINUTES (the slot's key makes one job of it however many workers look)
    queue.register(app, indicator_services.JOB, indicator_services.refresh_job, attempts=3,
                   label=_l("Composite ranking figures"))
    queue.periodic(app, "inspect.indicators", {"minute": "*/5"}, indicator_services.refresh_slot)
    # the last complete month's and week's bulletins of every unit read, composed ahead (reports.kept)
    queue.register(app, kept.JOB, kept.keep_job, attempts=3, label=_l("Bulletins composed ahead"))
    queue.periodic(app, "inspect.bulletins_kept", {"minute": "*/10"}, kept.keep_slot)
