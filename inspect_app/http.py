"""The request rhythm every view follows, in one place (core: imports no domain).

load or 404 → authorise (403/404) → validate → one service → commit → flash → redirect, or the
JSON twin: the same with a JSON answer. ``run_service`` and ``run_json`` hold the commit/rollback
part so no view writes it by hand; ``Payload`` reads a JSON body without trusting it.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from inspect_app.db import get_session
from inspect_app.errors import DomainError
from inspect_app.forms_common import LARGEST_ID, error_messages


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id no row can have (past 64 bits, the width of SQLite's
    INTEGER and PostgreSQL's BIGINT) matches no route, a 404 like any unknown id; werkzeug's own
    converter took it and the query's driver failed (an OverflowError, a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def get_or_404(model, object_id):
    """Load one row by primary key or answer 404."""
    obj = get_session().get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def is_safe_next(target: str | None) -> bool:
    r"""A path on this site, and nothing a browser could read as another host.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so ``/\t/evil``
    and ``/\\evil`` mean ``//evil``: any control character, whitespace or backslash refuses the
    target, as do a scheme or a host after parsing."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return False
    if any(ch < " " or ch in "\\\x7f" or ch.isspace() for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def redirect_back(default_endpoint: str = "dashboard.home"):
    target = request.form.get("next") or request.args.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for(default_endpoint))


def public_url(path: str) -> str:
    """An absolute link for a paper or a QR code: the configured ``PUBLIC_URL``, never the Host
    header a request came with (a forged one would otherwise be printed). Without it, the
    site-relative path."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}{path}"


def page_url(page: int) -> str:
    """The current page's URL with its query string, at another page number."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def export_url(endpoint: str, fmt: str, **extra) -> str:
    """An export of the current page's list: its query string (the filters) without the page."""
    args = request.args.to_dict()
    args.pop("page", None)
    args.update(extra)
    return url_for(endpoint, fmt=fmt, **args)


REFUSED = object()


def run_service(action: Callable[[Any], Any], success: str | Callable[[Any], str] | None = None):
    """One form's service call: run it, then commit and flash ``success`` (a text, or a function of
    the result), or roll back and flash the refusal in the user's words. Returns the service's
    result, or ``REFUSED``."""
    db = get_session()
    try:
        result = action(db)
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
        return REFUSED
    db.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return result


def run_json(action: Callable[[Any], Any], answer: Callable[[Any], Any], *,
             refused: Callable[[DomainError], dict] | None = None, status: Callable[[Any], int] | None = None):
    """The JSON twin of ``run_service``: run, commit and answer ``answer(result)`` (a dict), or
    roll back and answer the refusal with its status (``refused(exc)`` may add what the client
    needs to recover, such as the stored value)."""
    db = get_session()
    try:
        result = action(db)
    except DomainError as exc:
        db.rollback()
        return jsonify(error=exc.message, **(refused(exc) if refused else {})), exc.status_code
    db.commit()
    return jsonify(answer(result)), status(result) if status else 200


def run_form(action: Callable[[Any], Any], success: str, *, done: str):
    """A form's service call answered as a form (flash, then ``done``), or as JSON when the phone
    sends a form it kept while offline: ``{"ok", "message", "redirect"}`` or the refusal."""
    if wants_json():
        return run_json(action, lambda _result: {"ok": True, "message": success, "redirect": done})
    run_service(action, success)
    return redirect(done)


def form_refused(form, done: str):
    """A form that did not validate: its errors flashed (then ``done``), or the first as JSON."""
    errors = error_messages(form)
    if wants_json():
        return jsonify(error=errors[0] if errors else _("The request could not be understood.")), 400
    for error in errors:
        flash(error, "error")
    return redirect(done)


class BadPayload(DomainError):
    def __init__(self):
        super().__init__(_("The request could not be understood."))


class Payload:
    """A JSON object from the phone, read field by field: a wrong type is ``BadPayload`` (400),
    never a 500 and never a guess."""

    def __init__(self, data: Any):
        if not isinstance(data, dict):
            raise BadPayload()
        self.data = data

    @classmethod
    def from_request(cls) -> "Payload":
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested thousands deep: the parser gives up, and so do we
            raise BadPayload() from None
        return cls(data)

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def str(self, key: str, *, required: bool = False, limit: int | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise BadPayload()
            return None
        if not isinstance(value, str) or not _storable(value):
            raise BadPayload()
        return value[:limit] if limit else value

    def _number(self, key: str, kind):
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise BadPayload()
        try:
            number = kind(float(value)) if kind is int and isinstance(value, float) else kind(value)
        except (ValueError, OverflowError):
            raise BadPayload() from None
        if isinstance(number, float) and not math.isfinite(number):
            raise BadPayload()  # "nan", "inf", 1e999
        if isinstance(number, int) and not -LARGEST_ID - 1 <= number <= LARGEST_ID:
            raise BadPayload()  # past an INTEGER column's 32 bits: PostgreSQL refuses it (a 500)
        return number

    def int(self, key: str) -> int | None:
        return self._number(key, int)

    def float(self, key: str) -> float | None:
        return self._number(key, float)

    def datetime(self, key: str) -> dt.datetime | None:
        value = self.str(key)
        if not value:
            return None
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise BadPayload()
            return moment.astimezone(dt.timezone.utc)  # year 9999 at -14:00 does not fit: refused
        except (ValueError, OverflowError):
            raise BadPayload() from None

    def is_true(self, key: str) -> bool:
        return self.data.get(key) is True

    def strings(self, key: str, *, limit: int = 64, most: int = 50) -> list[str]:
        values = self.data.get(key) or []
        if not isinstance(values, list):
            raise BadPayload()
        return [v[:limit] for v in values if isinstance(v, str) and _storable(v)][:most]


def _storable(text: str) -> bool:
    """Text a database can hold: a lone surrogate (``\\ud800``) is valid JSON but no UTF-8, and
    PostgreSQL refuses NUL characters."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
