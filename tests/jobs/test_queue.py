"""The job queue on a real consumer: a job runs once whatever happens twice, failures are retried
with growing waits, and a job out of attempts is listed for admins, who run it again."""
from __future__ import annotations

import datetime as dt
import threading

from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.db import writing
from inspect_app.jobs import queue
from inspect_app.jobs.models import Job, JobStatus
from inspect_app.notifications.models import Notification
from tests.jobs.conftest import wait_for
from tests.jobs_helpers import keep_composite


def _enqueue(app, name, params=None, **kw) -> int:
    with app.app_context(), writing(), Session(app.extensions["db_engine"]) as session:
        job = queue.enqueue(session, name, params or {}, **kw)
        session.commit()
        return job.id


def _job(db, job_id) -> Job:
    return db.get(Job, job_id)


def test_a_keyed_job_runs_once_however_often_it_is_enqueued_or_delivered(app, db, worker):
    runs = []
    seen = threading.Event()

    def count(run):
        runs.append(run.params["n"])
        seen.set()

    queue.register(app, "t_count", count)
    first = _enqueue(app, "t_count", {"n": 1}, key="same")
    again = _enqueue(app, "t_count", {"n": 2}, key="same")
    assert first == again  # the duplicate enqueue returned the first job
    wait_for(lambda: _job(db, first).status == JobStatus.done)
    # the broker delivers it once more (a pump, a second worker): the claim lets it run once
    with app.app_context():
        queue.push(app.extensions["huey_run_job"], first)
        queue.push(app.extensions["huey_run_job"], first)
    other = _enqueue(app, "t_count", {"n": 3})
    wait_for(lambda: _job(db, other).status == JobStatus.done)
    assert sorted(runs) == [1, 3]
    assert len(db.exec(select(Job).where(Job.name == "t_count")).all()) == 2


def test_a_failing_job_is_retried_with_growing_waits_until_it_succeeds(app, db, worker):
    attempts = []

    def flaky(run):
        attempts.append(clock.now())
        if run.attempt <= 2:
            raise ConnectionError("the receiver is down")

    queue.register(app, "t_flaky", flaky, attempts=5)
    job_id = _enqueue(app, "t_flaky")
    wait_for(lambda: _job(db, job_id).status == JobStatus.done)
    job = _job(db, job_id)
    assert job.attempts == 3 and len(attempts) == 3 and job.last_error == ""
    first_wait, second_wait = (attempts[1] - attempts[0]).total_seconds(), (attempts[2] - attempts[1]).total_seconds()
    assert first_wait >= 0.25 and second_wait >= 0.55  # 0.3 s, then twice that


def test_a_job_out_of_attempts_is_dead_listed_for_admins_and_run_again_from_the_page(
        app, db, client_as, people, worker):
    # the composite kept first: the manager's home (opened by the sign-in) then asks the worker nothing
    keep_composite(app)
    mended = threading.Event()

    def broken(run):
        if not mended.is_set():
            raise RuntimeError("SMTP 550 mailbox unavailable")

    queue.register(app, "t_broken", broken, attempts=2, label="测试任务")
    job_id = _enqueue(app, "t_broken")
    wait_for(lambda: _job(db, job_id).status == JobStatus.dead)
    assert _job(db, job_id).attempts == 2
    admin = client_as(people["admin"])
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "测试任务" in page and "SMTP 550 mailbox unavailable" in page and "重新执行" in page
    for role in ("manager", "chief", "inspector"):
        assert client_as(people[role]).get("/admin/jobs").status_code == 403
        assert client_as(people[role]).post(f"/admin/jobs/{job_id}/retry").status_code == 403
    assert _job(db, job_id).status == JobStatus.dead
    assert admin.post(f"/admin/jobs/{job_id}/retry", csrf=False).status_code == 400  # CSRF
    mended.set()
    response = admin.post(f"/admin/jobs/{job_id}/retry")
    assert response.status_code == 302
    wait_for(lambda: _job(db, job_id).status == JobStatus.done)
    assert _job(db, job_id).attempts == 1  # counted from zero again
    assert admin.post("/admin/jobs/999999/retry").status_code == 302  # no 500 for a made-up id
    assert admin.post(f"/admin/jobs/{job_id}/retry").status_code == 302  # done: refused, said so


def test_the_periodic_sweep_makes_one_job_per_slot_and_runs_the_cli_sweep(app, db, org_tree, people, worker):
    from inspect_app import worker as background

    with app.app_context(), app.test_request_context():
        background._sweep_slot()
        background._sweep_slot()  # a second worker's scheduler, the same minute
    jobs = db.exec(select(Job).where(Job.name == "sweep")).all()
    assert len(jobs) == 1 and jobs[0].key.startswith("sweep:")
    wait_for(lambda: _job(db, jobs[0].id).status == JobStatus.done)


def test_the_pump_pushes_again_what_the_broker_never_got(app, db, clock_at):
    ran = []
    queue.register(app, "t_lost", lambda run: ran.append(run.id))
    with app.app_context(), writing(), Session(app.extensions["db_engine"]) as session:
        job = queue.enqueue(session, "t_lost")
        session.info.pop("jobs_to_push")  # the process died between its commit and the push
        session.commit()
        job_id = job.id
    assert queue.pump(app) == 0  # not a minute late yet
    clock_at(clock.now() + dt.timedelta(minutes=2), tick=True)
    assert queue.pump(app) == 1
    worker = queue.BackgroundWorker(app, periodic=False).start()
    try:
        wait_for(lambda: _job(db, job_id).status == JobStatus.done)
    finally:
        worker.stop()
    assert ran == [job_id]


def test_cron_sweep_runs_what_it_caused(app, db, org_tree, people):
    """``inspect-app sweep`` without a worker: the sweep, then the jobs it caused, in the command."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sweep"], catch_exceptions=False)
    assert "Reminders sent" in result.output and "Jobs run:" in result.output
    assert not db.exec(select(Job).where(Job.status == JobStatus.queued)).all()
    assert db.exec(select(Notification)).all() == []
