"""CSV imports (outlets, accounts): every row checked first, errors by line, UTF-8 or GB18030.

Core: the reading, the batched writing and the page; each domain brings an ``Importer`` with a
``check`` (reads only, every row, all errors) and a ``write`` (one batch of checked rows).

The check runs without SQLite's write lock; the writing takes it one batch at a time, so an import
of 100,000 outlets never makes an inspector's answer wait more than a batch (a fraction of a
second). A file that fails the check writes nothing. A file that passes is written batch by batch;
should a batch fail after all (someone changed the same codes meanwhile), the batches before it
stay and the page says so: importing the same file again finishes the job, since rows are matched
by their code and updated, never doubled.
"""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from charset_normalizer import from_bytes
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session

from inspect_app.db import get_session, not_a_page, writing
from inspect_app.errors import DomainError
from inspect_app.forms_common import CsvUploadForm

MAX_IMPORT_BYTES = 5 * 1024 * 1024
#: Rows written per transaction: small enough that others' saves wait well under a second.
BATCH_ROWS = 500
#: On SQLite, a pause between batches longer than SQLite's busy-wait poll (which sleeps up to
#: 100 ms between tries): without it the import takes the lock back the instant it lets go, and a
#: save that is waiting can miss every gap (measured: one save waited 13 s through 40 batches).
BATCH_PAUSE_SECONDS = 0.12
#: Encodings charset-normalizer may name for a file that is really GB18030 (a subset or a superset).
GB_FAMILY = {"gb18030", "gbk", "gb2312", "hz"}


class ImportFailed(Exception):
    def __init__(self, errors: list[str], *, result: "ImportResult | None" = None):
        super().__init__("; ".join(errors))
        self.errors = errors
        self.result = result  # set when batches before the failing one were written


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0

    def add(self, other: "ImportResult") -> None:
        self.created += other.created
        self.updated += other.updated


@dataclass
class CheckedRow:
    """One row that passed the check, ready to write: its line and whatever the domain needs."""

    line: int
    values: Any


class Importer(Protocol):
    batch_rows: int

    def check(self, session: Session, *, actor, data: bytes) -> list[CheckedRow]: ...

    def write(self, session: Session, *, actor, rows: Sequence[CheckedRow]) -> ImportResult: ...


def _gb2312_share(text: str) -> float:
    """Of the non-ASCII characters, the share in GB2312's 7,445 common characters and symbols.

    Another CJK encoding read as GB18030 still decodes (GB18030 maps almost every byte pair) but
    lands on rare characters: Shift-JIS kana fall in GBK's extension rows, not in GB2312.
    """
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 1.0
    common = 0
    for char in wide:
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common / len(wide)


def _encoding_label(name: str | None) -> str:
    labels = {"cp932": "Shift_JIS", "shift_jis": "Shift_JIS", "euc_jp": "EUC-JP", "cp949": "EUC-KR",
              "euc_kr": "EUC-KR", "big5": "Big5", "big5hkscs": "Big5", "cp1252": "Windows-1252",
              "latin_1": "ISO-8859-1", "utf_16": "UTF-16", "utf_16_le": "UTF-16", "utf_16_be": "UTF-16"}
    return labels.get((name or "").lower(), (name or "").upper().replace("_", "-"))


