"""HTML to PDF with WeasyPrint, loading nothing but our own files.

Every URL in a document uses the private ``inspect:`` scheme. The fetcher serves our print
stylesheet and, for photos, only the ids the caller has already checked the viewer may see, as
their resized copies (never originals). Anything else, network or disk, is refused.
"""
from __future__ import annotations

import functools
import gc
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from flask import Response
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from inspect_app.config import PROJECT_ROOT
from inspect_app.evidence import markup, signatures
from inspect_app.evidence.services import key, sized_copy, sized_copy_of

log = logging.getLogger(__name__)

STATIC = PROJECT_ROOT / "static"
ALLOWED_STATIC = {"css/print.css", "icons/icon.svg"}
PHOTO_URL = re.compile(r"^inspect:photo/(\d+)/(thumb|display)(?:/([a-z-]+))?$")
MARKED_URL = re.compile(r"^inspect:marked/(\d+)/(thumb|display)(?:/([a-z-]+))?$")
SIGNATURE_URL = re.compile(r"^inspect:signature/(\d+)$")
#: The boxes a PDF shows photos in (static/css/print.css: ``.thumbs img``, ``.photo-row img``), in
#: millimetres. ``inspect:photo/<id>/<copy>/<box>`` embeds the copy resized to cover its box at
#: PRINT_DPI (a 1,600 px display copy in a 22 mm box weighed 0.6 MB and cost its decode).
BOXES_MM = {"thumbs": (22.0, 16.5), "photo-row": (40.0, 30.0)}
PRINT_DPI = 300


def box_pixels(box: str) -> tuple[int, int]:
    width, height = BOXES_MM[box]
    return round(width / 25.4 * PRINT_DPI), round(height / 25.4 * PRINT_DPI)


def photo_bytes(storage, photo, variant: str, box: str | None) -> bytes:
    """A photo's JPEG as a paper prints it: with ``box`` resized to it, else the stored copy."""
    return sized_copy(storage, photo, variant, box_pixels(box)) if box else storage.get(key(photo, variant))


def marked_bytes(storage, found, variant: str, box: str | None) -> bytes:
    """A marked-up copy's JPEG (``evidence.markup``) as a paper prints it."""
    source = markup.key(found, variant)
    return (sized_copy_of(storage, source, found.storage_key, found.sha256, variant, box_pixels(box))
            if box else storage.get(source))


def signature_bytes(storage, found) -> bytes:
    """A handwritten signature's PNG."""
    return storage.get(signatures.key(found))


_fonts = FontConfiguration()  # kept per process: fonts are found once, renders stay warm


def _fill_parser_cache() -> None:
    """Fill the pattern cache of WeasyPrint's HTML parser (tinyhtml5) under the keys it looks up.

    ``HTMLUnicodeInputStream.chars_until`` means to compile its character-class pattern once per
    set of stop characters, but its chained assignment rebinds ``characters`` to the compiled
    pattern before the cache key is made, so the key is never found and every call builds the
    pattern again: half of the ~80 ms the parser spent on a 100-line notice's HTML (about 3,900
    calls). Filling the cache under the sets the tokenizer passes makes each lookup hit; the
    patterns are built as the parser builds them, so it parses the same. Does nothing when the
    library no longer has the cache.
    """
    try:
        from tinyhtml5 import constants, inputstream
    except ImportError:  # pragma: no cover - WeasyPrint without tinyhtml5 (older or newer)
        return
    cache = getattr(inputstream, "characters_until_regex", None)
    if not isinstance(cache, dict):  # pragma: no cover
        return
    stops = [(">", False), ("\u0000", False), ("]", False), (("&", "<", "\u0000"), False),
             (("'", "&", "\u0000"), False), (('"', "&", "\u0000"), False), (("-", "\u0000"), False),
             (("<", "-", "\u0000"), False), (("<", "\u0000"), False), (constants.ascii_letters, True),
             (constants.space_characters, True)]
    for characters, opposite in stops:
        pattern = "".join(f"\\x{ord(character):02x}" for character in characters)
        cache.setdefault((characters, opposite), re.compile(f"[{pattern if opposite else '^' + pattern}]+"))


_fill_parser_cache()


class BlockedResource(ValueError):
    pass


