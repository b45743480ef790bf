"""What admins do with jobs: read how the queue stands and run a dead job again."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record
from inspect_app.errors import DomainError, NotFound, PermissionDenied
from inspect_app.jobs.models import Job, JobStatus
from inspect_app.jobs.queue import push_after_commit

PER_PAGE = 50


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, sa.func.count()).group_by(Job.status)).all()
    found = {status: n for status, n in rows}
    return {status.value: found.get(status.value, 0) for status in JobStatus}


def listed(session: Session, *, status: str, page: int) -> tuple[list[Job], int]:
    """Jobs of one status, newest first (the dead ones: the dead-letter list); ``retrying`` lists
    the queued jobs that failed at least once."""
    query = select(Job)
    if status == "retrying":
        query = query.where(Job.status == JobStatus.queued, Job.attempts > 0)
    else:
        query = query.where(Job.status == status)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Job.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return list(rows), total


def retry(session: Session, *, actor, job_id: int) -> Job:
    """A dead job runs again with its attempts counted from zero (the cause was mended: a channel's
    address corrected, a mail server back)."""
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators run failed jobs again."))
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(_("This page does not exist, or you cannot see it."))
    if job.status != JobStatus.dead:
        raise DomainError(_("Only a job that failed for good can be run again."))
    before = {"status": job.status, "attempts": job.attempts, "error": job.last_error[:200]}
    job.status, job.attempts, job.run_at, job.finished_at = JobStatus.queued, 0, clock.now(), None
    session.add(job)
    session.flush()
    push_after_commit(session, job)
    record(session, actor=actor, action="job.retried", obj=job, before=before, after={"status": job.status})
    return job
