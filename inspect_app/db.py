"""Database engine and the per-request session.

The session lives in ``g`` and is closed at teardown (flaskr's pattern); services flush, views
commit once at the end of the request (Indico's pattern).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine

from inspect_app.config import PROJECT_ROOT
from inspect_app.errors import DomainError
from inspect_app.text import overlong


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    SQLite keeps no zone, so values are stored as naive UTC and handed back as aware UTC; a naive
    value coming in is a programming error and is refused rather than guessed.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: dt.datetime | None, dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic)."""
    alembic_command.upgrade(alembic_config(url), "head")


def make_engine(url: str, echo: bool = False, parallel_workers: int | None = None) -> Engine:
    """``parallel_workers`` (PostgreSQL): the connections' ``max_parallel_workers_per_gather``;
    None leaves the server's setting."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
    else:
        options = {} if parallel_workers is None else {
            "options": f"-c max_parallel_workers_per_gather={int(parallel_workers)}"}
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
                               connect_args=options)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A request that will write takes the write lock up front. A deferred transaction that
        # reads first and writes later cannot wait for the lock (SQLITE_BUSY_SNAPSHOT), which is
        # where "database is locked" comes from under concurrent writers.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


_writing: ContextVar[bool] = ContextVar("writing", default=False)


@contextmanager
def writing():
    """Transactions begun inside take SQLite's write lock up front (background jobs, CLI), like
    every non-GET request does."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _wants_write_lock() -> bool:
    if _writing.get():
        return True
    if has_request_context() and g.get("write_lock_later"):
        return False
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


wants_write_lock = _wants_write_lock


def lock_on_write_only(view):
    """For a write request whose slow part needs no database (a photo being decoded): its reads
    begin without the write lock; it ends them, does the slow part, then writes inside
    ``writing()``, which takes the lock for the rows only. Goes above ``login_required``."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.write_lock_later = True
        return view(*args, **kwargs)

    return wrapper


def not_a_page() -> None:
    """This request is bulk work whose statements grow with its input (an import, a batch at a
    time), not a page with a fixed handful of queries: the query budget does not apply to it."""
    if has_request_context():
        g.pop("query_count", None)


@contextmanager
def uncounted():
    """Work that is not the page's own and happens once (recording a changed checklist file as a new
    version): left out of the page's statement count, so the count says what the page costs."""
    if not has_request_context() or "query_count" not in g:
        yield
        return
    before = g.query_count
    try:
        yield
    finally:
        g.query_count = before


class QueryBudgetExceeded(RuntimeError):
    """A page ran more SQL statements than allowed: an N+1 pattern slipped in."""


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False),
                         parallel_workers=app.config.get("PG_PARALLEL_WORKERS"))
    app.extensions["db_engine"] = engine
    app.teardown_appcontext(_close_session)

    @event.listens_for(engine, "before_cursor_execute")
    def _count_statements(*_args, **_kwargs):
        # Pages run a fixed handful of queries whatever the data size; with QUERY_BUDGET set (the
        # tests set it), a page that starts querying per row fails loudly instead of slowly.
        if not has_request_context() or "query_count" not in g:
            return  # only requests the app dispatches are counted (not scripts' request contexts)
        g.query_count += 1
        budget = current_app.config.get("QUERY_BUDGET")
        if budget and g.query_count > budget:
            raise QueryBudgetExceeded(f"{request.path} ran more than {budget} SQL statements")

    @app.before_request
    def _start_counting():
        g.query_count = 0

    if app.config.get("TESTING"):
        @app.after_request
        def _report_statements(response):
            response.headers["X-Query-Count"] = str(g.get("query_count", 0))
            return response


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def keep_aside(session: Session, write: Callable[[Session], Any]) -> None:
    """Write what a page keeps for the next one (figures, a bulletin, a job asked for): in the
    caller's transaction when it holds the write lock already (a form, a job inside ``writing``),
    else in a short write of its own, committed at once (a GET's session never takes the lock).
    Another process having written the same row a moment before is not an error."""
    if _wants_write_lock():
        write(session)
        session.flush()
        return
    with writing(), Session(get_engine()) as short:
        write(short)
        try:
            short.commit()
        except IntegrityError:
            short.rollback()


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def session_for_stream() -> Session:
    """Hand the request's session over to a streamed response body. The request's teardown runs
    before the body is sent and would close it (detaching the logged-in user with it); handed
    over, it stays open for the body, which closes it when done."""
    session = get_session()
    g.pop("db_session", None)
    return session


def on_rollback(session: Session, action) -> None:
    """Run ``action`` if this session's work is rolled back instead of committed (files written
    for rows that never landed are removed again)."""
    session.info.setdefault("on_rollback", []).append(action)


@event.listens_for(Session, "before_flush")
def _refuse_overlong_text(session, _flush_context, _instances) -> None:
    # SQLite stores a 10,000-character name in a VARCHAR(120); PostgreSQL refuses it with a 500.
    # Services check with the field's own label first; this is the net under every table.
    for obj in (*session.new, *session.dirty):
        found = overlong(obj)
        if found:
            column, limit, length = found
            raise DomainError(_("The text for %(field)s is too long: at most %(n)d characters, not %(has)d.",
                                field=column, n=limit, has=length))


@event.listens_for(Session, "after_commit")
def _forget_rollback_actions(session) -> None:
    session.info.pop("on_rollback", None)


@event.listens_for(Session, "after_soft_rollback")
def _run_rollback_actions(session, previous_transaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint; the outer transaction may still commit
        return
    for action in session.info.pop("on_rollback", []):
        try:
            action()
        except Exception:  # cleanup must not hide the original error
            logging.getLogger(__name__).exception("cleanup after rollback failed")


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def unindexed(column):
    """``column + 0``: the same value, but the planner cannot use the column's index for it.

    SQLite's planner drives a join from an indexed ``outlet_id`` whenever the query also limits
    outlets to a scope, and then reads a million lines in random order; when a time range or a
    status is the selective part, joining on ``outlet_id + 0`` makes it scan that index instead
    (measured on the large dataset: 751 ms → 49 ms for a month of lines).
    """
    return column + 0


def in_ids(session, column, ids):
    """``column IN ids`` for a scope's outlet ids (up to ``org.SCOPE_FIRST_OUTLETS``): on
    PostgreSQL ``column = ANY(:ids)``, one array parameter, the same plan. A province's 1,300 ids
    as as many parameters cost more in the client (rendering and sending them) than the
    statement in the server: 10 to 20 ms a statement, four of them on a page.

    The array goes as its text (``'{61,62,…}'``), an untyped parameter the statement casts to
    ``integer[]``: psycopg dumps a Python list element by element, each checked against a quoting
    pattern (0.7 ms for a province's 1,264 ids, the join 0.14 ms), and a star board sends eight.
    Untyped, PostgreSQL reads the parameter as an integer[] constant once; typed as text, the cast
    stayed in the plan and parsed the array again for every row a filter looked at (0.9 s for a
    province's complaint hotspots). The ids are made integers first, so nothing else reaches the
    literal."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        literal = "{" + ",".join(map(str, map(int, ids))) + "}"
        return column == sa.any_(sa.cast(sa.bindparam(None, literal, type_=sa.types.NULLTYPE), ARRAY(sa.Integer)))
    return column.in_(ids)
