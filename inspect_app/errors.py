"""Domain errors: raised by services with a message a user can read."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the action; ``message`` is already translated."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermissionDenied(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The object changed since the user loaded it (stale form, concurrent action)."""

    status_code = 409
