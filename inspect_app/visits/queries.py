"""Read-side queries for visit lists, home pages and the star board (no rules, no writes)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.db import unindexed
from inspect_app.org.models import Outlet, Unit, Window
from inspect_app.visits.models import StarRating, Visit, VisitStatus

PER_PAGE = 30


def visit_rows(session: Session, query) -> list[tuple[Visit, Outlet, Window | None, User]]:
    """Visits with their outlet, window and assignee, in one query."""
    q = (query.add_columns(Outlet, Window, User)
         .join(Outlet, Outlet.id == Visit.outlet_id)
         .join(Window, Window.id == Visit.window_id, isouter=True)
         .join(User, User.id == Visit.assignee_id))
    return [tuple(r) for r in session.execute(q).all()]


def inspector_home(session: Session, user: User, today: dt.date) -> dict:
    mine = select(Visit).where(Visit.assignee_id == user.id)
    scheduled = visit_rows(session, mine.where(Visit.status == VisitStatus.scheduled)
                           .order_by(Visit.due_until.is_(None), Visit.due_until, Visit.id))
    today_rows, overdue, upcoming = [], [], []
    for row in scheduled:
        visit = row[0]
        if visit.due_until is not None and visit.due_until < today:
            overdue.append(row)
        elif visit.due_from is None or visit.due_from <= today:
            today_rows.append(row)
        else:
            upcoming.append(row)
    drafts = visit_rows(session, mine.where(Visit.status.in_([VisitStatus.in_progress, VisitStatus.returned]))
                        .order_by(Visit.started_at.desc()))
    recent = visit_rows(session, mine.where(Visit.status.in_([VisitStatus.in_review, VisitStatus.released]))
                        .order_by(Visit.submitted_at.desc()).limit(10))
    return {"today": today_rows, "overdue": overdue, "upcoming": upcoming[:10], "drafts": drafts, "recent": recent}


def list_visits(session: Session, user: User, *, status: str | None = None, kind: str | None = None,
                q: str = "", mine: bool = False, page: int = 1) -> tuple[list, int]:
    query = select(Visit).where(permissions.visits_clause(session, user))
    if mine:
        query = query.where(Visit.assignee_id == user.id)
    if status == "open":
        query = query.where(Visit.status.in_([VisitStatus.scheduled, VisitStatus.in_progress, VisitStatus.returned]))
    elif status in {s.value for s in VisitStatus}:
        query = query.where(Visit.status == status)
    if kind:
        query = query.where(Visit.kind == kind)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(Visit.outlet_id.in_(select(Outlet.id).where(Outlet.name.ilike(like) | Outlet.code.ilike(like))))
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    order = sa.func.coalesce(Visit.submitted_at, Visit.started_at, Visit.created_at)
    rows = visit_rows(session, query.order_by(order.desc(), Visit.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE))
    return rows, total


def star_counts(session: Session, user: User, *, now: dt.datetime) -> dict[int, int]:
    query = (select(StarRating.stars, sa.func.count()).join(Outlet, Outlet.id == unindexed(StarRating.outlet_id))
             .where(StarRating.ended_at.is_(None), StarRating.valid_until > now, permissions.outlets_clause(session, user))
             .group_by(StarRating.stars))
    return dict(session.execute(query).all())


def star_board(session: Session, user: User, *, stars: int | None = None, now: dt.datetime, limit: int = 100,
               offset: int = 0) -> list[tuple]:
    """Current star levels in the user's scope, a page at a time: (rating, outlet, window, unit name)."""
    query = (select(StarRating, Outlet, Window, Unit.name)
             .join(Outlet, Outlet.id == unindexed(StarRating.outlet_id))
             .join(Unit, Unit.id == Outlet.unit_id)
             .join(Window, Window.id == StarRating.window_id, isouter=True)
             .where(StarRating.ended_at.is_(None), StarRating.valid_until > now,
                    permissions.outlets_clause(session, user)))
    if stars:
        query = query.where(StarRating.stars == stars)
    query = query.order_by(StarRating.stars.desc(), Outlet.code, Window.number).offset(offset).limit(limit)
    return [tuple(r) for r in session.execute(query).all()]


def star_changes(session: Session, user: User, *, since: dt.datetime, limit: int = 30) -> list[tuple]:
    """Stars awarded or removed since a moment, newest first: (rating, outlet, window)."""
    base = (select(StarRating, Outlet, Window)
            .join(Outlet, Outlet.id == unindexed(StarRating.outlet_id))
            .join(Window, Window.id == StarRating.window_id, isouter=True)
            .where(permissions.outlets_clause(session, user)))
    # two index ranges (awarded, ended), newest first, instead of an OR over the whole table
    awarded = session.execute(base.where(StarRating.awarded_at >= since).order_by(StarRating.awarded_at.desc()).limit(limit)).all()
    ended = session.execute(base.where(StarRating.ended_at >= since).order_by(StarRating.ended_at.desc()).limit(limit)).all()
    rows = list({r[0].id: tuple(r) for r in [*awarded, *ended]}.values())
    return sorted(rows, key=lambda r: max(r[0].awarded_at, r[0].ended_at or r[0].awarded_at), reverse=True)[:limit]


def manager_summary(session: Session, user: User, *, today: dt.date, since: dt.datetime) -> dict:
    """The manager's home: work in hand (few rows, by status) and the last 30 days' results.

    Released visits (the bulk of the table) are reached through the release date; the scope is
    checked per row (``unindexed``) rather than driving the query.
    """
    scope = permissions.visits_clause(session, user)
    in_scope = unindexed(Visit.outlet_id).in_(select(Outlet.id).where(permissions.outlets_clause(session, user)))
    open_states = [VisitStatus.scheduled, VisitStatus.in_progress, VisitStatus.in_review, VisitStatus.returned]
    counts = dict(session.exec(select(Visit.status, sa.func.count())
                               .where(scope, Visit.status.in_(open_states)).group_by(Visit.status)).all())
    overdue = session.exec(select(sa.func.count()).select_from(Visit).where(
        scope, Visit.status == VisitStatus.scheduled, Visit.due_until < today)).one()
    released = select(Visit).where(in_scope, Visit.status == VisitStatus.released, Visit.released_at >= since)
    recent = visit_rows(session, released.order_by(Visit.released_at.desc()).limit(8))
    red = visit_rows(session, released.where(Visit.red_line.is_(True)).order_by(Visit.released_at.desc()).limit(8))
    from inspect_app.rectifications.queries import outlets_in
    from inspect_app.reports.bulletins import _visit_stats

    allowed = outlets_in(session, user)
    count = total = 0
    for outlet_id, n, score_sum, _reds in _visit_stats(session, since, clock.now()):
        if outlet_id in allowed:
            count, total = count + n, total + float(score_sum or 0)
    return {"counts": counts, "overdue": overdue, "recent": recent, "red": red,
            "released_count": count, "average": round(total / count, 1) if count else None}
