"""Read side of rectification: lists, the managers' status board, reminders."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import permissions
from inspect_app.auth.models import User
from inspect_app.db import utcnow
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications.models import OUTLET_TURN, LineStatus, RectificationLine, RectificationNotice
from inspect_app.visits.models import Visit


def seconds_between(later, earlier, dialect: str):
    """SQL for (later − earlier) in seconds on SQLite and PostgreSQL."""
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


@dataclass
class BoardFilters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    kind: str | None = None
    severity: str | None = None

    def apply(self, query):
        if self.since:
            query = query.where(RectificationLine.issued_at >= self.since)
        if self.until:
            query = query.where(RectificationLine.issued_at < self.until)
        if self.kind:
            query = query.where(RectificationLine.checklist_kind == self.kind)
        if self.severity:
            query = query.where(RectificationLine.severity == self.severity)
        return query


@dataclass
class BoardRow:
    key: int
    name: str
    kind: str  # unit | outlet
    issued: int = 0
    acknowledged: int = 0
    answered: int = 0
    closed: int = 0
    withdrawn: int = 0
    open: int = 0
    overdue: int = 0
    close_seconds: float = 0.0
    oldest_overdue: dt.datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def avg_days_to_close(self) -> float | None:
        return round(self.close_seconds / self.closed / 86400, 1) if self.closed else None

    @property
    def close_rate(self) -> float | None:
        done = self.closed + self.withdrawn
        return round(done / self.issued * 100, 1) if self.issued else None

    def add(self, other: "BoardRow") -> None:
        for name in ("issued", "acknowledged", "answered", "closed", "withdrawn", "open", "overdue", "close_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.oldest_overdue and (self.oldest_overdue is None or other.oldest_overdue < self.oldest_overdue):
            self.oldest_overdue = other.oldest_overdue


def _grouped(session: Session, user: User, filters: BoardFilters, group_col, where, now: dt.datetime):
    dialect = session.get_bind().dialect.name
    overdue = sa.and_(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at <= now)
    query = (select(
        group_col.label("key"),
        sa.func.count().label("issued"),
        sa.func.sum(sa.case((RectificationLine.acknowledged_at.is_not(None), 1), else_=0)).label("acknowledged"),
        sa.func.sum(sa.case((RectificationLine.answered_at.is_not(None), 1), else_=0)).label("answered"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.closed, 1), else_=0)).label("closed"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.withdrawn, 1), else_=0)).label("withdrawn"),
        sa.func.sum(sa.case((RectificationLine.status.in_([s.value for s in LineStatus
                                                            if s not in (LineStatus.closed, LineStatus.withdrawn)]), 1),
                            else_=0)).label("open"),
        sa.func.sum(sa.case((overdue, 1), else_=0)).label("overdue"),
        sa.func.sum(sa.case((RectificationLine.status == LineStatus.closed,
                             seconds_between(RectificationLine.closed_at, RectificationLine.issued_at, dialect)),
                            else_=0)).label("close_seconds"),
        sa.func.min(sa.case((overdue, RectificationLine.deadline_at), else_=None)).label("oldest"),
    ).select_from(RectificationLine).join(Outlet, Outlet.id == RectificationLine.outlet_id)
        .where(permissions.outlets_clause(session, user), where).group_by(group_col))
    query = filters.apply(query)
    return session.execute(query).all()


def _row(key, name, kind, r) -> BoardRow:
    oldest = r.oldest
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return BoardRow(key=key, name=name, kind=kind, issued=r.issued or 0, acknowledged=r.acknowledged or 0,
                    answered=r.answered or 0, closed=r.closed or 0, withdrawn=r.withdrawn or 0, open=r.open or 0,
                    overdue=r.overdue or 0, close_seconds=float(r.close_seconds or 0), oldest_overdue=oldest)


def board(session: Session, user: User, *, node: Unit | None, filters: BoardFilters,
          now: dt.datetime | None = None) -> tuple[list[BoardRow], BoardRow]:
    """Per child unit of ``node`` (or per outlet when ``node`` is a county): the line counts.

    Three queries whatever the data size: units, the grouped counts, and names.
    """
    now = now or utcnow()
    total = BoardRow(key=0, name="", kind="total")
    if node is not None and node.level == "county":
        rows = _grouped(session, user, filters, RectificationLine.outlet_id, Outlet.unit_id == node.id, now)
        names = dict(session.execute(select(Outlet.id, Outlet.name).where(Outlet.unit_id == node.id)).all())
        result = [_row(r.key, names.get(r.key, "?"), "outlet", r) for r in rows]
    else:
        rows = _grouped(session, user, filters, Outlet.unit_id,
                        Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))) if node else sa.true(),
                        now)
        units = {u.id: u for u in session.exec(select(Unit)).all()}
        children: dict[int, BoardRow] = {}
        depth = node.path.count("/") if node else 1
        for r in rows:
            unit = units.get(r.key)
            if unit is None:
                continue
            parts = unit.path.strip("/").split("/")
            child_id = int(parts[depth - 1]) if len(parts) >= depth else unit.id
            child = units[child_id]
            if child_id not in children:
                children[child_id] = BoardRow(key=child_id, name=child.name, kind="unit", extra={"level": child.level})
            children[child_id].add(_row(child_id, child.name, "unit", r))
        result = sorted(children.values(), key=lambda row: units[row.key].code)
    for row in result:
        total.add(row)
    result.sort(key=lambda row: (-row.overdue, -row.open, row.name))
    return result, total


def line_rows(session: Session, user: User, *, filters: BoardFilters, node: Unit | None = None,
              outlet_id: int | None = None, state: str | None = None, now: dt.datetime | None = None,
              limit: int = 200, offset: int = 0):
    """Lines with notice and outlet, for drill-down lists (one query)."""
    now = now or utcnow()
    query = (select(RectificationLine, RectificationNotice, Outlet)
             .join(RectificationNotice, RectificationNotice.id == RectificationLine.notice_id)
             .join(Outlet, Outlet.id == RectificationLine.outlet_id)
             .where(permissions.outlets_clause(session, user), _visible_lines(session, user)))
    query = filters.apply(query)
    if outlet_id:
        query = query.where(RectificationLine.outlet_id == outlet_id)
    elif node is not None:
        query = query.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path))))
    if state == "overdue":
        query = query.where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at <= now)
    elif state == "open":
        query = query.where(RectificationLine.status.not_in([LineStatus.closed, LineStatus.withdrawn]))
    elif state == "due_soon":
        query = query.where(RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at > now,
                            RectificationLine.deadline_at <= now + dt.timedelta(days=1))
    elif state in {s.value for s in LineStatus}:
        query = query.where(RectificationLine.status == state)
    query = query.order_by(RectificationLine.deadline_at, RectificationLine.id).offset(offset).limit(limit)
    return [tuple(r) for r in session.execute(query).all()]


def _visible_lines(session: Session, user: User):
    """Lines belong to released visits; the visits clause keeps the secrecy rules in one place."""
    return RectificationLine.visit_id.in_(select(Visit.id).where(permissions.visits_clause(session, user)))


def escalated_to(session: Session, user: User, node: Unit | None, *, filters: BoardFilters,
                 escalation_days: int, now: dt.datetime | None = None) -> list[tuple]:
    """Late lines below ``node`` that have climbed to it: one unit up per ``escalation_days`` late."""
    if node is None:
        return []
    now = now or utcnow()
    rows = line_rows(session, user, filters=filters, node=node, state="overdue", now=now, limit=500)
    units = {u.id: u for u in session.exec(select(Unit)).all()}
    result = []
    from inspect_app.rectifications.services import days_left

    for line, notice, outlet in rows:
        distance = units[outlet.unit_id].path.count("/") - node.path.count("/")
        late = -days_left(line, outlet, now)
        if distance >= 1 and late >= distance * escalation_days:
            result.append((line, notice, outlet, late))
    return sorted(result, key=lambda r: -r[3])


def notices_for(session: Session, user: User, *, open_only: bool = False, limit: int = 100):
    """Notices the user may see, newest first, with their outlet and line counts."""
    now = utcnow()
    counts = (select(RectificationLine.notice_id.label("nid"),
                     sa.func.count().label("lines"),
                     sa.func.sum(sa.case((RectificationLine.status.not_in([LineStatus.closed, LineStatus.withdrawn]), 1),
                                         else_=0)).label("open"),
                     sa.func.sum(sa.case((sa.and_(RectificationLine.status.in_(OUTLET_TURN),
                                                  RectificationLine.deadline_at <= now), 1), else_=0)).label("overdue"),
                     sa.func.min(sa.case((RectificationLine.status.in_(OUTLET_TURN), RectificationLine.deadline_at),
                                         else_=None)).label("next_deadline"))
              .group_by(RectificationLine.notice_id).subquery())
    query = (select(RectificationNotice, Outlet, counts.c.lines, counts.c.open, counts.c.overdue, counts.c.next_deadline)
             .join(Outlet, Outlet.id == RectificationNotice.outlet_id)
             .join(counts, counts.c.nid == RectificationNotice.id)
             .where(permissions.outlets_clause(session, user),
                    RectificationNotice.visit_id.in_(select(Visit.id).where(permissions.visits_clause(session, user)))))
    if open_only:
        query = query.where(counts.c.open > 0)
    query = query.order_by(counts.c.overdue.desc(), (counts.c.open > 0).desc(), counts.c.next_deadline,
                           RectificationNotice.id.desc()).limit(limit)
    return session.execute(query).all()
