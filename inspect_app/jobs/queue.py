"""The job queue: Huey carries "run job N", the ``job`` table says what job N is and how it went.

- ``enqueue`` writes a job row in the caller's transaction; the broker hears of it only after that
  transaction commits (a rolled-back action leaves no job behind), and a job with a ``key`` is
  written once: a duplicate enqueue returns the first job and nothing runs twice.
- A worker ``execute``s a job by claiming its row (queued → running, one UPDATE): a job delivered
  twice by the broker, or pushed again by the pump, runs once.
- A failure is retried with exponential backoff (``JOB_RETRY_SECONDS`` × 2^(attempt-1), at most an
  hour) until ``max_attempts``; then the job is dead, listed for admins, who may run it again.
- The broker is Huey: ``SqliteHuey`` in ``instance/queue.db`` by default (one host, no server),
  ``RedisHuey`` when ``REDIS_URL`` is set (several hosts). ``inspect-app worker`` runs its consumer.
- Handlers are registered by name from the layers above (``register``), the way evidence learns
  photo owners: the queue itself knows no domain.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from huey import RedisHuey, SqliteHuey, crontab
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.db import keep_aside, writing
from inspect_app.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

#: A job whose run_at is this far ahead of the worker's clock still runs (hosts' clocks differ).
CLOCK_SLACK = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(hours=1)
#: The request environ key a job's handler runs under (``in_job``).
IN_JOB = "inspect.job"


class GiveUp(Exception):
    """A failure no retry will mend (the requester lost access, the object is gone): dead at once."""


@dataclass
class Handler:
    fn: Callable[["JobRun"], Any]
    attempts: int = 5
    label: Any = ""
    on_dead: Callable[["JobRun", str], None] | None = None


@dataclass
class JobRun:
    """What a handler is given: the job's parameters and where it stands in its attempts."""

    id: int
    name: str
    key: str | None
    params: dict[str, Any]
    attempt: int
    max_attempts: int
    requested_by_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.attempt >= self.max_attempts


# --- wiring ---------------------------------------------------------------------------------------

def make_huey(config: dict):
    """SqliteHuey under the instance folder, or RedisHuey when ``REDIS_URL`` is set."""
    name = config.get("QUEUE_NAME") or "inspect"
    if config.get("REDIS_URL"):
        # blocking reads (BRPOP): a worker hears of a job at once instead of polling
        return RedisHuey(name, url=config["REDIS_URL"], results=False, blocking=True, read_timeout=1)
    path = config.get("QUEUE_DATABASE") or str(Path(config["INSTANCE_PATH"]) / "queue.db")
    return SqliteHuey(name, filename=path, results=False, timeout=30)