def decode(data: bytes) -> str:
    """The file's text if it is UTF-8 or GB18030; anything else is refused by name.

    UTF-8 is unambiguous. GB18030 decodes almost any bytes, so a file that is not UTF-8 is taken as
    GB18030 only when the detector (charset-normalizer) finds it plausible and its characters are
    the common ones Chinese text is made of.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFailed([_("The file is larger than 5 MB.")])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed([_("The file is UTF-16 text. Save it as CSV (UTF-8) and import it again.")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    names = [m.encoding for m in matches]
    best = names[0] if names else None
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and (best in GB_FAMILY or (GB_FAMILY & set(names) and _gb2312_share(text) >= 0.5)):
        return text
    if best:
        raise ImportFailed([_("The file looks like %(encoding)s text, which is neither UTF-8 nor GB18030. Save it "
                              "as CSV (UTF-8) and import it again.", encoding=_encoding_label(best))])
    raise ImportFailed([_("The file is neither UTF-8 nor GB18030 text. Save it as CSV (UTF-8).")])


def read_rows(data: bytes, required: list[str], *,
              columns: Callable[[list[str]], list[str]] | None = None) -> list[tuple[int, dict[str, str]]]:
    """The data rows as dicts by column, with their lines. ``columns`` maps the header's names to
    the importer's own (单位编码 → unit_code) and may refuse the header."""
    text = decode(data)
    if "\x00" in text:
        raise ImportFailed([_("This is not a CSV text file.")])
    # strict: a quote that is never closed (or text right after a closing quote) is an error at
    # its line, instead of swallowing the rest of the file into one field.
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error:
        raise ImportFailed([_("Line 1: the header row has a quote that is not closed.")]) from None
    if columns is not None:
        header = columns(header)
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFailed([_("Line 1: missing columns: %(cols)s.", cols=", ".join(missing))])
    reader.fieldnames = header
    rows = []
    while True:
        starts = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "end of data" in str(exc) or "new-line" in str(exc):
                message = _("Line %(line)d: a quote (\") opens a field that is never closed; the rest of the file "
                            "would be read as one field. Close the quote or remove it.", line=starts)
            else:
                message = _("Line %(line)d: a field has text after its closing quote (\"). Put the whole field in "
                            "quotes and write a quote inside it as two (\"\").", line=starts)
            raise ImportFailed([message]) from None
        clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(clean.values()):
            rows.append((reader.line_num, clean))
    if not rows:
        raise ImportFailed([_("The file has no data rows.")])
    return rows


def run_import(session: Session, importer: Importer, *, actor, data: bytes,
               progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check every row (no write lock), then write the checked rows batch by batch."""
    rows = importer.check(session, actor=actor, data=data)
    session.commit()  # ends the reading transaction; nothing was written
    result = ImportResult()
    size = importer.batch_rows
    for start in range(0, len(rows), size):
        batch = rows[start:start + size]
        try:
            with writing():
                part = importer.write(session, actor=actor, rows=batch)
                session.commit()
        except DomainError as exc:
            session.rollback()
            if start == 0:
                raise ImportFailed([_("Line %(line)d: %(msg)s", line=batch[0].line, msg=exc.message)]) from None
            raise ImportFailed([_("Stopped at lines %(first)d–%(last)d: %(msg)s The lines before them were "
                                  "imported (%(created)d new, %(updated)d updated). Import the same file again "
                                  "to finish: imported rows are updated, not doubled.",
                                  first=batch[0].line, last=batch[-1].line, msg=exc.message,
                                  created=result.created, updated=result.updated)], result=result) from None
        result.add(part)
        if progress:
            progress(start + len(batch))
        if start + size < len(rows) and session.get_bind().dialect.name == "sqlite":
            time.sleep(BATCH_PAUSE_SECONDS)
    return result


def number(value: str, line: int, column: str, errors: list[str]) -> float | None:
    """A decimal column, or None when empty; a bad value adds an error for its line."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(_("Line %(line)d: %(col)s is not a number: %(value)s", line=line, col=column, value=value))
        return None


def import_page(importer: Importer, kind: str, done_endpoint: str):
    """The import page shared by outlets and accounts: errors by line, nothing written on any.

    Its view goes under ``lock_on_write_only`` so the check reads without the write lock."""
    form = CsvUploadForm()
    errors: list[str] = []
    if form.validate_on_submit():
        db = get_session()
        not_a_page()
        try:
            result = run_import(db, importer, actor=current_user, data=form.file.data.read())
        except ImportFailed as exc:
            db.rollback()
            errors, partial = exc.errors, exc.result
            if partial is not None:
                return render_template("csv_import.html", form=form, errors=errors, kind=kind, partial=partial)
        else:
            flash(_("Imported: %(created)d new, %(updated)d updated.", created=result.created, updated=result.updated), "success")
            return redirect(url_for(done_endpoint))
    elif request.method == "POST":
        errors = [_("Choose a CSV file to import.")]
    return render_template("csv_import.html", form=form, errors=errors, kind=kind, partial=None)
