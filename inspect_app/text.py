"""Text that identifies something (codes, usernames) and text that must fit its column.

Codes and usernames are compared character by character, so two that look the same must be the
same: they are normalised to NFKC (full-width ``ＨＺ０１`` is ``HZ01``) and may hold no invisible,
control or space characters (``insp\u200bector`` would otherwise be a second account that looks
like ``inspector``). Lengths come from the table models, so a form, a service and an import cannot
disagree; SQLite does not enforce ``VARCHAR(n)``, so the app must.
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _

from inspect_app.errors import DomainError

#: Unicode categories never allowed in an identifier: controls, format characters (zero-width
#: space and joiners, bidi marks, soft hyphen), separators, private use, surrogates, unassigned.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


def hidden_character(value: str) -> str | None:
    """The first invisible, control or space character in ``value``, as ``U+200B``, or None."""
    for char in value:
        if unicodedata.category(char) in _HIDDEN:
            return f"U+{ord(char):04X}"
    return None


def identifier(value: str, *, label: str, max_length: int | None, lower: bool = False) -> str:
    """``value`` normalised for use as a code or username; DomainError when it cannot be one."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    if lower:
        value = value.lower()
    hidden = hidden_character(value)
    if hidden:
        raise DomainError(_("%(what)s contains an invisible, control or space character (%(char)s); type it again "
                            "without it.", what=label, char=hidden))
    fits(value, label=label, max_length=max_length)
    return value


def fits(value: str | None, *, label: str, max_length: int | None) -> None:
    if value is not None and max_length is not None and len(value) > max_length:
        raise DomainError(_("%(what)s may have at most %(n)d characters (this one has %(has)d).",
                            what=label, n=max_length, has=len(value)))


def max_length(model, field: str) -> int | None:
    """The declared length of ``model.field`` (``Field(max_length=…)``), or None for unbounded text."""
    return _length(model.__table__.columns[field].type)


def _length(column_type) -> int | None:
    # SQLModel's AutoString is a TypeDecorator over String; it carries the length too.
    if isinstance(column_type, sa.String) or isinstance(getattr(column_type, "impl", None), sa.String):
        return getattr(column_type, "length", None)
    return None


def overlong(obj) -> tuple[str, int, int] | None:
    """(column, limit, length) of the first text value of ``obj`` longer than its column allows."""
    table = getattr(obj, "__table__", None)
    if table is None:
        return None
    for column in table.columns:
        limit = _length(column.type)
        if not limit:
            continue
        value = getattr(obj, column.key, None)
        if isinstance(value, str) and len(value) > limit:
            return column.key, limit, len(value)
    return None