def subsetter() -> str:
    """Which font subsetter WeasyPrint will use: HarfBuzz (fast) or the fontTools fallback (slow)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz-subset"
    return "fontTools"


def print_photo(photo, variant: str, box: str | None = None) -> str:
    """The URL a document prints a photo with: its marked copy in place of the plain one when it
    was marked up (the fetcher serves it only if the caller allowed that markup); with ``box``
    (one of BOXES_MM), resized to the size it is printed at."""
    url = f"inspect:marked/{photo.markup_id}/{variant}" if photo.markup_id else f"inspect:photo/{photo.id}/{variant}"
    return f"{url}/{box}" if box else url


class RestrictedFetcher(URLFetcher):
    """Serves ``inspect:`` URLs from our static files and the allowed photos, marked copies and
    signatures; refuses all else."""
    def __init__(self, photos: dict[int, object], storage, markups: dict[int, object] | None = None, signatures: dict[int, object] | None = None):
        super().__init__(allowed_protocols=["inspect"], allow_redirects=False)
        self._photos = photos
        self._storage = storage
        self._markups = markups or {}
        self._signatures = signatures or {}

    def fetch(self, url, headers=None):

        if url.startswith("inspect:static/"):
            name = url[len("inspect:static/"):]
            if name in ALLOWED_STATIC:
                mime = "text/css" if name.endswith(".css") else "image/svg+xml"
                return URLFetcherResponse(url, (STATIC / name).read_bytes(), {"Content-Type": mime})
        match = PHOTO_URL.match(url)
        if match:
            photo = self._photos.get(int(match.group(1)))
            box = match.group(3)
            if photo is not None and (box is None or box in BOXES_MM):
                data = photo_bytes(self._storage, photo, match.group(2), box)
                return URLFetcherResponse(url, data, {"Content-Type": "image/jpeg"})
        match = MARKED_URL.match(url)
        if match:
            found = self._markups.get(int(match.group(1)))
            box = match.group(3)
            if found is not None and (box is None or box in BOXES_MM):
                data = marked_bytes(self._storage, found, match.group(2), box)
                return URLFetcherResponse(url, data, {"Content-Type": "image/jpeg"})
        match = SIGNATURE_URL.match(url)
        if match:
            found = self._signatures.get(int(match.group(1)))
            if found is not None and found.storage_key:
                return URLFetcherResponse(url, signature_bytes(self._storage, found), {"Content-Type": "image/png"})
        log.warning("blocked a resource in a PDF: %s", url[:200])
        raise BlockedResource(url)


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while WeasyPrint lays out a document.

    A render makes hundreds of thousands of short-lived boxes; each young-generation collection
    then walks them and, in a process holding the app (SQLAlchemy, Jinja, the checklists: about
    300,000 objects), the older generations too: a third of a 100-line notice's CPU time
    (2.35 s → 1.69 s measured in the benchmark's process). Off for the render only, reference
    counting still frees almost everything; the ~130,000 objects in cycles it leaves are
    collected by the next automatic collection (peak RSS of a 100-line render unchanged, 146 MB).
    Counted, so overlapping renders on worker threads switch it back on only after the last one.
    """
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def render(html: str, *, photos: dict[int, object] | None = None, storage=None,
           markups: dict[int, object] | None = None,
           signatures: dict[int, object] | None = None) -> bytes:
    """``photos``, ``markups``, ``signatures``: by id, what the viewer may see and the document
    may therefore load."""
    fetcher = RestrictedFetcher(photos or {}, storage, markups=markups, signatures=signatures)
    document = HTML(string=html, base_url="inspect:", url_fetcher=fetcher)
    with collector_paused():
        # Content streams uncompressed: ~45 ms less per notice (zlib on every page), files ~2.5× larger
        # but far under the 3 MB a notice may weigh (photos are JPEG and stay compressed).
        return document.write_pdf(font_config=_fonts, uncompressed_pdf=True)


def pdf_response(data: bytes, filename: str) -> Response:
    """A download with a Chinese file name (RFC 5987 ``filename*``) and an ASCII fallback."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.encode("ascii", "ignore").decode()).strip("_") or "document.pdf"
    if not ascii_name.endswith(".pdf"):
        ascii_name += ".pdf"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Length"] = str(len(data))
    return response


@functools.lru_cache(maxsize=256)
def qr_png(text: str) -> bytes:
    """A QR code as a small PNG (an inline SVG of hundreds of path segments cost WeasyPrint more
    to lay out than the whole table of a notice's first page)."""
    import io

    import qrcode

    image = qrcode.make(text, box_size=4, border=1)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
