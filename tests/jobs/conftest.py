"""The queue's tests run on both brokers: SQLite (the embedded default) and Redis."""
from __future__ import annotations

import time
import uuid

import pytest

from inspect_app.jobs import queue


@pytest.fixture(params=["sqlite", "redis"])
def app_config(request) -> dict:
    config = {"JOB_RETRY_SECONDS": 0.3, "QUEUE_POLL_SECONDS": 0.1}
    if request.param == "redis":
        config.update(REDIS_URL=request.getfixturevalue("redis_url"), QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    return config


@pytest.fixture
def worker(app):
    """A real consumer (Huey's, two threads) running the app's jobs in this process (its periodic
    tasks off: the tests call them when they mean to)."""
    running = queue.BackgroundWorker(app, threads=2, periodic=False).start()
    yield running
    running.stop()


def wait_for(condition, timeout: float = 15.0, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not get there within {timeout} s")
