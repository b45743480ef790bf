"""Chinese by default, English on request, and a catalogue with nothing left untranslated."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_chinese_by_default_english_on_request(client, people):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    client.post("/language", {"lang": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page


def test_language_choice_is_kept_on_the_account(client, people, db):
    from inspect_app.auth.models import User

    client.login("inspector")
    client.post("/language", {"lang": "en"})
    db.expire_all()
    assert db.get(User, people["inspector"].id).locale == "en"
    assert "Home" in client.get("/home").get_data(as_text=True)


def test_unknown_language_ignored(client, people):
    client.post("/language", {"lang": "fr"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_catalogue_covers_every_message(tmp_path):
    """Extract messages from code and templates: every one must have a Chinese translation."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with (ROOT / "inspect_app/translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(w for w in wanted if w not in have or not have[w].string or have[w].fuzzy)
    assert not missing, f"untranslated (run scripts/i18n.py update, then translate): {missing[:20]}"


def test_times_shown_in_outlet_zone(app):
    import datetime as dt

    from inspect_app.i18n import format_local

    moment = dt.datetime(2026, 11, 23, 16, 30, tzinfo=dt.timezone.utc)
    with app.test_request_context():
        assert format_local(moment) == "2026-11-24 00:30"
        assert format_local(moment, "Asia/Urumqi") == "2026-11-23 22:30"


def test_every_template_compiles(app):
    """Babel skips a template it cannot parse without a word, so compile them all here."""
    names = [n for n in app.jinja_env.list_templates() if n.endswith(".html")]
    assert len(names) > 20
    for name in names:
        app.jinja_env.get_template(name)


def test_catalogues_compiled_by_many_processes_at_once(tmp_path):
    """A fresh checkout's first start: test workers or web workers compile the same catalogues at
    the same moment. Every one finishes, and the ``.mo`` left is whole (CI once failed here: two
    writers shared one temporary name and the second found it renamed away)."""
    import shutil
    from concurrent.futures import ProcessPoolExecutor

    from babel.messages.mofile import read_mo

    from inspect_app.i18n import compile_catalogues

    source = ROOT / "inspect_app" / "translations"
    for round_ in range(3):
        target = tmp_path / f"round{round_}"
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.mo"))
        with ProcessPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(compile_catalogues, [target] * 12))
        assert any(results)
        for mo in target.glob("*/LC_MESSAGES/*.mo"):
            with mo.open("rb") as f:
                assert len(read_mo(f)) > 100
        assert not list(target.glob("*/LC_MESSAGES/*.tmp"))


def test_template_strings_follow_the_request_and_a_forced_locale(app):
    """The templates' ``_()`` keeps one catalogue per locale: a message rendered in its
    recipient's language inside a request (``force_locale``) still gets that language, and the
    i18n extension's new-style rule holds (variables escaped, ``%%`` formatted)."""
    from flask_babel import force_locale

    page = app.jinja_env.from_string("{{ _('Log in') }}|{{ _('Hi %(name)s', name='<b>') }}|{{ _('100%%') }}")
    with app.test_request_context("/"):
        assert page.render() == "登录|Hi &lt;b&gt;|100%"
        with force_locale("en"):
            assert page.render().startswith("Log in|")
        assert page.render().startswith("登录|")
    with app.test_request_context("/"):
        with force_locale("en"):
            assert page.render().startswith("Log in|")
        assert page.render().startswith("登录|")
    plain = app.jinja_env.from_string("{{ _('Log in') }}")
    with app.app_context():  # the worker: no request, each message in its recipient's language
        with force_locale("en"):
            assert plain.render() == "Log in"
        with force_locale("zh_CN"):
            assert plain.render() == "登录"
