"""Imports of operating data (投递及时率, 电话接听率 …): a CSV or Excel file of unit code, month,
metric and value. Every row is checked first (the unit exists and is in the importer's scope, the
month is a past or current month, the metric is one the tree imports, the value is a number in its
range, no row twice); one bad row and nothing is written. A value already there for the same unit,
month and metric is replaced, with the value before in the audit log.

The file is refused whole, by name, when it is not a CSV or .xlsx (a picture, a PDF, an old .xls,
another ZIP), too large, or in another encoding. Excel cells are read as Excel shows them: a
percent cell holding 0.985 is 98.5 (the metrics are in %), a float has Excel's 15 digits, a date
in the month column is its month. The file is written in one transaction: operating data is small
(units × metrics × months, at most ``MAX_ROWS``), so a failure while writing leaves nothing behind.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
import xlsxwriter
from flask_babel import gettext as _
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record_many
from inspect_app.csv_import import MAX_IMPORT_BYTES, CheckedRow, ImportFailed, ImportResult, read_rows
from inspect_app.errors import PermissionDenied
from inspect_app.indicators import services
from inspect_app.indicators.definition import Indicator, Tree
from inspect_app.indicators.models import OperatingValue
from inspect_app.org.models import Unit

log = logging.getLogger(__name__)

#: Column names as a quality office writes them, and as the template has them.
HEADERS = {"单位编码": "unit_code", "月份": "month", "指标编码": "metric", "数值": "value"}
COLUMNS = ["unit_code", "month", "metric", "value"]
LABELS = {column: label for label, column in HEADERS.items()}
#: Data rows in one file (CSV or Excel): more is refused before any row is checked.
MAX_ROWS = 100_000
#: What an .xlsx may unpack to. Its parts are inflated in memory (the shared strings whole), so a
#: 5 MB file that inflates to gigabytes is refused by the sizes its ZIP directory declares (the
#: reader never inflates a part beyond its declared size). 100,000 rows take about 25 MB.
MAX_XLSX_UNPACKED = 100 * 1024 * 1024
#: Numeric(14, 4): the largest value the column holds.
MAX_VALUE = Decimal(10) ** 10
ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE2_START = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc, and a password-protected .xlsx
#: Files people pick by mistake, known by their first bytes.
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"GIF8": "gif", b"%PDF-": "pdf",
              b"Rar!\x1a\x07": "rar", b"7z\xbc\xaf\x27\x1c": "7z", b"\x1f\x8b": "gzip"}
#: 2026-11, 2026/11, 2026-11-01 (a date is its month) and 2026年11月 (after NFKC: no full-width).
MONTH_FORMS = (re.compile(r"(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?", re.ASCII),
               re.compile(r"(\d{4})年(\d{1,2})月(?:(\d{1,2})日)?", re.ASCII))


def _kind_name(kind: str) -> str:
    return {"png": _("a PNG image"), "jpeg": _("a JPEG image"), "gif": _("a GIF image"), "pdf": _("a PDF document"),
            "rar": _("a RAR archive"), "7z": _("a 7-Zip archive"), "gzip": _("a gzip archive"),
            "zip": _("a ZIP archive"), "docx": _("a Word document"), "pptx": _("a PowerPoint presentation"),
            "ods": _("an OpenDocument spreadsheet (.ods)")}[kind]


def _not_a_table(kind: str) -> ImportFailed:
    return ImportFailed([_("This is %(what)s, not a CSV or Excel (.xlsx) file. Choose the file with the operating "
                           "data, or save it from Excel as .xlsx or CSV.", what=_kind_name(kind))])


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: every other byte zero (the ASCII in it), and it reads."""
    sample = data[:4096]
    sample = sample[:len(sample) - len(sample) % 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) < 4 or max(even, odd) < len(sample) // 16 or min(even, odd) > max(even, odd) // 10:
        return False
    try:
        text = sample.decode("utf-16-le" if odd > even else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text)


