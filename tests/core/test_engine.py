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


def test_a_scopes_ids_filter_the_same_on_both_databases_and_reach_postgresql_as_one_constant(app, db, org_tree):
    """``in_ids``: the outlets of a scope, and on PostgreSQL one array the server reads once. Sent
    as text and cast in the statement, the array was parsed again for every row a filter looked at
    (a province's complaint hotspots: 1,264 ids × 15,000 rows, 0.9 s); sent untyped, PostgreSQL
    takes it as an integer[] constant."""
    from sqlmodel import select

    from inspect_app.db import in_ids
    from inspect_app.org.models import Outlet

    ids = [o.id for o in db.exec(select(Outlet).order_by(Outlet.id)).all()]
    wanted = ids[::2]
    query = select(Outlet.id).where(in_ids(db, Outlet.id, wanted)).order_by(Outlet.id)
    assert db.exec(query).all() == wanted
    if POSTGRES:
        compiled = query.compile(dialect=db.get_bind().dialect)
        cursor = db.connection().connection.cursor()
        cursor.execute("EXPLAIN (VERBOSE) " + str(compiled), compiled.params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        constant = "'{" + ",".join(map(str, wanted)) + "}'::integer[]"
        assert constant in plan and "::text" not in plan and "::character varying" not in plan, plan