def init_app(app: Flask) -> None:
    huey = make_huey(app.config)
    app.extensions["huey"] = huey
    app.extensions.setdefault("job_handlers", {})

    @huey.task(name="inspect.run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            execute(app, job_id)

    app.extensions["huey_run_job"] = run_job
    # every minute: jobs whose push to the broker was lost (a process killed between commit and
    # push, a broker down for a while) are pushed again; a claim abandoned by a killed worker is
    # given back
    periodic(app, "inspect.pump", {"minute": "*"}, lambda: pump(app))


def register(app: Flask, name: str, fn: Callable[[JobRun], Any], *, attempts: int = 5, label: Any = "",
             on_dead: Callable[[JobRun, str], None] | None = None) -> None:
    """``fn(run)`` runs job ``name``; raising retries it (``GiveUp``: no retry), returning ends it."""
    app.extensions.setdefault("job_handlers", {})[name] = Handler(fn, attempts, label or name, on_dead)


def periodic(app: Flask, name: str, schedule: dict[str, str], fn: Callable[[], Any]) -> None:
    """``fn()`` in the app's context on a crontab schedule, run by each worker's scheduler. It
    should enqueue keyed jobs, so several workers (several hosts) make one job of each slot."""
    def task() -> None:
        with app.app_context(), app.test_request_context():
            fn()

    app.extensions["huey"].periodic_task(crontab(**schedule), name=name)(task)


def in_job() -> bool:
    """True while a job runs (its work is background work: it may take seconds a page may not)."""
    return has_request_context() and bool(request.environ.get(IN_JOB))


def label(name: str) -> str:
    handler = current_app.extensions.get("job_handlers", {}).get(name)
    return str(handler.label) if handler else name


# --- enqueueing -----------------------------------------------------------------------------------

def enqueue(session: Session, name: str, params: dict[str, Any] | None = None, *, key: str | None = None,
            delay: float | None = None, at: dt.datetime | None = None, attempts: int | None = None,
            requested_by_id: int | None = None) -> Job:
    """A job in ``session``'s transaction, pushed to the broker once that commits. With ``key``,
    the job already enqueued under it (done or not) is returned and nothing new is made."""
    handlers = current_app.extensions["job_handlers"]
    if name not in handlers:
        raise KeyError(f"no job handler named {name!r}")
    if key is not None:
        key = key[:160]
        existing = session.exec(select(Job).where(Job.key == key)).first()
        if existing is not None:
            return existing
    run_at = at or (clock.now() + dt.timedelta(seconds=delay or 0))
    job = Job(key=key, name=name, params=params or {}, run_at=run_at,
              max_attempts=attempts or handlers[name].attempts, requested_by_id=requested_by_id)
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:  # the same key, enqueued by another process a moment ago
        existing = session.exec(select(Job).where(Job.key == key)).first()
        if existing is None:
            raise
        return existing
    push_after_commit(session, job)
    return job


def waiting(session: Session, name: str, prefix: str, *, also_running: bool = True) -> Job | None:
    """A job of ``name`` whose key starts with ``prefix`` still to run (queued, or running too)."""
    statuses = (JobStatus.queued, JobStatus.running) if also_running else (JobStatus.queued,)
    return session.exec(select(Job).where(Job.name == name, Job.status.in_(statuses),
                                          Job.key.startswith(prefix))).first()


def enqueue_waiting(session: Session, name: str, params: dict[str, Any], *, prefix: str,
                    requested_by_id: int | None = None, also_running: bool = True) -> None:
    """Ask for ``name`` unless a job of it whose key starts with ``prefix`` waits already (queued,
    or running too with ``also_running``): one job waits at a time for the same work, however often
    people press 重新计算. Written as ``db.keep_aside`` writes (a page's GET never takes the lock)."""

    def ask(target: Session) -> None:
        if waiting(target, name, prefix, also_running=also_running) is None:
            enqueue(target, name, params, key=f"{prefix}{clock.now():%Y%m%dT%H%M%S.%f}",
                    requested_by_id=requested_by_id)

    keep_aside(session, ask)


def push_after_commit(session: Session, job: Job) -> None:
    session.info.setdefault("jobs_to_push", []).append((current_app.extensions["huey_run_job"], job.id, job.run_at))


@event.listens_for(Session, "after_commit")
def _push_committed(session) -> None:
    pending = session.info.pop("jobs_to_push", None)
    for task, job_id, run_at in pending or ():
        push(task, job_id, run_at)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("jobs_to_push", None)


def push(task, job_id: int, run_at: dt.datetime | None = None) -> None:
    """Tell the broker; a broker that cannot be reached leaves the job to the pump."""
    try:
        wait = (run_at - clock.now()).total_seconds() if run_at else 0
        if wait > 0.05:
            task.schedule(args=(job_id,), delay=wait)
        else:
            task(job_id)
    except Exception:  # Redis down, the queue file locked: the job row is safe, the pump retries
        log.exception("could not hand job %s to the broker; the pump will push it again", job_id)


# --- running --------------------------------------------------------------------------------------

def backoff(attempt: int) -> dt.timedelta:
    base = float(current_app.config.get("JOB_RETRY_SECONDS", 30))
    return min(MAX_BACKOFF, dt.timedelta(seconds=base * 2 ** max(0, attempt - 1)))


def execute(app: Flask, job_id: int) -> str:
    """Claim job ``job_id`` and run it; returns what became of it (``skipped`` when it was not
    there to run: done already, claimed by another worker, not due yet)."""
    with app.app_context():
        return _execute(app, job_id)


def _execute(app: Flask, job_id: int) -> str:
    engine = app.extensions["db_engine"]
    with writing(), Session(engine) as session:
        now = clock.now()
        claimed = session.execute(
            sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.queued, Job.run_at <= now + CLOCK_SLACK)
            .values(status=JobStatus.running, attempts=Job.attempts + 1, started_at=now)).rowcount
        session.commit()
        if claimed != 1:
            return "skipped"
        job = session.get(Job, job_id)
        run = JobRun(id=job.id, name=job.name, key=job.key, params=dict(job.params or {}), attempt=job.attempts,
                     max_attempts=job.max_attempts, requested_by_id=job.requested_by_id)
    handler = app.extensions["job_handlers"].get(run.name)
    try:
        if handler is None:
            raise GiveUp(f"no handler for {run.name!r}")
        with app.test_request_context(environ_base={IN_JOB: run.name}):
            handler.fn(run)
    except Exception as exc:  # noqa: BLE001 — any failure is recorded and retried or dead-lettered
        return _failed(app, run, handler, exc)
    with writing(), Session(engine) as session:
        session.execute(sa.update(Job).where(Job.id == run.id, Job.status == JobStatus.running)
                        .values(status=JobStatus.done, finished_at=clock.now(), last_error=""))
        session.commit()
    return "done"