def read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8 or GB18030) or an .xlsx file, by line, with the Chinese headers
    understood. Whatever is not such a file is refused by what it is, before anything is parsed."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFailed([_("The file is larger than 5 MB.")])
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n"):
        raise ImportFailed([_("The file is empty: it has no header and no data rows.")])
    kind = next((k for start, k in SIGNATURES.items() if data.startswith(start)), None)
    if kind:
        raise _not_a_table(kind)
    if data.startswith(OLE2_START):
        raise ImportFailed([_("This is an old Excel file (.xls) or a password-protected workbook. Open it in Excel, "
                              "save it as .xlsx (without a password) or as CSV, and import that.")])
    if data.startswith(ZIP_STARTS):
        rows = _xlsx_rows(data)
    elif _looks_utf16(data):
        raise ImportFailed([_("The file is UTF-16 text. Save it as CSV (UTF-8) and import it again.")])
    else:
        rows = read_rows(data, COLUMNS, columns=_columns)
    if len(rows) > MAX_ROWS:
        raise _too_many_rows()
    return rows


def _too_many_rows() -> ImportFailed:
    return ImportFailed([_("The file has more than %(n)d rows.", n=MAX_ROWS)])


def _columns(names: list[str], line: int = 1) -> list[str]:
    """The header's names as the importer's columns. A column without a name is ignored (Excel
    leaves them after a formatted cell); any other column refuses the file, since a value in it
    would be lost without a word."""
    names = [unicodedata.normalize("NFKC", n or "").strip() for n in names]
    mapped = [HEADERS.get(n, n) for n in names]
    errors = []
    unknown = [n for n, column in zip(names, mapped, strict=True) if column and column not in COLUMNS]
    if unknown:
        errors.append(_("Line %(line)d: unknown columns: %(cols)s. The file may have only the columns %(known)s; "
                        "remove the others and import it again.", line=line, cols="、".join(unknown),
                        known="、".join(HEADERS)))
    for column in COLUMNS:
        if mapped.count(column) > 1:
            errors.append(_("Line %(line)d: the column %(col)s appears twice.", line=line, col=LABELS[column]))
    missing = [LABELS[c] for c in COLUMNS if c not in mapped]
    if missing:
        errors.append(_("Line %(line)d: missing columns: %(cols)s.", line=line, cols="、".join(missing)))
    if errors:
        raise ImportFailed(errors)
    return mapped


