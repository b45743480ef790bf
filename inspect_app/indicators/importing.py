"""Imports of operating data (投递及时率, 电话接听率 …): a CSV or Excel file of unit code, month,
metric and value. Every row is checked first (the unit exists and is in the importer's scope, the
month is a past or current month, the metric is one the tree imports, the value is a number in its
range, no row twice); one bad row and nothing is written. A value already there for the same unit,
month and metric is replaced, with the value before in the audit log."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.audit.services import record_many
from inspect_app.csv_import import BATCH_ROWS, CheckedRow, ImportFailed, ImportResult, decode, read_rows
from inspect_app.errors import PermissionDenied
from inspect_app.indicators.definition import Tree
from inspect_app.indicators.models import OperatingValue
from inspect_app.org.models import Unit

#: Column names as a quality office writes them, and as the template has them.
HEADERS = {"单位编码": "unit_code", "月份": "month", "指标编码": "metric", "数值": "value"}
COLUMNS = ["unit_code", "month", "metric", "value"]
MAX_XLSX_ROWS = 100_000


def template_csv(tree: Tree) -> bytes:
    """The file to fill in: Chinese headers, one example row per imported metric."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(HEADERS))
    month = clock.today().replace(day=1)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    for metric, indicator in tree.metrics.items():
        writer.writerow(["3301", f"{previous:%Y-%m}", metric, f"{indicator.target or 0}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_as_csv(data: bytes) -> bytes:
    import openpyxl  # the reading of Excel is needed here only

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFailed([_("This Excel file cannot be read. Save it again as .xlsx or as CSV.")]) from None
    sheet = book.worksheets[0]
    out = io.StringIO()
    writer = csv.writer(out)
    for n, row in enumerate(sheet.iter_rows(values_only=True)):
        if n > MAX_XLSX_ROWS:
            raise ImportFailed([_("The file has more than %(n)d rows.", n=MAX_XLSX_ROWS)])
        writer.writerow(["" if v is None else (f"{v:%Y-%m}" if isinstance(v, dt.date | dt.datetime) else str(v))
                         for v in row])
    book.close()
    return out.getvalue().encode("utf-8")


def read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8 or GB18030) or an .xlsx file, with the Chinese headers understood."""
    if data[:2] == b"PK":
        data = _xlsx_as_csv(data)
    text = decode(data).lstrip("\ufeff")
    if "\x00" in text:
        raise ImportFailed([_("This is not a CSV text file.")])
    if not text.strip():
        raise ImportFailed([_("The file has no data rows.")])
    first, _sep, rest = text.partition("\n")
    names = [HEADERS.get(h.strip().strip('"'), h.strip().strip('"')) for h in first.rstrip("\r").split(",")]
    labels = {column: label for label, column in HEADERS.items()}
    missing = [labels[c] for c in COLUMNS if c not in names]
    if missing:
        raise ImportFailed([_("Line 1: missing columns: %(cols)s.", cols=", ".join(missing))])
    return read_rows((",".join(names) + "\n" + rest).encode("utf-8"), COLUMNS)


@dataclass
class ValueRow:
    unit_id: int
    month: dt.date
    metric: str
    value: Decimal


class OperatingImporter:
    batch_rows = BATCH_ROWS

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
        for line, row in rows:
            def refuse(message: str, line: int = line) -> None:
                errors.append(_("Line %(line)d: %(msg)s", line=line, msg=message))

            unit = units.get(row.get("unit_code", ""))
            if unit is None:
                refuse(_("unknown unit code %(code)s.", code=row.get("unit_code", "")[:32] or "—"))
            elif not permissions.unit_in_scope(session, actor, unit):
                refuse(_("unit %(code)s is not in your region.", code=unit.code))
            try:
                month = dt.date.fromisoformat(row.get("month", "")[:7] + "-01")
            except ValueError:
                month = None
                refuse(_("the month must be written YYYY-MM, not %(value)s.", value=row.get("month", "")[:20] or "—"))
            if month is not None and month > this_month:
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
                refuse(_("%(value)s is outside %(low)s–%(high)s for %(metric)s.", value=value,
                         low=indicator.min_value if indicator.min_value is not None else "—",
                         high=indicator.max_value if indicator.max_value is not None else "—", metric=indicator.metric))
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
        result = ImportResult()
        keys = [(r.values.unit_id, r.values.month, r.values.metric) for r in rows]
        existing = {(v.unit_id, v.month, v.metric): v for v in session.exec(select(OperatingValue).where(
            OperatingValue.unit_id.in_({k[0] for k in keys}), OperatingValue.month.in_({k[1] for k in keys}))).all()}
        events = []
        now = clock.now()
        for row in rows:
            v = row.values
            old = existing.get((v.unit_id, v.month, v.metric))
            if old is None:
                new = OperatingValue(unit_id=v.unit_id, month=v.month, metric=v.metric, value=v.value,
                                     imported_at=now, imported_by_id=actor.id)
                session.add(new)
                session.flush()
                events.append(("operating_value.imported", new.id, None, {"metric": v.metric, "month": v.month,
                                                                          "value": str(v.value)}))
                result.created += 1
            elif old.value != v.value:
                events.append(("operating_value.replaced", old.id, {"value": str(old.value)},
                               {"metric": v.metric, "month": v.month, "value": str(v.value)}))
                old.value, old.imported_at, old.imported_by_id = v.value, now, actor.id
                session.add(old)
                result.updated += 1
        record_many(session, actor=actor, object_type="operating_value", events=events)
        return result
