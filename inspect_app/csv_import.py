"""CSV imports (outlets, accounts): all rows or none, errors by line, UTF-8 or GB18030.

Core: the reading and the page; each domain brings its own ``import_…(session, actor=, data=)``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from inspect_app.db import get_session
from inspect_app.forms_common import CsvUploadForm

MAX_IMPORT_BYTES = 5 * 1024 * 1024

class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFailed([_("The file is larger than 5 MB.")])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([_("The file is neither UTF-8 nor GB18030 text. Save it as CSV (UTF-8).")])


def read_rows(data: bytes, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    text = decode(data)
    if "\x00" in text:
        raise ImportFailed([_("This is not a CSV text file.")])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFailed([_("Line 1: missing columns: %(cols)s.", cols=", ".join(missing))])
    reader.fieldnames = header
    rows = []
    for row in reader:
        clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(clean.values()):
            rows.append((reader.line_num, clean))
    if not rows:
        raise ImportFailed([_("The file has no data rows.")])
    return rows


def number(value: str, line: int, column: str, errors: list[str]) -> float | None:
    """A decimal column, or None when empty; a bad value adds an error for its line."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(_("Line %(line)d: %(col)s is not a number: %(value)s", line=line, col=column, value=value))
        return None


def import_page(importer, kind: str, done_endpoint: str):
    """The import page shared by outlets and accounts: all rows or none, errors by line."""
    form = CsvUploadForm()
    errors: list[str] = []
    if form.validate_on_submit():
        db = get_session()
        try:
            result = importer(db, actor=current_user, data=form.file.data.read())
        except ImportFailed as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            flash(_("Imported: %(created)d new, %(updated)d updated.", created=result.created, updated=result.updated), "success")
            return redirect(url_for(done_endpoint))
    elif request.method == "POST":
        errors = [_("Choose a CSV file to import.")]
    return render_template("csv_import.html", form=form, errors=errors, kind=kind)
