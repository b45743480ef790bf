"""What the file maker registers at start-up: its jobs, and the hourly removal of old files."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from inspect_app import clock
from inspect_app.db import writing
from inspect_app.downloads import services
from inspect_app.jobs import queue


def init_app(app: Flask) -> None:
    queue.register(app, "render", services.render, attempts=3, label=_l("Make a file"), on_dead=services.on_dead)
    queue.register(app, "cleanup_files", services.cleanup, attempts=3, label=_l("Remove old files"))

    def hourly() -> None:
        with writing(), Session(app.extensions["db_engine"]) as session:
            queue.enqueue(session, "cleanup_files", key=f"cleanup_files:{clock.now():%Y%m%d%H}")
            session.commit()

    queue.periodic(app, "inspect.cleanup_files", {"minute": "17"}, hourly)
