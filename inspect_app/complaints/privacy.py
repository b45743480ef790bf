"""Customers' contact details in free text (投诉隐私).

Only complaint handlers read a customer's name and phone (``permissions.may_read_contact``). The
fields that hold them are simply not shown to anyone else; but people also type them into text:
the customer's account, contact and investigation notes, reasons, callback notes, the text a
rectification line copies from the complaint. ``redact`` is the one function that takes them out
of such text, wherever it is shown, exported or printed for someone who may not read them:

- mainland mobile numbers (``1[3-9]`` and nine more digits, spaces or dashes between allowed,
  ``+86`` in front allowed), landlines with their area code (``0571-87654321``, ``(0571) 8765 4321``);
- 18-digit resident ID numbers (the birth date inside them must look like one);
- e-mail addresses;
- the complaint's own customer name (and, for a full name, the surname with 先生/女士 …) and phone,
  however it is spaced, wherever it occurs.

Text copied onto a rectification line is redacted when it is copied: the line is read by chiefs
and inspectors and printed on notices, and rectification knows nothing of complaints.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inspect_app import permissions

#: What a reader who may not see contact details sees instead of the customer's name and phone.
HIDDEN_CONTACT = _l("Visible to complaint handlers only")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
                        r"[0-9Xx](?![0-9A-Za-z])")
_SEP = r"[\s\-]?"
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86" + _SEP + r")?1[3-9]\d(?:" + _SEP + r"\d){8}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})" + _SEP + r"\d{3,4}" + _SEP + r"\d{4}(?:-\d{1,5})?(?![0-9])")
_HONORIFICS = ("先生", "女士", "小姐", "阿姨", "师傅", "老师", "大爷", "大妈", "同志")


def _marker() -> str:
    return _("[hidden]")


def _name_patterns(name: str) -> list[str]:
    name = (name or "").strip()
    if len(name) < 2:
        return []  # one character would take every occurrence of a common character out of the text
    patterns = [re.escape(name)]
    if not name.endswith(_HONORIFICS) and re.match(r"[\u4e00-\u9fff]", name):
        # 孙丽萍 is called 孙女士 on the phone; a two-character surname (欧阳) is taken as one of one
        patterns.append(re.escape(name[0]) + "(?:" + "|".join(_HONORIFICS) + ")")
    return patterns


def _phone_pattern(phone: str) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 5:
        return None
    # with what may come before it: the country code, an area code (a landline given without one)
    prefix = r"(?:\+?86" + _SEP + r"|(?:\(0\d{2,3}\)|0\d{2,3})" + _SEP + ")?"
    return r"(?<![0-9])" + prefix + _SEP.join(digits) + r"(?![0-9])"


def redact(text: str | None, *, names: Iterable[str] = (), phones: Iterable[str] = ()) -> str:
    """``text`` without phone numbers, ID numbers, e-mail addresses, and the given names and
    phones (the complaint's own customer), each replaced by a marker."""
    if not text:
        return text or ""
    mark = _marker()
    own = [p for name in names for p in _name_patterns(name)]
    own += [p for p in (_phone_pattern(phone) for phone in phones) if p]
    if own:
        # the longest first, so that a full name goes before its surname-with-title
        text = re.sub("|".join(sorted(own, key=len, reverse=True)), mark, text)
    for pattern in (_EMAIL, _ID_NUMBER, _MOBILE, _LANDLINE):
        text = pattern.sub(mark, text)
    return text


def contact_fields(obj) -> tuple[list[str], list[str]]:
    """The names and phones of a complaint's customer or of a key customer's contact (or none)."""
    if obj is None:
        return [], []
    if hasattr(obj, "customer_name"):
        return [obj.customer_name], [obj.customer_phone]
    return [getattr(obj, "contact_name", "")], [getattr(obj, "contact_phone", "")]


def redact_for(obj, text: str | None) -> str:
    """``text`` with every contact detail out, the ones of ``obj`` (a complaint or a key customer)
    included: for what someone other than a complaint handler will read."""
    names, phones = contact_fields(obj)
    return redact(text, names=names, phones=phones)


def text_for(user, text: str | None, obj=None) -> str:
    """Free text about a complaint or a key customer as ``user`` may read it."""
    if permissions.may_read_contact(user):
        return text or ""
    return redact_for(obj, text)
