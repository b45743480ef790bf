"""Transition tables (core: imports no domain).

Each entity with a life (a visit, a rectification line, a notice) has one table: which action
moves which statuses to which, and which side may take it. Services ``check`` the table before
they act; templates ask ``available`` which buttons to show; a test walks every (status, action)
pair. The sides of a user towards an object ("assignee", "outlet", ...) come from the domain's
predicate in ``permissions.py``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from inspect_app.errors import DomainError, PermissionDenied


def _taken_by(transition: "Transition", sides: set[str]) -> bool:
    who = transition.who
    return who in sides if isinstance(who, str) else bool(who & sides)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    #: The status afterwards; ``None`` when the action leaves the status as it is (a deadline change).
    target: str | None
    #: The side that may act (or the sides, any one of them).
    who: str | frozenset[str]
    #: Why the action is refused in a status it does not start from (``%(status)s`` is filled in).
    refused: Any = None
    #: A more precise refusal for some statuses ("Check in at the outlet first.").
    refused_in: dict[str, Any] = field(default_factory=dict)
    #: Why someone not on that side is refused.
    forbidden: Any = None


class Lifecycle:
    def __init__(self, name: str, transitions: Iterable[Transition], *,
                 sides: Callable[[Any, Any, Any], set[str]], status_label: Callable[[str], str],
                 status_of: Callable[[Any], str] = lambda obj: obj.status):
        self.name = name
        self.transitions = {t.action: t for t in transitions}
        self.sides = sides
        self.status_label = status_label
        self.status_of = status_of

    def __getitem__(self, action: str) -> Transition:
        return self.transitions[action]

    def allows(self, action: str, status: str) -> bool:
        return status in self.transitions[action].sources

    def check(self, session, actor, obj, action: str, *, then: Callable[[], None] | None = None) -> Transition:
        """The transition, or the refusal in the user's words: the side first, then ``then`` (a
        stale-version check: a change made meanwhile is a conflict, not a wrong status), then the
        status."""
        transition = self.transitions[action]
        if not _taken_by(transition, self.sides(session, actor, obj)):
            raise PermissionDenied(str(transition.forbidden or _("You cannot do this here.")))
        if then is not None:
            then()
        status = self.status_of(obj)
        if status not in transition.sources:
            message = transition.refused_in.get(status) or transition.refused or _(
                "This cannot be done now (it is %(status)s).")
            raise DomainError(str(message) % {"status": self.status_label(status)})
        return transition

    def may(self, session, user, obj, action: str) -> bool:
        """Whether the user is on the side that takes this action (whatever the status now)."""
        return _taken_by(self.transitions[action], self.sides(session, user, obj))

    def available(self, session, user, obj) -> set[str]:
        """The actions this user may take on this object now."""
        sides = self.sides(session, user, obj)
        status = self.status_of(obj)
        return {a for a, t in self.transitions.items() if _taken_by(t, sides) and status in t.sources}
