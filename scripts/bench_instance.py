"""A throwaway instance for the benchmarks: its own folder, SQLite or a temporary PostgreSQL, set up
by a script and served by gunicorn, from this checkout or another one (``--code``, for before and
after), always with this project's virtualenv."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from concurrency import free_port

ROOT = Path(__file__).resolve().parent.parent
#: The start of a setup script: the app, its schema, a session ``s`` with services' context; what
#: follows is indented by four spaces.
SETUP = (
    "from inspect_app import create_app\n"
    "from inspect_app.db import migrate\n"
    "from sqlmodel import Session, select\n"
    "from inspect_app.auth.services import create_user\n"
    "from inspect_app.auth.models import Role\n"
    "from inspect_app.org import services as org\n"
    "from inspect_app.org.models import Outlet\n"
    "app = create_app()\n"
    "migrate(app.config['DATABASE_URL'])\n"
    "with app.test_request_context(), Session(app.extensions['db_engine']) as s:\n"
    "    unit = org.create_unit(s, actor=None, code='33', name='浙江省', parent=None)\n"
)
#: the checkout's own environment (``make``'s), else the one running this script
PYTHON = ROOT / ".venv" / "bin" / "python" if (ROOT / ".venv" / "bin" / "python").exists() else Path(sys.executable)


class Instance:
    def __init__(self, code: Path, *, postgres: bool, prefix: str):
        self.code = code
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self.env = {**os.environ, "INSPECT_INSTANCE": str(self.folder), "SECRET_KEY": "bench",
                    "PYTHONPATH": str(code)}
        self.database = "postgresql" if postgres else "sqlite"
        self._pg = None
        self._server = None
        self._log = None
        if postgres:
            import sqlalchemy as sa

            from tests.pg import TempPostgres

            self._pg = TempPostgres()
            base = self._pg.start()
            with sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
                conn.exec_driver_sql("CREATE DATABASE inspect")
            self.env["DATABASE_URL"] = f"{base}/inspect"

    def setup(self, script: str) -> str:
        """Run ``script`` in the instance (after the app's imports); returns its last line of output."""
        done = subprocess.run([str(PYTHON), "-c", script], env=self.env, cwd=self.code, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip().splitlines()[-1]

    def serve(self, *, workers: int, threads: int, port: int | None = None) -> str:
        """Start gunicorn (on ``port``, else a free one) and wait until it answers; returns the base URL."""
        port = port or free_port()
        self._log = open(self.folder / "server.log", "w")
        self._server = subprocess.Popen(
            [str(PYTHON), "-c", "from inspect_app.app import main; main()", "serve", "--port", str(port),
             "--workers", str(workers), "--threads", str(threads)],
            env=self.env, cwd=self.code, stdout=self._log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        return base

    def stop(self) -> str:
        """Stop the server (and PostgreSQL); returns the server's log."""
        if self._server:
            self._server.terminate()
            self._server.wait(timeout=60)
            self._log.close()
        if self._pg:
            self._pg.stop()
        path = self.folder / "server.log"
        return path.read_text() if path.exists() else ""
