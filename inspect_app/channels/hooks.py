"""What channels register at start-up: the receiver of ``notified`` and their jobs."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from inspect_app import signals
from inspect_app.channels import services
from inspect_app.jobs import queue


def init_app(app: Flask) -> None:
    # a module-level function: blinker keeps a weak reference, and connecting it again is a no-op
    signals.notified.connect(services.on_notified)
    queue.register(app, "route", services.route, attempts=5, label=_l("Route a notification"))
    queue.register(app, "deliver", services.deliver, attempts=int(app.config.get("DELIVERY_ATTEMPTS", 6)),
                   label=_l("Send a message"), on_dead=services.on_dead)
    queue.register(app, "digest", services.digest, attempts=5, label=_l("Daily digest"))
    queue.periodic(app, "inspect.digests", {"minute": "*/5"}, services.enqueue_digests)
