"""The app's database connections as configured: on PostgreSQL its pages' short reads plan no
parallel workers (``PG_PARALLEL_WORKERS``, 0 unless set)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspect_app.db import make_engine
from tests.conftest import POSTGRES


@pytest.mark.skipif(not POSTGRES, reason="a PostgreSQL setting")
def test_the_apps_connections_plan_no_parallel_workers_unless_configured(app, database_url):
    with app.extensions["db_engine"].connect() as conn:
        assert conn.execute(sa.text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    engine = make_engine(database_url, parallel_workers=3)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW max_parallel_workers_per_gather")).scalar() == "3"
    finally:
        engine.dispose()


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from inspect_app.config import load

    assert load({"INSTANCE_PATH": str(tmp_path)})["PG_PARALLEL_WORKERS"] == 0
    monkeypatch.setenv("PG_PARALLEL_WORKERS", "2")
    assert load({"INSTANCE_PATH": str(tmp_path)})["PG_PARALLEL_WORKERS"] == 2
