"""Kept bulletins: a finished period's bulletin composed once and read by its pages.

A province's or the nation's 月总结 adds up tens of thousands of visits and lines over six months
(seconds on the national data, 19 s for the nation on PostgreSQL); once the period is over those
figures barely move. So the worker composes the last complete month's and week's bulletin of every
unit someone reads bulletins for (``BULLETIN_KEEP_KINDS``), top-down, and a page reads the kept one
(数据计算于… with 重新计算 for the unit's managers). A bulletin nobody kept yet is composed by its
first reader and kept. What still settles after a period ends (complaints judged at fault later, a
self-check found false) is caught by composing it again once a day for ``BULLETIN_SETTLE_DAYS``
after the period ended; after that it stays as it is unless someone presses 重新计算.

A kept bulletin is only the figures any board viewer of that unit sees alike: the unit's managers
and reviewers (their scope is the unit's subtree) and administrators. The composite ranking is the
viewer's own (which siblings they see) and read from what the indicators keep, so it is attached at
read time. A running period is always composed live.

The bulletin is stored pickled and signed with the app's secret key: a row that does not verify
(another key, a changed row) or of another ``shape`` (the code's classes and tables changed since)
is composed again, never loaded. The rows it holds (lines, outlets, photos) are pickled as their
loaded values only, without SQLAlchemy's state: read back they are detached objects for the
template to read, as before, at a fraction of the cost (the nation's day bulletin holds ~1,700 of
them, and unpickling their state was half the page's time).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import io
import logging
import pickle
import time
import zlib
from dataclasses import fields

from babel import Locale
from flask import current_app, has_request_context
from flask_babel import force_locale, get_locale
from sqlmodel import Session, SQLModel, select

from inspect_app import clock, permissions
from inspect_app.auth.models import Role, User
from inspect_app.complaints.queries import UnitComplaints
from inspect_app.db import get_engine, keep_aside, writing
from inspect_app.jobs import queue
from inspect_app.org.models import Unit
from inspect_app.plans.coverage import UnitCoverage
from inspect_app.rectifications.selfcheck import SelfCheckRow
from inspect_app.reports import bulletins
from inspect_app.reports.models import KeptBulletin
from inspect_app.visits import queries as visit_queries

log = logging.getLogger(__name__)

#: Bump to compose every kept bulletin again (what it holds is checked by ``shape`` besides).
#: 2: rows pickled without their SQLAlchemy state (``_Pickler``).
FORMAT = 2
JOB = "bulletins.keep"
BOARD_ROLES = (Role.admin, Role.manager, Role.reviewer)


@functools.cache
def shape() -> int:
    """What a kept bulletin's objects look like: ``FORMAT``, the fields of the bulletin's own
    classes and the columns of every table (a bulletin holds lines, outlets, photos). A deploy that
    changes any of them composes the kept bulletins again instead of unpickling objects that lack
    an attribute the template now reads."""
    parts = [str(FORMAT)]
    for cls in (bulletins.Bulletin, bulletins.UnitRow, bulletins.Period, UnitComplaints, UnitCoverage, SelfCheckRow):
        parts.append(cls.__name__ + ":" + ",".join(f.name for f in fields(cls)))
    for table in sorted(SQLModel.metadata.tables.values(), key=lambda t: t.name):
        parts.append(table.name + ":" + ",".join(sorted(c.name for c in table.columns)))
    return zlib.crc32("|".join(parts).encode()) & 0x7FFFFFFF


def settings_key(rules: bulletins.RankingRules) -> str:
    """The settings a bulletin's figures depend on besides its data."""
    counted = "self" if visit_queries.counts_self_inspections() else "noself"
    return f"{rules.veto}:{rules.commend}:{rules.name_bottom}:{counted}"


