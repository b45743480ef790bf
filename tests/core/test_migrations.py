"""Every migration goes down and up again on a database full of demo data, on both engines, and
the rows of every table that stays are still there; at the top the schema is the models' again."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel

import inspect_app.models  # noqa: F401  (fills the metadata)
from inspect_app import demo
from inspect_app.db import alembic_config, make_engine


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def current(engine) -> str:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_whole_chain_goes_down_and_up_with_the_data_kept(app, database_url):
    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        demo.load_demo(session)
        demo.load_demo_visits(session)
        demo.load_demo_plans(session)  # plans, and visits that point to them (visit.plan_id)
        demo.load_demo_self_inspection(session)  # self-inspections, a line flagged 自查不实 (0018)
        session.commit()
    app.extensions["db_engine"].dispose()
    engine = make_engine(database_url)
    full = counts(engine)
    assert full["visit"] > 10 and full["answer"] > 100 and full["photo"] > 5 and full["rectification_line"] > 5
    assert full["inspection_plan"] == 3 and full["plan_pairing"] == 3

    cfg = alembic_config(database_url)
    chain = [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    assert current(engine) == chain[-1]
    for below in reversed(chain[:-1]):  # head → … → the first migration, one step at a time
        command.downgrade(cfg, below)
        engine.dispose()
        assert current(engine) == below
        now = counts(engine)
        assert {t: now[t] for t in now} == {t: full[t] for t in now}, f"rows lost going down to {below}"
    first_tables = set(counts(engine))
    command.upgrade(cfg, "head")
    engine.dispose()
    back = counts(engine)
    assert {t: back[t] for t in first_tables} == {t: full[t] for t in first_tables}
    assert set(back) == set(full)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert not differences, differences[:5]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def test_down_to_nothing_and_up_again(database_url):
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "base")
    engine = make_engine(database_url)
    assert set(counts(engine)) == set()
    command.upgrade(cfg, "head")
    engine.dispose()
    assert "visit" in counts(engine)
    engine.dispose()
