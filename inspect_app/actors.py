"""Who acts, as the domains below accounts see it (core).

Services take the acting person as ``actor``. Accounts (``auth.User``) satisfy this; the org tree,
the audit log and evidence need no more than this, so they do not depend on the accounts domain.
``None`` is the system (imports, the demo, start-up).
"""
from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    id: int | None
    username: str
    role: str

    @property
    def is_authenticated(self) -> bool: ...
