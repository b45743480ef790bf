"""Tables out as files (core: imports no domain): CSV as a stream, XLSX through a temp file.

The two writers take the same input, a header and an iterable of rows, and neither holds the rows:
CSV goes out line by line, XLSX is written by xlsxwriter in ``constant_memory`` mode (one row in
memory at a time) to a temporary file that is sent and then removed.

A cell is ``None`` (empty), a number, a ``date``/``datetime`` (already local: naive or aware, it
is written as it reads), or text. Text that a spreadsheet would read as a formula (``=``, ``+``,
``-``, ``@``, a tab or a carriage return first) is neutralised: in CSV it gets a leading ``'``,
in XLSX it is written as a string cell, which Excel never evaluates.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from numbers import Number
from urllib.parse import quote

import xlsxwriter
from flask import Response, send_file, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel's last row is 1,048,576; one is the header, the rest continue on the next sheet.
XLSX_MAX_ROWS = 1_048_575
BOM = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = None | str | Number | dt.date | dt.datetime


def neutralise(text: str) -> str:
    """Text a spreadsheet would evaluate, made inert with a leading quote (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Cell) -> str:
    if type(value) is str:  # the common case first: a million rows call this 16 million times
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Number):
        return f"{value:.10g}" if isinstance(value, float) else str(value)
    return neutralise(str(value))


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """UTF-8 text with a byte-order mark first (Excel on Windows reads the file as UTF-8 only
    then), CRLF line ends, one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([csv_cell(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def attachment(filename: str) -> str:
    """Content-Disposition for a file name in any script: an ASCII fallback and RFC 5987's
    ``filename*`` (UTF-8) that browsers prefer."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str) -> Response:
    """A streamed CSV download; ``rows`` is consumed while the body is sent (inside the request
    context, so the request's database session and the viewer's language stay available)."""
    body = (chunk.encode("utf-8") for chunk in csv_lines(header, rows))
    response = Response(stream_with_context(body), content_type=CSV_CONTENT_TYPE)
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def write_xlsx(target, header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet: str = "Sheet",
               created: dt.datetime | None = None, widths: Sequence[int] | None = None,
               max_rows: int = XLSX_MAX_ROWS) -> int:
    """Write one table to ``target`` (a path or a binary file), a header row on each sheet, more
    sheets when the rows exceed Excel's limit. ``created`` goes into the document properties
    (xlsxwriter would take the host's time otherwise). Returns the number of rows written."""
    sheet = re.sub(r"[\[\]:*?/\\]", "_", sheet).strip("'") or "Sheet"  # Excel refuses these in a sheet name
    with tempfile.TemporaryDirectory(prefix="xlsx-") as scratch:
        book = xlsxwriter.Workbook(target, {"constant_memory": True, "tmpdir": scratch, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
        if created is not None:
            book.set_properties({"created": created.astimezone(dt.timezone.utc).replace(tzinfo=None)})
        bold = book.add_format({"bold": True})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        minute = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        count, sheet_row, page, ws = 0, max_rows + 1, 0, None
        for row in rows:
            if sheet_row > max_rows:
                page += 1
                ws = book.add_worksheet(sheet[:28] if page == 1 else f"{sheet[:24]} ({page})")
                for col, width in enumerate(widths or ()):
                    ws.set_column(col, col, width)
                for col, title in enumerate(header):
                    ws.write_string(0, col, str(title), bold)
                ws.freeze_panes(1, 0)
                sheet_row = 1
            _write_row(ws, sheet_row, row, day, minute)
            sheet_row += 1
            count += 1
        if ws is None:  # no rows: the header alone
            ws = book.add_worksheet(sheet[:28])
            for col, title in enumerate(header):
                ws.write_string(0, col, str(title), bold)
        book.close()
    return count


def _write_row(ws, r: int, row: Sequence[Cell], day, minute) -> None:
    for c, value in enumerate(row):
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            ws.write_boolean(r, c, value)
        elif isinstance(value, dt.datetime):
            ws.write_datetime(r, c, value.replace(tzinfo=None), minute)
        elif isinstance(value, dt.date):
            ws.write_datetime(r, c, value, day)
        elif isinstance(value, Number):
            ws.write_number(r, c, value)
        else:
            ws.write_string(r, c, str(value))  # never a formula, whatever it starts with


def xlsx_response(header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str, **options) -> Response:
    """An XLSX download: written to a temp file, which is unlinked as soon as it is open (the
    open handle is what is sent; the file is gone from the disk whatever happens next)."""
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
    os.close(fd)
    try:
        write_xlsx(path, header, rows, **options)
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response
    finally:
        os.unlink(path)
    size = os.fstat(handle.fileno()).st_size
    response = send_file(handle, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename,
                         max_age=0, conditional=False)
    response.headers["Content-Disposition"] = attachment(filename)
    response.content_length = size
    return response
