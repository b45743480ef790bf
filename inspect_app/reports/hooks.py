"""What reports registers at start-up: a changed notice's PDF made ahead by the worker.

When a notice changes (``signals.notice_changed``: issued, acknowledged, a line answered,
verified, returned, a deadline moved, a signature given), a ``keep_notice_pdf`` job replays the
notice's PDF in the worker as one of the outlet's branch chiefs, through the same view and its
checks, so the outlet side's next download is served from the kept copy (``reports.kept_notices``)
instead of rendering while the chief waits. Inspection-side viewers get theirs kept on their
first download. A notice whose outlet has no active chief is left alone.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from sqlmodel import Session

from inspect_app import signals
from inspect_app.downloads.services import DEFERRED
from inspect_app.jobs import queue
from inspect_app.jobs.queue import GiveUp, JobRun
from inspect_app.rectifications.models import RectificationNotice
from inspect_app.rectifications.services import branch_chiefs_of

JOB = "keep_notice_pdf"


def render_ahead(notice_id, *, session: Session, **_kwargs) -> None:
    """Queue the outlet side's PDF of a changed notice, once per notice and transaction (a 签收
    changes every line of the notice: one job, not one per line). Not keyed: each change queues
    its own job, so a change committed after a job read the notice is never missed; a job that
    finds the outlet side's copy already kept renders nothing."""
    if not current_app.config["NOTICE_PDF_AHEAD"]:
        return
    memo = session.info.setdefault(JOB, {})
    transaction = session.get_transaction()
    if memo.get(notice_id) is transaction:
        return
    memo[notice_id] = transaction
    queue.enqueue(session, JOB, {"notice_id": notice_id})


def keep_notice_pdf(run: JobRun) -> None:
    app = current_app._get_current_object()
    notice_id = run.params["notice_id"]
    with Session(app.extensions["db_engine"]) as session:
        notice = session.get(RectificationNotice, notice_id)
        if notice is None:
            raise GiveUp(f"notice {notice_id} is gone")
        chief = next((u for u in branch_chiefs_of(session, notice.outlet_id) if u.active), None)
        if chief is None:
            return
        session.expunge(chief)
    path = f"/notices/{notice_id}/pdf"
    with app.test_request_context(path, environ_overrides={DEFERRED: True}):
        login_user(chief)
        response = app.full_dispatch_request()
        status = response.status_code
        response.close()
    if status != 200:  # the chief may no longer see it (moved outlets meanwhile): nothing to keep
        raise GiveUp(f"the notice's PDF answered {status} for the outlet side")


def init_app(app: Flask) -> None:
    queue.register(app, JOB, keep_notice_pdf, attempts=3, label=_l("Make a notice's PDF ahead"))
    # a module-level function: blinker keeps a weak reference, and connecting it again is a no-op
    signals.notice_changed.connect(render_ahead)