def _failed(app: Flask, run: JobRun, handler: Handler | None, exc: Exception) -> str:
    give_up = isinstance(exc, GiveUp)
    error = f"{type(exc).__name__}: {exc}"[:1000]
    if give_up:
        log.warning("job %s (%s) gave up: %s", run.id, run.name, error)
    else:
        log.exception("job %s (%s) failed, attempt %d of %d", run.id, run.name, run.attempt, run.max_attempts)
    with writing(), Session(app.extensions["db_engine"]) as session:
        job = session.get(Job, run.id)
        job.last_error = error
        if give_up or job.attempts >= job.max_attempts:
            job.status, job.finished_at = JobStatus.dead, clock.now()
            outcome = "dead"
        else:
            job.status, job.run_at = JobStatus.queued, clock.now() + backoff(job.attempts)
            outcome = "retry"
        session.add(job)
        session.flush()
        if outcome == "retry":
            push_after_commit(session, job)
        session.commit()
    if outcome == "dead" and handler is not None and handler.on_dead is not None:
        try:
            with app.test_request_context():
                handler.on_dead(run, error)
        except Exception:  # noqa: BLE001
            log.exception("the dead-letter hook of job %s failed", run.id)
    return outcome


def run_pending(app: Flask, *, limit: int = 500, names: tuple[str, ...] | None = None) -> int:
    """Run the due jobs here, one after another (``inspect-app sweep`` from cron without a worker,
    tests). A worker running meanwhile is harmless: each job is claimed once."""
    done = 0
    for _ in range(10):  # jobs may enqueue jobs (a notice → its deliveries): a few rounds
        with Session(app.extensions["db_engine"]) as session:
            query = select(Job.id).where(Job.status == JobStatus.queued, Job.run_at <= clock.now() + CLOCK_SLACK)
            if names:
                query = query.where(Job.name.in_(names))
            due = list(session.exec(query.order_by(Job.id).limit(limit)).all())
        if not due:
            break
        for job_id in due:
            if execute(app, job_id) != "skipped":
                done += 1
    return done


def pump(app: Flask) -> int:
    """Push again the jobs due for a minute that no worker claimed, and give back claims older than
    ``JOB_STALE_MINUTES`` (a worker killed mid-job): returns how many were pushed."""
    stale = clock.now() - dt.timedelta(minutes=int(app.config.get("JOB_STALE_MINUTES", 30)))
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        abandoned = list(session.exec(select(Job.id).where(Job.status == JobStatus.running,
                                                           Job.started_at < stale)).all())
        lost = list(session.exec(select(Job.id).where(Job.status == JobStatus.queued,
                                                      Job.run_at < clock.now() - dt.timedelta(minutes=1))
                                 .order_by(Job.id).limit(500)).all())
    if abandoned:  # a write only when there is something to give back
        with app.app_context(), writing(), Session(app.extensions["db_engine"]) as session:
            session.execute(sa.update(Job).where(Job.id.in_(abandoned), Job.status == JobStatus.running)
                            .values(status=JobStatus.queued, run_at=clock.now(),
                                    last_error="the worker stopped while running it"))
            session.commit()
        lost += abandoned
    task = app.extensions["huey_run_job"]
    for job_id in lost:
        push(task, job_id)
    return len(lost)


# --- the consumer -----------------------------------------------------------------------------------

def consumer(app: Flask, *, threads: int = 2, periodic: bool = True):
    """Huey's consumer for this app: ``threads`` worker threads, and its scheduler (delayed retries,
    the periodic tasks)."""
    return app.extensions["huey"].create_consumer(
        workers=threads, worker_type="thread", periodic=periodic, initial_delay=0.05, backoff=1.3,
        max_delay=float(app.config.get("QUEUE_POLL_SECONDS", 2)), scheduler_interval=1, check_worker_health=True)


class BackgroundWorker:
    """A consumer running inside this process (tests, scripts): ``start()``, then ``stop()``.

    Huey's consumer installs signal handlers when it starts; they are put back as they were, so the
    hosting process keeps its own Ctrl-C."""

    def __init__(self, app: Flask, threads: int = 2, periodic: bool = True):
        self.consumer = consumer(app, threads=threads, periodic=periodic)

    def start(self) -> "BackgroundWorker":
        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self.consumer.start()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        return self

    def stop(self) -> None:
        self.consumer.stop(graceful=True)
