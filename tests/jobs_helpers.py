"""The queue in tests: files the worker makes, fetched as their requester gets them."""
from __future__ import annotations

import re

from inspect_app.jobs import queue


def fetch(app, client, url: str):
    """A paper or an export as the person gets it: at once, or made by the worker (here, the due
    jobs run in this process) and downloaded from 我的文件."""
    response = client.get(url)
    if response.status_code != 302 or not response.location.endswith("/files"):
        return response
    queue.run_pending(app)
    page = client.get("/files").get_data(as_text=True)
    ids = re.findall(r'href="/files/(\d+)"', page)
    assert ids, f"{url}: no file ready under 我的文件"
    return client.get(f"/files/{max(int(i) for i in ids)}")


def keep_composite(app, zone: str = "Asia/Shanghai") -> None:
    """What the worker does every ``INDICATOR_REFRESH_MINUTES`` (every node's composite kept for the
    periods pages read), and the recomputes pages asked for meanwhile."""
    from sqlmodel import Session

    from inspect_app.indicators import services

    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        services.refresh(session, periods=services.periods_to_refresh(session, zone), zone=zone)
    queue.run_pending(app, names=(services.JOB,))
