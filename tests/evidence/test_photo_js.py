"""static/js/photo.js in Chromium: what the phone sends is ≤ 500 KB whatever the photo, and the
original goes only when the browser cannot draw it."""
from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

PHOTO_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "photo.js"
SMALL = 500 * 1024
PREPARE = """async (mime) => {
  const input = document.querySelector("input");
  const file = new File([input.files[0]], input.files[0].name, { type: mime });
  const blob = await window.InspectPhoto.prepare(file);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return { data: btoa(text), same: blob === file };
}"""


def _prepare(phone, tmp_path, data: bytes, name: str, mime: str) -> tuple[bytes, bool]:
    path = tmp_path / name
    path.write_bytes(data)
    phone.set_content("<input type=file>")
    phone.add_script_tag(path=str(PHOTO_JS))
    phone.set_input_files("input", str(path))
    result = phone.evaluate(PREPARE, mime)
    return base64.b64decode(result["data"]), result["same"]


def _noise_jpeg(size, seed=1) -> bytes:
    """Pure noise: the worst case for JPEG (0.8 at 2048 px is well over 1 MB), so the rule must
    step the quality down and then shrink the picture."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_photo_that_does_not_fit_at_any_quality_shrinks_until_it_fits(phone, tmp_path):
    sent, same = _prepare(phone, tmp_path, _noise_jpeg((4032, 3024)), "noise.jpg", "image/jpeg")
    assert not same and len(sent) <= SMALL, len(sent)
    with Image.open(io.BytesIO(sent)) as image:
        assert image.format == "JPEG"
        assert max(image.size) < 2048  # quality alone could not do it
        assert image.size[0] > image.size[1]  # the proportions kept


def test_a_small_photo_goes_as_it_is_and_heic_the_browser_cannot_draw_goes_as_the_original(phone, tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(out, "JPEG", quality=85)
    sent, same = _prepare(phone, tmp_path, out.getvalue(), "small.jpg", "image/jpeg")
    assert same and sent == out.getvalue()
    from pillow_heif import register_heif_opener

    register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(heic, "HEIF", quality=80)
    sent, same = _prepare(phone, tmp_path, heic.getvalue(), "photo.heic", "image/heic")
    assert same and sent == heic.getvalue()  # Debian's Chromium has no HEIC decoder: the server converts it