def _zip_contents(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportFailed([_("This Excel file cannot be read: it is damaged or incomplete (perhaps cut off while "
                              "uploading or downloading). Open it in Excel, save it again as .xlsx, and import "
                              "that.")]) from None


def _xlsx_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The first sheet's rows, numbered as Excel numbers them. Read streaming (read-only mode):
    the reading stops at the first row past ``MAX_ROWS``."""
    import openpyxl  # the reading of Excel is needed here only

    parts = _zip_contents(data)
    names = {p.filename for p in parts}
    if not any(n.startswith("xl/") for n in names):
        kind = ("docx" if any(n.startswith("word/") for n in names) else
                "pptx" if any(n.startswith("ppt/") for n in names) else "ods" if "content.xml" in names else "zip")
        raise _not_a_table(kind)
    if sum(p.file_size for p in parts) > MAX_XLSX_UNPACKED:
        raise ImportFailed([_("This Excel file unpacks to more than %(n)d MB. Keep only the operating data in it, or "
                              "save it as CSV.", n=MAX_XLSX_UNPACKED // (1024 * 1024))])
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            # The size the file declares may be wrong (some programs write "A1"): read every row.
            sheet.reset_dimensions()
            return _sheet_rows(sheet)
        finally:
            book.close()
    except ImportFailed:
        raise
    except Exception:  # noqa: BLE001 - a damaged workbook fails inside openpyxl in many ways
        log.info("unreadable xlsx for the operating-data import", exc_info=True)
        raise ImportFailed([_("This Excel file cannot be read. Save it again as .xlsx or as CSV.")]) from None


def _sheet_rows(sheet) -> list[tuple[int, dict[str, str]]]:
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in enumerate(sheet.iter_rows(), start=1):
        if header is None:
            names = ["" if c.value is None else str(c.value) for c in cells]
            if any(n.strip() for n in names):
                header = _columns(names, line)
            continue
        row = {column: _cell_text(cell, column) for column, cell in zip(header, cells) if column}
        if not any(row.values()):
            continue
        if len(rows) == MAX_ROWS:
            raise _too_many_rows()
        rows.append((line, {c: row.get(c, "") for c in COLUMNS}))
    if header is None:
        raise ImportFailed([_("The file is empty: it has no header and no data rows.")])
    if not rows:
        raise ImportFailed([_("The file has no data rows.")])
    return rows


def _is_percent(number_format: str | None) -> bool:
    """Excel shows a number ×100 when its format has a % outside quotes (``0.0%``, not ``0.0"%"``)."""
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", number_format or "")
    return "%" in bare


def _plain(number: Decimal) -> str:
    """98.500 → "98.5", 1E+2 → "100": as a person writes it."""
    return format(number.normalize(), "f")


def _cell_text(cell, column: str) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y-%m}" if column == "month" else f"{value:%Y-%m-%d}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value).strip()
    # Excel keeps 15 significant digits; a float's tail beyond them (98.49999999999999) is noise.
    number = Decimal(value) if isinstance(value, int) else Decimal(f"{value:.15g}")
    if not number.is_finite():
        return str(value)
    if _is_percent(cell.number_format):
        number *= 100
    return _plain(number)


def parse_month(text: str) -> dt.date | None:
    """The first day of the month written as 2026-11, 2026/11, 2026年11月 (or a date in it)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    for form in MONTH_FORMS:
        found = form.fullmatch(text)
        if found:
            year, month, day = int(found[1]), int(found[2]), int(found[3] or 1)
            try:
                dt.date(year, month, day)
            except ValueError:
                return None
            return dt.date(year, month, 1)
    return None


def template_rows(tree: Tree, *, unit_code: str, month: dt.date) -> list[list]:
    """One example row per imported metric: a unit the importer may import for, the last month."""
    return [[unit_code, f"{month:%Y-%m}", metric, _example_value(indicator)]
            for metric, indicator in tree.metrics.items()]


def _example_value(indicator: Indicator) -> Decimal:
    return next((v for v in (indicator.target, indicator.max_value, indicator.min_value) if v is not None), Decimal(0))


def _range(indicator: Indicator) -> str:
    low = "—" if indicator.min_value is None else _plain(indicator.min_value)
    high = "—" if indicator.max_value is None else _plain(indicator.max_value)
    return f"{low}–{high}"


def example_unit_code(session: Session, actor) -> str:
    """A unit the actor imports for, as the template's example: the first (by code) with no unit
    below it, since values are usually imported at the lowest level; empty when there is none."""
    below = aliased(Unit)
    leaf = ~sa.exists().where(below.parent_id == Unit.id)
    scope = permissions.units_clause(session, actor)
    for query in (select(Unit.code).where(scope, leaf), select(Unit.code).where(scope)):
        code = session.exec(query.order_by(Unit.code).limit(1)).first()
        if code:
            return code
    return ""


def last_complete_month(zone: str) -> dt.date:
    return clock.add_months(clock.today(zone).replace(day=1), -1)


def template_csv(tree: Tree, *, unit_code: str, month: dt.date) -> bytes:
    """The file to fill in: Chinese headers, one example row per imported metric."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(HEADERS))
    writer.writerows([[_plain(c) if isinstance(c, Decimal) else c for c in row]
                      for row in template_rows(tree, unit_code=unit_code, month=month)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(tree: Tree, *, unit_code: str, month: dt.date) -> bytes:
    """The same in Excel, with a second sheet (说明) listing each metric's name, unit and range.
    Codes and months are text cells: Excel would drop a code's leading zeros and turn 2026-11
    into a date."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    book.set_properties({"created": clock.now().replace(tzinfo=None)})  # else the host's time
    bold, text = book.add_format({"bold": True}), book.add_format({"num_format": "@"})
    data = book.add_worksheet(_("Operating data"))
    for col, width in enumerate((14, 12, 22, 12)):
        data.set_column(col, col, width, text if col < 3 else None)
    for col, title in enumerate(HEADERS):
        data.write_string(0, col, title, bold)
    data.freeze_panes(1, 0)
    for r, (code, month_text, metric, value) in enumerate(template_rows(tree, unit_code=unit_code, month=month), 1):
        data.write_string(r, 0, code, text)
        data.write_string(r, 1, month_text, text)
        data.write_string(r, 2, metric, text)
        data.write_number(r, 3, float(value))
    notes = book.add_worksheet(_("Instructions"))
    for col, width in enumerate((22, 24, 12, 14)):
        notes.set_column(col, col, width)
    for col, title in enumerate((_("Metric code"), _("Indicator"), _("Unit of measure"), _("Allowed range"))):
        notes.write_string(0, col, title, bold)
    r = 0
    for r, (metric, indicator) in enumerate(tree.metrics.items(), 1):
        for col, cell in enumerate((metric, indicator.name("zh_CN"), indicator.unit, _range(indicator))):
            notes.write_string(r, col, cell)
    for n, rule in enumerate(_template_rules(), r + 2):
        notes.write_string(n, 0, rule)
    book.close()
    return out.getvalue()


def _template_rules() -> list[str]:
    return [
        _("Fill in the first sheet; only it is read. Its columns are 单位编码, 月份, 指标编码 and 数值, and no others."),
        _("月份: 2026-11, 2026/11 or 2026年11月; a month that has not begun is refused."),
        _("数值: a number in the metric's range. A percentage is 98.5, or 98.5% typed into a percent-formatted cell."),
        _("One bad row and nothing is imported; the page names each bad line. A value imported again for the same "
          "unit, month and metric replaces the old one, which stays in the audit log."),
        _("At most 5 MB and %(n)d rows.", n=MAX_ROWS),
    ]


@dataclass
class ValueRow:
    unit_id: int
    month: dt.date
    metric: str
    value: Decimal


class OperatingImporter:
    #: One batch, one transaction: all or nothing, for a file of at most MAX_ROWS rows.
    batch_rows = MAX_ROWS

    def __init__(self, tree: Tree):
        self.tree = tree

    def check(self, session: Session, *, actor, data: bytes) -> list[CheckedRow]:
        if not permissions.can_import_operating_data(actor):
            raise PermissionDenied(_("Only administrators and managers import operating data."))
        rows = read_table(data)
        units = {u.code: u for u in session.exec(select(Unit)).all()}
        metrics = self.tree.metrics
        this_month = clock.today().replace(day=1)
        errors: list[str] = []
        seen: dict[tuple, int] = {}
        checked = []
        for line, raw in rows:
            def refuse(message: str, line: int = line) -> None:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=message))

            row = {k: unicodedata.normalize("NFKC", v or "").strip() for k, v in raw.items()}
            unit = units.get(row.get("unit_code", ""))
            if unit is None:
                refuse(_("unknown unit code %(code)s.", code=row.get("unit_code", "")[:32] or "—"))
            elif not permissions.unit_in_scope(session, actor, unit):
                refuse(_("unit %(code)s is not in your region.", code=unit.code))
            month = parse_month(row.get("month", ""))
            if month is None:
                refuse(_("the month must be written YYYY-MM (or 2026/11, 2026年11月), not %(value)s.",
                         value=row.get("month", "")[:20] or "—"))
            elif month > this_month:
                refuse(_("the month %(month)s has not begun.", month=f"{month:%Y-%m}"))
            indicator = metrics.get(row.get("metric", ""))
            if indicator is None:
                refuse(_("unknown metric %(metric)s (the file may carry: %(known)s).",
                         metric=row.get("metric", "")[:48] or "—", known=", ".join(metrics)))
            try:
                value = Decimal(row.get("value", "").replace(",", "").rstrip("%"))
                if not value.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                value = None
                refuse(_("the value %(value)s is not a number.", value=row.get("value", "")[:20] or "—"))
            if value is not None and indicator is not None and (
                    (indicator.min_value is not None and value < indicator.min_value)
                    or (indicator.max_value is not None and value > indicator.max_value)):
                refuse(_("%(value)s is outside %(low)s–%(high)s for %(metric)s.", value=_plain(value),
                         low=indicator.min_value if indicator.min_value is not None else "—",
                         high=indicator.max_value if indicator.max_value is not None else "—", metric=indicator.metric))
            elif value is not None and abs(value) >= MAX_VALUE:
                refuse(_("%(value)s is too large.", value=_plain(value)))
            if unit is not None and month is not None and indicator is not None:
                key = (unit.id, month, indicator.metric)
                if key in seen:
                    refuse(_("the same unit, month and metric as line %(other)d.", other=seen[key]))
                seen[key] = line
                if value is not None:
                    checked.append(CheckedRow(line, ValueRow(unit.id, month, indicator.metric, value)))
        if errors:
            raise ImportFailed(errors)
        return checked

    def write(self, session: Session, *, actor, rows: Sequence[CheckedRow]) -> ImportResult:
        """Writes the rows, flushing each so that a row the database refuses (a value someone
        imported meanwhile, a unit removed since the check) is named by its line, and rolls the
        whole file back then."""
        result = ImportResult()
        keys = [(r.values.unit_id, r.values.month, r.values.metric) for r in rows]
        existing = {(v.unit_id, v.month, v.metric): v for v in session.exec(select(OperatingValue).where(
            OperatingValue.unit_id.in_({k[0] for k in keys}), OperatingValue.month.in_({k[1] for k in keys}))).all()}
        events = []
        now = clock.now()
        for row in rows:
            v = row.values
            old = existing.get((v.unit_id, v.month, v.metric))
            if old is not None and old.value == v.value:
                continue
            if old is None:
                target = OperatingValue(unit_id=v.unit_id, month=v.month, metric=v.metric, value=v.value,
                                        imported_at=now, imported_by_id=actor.id)
            else:
                before = str(old.value)
                old.value, old.imported_at, old.imported_by_id = v.value, now, actor.id
                target = old
            session.add(target)
            try:
                session.flush()
            except (sa.exc.IntegrityError, sa.exc.DataError):
                log.warning("operating-data import refused by the database at line %d", row.line, exc_info=True)
                # Nothing of the file is kept; and until the rollback the session cannot even load
                # the user whose language the message is in.
                session.rollback()
                raise ImportFailed([_("Line %(line)d: %(msg)s", line=row.line, msg=_(
                    "the database refused this value (someone may have imported or changed the same data meanwhile). "
                    "Nothing was imported; import the file again."))]) from None
            after = {"metric": v.metric, "month": v.month, "value": _plain(v.value)}
            if old is None:
                events.append(("operating_value.imported", target.id, None, after))
                result.created += 1
            else:
                events.append(("operating_value.replaced", old.id, {"value": before}, after))
                result.updated += 1
        record_many(session, actor=actor, object_type="operating_value", events=events)
        if events:
            # the kept composite of the months imported (and their quarters) is computed again at
            # once, in a job that is pushed when this batch commits
            months = sorted({r.values.month for r in rows})
            quarters = {f"{m.year}-Q{(m.month - 1) // 3 + 1}" for m in months}
            periods = [services.Period.parse(f"{m:%Y-%m}") for m in months] + \
                [services.Period.parse(q) for q in sorted(quarters)]
            services.request_refresh(session, periods=periods, requested_by=actor, after_change=True)
        return result
