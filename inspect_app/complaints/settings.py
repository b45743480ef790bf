"""What a network configures about complaints: sources and their deadlines, categories, the grades
of a substantiated complaint and the accountability table. Read from the app's config
(``COMPLAINT_DEADLINES``, ``COMPLAINT_CATEGORIES``, ``COMPLAINT_GRADES``, ``ACCOUNTABILITY_AMOUNTS``);
a bad setting stops the start with the reason, like a bad checklist file.

A complaint's grade (投诉定级) and an accountability record's grade (问责等级) are set apart: the
network's complaint grading need not have as many steps as its money table."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

SOURCE_LABELS = {
    "hotline": _l("Director's hotline (局长热线)"),
    "phone": _l("Customer service phone"),
    "appeal": _l("Regulator appeal (邮政申诉 / 12305)"),
    "wechat": _l("WeChat"),
    "letter": _l("Letter"),
    "onsite": _l("At the counter"),
}


@dataclass(frozen=True)
class Deadlines:
    #: First contact with the customer within this many hours of receipt.
    contact_hours: int
    #: Resolved by the end of the local day this many days after receipt.
    resolve_days: int


#: A regulator appeal runs sooner than the network's own channels; a complaint at the counter is
#: answered there and then.
DEFAULT_DEADLINES = {
    "hotline": Deadlines(24, 7),
    "phone": Deadlines(24, 7),
    "appeal": Deadlines(12, 5),
    "wechat": Deadlines(24, 7),
    "letter": Deadlines(48, 10),
    "onsite": Deadlines(2, 3),
}

DEFAULT_CATEGORIES = ("服务态度", "时限", "乱收费", "丢失损毁", "搭售", "拒收拒寄", "虚假签收", "投递服务", "信息泄露", "其他")

DEFAULT_AMOUNTS = (600, 2000, 5000, 10000)
#: The names of the accountability grades (as many as the table has amounts; ``5级`` beyond these)
#: and the default complaint grades.
GRADE_NAMES = ("一般", "较重", "严重", "特别严重")


class SettingsError(ValueError):
    pass


def parse_deadlines(text: str) -> dict[str, Deadlines]:
    """``"appeal=6/3;letter=72/15"``: hours to first contact / days to resolve, per source; sources
    not named keep their defaults."""
    result = dict(DEFAULT_DEADLINES)
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        source, _sep, value = part.partition("=")
        source = source.strip()
        if source not in SOURCE_LABELS:
            raise SettingsError(f"COMPLAINT_DEADLINES: unknown source {source!r} (known: {', '.join(SOURCE_LABELS)})")
        try:
            hours, days = (int(x) for x in value.split("/"))
        except ValueError:
            raise SettingsError(f"COMPLAINT_DEADLINES: {part!r} is not source=hours/days") from None
        if not (1 <= hours <= 24 * 30 and 0 <= days <= 90):
            raise SettingsError(f"COMPLAINT_DEADLINES: {part!r} is out of range (1–720 hours, 0–90 days)")
        result[source] = Deadlines(hours, days)
    return result


def parse_amounts(text: str) -> tuple[int, ...]:
    try:
        amounts = tuple(int(x) for x in (text or "").split(",") if x.strip())
    except ValueError:
        raise SettingsError(f"ACCOUNTABILITY_AMOUNTS: {text!r} is not a list of whole yuan") from None
    if not amounts or any(a <= 0 for a in amounts) or list(amounts) != sorted(set(amounts)):
        raise SettingsError(f"ACCOUNTABILITY_AMOUNTS: {text!r} must rise grade by grade, each above 0")
    return amounts


def parse_categories(text: str) -> tuple[str, ...]:
    categories = tuple(c.strip() for c in (text or "").split(",") if c.strip())
    if any(len(c) > 32 for c in categories) or len(set(categories)) != len(categories):
        raise SettingsError(f"COMPLAINT_CATEGORIES: {text!r}: each at most 32 characters, none twice")
    return categories or DEFAULT_CATEGORIES


def parse_complaint_grades(text: str) -> tuple[str, ...]:
    """``"一级,二级,三级"``: the grades of a substantiated complaint, the lightest first."""
    names = tuple(c.strip() for c in (text or "").split(",") if c.strip())
    if any(len(c) > 16 for c in names) or len(set(names)) != len(names) or len(names) > 9:
        raise SettingsError(f"COMPLAINT_GRADES: {text!r}: at most 9 grades of at most 16 characters, none twice")
    return names or GRADE_NAMES


def validate(config: dict) -> None:
    """At start-up: a setting that cannot be read stops the app with its reason."""
    parse_deadlines(config.get("COMPLAINT_DEADLINES", ""))
    parse_amounts(config.get("ACCOUNTABILITY_AMOUNTS", ""))
    parse_categories(config.get("COMPLAINT_CATEGORIES", ""))
    parse_complaint_grades(config.get("COMPLAINT_GRADES", ""))


def _config(name: str, default: str) -> str:
    return current_app.config.get(name, default) if has_app_context() else default


def deadlines() -> dict[str, Deadlines]:
    return parse_deadlines(_config("COMPLAINT_DEADLINES", ""))


def categories() -> tuple[str, ...]:
    return parse_categories(_config("COMPLAINT_CATEGORIES", ""))


def amounts() -> tuple[int, ...]:
    return parse_amounts(_config("ACCOUNTABILITY_AMOUNTS", ",".join(map(str, DEFAULT_AMOUNTS))))


def complaint_grades() -> list[tuple[int, str]]:
    """(grade, name) of a substantiated complaint, from grade 1 (the lightest) up."""
    return list(enumerate(parse_complaint_grades(_config("COMPLAINT_GRADES", "")), start=1))


def complaint_grade_label(grade: int | None) -> str:
    if not grade:
        return "—"
    return dict(complaint_grades()).get(grade, f"{grade}级")


def grades() -> list[tuple[int, str]]:
    """Accountability: (grade, label) from grade 1 up; as many grades as the table has amounts."""
    table = amounts()
    return [(n, f"{GRADE_NAMES[n - 1] if n <= len(GRADE_NAMES) else f'{n}级'}({amount:,} 元)")
            for n, amount in enumerate(table, start=1)]


def grade_label(grade: int | None) -> str:
    if not grade:
        return "—"
    return GRADE_NAMES[grade - 1] if grade <= len(GRADE_NAMES) else f"{grade}级"
