"""Screenshots of pages at phone width, for looking at what we build.

    python scripts/shot.py BASE_URL USERNAME PASSWORD OUT_DIR /path1 /path2 ...
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    base, username, password, out = sys.argv[1:5]
    paths = sys.argv[5:]
    Path(out).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=1)
        page.goto(base + "/login")
        if username != "-":
            page.fill("#username", username)
            page.fill("#password", password)
            page.press("#password", "Enter")
            page.wait_for_load_state()
        for i, path in enumerate(paths):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            name = f"{i:02d}_{path.strip('/').replace('/', '_') or 'root'}.png"
            page.screenshot(path=str(Path(out) / name), full_page=True)
            print(Path(out) / name)
        browser.close()


if __name__ == "__main__":
    main()
