"""Decoding and copying photos with Pillow. Pure functions: bytes in, bytes and facts out.

A photo is accepted by its content (JPEG, PNG, WebP, HEIC/HEIF), never by its name or declared
type. Its size is read from the header and checked before the pixels are decoded, so a
decompression bomb is refused cheaply. JPEGs are decoded at a reduced scale (libjpeg's DCT
scaling through ``Image.draft``), which is what makes the pipeline fast on 12 MP photos.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageChops, ImageDraw, ImageFont, UnidentifiedImageError

from inspect_app import clock
from inspect_app.errors import DomainError

try:  # HEIC/HEIF from iPhones
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - the dependency is declared
    HEIF = False

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 48 MP phone photo passes; a bomb does not
DISPLAY_EDGE = 1600
THUMB_EDGE = 320
#: EXIF orientation → the turn that shows the photo upright (as ImageOps.exif_transpose does).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
# Pillow's own guard stays on as a second line, above our limit.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2


class PhotoRejected(DomainError):
    status_code = 422


@dataclass
class Processed:
    content_type: str
    width: int
    height: int
    taken_at: dt.datetime | None
    gps_lat: float | None
    gps_lon: float | None
    device: str
    display: bytes
    thumb: bytes


def open_checked(data: bytes) -> Image.Image:
    """Open without decoding pixels; refuse what is not an accepted photo."""
    if not data:
        raise PhotoRejected(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise PhotoRejected(_("The photo is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError as exc:
        # Pillow's own guard fires inside open() for sizes far beyond ours: it is still a photo
        # with too many pixels, not "not a photo". Pillow names the pixel count in its message.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise PhotoRejected(_too_many_pixels(int(found.group(1)) if found else 2 * Image.MAX_IMAGE_PIXELS)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PhotoRejected(_("This file is not a photo. Use JPEG, PNG, WebP or HEIC.")) from None
    if _format(image) not in FORMATS:
        raise PhotoRejected(_("This file is not a photo. Use JPEG, PNG, WebP or HEIC."))
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoRejected(_("This file is not a photo. Use JPEG, PNG, WebP or HEIC."))
    if width * height > MAX_PIXELS:
        raise PhotoRejected(_too_many_pixels(width * height))
    return image


def _format(image: Image.Image) -> str:
    """Pillow calls a JPEG that carries more pictures (a camera's large preview, a phone's HDR gain
    map) MPO; the first picture is the photo, and the file is a JPEG to everyone else."""
    return "JPEG" if image.format == "MPO" else image.format


def _too_many_pixels(pixels: int) -> str:
    # rounded up: 50.4 MP must not read "50 MP; at most 50 MP"
    return _("The photo has too many pixels (%(mp)d MP; at most %(max)d MP).",
             mp=math.ceil(pixels / 1_000_000), max=MAX_PIXELS // 1_000_000)


def _exif_facts(image: Image.Image, zone: str) -> tuple[dt.datetime | None, float | None, float | None, str]:
    try:
        exif = image.getexif()
    except Exception:  # a damaged EXIF block is not a reason to refuse the photo
        return None, None, None, ""
    device = " ".join(str(exif.get(tag, "")).strip("\x00 ") for tag in (0x010F, 0x0110)).strip()[:120]
    taken_at = None
    try:
        ifd = exif.get_ifd(0x8769)
        raw = ifd.get(0x9003) or exif.get(0x0132)
        if raw:
            naive = dt.datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
            # OffsetTimeOriginal belongs to DateTimeOriginal; many phones and editors write only
            # OffsetTime (the file's zone, the same on a phone): read as the outlet's zone instead,
            # a Tokyo photo would come out an hour late.
            offset = str((ifd.get(0x9011) if ifd.get(0x9003) else None) or ifd.get(0x9010)
                         or exif.get(0x9010) or "").strip("\x00 ")
            if len(offset) == 6 and offset[0] in "+-":
                sign = 1 if offset[0] == "+" else -1
                tz = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
                taken_at = naive.replace(tzinfo=tz)
            else:  # phones without an offset write local time: the outlet's zone is the best guess
                taken_at = naive.replace(tzinfo=clock.zone(zone))
            taken_at = taken_at.astimezone(dt.timezone.utc)
    except (ValueError, TypeError, KeyError):
        taken_at = None
    lat = lon = None
    try:
        gps = exif.get_ifd(0x8825)
        if gps and 2 in gps and 4 in gps:
            def degrees(value) -> float:
                d, m, s = (float(v) for v in value)
                return d + m / 60 + s / 3600

            lat = degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
            lon = degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
                lat = lon = None
    except (ValueError, TypeError, ZeroDivisionError, KeyError):
        lat = lon = None
    return taken_at, lat, lon, device


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


_fonts: dict[int, ImageFont.ImageFont] = {}


def _font(size: int):
    if size not in _fonts:
        _fonts[size] = ImageFont.load_default(size=size)
    return _fonts[size]


def stamp(image: Image.Image, text: str) -> None:
    """A small visible stamp in the lower right corner: outlet code and server time."""
    size = max(12, min(image.size) // 45)
    font = _font(size)
    draw = ImageDraw.Draw(image, "RGBA")
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = size // 3
    x = image.width - (right - left) - 3 * pad
    y = image.height - (bottom - top) - 3 * pad
    draw.rectangle((x - pad, y - pad, x + (right - left) + pad, y + (bottom - top) + pad + size // 4), fill=(0, 0, 0, 140))
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, 235))


def looks_complete(data: bytes, fmt: str) -> bool:
    """Whether the file ends the way its format must end.

    Pillow only refuses truncated data while ``ImageFile.LOAD_TRUNCATED_IMAGES`` is false, and
    WeasyPrint sets that process-wide flag to true when it is imported; so the ending is checked
    here, independently of whoever else runs in the process.
    """
    if fmt == "JPEG":
        return data.rstrip(b"\x00\r\n ")[-2:] == b"\xff\xd9"
    if fmt == "PNG":
        return b"IEND" in data[-16:]
    if fmt == "WEBP":
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True  # HEIF: the decoder itself refuses an incomplete file


def process(data: bytes, *, stamp_text: str, zone: str = "Asia/Shanghai") -> Processed:
    image = open_checked(data)
    fmt = _format(image)
    if not looks_complete(data, fmt):
        raise PhotoRejected(_("The photo is damaged or was cut off during the upload. Take it again."))
    width, height = image.size
    taken_at, lat, lon, device = _exif_facts(image, zone)
    orientation = image.getexif().get(0x0112, 1) if fmt != "PNG" else 1
    if fmt == "JPEG":
        long_edge = max(width, height)
        if long_edge > DISPLAY_EDGE:
            ratio = DISPLAY_EDGE / long_edge
            image.draft("RGB", (math.ceil(width * ratio), math.ceil(height * ratio)))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRejected(_("The photo is damaged or was cut off during the upload. Take it again.")) from None
    display = _to_rgb(image)
    if max(display.size) > DISPLAY_EDGE:
        # In place: the decoded photo is not needed afterwards. The bound is square, so scaling
        # before turning gives the same copy, and turning the small copy instead of the decoded
        # photo saves a full-size pass on every rotated phone photo.
        display.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    else:
        display = display.copy()
    if orientation in UPRIGHT:
        # Turned by the orientation read above, not by the copy's EXIF: a photo with transparency
        # was drawn onto a new white canvas by _to_rgb and carries no EXIF any more.
        display = display.transpose(UPRIGHT[orientation])
    thumb = display.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    stamp(display, stamp_text)
    # Derived copies carry pixels only: Pillow would otherwise write the original's JPEG comment
    # (and keep other text chunks) into them.
    display.info, thumb.info = {}, {}
    display_bytes, thumb_bytes = io.BytesIO(), io.BytesIO()
    # Baseline with optimised Huffman tables: ~2 % larger than progressive, ~12 ms less per photo.
    display.save(display_bytes, "JPEG", quality=82, optimize=True)
    thumb.save(thumb_bytes, "JPEG", quality=75)
    oriented_w, oriented_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return Processed(
        content_type=FORMATS[fmt], width=oriented_w, height=oriented_h, taken_at=taken_at, gps_lat=lat,
        gps_lon=lon, device=device, display=display_bytes.getvalue(), thumb=thumb_bytes.getvalue(),
    )


# --- signatures ---------------------------------------------------------------------------------

SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_PIXELS = 4_000_000
#: A pixel is ink when it is opaque enough and dark enough (the pad draws dark strokes on a
#: transparent or white ground).
INK_ALPHA, INK_LUMA = 32, 160
#: A signature's ink spans at least this much of the pad's width (and this many pixels): a tap
#: or a dot is no signature.
INK_MIN_SPAN, INK_MIN_SPAN_PX, INK_MIN_PIXELS = 0.06, 24, 40


def check_signature(data: bytes) -> tuple[int, int]:
    """A signature image as the phone's pad made it: a PNG, checked by its content like a photo
    (decoded by Pillow within size limits, complete), with enough ink to be a signature. Returns
    its width and height; a refusal says why in the user's words."""
    if not data:
        raise PhotoRejected(_("The signature is empty: sign in the box first."))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise PhotoRejected(_("The signature image is larger than %(kb)d KB.", kb=SIGNATURE_MAX_BYTES // 1024))
    try:
        image = open_checked(data)
    except PhotoRejected:
        raise PhotoRejected(_("The signature is not a readable PNG image. Sign again.")) from None
    if image.format != "PNG":
        raise PhotoRejected(_("The signature is not a readable PNG image. Sign again."))
    width, height = image.size
    if width * height > SIGNATURE_MAX_PIXELS:
        raise PhotoRejected(_("The signature image is too large."))
    if not looks_complete(data, "PNG"):
        raise PhotoRejected(_("The signature is not a readable PNG image. Sign again."))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRejected(_("The signature is not a readable PNG image. Sign again.")) from None
    pixels, box = ink(image)
    span = max(box[2] - box[0], box[3] - box[1]) if box else 0
    if pixels < INK_MIN_PIXELS or span < max(INK_MIN_SPAN_PX, round(width * INK_MIN_SPAN)):
        raise PhotoRejected(_("This is not a signature yet (the box is empty or holds a dot): sign with your name."))
    return width, height


def ink(image: Image.Image) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many pixels of ink a signature holds, and the box around them."""
    rgba = image.convert("RGBA")
    opaque = rgba.getchannel("A").point(lambda a: 255 if a > INK_ALPHA else 0)
    dark = rgba.convert("RGB").convert("L").point(lambda v: 255 if v < INK_LUMA else 0)
    mask = ImageChops.multiply(opaque, dark)
    return mask.histogram()[255], mask.getbbox()


def sized_copy(data: bytes, box: tuple[int, int], *, quality: int = 80) -> bytes:
    """A JPEG of ``data`` just large enough to cover a ``box`` (width, height) in pixels, as a
    printed page shows it (``object-fit: cover``): the standard Pillow recipe, ``draft`` (libjpeg
    decodes at 1/2, 1/4 or 1/8 scale) then ``thumbnail``. Never larger than the source."""
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    scale = min(1.0, max(box[0] / width, box[1] / height))
    target = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target)
    image = _to_rgb(image)
    image.thumbnail(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    image.info = {}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
