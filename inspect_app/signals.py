"""What a lower domain announces and a higher one acts on (core: imports no domain).

Domains import one way (see the README's layers). When something low must cause something high,
the low domain sends one of these signals and the high domain connects a receiver in its
``init_app``, called by the app factory. Blinker ships with Flask; receivers run in the sender's
transaction, so what they write commits or rolls back with the action that caused it.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A visit's findings became visible to the outlet side (an open visit on submit, a secret one on
#: release). Sender: the visit; keyword arguments ``session``, ``actor``, ``checklist``, ``result``.
#: Rectification issues the notice.
visit_released = _signals.signal("visit-released")

#: In-app notifications were written (``notifications.notify``): each can also go out by e-mail and
#: to the group robots of the unit concerned. Sender: the kind; keyword arguments ``session``,
#: ``user_ids`` (who got one just now), ``params``, ``link``, ``unit_id`` (the unit the event
#: concerns: the outlet's, or the unit a late item climbed to), ``dedupe_key`` and ``attachment``
#: (``{"key": storage key, "filename": ...}``: a file e-mail may carry). Channels send them.
notified = _signals.signal("notified")

#: A rectification notice or one of its lines changed (issued, acknowledged, answered, verified,
#: returned, a deadline moved, a signature given): what its printed copy shows is no longer what
#: was printed. Sender: the notice's id; keyword argument ``session``. Reports makes the outlet
#: side's PDF ahead, in the worker.
notice_changed = _signals.signal("notice-changed")

#: Outlets moved to another unit (an outlet edited, or the outlet import). Sender: ``"org"``; keyword
#: arguments ``session`` and ``moves`` ({outlet id: (unit before, unit now)}), sent once the outlets
#: are written. The running totals kept per unit (lines, complaints) move what those outlets
#: counted with them.
outlets_moved = _signals.signal("outlets-moved")
