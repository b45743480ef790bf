"""Language choice, catalogue compilation and time display in the outlet's zone."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import flask_babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_app_context, session
from flask_babel import gettext
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from inspect_app import clock

SUPPORTED = ("zh_CN", "en")


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED:
        return current_user.locale
    lang = session.get("lang")
    if lang in SUPPORTED:
        return lang
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def install_template_gettext(app: Flask) -> None:
    """Give the templates' ``_()`` the catalogue of the request's locale in one lookup.

    Flask-Babel's template callables find the catalogue anew on every call (the context through
    ``g``, the domain, the locale turned into a string for the cache key): about 20 µs a call, and
    a list page calls it hundreds of times (the notice list: ~450 calls, ~10 ms of a 70 ms page).
    These callables read the locale Flask-Babel has already chosen for the request and keep one
    catalogue per locale. A locale forced for a message (``force_locale``) is read on each call, so
    a message rendered in its recipient's language inside a request still gets that language.

    ``_()`` and ``gettext()`` (what ``{% trans %}`` calls) are one function, not Jinja's alias
    that calls a wrapper that calls the callable (three context calls a string); it keeps the
    i18n extension's new-style rule: the translation is markup-safe under autoescape and always a
    format string, its variables escaped.
    """
    catalogues: dict = {}

    def translations():
        if has_app_context():
            locale = getattr(g.get("_flask_babel"), "babel_locale", None)
            if locale is not None:
                found = catalogues.get(locale)
                if found is None:
                    found = catalogues[locale] = flask_babel.get_translations()
                return found
        return flask_babel.get_translations()  # the first call of a request chooses the locale

    def ugettext(string: str) -> str:
        return translations().ugettext(string)

    # the plural and context forms through Jinja's wrappers; ``gettext`` and ``_`` replaced below
    app.jinja_env.install_gettext_callables(
        gettext=ugettext,
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @pass_eval_context
    def template_gettext(eval_ctx, string: str, **variables):
        text = ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)
        return text % variables if variables or "%" in text else text  # the same string when nothing to format

    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)


def select_timezone() -> str:
    """The viewer's zone (a branch chief's outlet zone), found once per request by the hook the
    web wiring registers as ``app.extensions["viewer_zone"]``; else the network's zone."""
    if not has_app_context():
        return clock.DEFAULT_ZONE
    if "user_zone" not in g:
        finder = current_app.extensions.get("viewer_zone")
        g.user_zone = (finder() if finder else None) or clock.default_zone()
    return g.user_zone


def zone_note(tz: str | None) -> str:
    """What to say beside a local time or deadline: nothing when it is the viewer's own zone,
    北京时间 for China's zone seen from elsewhere, else the zone's offset and name."""
    name = tz or clock.default_zone()
    viewer = select_timezone()
    if name == viewer or (clock.is_beijing_time(name) and clock.is_beijing_time(viewer)):
        return ""
    if clock.is_beijing_time(name):
        return gettext("Beijing time")
    offset = clock.local_now(name).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]} {name}"


def compile_catalogues(directory: Path) -> list[Path]:
    """Compile each ``.po`` to ``.mo`` when the ``.mo`` is missing or older.

    The ``.po`` files are the source of truth in git; compiling here means a plain checkout runs
    without a separate ``pybabel compile`` step. Several processes may start at once on a fresh
    checkout (web workers, test workers): each writes its own temporary file and renames it over
    the ``.mo``, so the last rename wins with a whole catalogue and none finds its file gone.
    """
    written = []
    for po_path in directory.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parts[-3])
        fd, tmp = tempfile.mkstemp(prefix=mo_path.name + ".", suffix=".tmp", dir=mo_path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(mo_path)
    return written


def to_zone(value: dt.datetime | None, tz: str | None = None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(clock.zone(tz or select_timezone()))


def duration_words(seconds: float | None) -> str:
    """A measured duration as the (Chinese) papers say it: 7 分 00 秒, never like a clock time."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} 分 {rest:02d} 秒"


def format_local(value: dt.datetime | None, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_zone(value, tz)
    return local.strftime(fmt) if local else ""
