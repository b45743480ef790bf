"""Keep the zh_CN catalogue in step with the code.

    python scripts/i18n.py update          extract messages and merge them into the catalogue
    python scripts/i18n.py missing         list msgids that have no translation yet
    python scripts/i18n.py fill FILE.json  set translations from a {msgid: msgstr} JSON file
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "inspect_app" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"


def update() -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "--no-location", "--sort-output", "-o", str(POT), "."],
        cwd=ROOT, check=True,
    )
    if not PO.exists():
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "init", "-i", str(POT), "-d",
                        str(TRANSLATIONS), "-l", "zh"], check=True)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "update", "-i", str(POT), "-d",
                    str(TRANSLATIONS), "--no-fuzzy-matching", "--ignore-obsolete"], check=True)


def load():
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def missing() -> list[str]:
    catalog = load()
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if not all(strings) or message.fuzzy:
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def fill(path: str) -> None:
    mapping = json.loads(Path(path).read_text())
    catalog = load()
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in mapping:
            value = mapping[key]
            message.string = tuple(value) if isinstance(message.id, tuple | list) else value
            message.flags.discard("fuzzy")
    with PO.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "missing"
    if cmd == "update":
        update()
    elif cmd == "missing":
        print(json.dumps({m: "" for m in missing()}, ensure_ascii=False, indent=1))
    elif cmd == "fill":
        fill(sys.argv[2])
