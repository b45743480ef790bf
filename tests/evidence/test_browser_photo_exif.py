"""photo.js in Chromium: what it re-encodes keeps the capture time, place and device of the photo it
came from, whatever the format (JPEG, PNG, WebP; HEIC where the browser can draw it), and what it
cannot re-encode with them goes up as the original, byte for byte. The server then reads the same
facts from the phone's copy as from the original."""
from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from PIL import Image

from inspect_app.evidence import imaging
from tests import images

pytestmark = pytest.mark.browser

GPS = ((35, 39, 29.0), "N", (139, 42, 1.0), "E")  # Shibuya
TOKYO_EXIF = dict(taken="2026:11:23 10:15:00", offset="+09:00", gps=GPS, make="Apple", model="iPhone 15")
TAKEN_UTC = dt.datetime(2026, 11, 23, 1, 15, tzinfo=dt.timezone.utc)


@pytest.fixture
def photo_page(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.add_script_tag(url=f"{live_server}/static/js/photo.js")
    page.wait_for_function("() => window.InspectPhoto")
    yield page
    context.close()


def prepared(page, data: bytes, name: str, mime: str) -> tuple[bytes, str]:
    """The bytes photo.js would send for this file, and their type."""
    out = page.evaluate("""async ([b64, name, mime]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const blob = await window.InspectPhoto.prepare(new File([bytes], name, { type: mime }));
        const buf = new Uint8Array(await blob.arrayBuffer());
        let s = ""; for (let i = 0; i < buf.length; i += 8192) s += String.fromCharCode.apply(null, buf.subarray(i, i + 8192));
        return [btoa(s), blob.type];
    }""", [base64.b64encode(data).decode(), name, mime])
    return base64.b64decode(out[0]), out[1]


def facts(data: bytes) -> tuple:
    result = imaging.process(data, stamp_text="T", zone="Asia/Shanghai")
    def rounded(value):
        return None if value is None else round(value, 4)
    return result.taken_at, rounded(result.gps_lat), rounded(result.gps_lon), result.device


@pytest.mark.parametrize(("fmt", "name", "mime"), [
    ("PNG", "screen.png", "image/png"),
    ("WEBP", "photo.webp", "image/webp"),
    ("JPEG", "photo.jpg", "image/jpeg"),
])
def test_a_re_encoded_photo_keeps_its_exif(photo_page, fmt, name, mime):
    source = images.picture((3000, 2000), seed=3)
    original = images.encode(source, fmt, exif=images.exif_block(**TOKYO_EXIF))
    expected = facts(original)
    assert expected[0] == TAKEN_UTC and expected[3] == "Apple iPhone 15"
    sent, kind = prepared(photo_page, original, name, mime)
    assert kind == "image/jpeg" and sent != original, "re-encoded on the phone"
    assert Image.open(io.BytesIO(sent)).size == (2048, 1365)
    assert facts(sent) == expected  # time (with its zone), place and device survive the re-encoding


def test_the_orientation_is_reset_once_the_pixels_are_upright(photo_page):
    original = images.encode(images.left_red_right_blue((3200, 2400)), "JPEG",
                             exif=images.exif_block(orientation=6, **TOKYO_EXIF))
    sent, _ = prepared(photo_page, original, "p.jpg", "image/jpeg")
    picture = Image.open(io.BytesIO(sent))
    assert picture.size == (1536, 2048) and picture.getexif().get(0x0112) == 1
    assert facts(sent)[0] == TAKEN_UTC


def test_heic_the_browser_cannot_draw_goes_up_as_taken(photo_page):
    """Chromium draws no HEIC: the original is sent; where a browser can (Safari), photo.js reads the
    EXIF from the HEIC's Exif item, which is what the server reads too."""
    original = images.encode(images.picture((2400, 1800), seed=4), "HEIF", exif=images.exif_block(**TOKYO_EXIF))
    sent, _ = prepared(photo_page, original, "IMG_0001.HEIC", "image/heic")
    assert sent == original
    assert facts(sent)[0] == TAKEN_UTC
    tiff = photo_page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const found = window.InspectPhoto.exifOf(bytes.buffer);
        return [found.format, found.tiff ? btoa(String.fromCharCode.apply(null, found.tiff)) : null];
    }""", base64.b64encode(original).decode())
    assert tiff[0] == "heif" and tiff[1]
    exif = Image.Exif()
    exif.load(b"Exif\x00\x00" + base64.b64decode(tiff[1]))
    assert exif.get_ifd(0x8769)[0x9003] == "2026:11:23 10:15:00" and exif.get(0x010F) == "Apple"


def test_exif_too_large_to_carry_over_goes_up_with_the_original(photo_page):
    """A maker note of 70 KB does not fit in a JPEG's EXIF segment (64 KB): rather than lose the
    capture time and place, the original is sent (the server reads it)."""
    exif = Image.Exif()
    exif.load(images.exif_block(**TOKYO_EXIF))
    exif.get_ifd(0x8769)[0x927C] = b"\x00" * 70_000  # MakerNote
    original = images.encode(images.picture((3000, 2000), seed=5), "PNG", exif=exif.tobytes())
    assert len(exif.tobytes()) > 0xFFFF
    sent, _ = prepared(photo_page, original, "big.png", "image/png")
    assert sent == original and facts(sent)[0] == TAKEN_UTC


def test_a_photo_without_exif_is_re_encoded_without(photo_page):
    original = images.encode(images.picture((3000, 2000), seed=6), "PNG")
    sent, kind = prepared(photo_page, original, "plain.png", "image/png")
    assert kind == "image/jpeg" and facts(sent) == (None, None, None, "")
