"""The commands a newcomer runs: init, demo."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app.auth.models import Role, User
from inspect_app.org.models import Outlet, Unit, Window


def test_init_and_demo(app, clock_at):
    clock_at("2026-12-01T18:00:00Z", tick=True)  # 02:00 on 2 December in Shanghai: the hour it once failed
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init", "--admin-password", "Admin-2026"])
    assert result.exit_code == 0, result.output
    assert "Administrator created: admin" in result.output
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "branch_chief" in result.output and "demo-2026" in result.output
    with Session(app.extensions["db_engine"]) as s:
        assert s.exec(select(sa.func.count()).select_from(Unit).where(Unit.level == "county")).one() == 8
        assert s.exec(select(sa.func.count()).select_from(Unit).where(Unit.level == "city")).one() == 3
        outlets = s.exec(select(Outlet)).all()
        assert 55 <= len(outlets) <= 65
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in o.name) for o in outlets)
        assert s.exec(select(sa.func.count()).select_from(Window)).one() >= 2 * len(outlets)
        roles = {u.role for u in s.exec(select(User)).all()}
        assert roles == set(Role)
    again = runner.invoke(args=["demo"])
    assert "already present" in again.output


@pytest.mark.skipif(__import__("os").environ.get("TEST_DATABASE") == "postgres", reason="SQLite only")
def test_sqlite_pragmas(app):
    with app.extensions["db_engine"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_commands_log_what_the_app_did_not_library_progress(tmp_path):
    """A command's output is the app's own: no WeasyPrint rendering steps, no per-migration INFO."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "INSPECT_INSTANCE": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    cli = Path(sys.executable).with_name("inspect-app")
    done = subprocess.run([str(cli), "init", "--admin-password", "Admin-2026-x"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Administrator created: admin" in output
    assert "weasyprint" not in output and "alembic.runtime" not in output and "fontTools" not in output


def test_a_demo_load_killed_midway_leaves_no_photo_files_behind(tmp_path):
    """kill -9 while the demo writes its photos: the next load (and the sweep) removes the files
    whose rows never committed, and keeps every file a row points to."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import time_machine
    from sqlmodel import create_engine

    from inspect_app.evidence.models import Photo

    instance = tmp_path / "instance"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "INSPECT_INSTANCE": str(instance), "DATABASE_URL": url, "SECRET_KEY": "t"}
    cli = str(Path(sys.executable).with_name("inspect-app"))
    media = instance / "media" / "photos"
    loading = subprocess.Popen([cli, "demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(media.glob("*/*/*"))) < 5 and loading.poll() is None:
        time.sleep(0.05)
    loading.send_signal(signal.SIGKILL)
    loading.wait()
    left = {p.relative_to(media.parent).as_posix() for p in media.glob("*/*/*")}
    assert len(left) >= 5, "the demo finished before it could be killed"
    engine = create_engine(url)
    with Session(engine) as s:
        assert not s.exec(select(Photo)).all()  # the load's one transaction never committed
    done = subprocess.run([cli, "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with Session(engine) as s:
        kept = set(s.exec(select(Photo.storage_key)).all())
    folders = {p.relative_to(media.parent).as_posix() for p in media.glob("*/*/*")}
    assert kept and folders == kept and not (left & folders)
    # A folder nothing points to that is older than the grace time goes with the sweep too.
    stray = media / "2026" / "01" / ("a" * 32)
    stray.mkdir(parents=True)
    (stray / "original").write_bytes(b"x")
    # The command runs on the host's clock, whatever this run of the suite is pinned to.
    host_now = time_machine.escape_hatch.time.time() if time_machine.escape_hatch.is_travelling() else time.time()
    os.utime(stray / "original", (host_now - 7200, host_now - 7200))
    swept = subprocess.run([cli, "sweep"], env=env, capture_output=True, text=True, timeout=120)
    assert "photos without a record removed: 1" in swept.stdout, swept.stdout + swept.stderr
    assert not stray.exists() and {p.relative_to(media.parent).as_posix() for p in media.glob("*/*/*")} == kept
