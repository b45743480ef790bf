"""Shared steps for the Playwright tests (phone-sized, headless Chromium)."""
from __future__ import annotations

import io

from PIL import Image


def photo_file(name: str = "evidence.jpg", size=(1600, 1200), color=(180, 40, 40)) -> dict:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return {"name": name, "mimeType": "image/jpeg", "buffer": out.getvalue()}


def answer_item(item, outcome: str = "pass") -> None:
    """Answer one checklist card the way a thumb would: pass, fail or the best/worst value."""
    rule = item.get_attribute("data-rule")
    if rule == "timer":
        return
    if rule == "scale":
        buttons = item.locator("[data-scale-value]")
        (buttons.last if outcome == "pass" else buttons.first).click()
    elif rule == "per_occurrence":
        if outcome == "pass":
            item.locator("[data-set=pass]").click()
        else:
            item.locator("[data-step='1']").click()
    else:
        item.locator(f"[data-set={outcome}]").click()


STATE = """() => { const v = document.getElementById('visit'), s = document.querySelector('[data-sync]');
  return {role: v.dataset.role, ready: v.dataset.ready, pending: v.dataset.pending, sync: s && s.className + ' ' + s.textContent,
          items: [...document.querySelectorAll('.item-status')].filter(e => e.textContent).map(e => e.className + ': ' + e.textContent),
          uploading: document.querySelectorAll('.thumb.is-uploading').length}; }"""


def wait_saved(page) -> None:
    """Every change has left the outbox (the server confirmed it); a timeout says what the page showed."""
    try:
        _wait_saved(page)
    except Exception as exc:
        raise AssertionError(f"not saved: {page.evaluate(STATE)}") from exc


def _wait_saved(page) -> None:
    page.wait_for_timeout(900)  # typing is sent after a short pause
    page.wait_for_function("() => document.getElementById('visit').dataset.ready === '1'")  # outbox read
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '0'")
    page.wait_for_function("() => !document.querySelector('.item-status.pending') && "
                           "!document.querySelector('.thumb.is-uploading')")
    page.wait_for_function("() => { const s = document.querySelector('[data-sync]');"
                           " return s && !s.classList.contains('warn') && !s.classList.contains('bad'); }")


def phone(browser, **extra):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai", **extra)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda d: d.accept())
    return context, page