def _locale() -> str:
    """The language a bulletin is composed in (its chart's words): the reader's, the default's in the
    worker, spelt one way (``zh_Hans_CN``) whichever way it was configured."""
    chosen = get_locale() if has_request_context() else None
    return str(chosen or Locale.parse(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")))


def _sign(data: bytes) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"kept-bulletin:" + data, hashlib.sha256).hexdigest()


def finished(period: bulletins.Period, zone: str) -> bool:
    return period.end <= clock.today(zone)


def shared_view(session: Session, viewer, node: Unit | None) -> bool:
    """Whether ``viewer`` sees the node's bulletin as every board viewer of the node does (the whole
    subtree's outlets): administrators, and managers and reviewers of the node or above it."""
    if not getattr(viewer, "is_authenticated", False) or viewer.role not in BOARD_ROLES:
        return False
    if node is None:
        return permissions.is_admin(viewer)
    return permissions.unit_in_scope(session, viewer, node)


def _row(session: Session, node: Unit | None, period: bulletins.Period, locale: str, settings: str):
    return session.exec(select(KeptBulletin).where(
        KeptBulletin.node_id == (node.id if node else 0), KeptBulletin.kind == period.kind,
        KeptBulletin.period_start == period.start, KeptBulletin.locale == locale,
        KeptBulletin.settings == settings)).first()


def _load(row: KeptBulletin | None) -> bulletins.Bulletin | None:
    if row is None or row.format != shape() or not hmac.compare_digest(row.digest, _sign(bytes(row.data))):
        return None
    try:
        b = pickle.loads(bytes(row.data))  # noqa: S301 - our own row, its signature checked above
    except Exception:  # noqa: BLE001 - a class that moved since: compose it again
        log.warning("kept bulletin %s could not be read; composing it again", row.id)
        return None
    return b if isinstance(b, bulletins.Bulletin) else None


def read(session: Session, viewer, *, node: Unit | None, period: bulletins.Period, zone: str,
         rules: bulletins.RankingRules) -> bulletins.Bulletin | None:
    """The kept bulletin for this viewer, its composite attached, or None (not kept, not shareable,
    a running period)."""
    if not finished(period, zone) or not shared_view(session, viewer, node):
        return None
    row = _row(session, node, period, _locale(), settings_key(rules))
    b = _load(row)
    if b is None:
        return None
    b.computed_at = row.computed_at
    bulletins.attach_composite(session, viewer, b, zone=zone)
    return b


def _bare(cls: type) -> SQLModel:
    return object.__new__(cls)


def _fill(row: SQLModel, values: dict) -> None:
    row.__dict__.update(values)


class _Pickler(pickle.Pickler):
    """Pickles a table row as its class and loaded values, not its SQLAlchemy state (whose
    unpickling rebuilds an instance state and its load path per row, ~0.1 ms each). The values
    are set after the row is made and remembered, so rows that refer to each other, or one outlet
    shared by many lines, come back as one object each, as they were."""

    def reducer_override(self, obj):
        if isinstance(obj, SQLModel) and "_sa_instance_state" in obj.__dict__:
            values = {k: v for k, v in obj.__dict__.items() if k != "_sa_instance_state"}
            return _bare, (type(obj),), values, None, None, _fill
        return NotImplemented


def _serialise(b: bulletins.Bulletin, now: dt.datetime) -> bytes:
    """The bulletin without the viewer's composite, while its objects are still loaded."""
    composite, computed_at = b.composite, b.computed_at
    b.composite, b.computed_at = None, now
    try:
        out = io.BytesIO()
        _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(b)
        return out.getvalue()
    finally:
        b.composite, b.computed_at = composite, computed_at


def _upsert(target: Session, b: bulletins.Bulletin, data: bytes, locale: str, settings: str, now: dt.datetime) -> None:
    row = _row(target, b.node, b.period, locale, settings) or KeptBulletin(
        node_id=b.node.id if b.node else 0, kind=b.period.kind, period_start=b.period.start, locale=locale,
        settings=settings, format=shape(), computed_at=now, digest="", data=b"")
    row.format, row.computed_at, row.data, row.digest = shape(), now, data, _sign(data)
    target.add(row)


def keep(session: Session, b: bulletins.Bulletin, rules: bulletins.RankingRules) -> None:
    """Keep a composed bulletin (of a finished period, composed for a shared view): in a short
    write of its own from a page (a GET never takes the write lock), in the caller's from a job."""
    now = clock.now()
    locale, settings = _locale(), settings_key(rules)
    data = _serialise(b, now)
    keep_aside(session, lambda target: _upsert(target, b, data, locale, settings, now))


def compose(session: Session, viewer, *, node: Unit | None, period: bulletins.Period, zone: str,
            rules: bulletins.RankingRules, fresh: bool | None = None) -> bulletins.Bulletin:
    """The bulletin a page shows: the kept one, else composed (and kept when it may be shared).
    ``fresh`` (publishing): composed now, neither read nor kept."""
    if fresh is not True:
        b = read(session, viewer, node=node, period=period, zone=zone, rules=rules)
        if b is not None:
            return b
    b = bulletins.build(session, viewer, node=node, period=period, zone=zone, rules=rules, fresh=fresh)
    if fresh is not True and finished(period, zone) and shared_view(session, viewer, node):
        keep(session, b, rules)
        b.computed_at = None  # composed just now for this reader: nothing to say about when
    return b


# --- the worker composes them ahead ------------------------------------------------------------------

def keep_kinds() -> list[str]:
    wanted = str(current_app.config.get("BULLETIN_KEEP_KINDS", "month,week"))
    return [k for k in (p.strip() for p in wanted.split(",")) if k in bulletins.KINDS]


def read_nodes(session: Session) -> list[Unit | None]:
    """The units somebody reads bulletins for (an active manager or reviewer of it), top-down, the
    nation first when there is an active administrator: the largest take longest to compose live."""
    ids = set(session.execute(select(User.unit_id).where(
        User.active.is_(True), User.role.in_([Role.manager, Role.reviewer]), User.unit_id.is_not(None))).scalars())
    units = sorted(session.exec(select(Unit).where(Unit.id.in_(ids))).all(), key=lambda u: (u.path.count("/"), u.code)) \
        if ids else []
    admin = session.execute(select(User.id).where(User.active.is_(True), User.role == Role.admin).limit(1)).first()
    return ([None] if admin else []) + units


def _due(row: KeptBulletin | None, period: bulletins.Period, zone: str, now: dt.datetime) -> bool:
    """Not kept (or unreadable), or kept while the period was still settling and a day ago or more."""
    if row is None or row.format != shape():
        return True
    settle = dt.timedelta(days=int(current_app.config.get("BULLETIN_SETTLE_DAYS", 7)))
    settling = row.computed_at < clock.day_start(period.end, zone) + settle
    return settling and now - row.computed_at >= dt.timedelta(days=1)


def keep_due(session: Session, *, zone: str, budget_seconds: float | None = None,
             nodes: list[Unit | None] | None = None, kinds: list[str] | None = None) -> int:
    """Compose and keep every due bulletin of the last complete periods, largest units first, until
    ``budget_seconds`` have passed (one at least; the next slot goes on). Returns how many were kept."""
    rules = bulletins.RankingRules.from_config(current_app.config)
    locale, now = _locale(), clock.now()
    # by id: each unit's composing ends with a rollback that lets go of the objects read before
    targets = [n.id if n is not None else None for n in (read_nodes(session) if nodes is None else nodes)]
    with force_locale(locale):  # the worker's bulletins speak the default language
        return _keep_due(session, zone, budget_seconds, targets, kinds or keep_kinds(), rules, now)


def _keep_due(session: Session, zone: str, budget_seconds: float | None, targets: list[int | None], kinds: list[str],
              rules: bulletins.RankingRules, now: dt.datetime) -> int:
    settings, locale, today = settings_key(rules), _locale(), clock.today(zone)
    started, kept = time.monotonic(), 0
    for kind in kinds:
        period = bulletins.Period.around(kind, bulletins.latest_complete(kind, today))
        for node_id in targets:
            node = session.get(Unit, node_id) if node_id is not None else None
            if not _due(_row(session, node, period, locale, settings), period, zone, now):
                continue
            if kept and budget_seconds is not None and time.monotonic() - started > budget_seconds:
                return kept  # one at least per job, however long the nation's takes
            b = bulletins.build(session, bulletins.System(), node=node, period=period, zone=zone, rules=rules,
                                composite=False)
            keep(session, b, rules)
            session.rollback()  # ends the long read; the next unit's objects are its own
            session.expunge_all()
            kept += 1
    return kept


def recompose(session: Session, *, node: Unit | None, period: bulletins.Period, zone: str) -> None:
    """重新计算: compose the bulletin again now and keep it."""
    rules = bulletins.RankingRules.from_config(current_app.config)
    with force_locale(_locale()):
        keep(session, bulletins.build(session, bulletins.System(), node=node, period=period, zone=zone, rules=rules,
                                      composite=False), rules)


def _job_key(node: Unit | None, period: bulletins.Period) -> str:
    return f"bulletins-keep:{node.id if node else 0}:{period.kind}:{period.start.isoformat()}:"


def request_recompose(session: Session, *, node: Unit | None, period: bulletins.Period, requested_by: User) -> None:
    """Ask the worker to compose the bulletin again (one job waits at a time for the same one)."""
    queue.enqueue_waiting(session, JOB, {"node": node.id if node else None, "kind": period.kind,
                                         "start": period.start.isoformat()},
                          prefix=_job_key(node, period), requested_by_id=requested_by.id)


def pending(session: Session, node: Unit | None, period: bulletins.Period) -> bool:
    return queue.waiting(session, JOB, _job_key(node, period)) is not None


def keep_job(run: queue.JobRun) -> None:
    """The periodic slot's job (every due bulletin, within ``BULLETIN_KEEP_SECONDS``) or one unit's
    重新计算 (``node``, ``kind``, ``start``)."""
    zone = clock.default_zone()
    with Session(get_engine()) as session:
        if run.params.get("kind"):
            node = session.get(Unit, run.params["node"]) if run.params.get("node") else None
            if run.params.get("node") and node is None:
                raise queue.GiveUp("the unit is gone")
            period = bulletins.Period.around(run.params["kind"], dt.date.fromisoformat(run.params["start"]))
            recompose(session, node=node, period=period, zone=zone)
            return
        kept = keep_due(session, zone=zone, budget_seconds=float(current_app.config.get("BULLETIN_KEEP_SECONDS", 300)))
        log.info("bulletins kept: %s", kept)


def keep_slot() -> None:
    """Every ten minutes one keyed job, however many workers look."""
    now = clock.now()
    slot = now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)
    with writing(), Session(get_engine()) as session:
        queue.enqueue(session, JOB, {}, key=f"bulletins-keep:all:{slot:%Y%m%dT%H%M}")
        session.commit()
