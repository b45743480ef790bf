"""Real image files for the photo tests, built with Pillow (and pillow_heif for HEIC).

Each builder returns the bytes a phone would send. ``seed`` makes otherwise equal pictures differ,
so one test can take several distinct photos.
"""
from __future__ import annotations

import functools
import io
import random
import struct
import zlib

from PIL import Image, ImageDraw, TiffImagePlugin
from pillow_heif import register_heif_opener

register_heif_opener()


def picture(size=(800, 600), seed: int = 0) -> Image.Image:
    """A picture with some structure (coloured blocks chosen by the seed), not a flat colour."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (230, 230, 230))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(6):
        x, y = rng.randrange(w // 2), rng.randrange(h // 2)
        draw.rectangle((x, y, x + w // 3, y + h // 3), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def jpeg(size=(800, 600), seed: int = 0, **params) -> bytes:
    return encode(picture(size, seed), "JPEG", quality=90, **params)


def jpeg_with_second_picture(size=(3000, 2000), seed: int = 0) -> bytes:
    """A JPEG carrying a second, smaller picture in an MPF segment, as cameras write a large preview
    and iPhones an HDR gain map. Pillow reports it as format MPO."""
    out = io.BytesIO()
    picture(size, seed).save(out, "MPO", save_all=True, append_images=[picture((size[0] // 4, size[1] // 4), seed + 1)])
    return out.getvalue()


def png_with_alpha(size=(500, 400)) -> bytes:
    """Opaque red on the left half, fully transparent on the right half."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1]), fill=(220, 20, 20, 255))
    return encode(image, "PNG")


def webp(size=(900, 700), seed: int = 0) -> bytes:
    return encode(picture(size, seed), "WEBP", quality=85)


def heic(size=(1200, 900), seed: int = 0) -> bytes:
    return encode(picture(size, seed), "HEIF", quality=80)


def left_red_right_blue(size=(3200, 2400)) -> Image.Image:
    """As stored by a phone held upright with orientation 6: the upright top is on the left."""
    image = Image.new("RGB", size, (20, 40, 220))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1]), fill=(220, 20, 20))
    return image


def with_clear_corner(image: Image.Image) -> Image.Image:
    """The picture with its stored top-left corner (a tenth each way) fully transparent."""
    image = image.convert("RGBA")
    ImageDraw.Draw(image).rectangle((0, 0, image.width // 10, image.height // 10), fill=(0, 0, 0, 0))
    return image


def exif_block(*, orientation: int | None = None, taken: str | None = None, offset: str | None = None,
               offset_time: str | None = None,
               gps: tuple[tuple[float, float, float], str, tuple[float, float, float], str] | None = None,
               make: str | None = None, model: str | None = None) -> bytes:
    """EXIF as a phone writes it: IFD0 (orientation, make, model), Exif IFD (time), GPS IFD."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = taken  # DateTimeOriginal
        if offset:
            sub[0x9011] = offset  # OffsetTimeOriginal
        if offset_time:
            sub[0x9010] = offset_time  # OffsetTime (some phones and editors write only this one)
    if gps:
        lat, lat_ref, lon, lon_ref = gps
        rational = TiffImagePlugin.IFDRational
        block = exif.get_ifd(0x8825)
        block[1], block[2] = lat_ref, tuple(rational(v) for v in lat)
        block[3], block[4] = lon_ref, tuple(rational(v) for v in lon)
    return exif.tobytes()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit greyscale PNG of width × height, all black: a few dozen KB that would decode
    to hundreds of megabytes. Built row by row so the test never holds the pixels either."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def noise_png(size=(700, 700), seed: int = 0) -> bytes:
    """Random pixels: a PNG that does not compress, to go over a size limit with a real photo."""
    rng = random.Random(seed)
    return encode(Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)), "PNG")


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       b'<script>alert(1)</script><rect width="100" height="100" fill="red"/></svg>')
HTML = b"<!doctype html><html><body><script>fetch('/api/steal')</script><h1>photo</h1></body></html>"


def pdf() -> bytes:
    """A real one-page PDF (with a picture inside: still not a photo file)."""
    return encode(picture((300, 200)), "PDF")


def signature(size=(660, 300), dot: bool = False, blank: bool = False) -> bytes:
    """A signature pad's PNG: dark strokes on a transparent ground (a name-like scribble), a single
    dot where a finger only tapped, or nothing at all."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    w, h = size
    if dot:
        draw.ellipse((w // 2 - 3, h // 2 - 3, w // 2 + 3, h // 2 + 3), fill=(17, 17, 17, 255))
    elif not blank:
        points = [(int(w * (0.12 + 0.07 * i)), int(h * (0.55 + (0.2 if i % 2 else -0.2)))) for i in range(11)]
        draw.line(points, fill=(17, 17, 17, 255), width=5, joint="curve")
        draw.line([(int(w * 0.2), int(h * 0.8)), (int(w * 0.85), int(h * 0.7))], fill=(17, 17, 17, 255), width=4)
    return encode(image, "PNG")


def marked_copy(photo_bytes: bytes, circle=(0.5, 0.5, 0.2)) -> bytes:
    """What the phone's markup editor sends: the photo with a red circle drawn on it, as a JPEG."""
    image = Image.open(io.BytesIO(photo_bytes)).convert("RGB")
    w, h = image.size
    cx, cy, r = int(circle[0] * w), int(circle[1] * h), int(circle[2] * min(w, h))
    ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), outline=(225, 29, 72), width=max(3, w // 150))
    return encode(image, "JPEG", quality=88)
