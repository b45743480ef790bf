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
