"""The home pages' queries: what each role sees first (read only, across domains)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from inspect_app import clock, permissions
from inspect_app.auth.models import User
from inspect_app.db import in_ids, unindexed
from inspect_app.org import services as org
from inspect_app.org.models import Outlet
from inspect_app.plans import coverage
from inspect_app.visits import queries as visit_queries
from inspect_app.visits.models import SELF_KIND, Visit, VisitStatus


def inspector_home(session: Session, user: User, today: dt.date) -> dict:
    mine = select(Visit).where(Visit.assignee_id == user.id)
    scheduled = visit_queries.visit_rows(session, mine.where(Visit.status == VisitStatus.scheduled)
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
    drafts = visit_queries.visit_rows(session, mine.where(Visit.status.in_([VisitStatus.in_progress, VisitStatus.returned]))
                        .order_by(Visit.started_at.desc()))
    # a cross-inspection's visit leaves the list once released (it is the inspected unit's then)
    recent = visit_queries.visit_rows(session, mine.where(Visit.status.in_([VisitStatus.in_review, VisitStatus.released]),
                                                          permissions.visits_clause(session, user))
                        .order_by(Visit.submitted_at.desc()).limit(10))
    return {"today": today_rows, "overdue": overdue, "upcoming": upcoming[:10], "drafts": drafts, "recent": recent}


def manager_summary(session: Session, user: User, *, today: dt.date, since: dt.datetime) -> dict:
    """The manager's home: work in hand (few rows, by status) and the last 30 days' results.

    Released visits (the bulk of the table) are reached through the release date; the scope is
    checked per row (``unindexed``) rather than driving the query.
    """
    scope = permissions.visits_clause(session, user)
    # a small scope's released visits through its outlets; a large one's newest first by release
    # (the admin's scope is every outlet: nothing to check, nor to read first)
    few = None if permissions.is_admin(user) else org.few_outlets(session.execute(
        select(Outlet.id).where(permissions.outlets_clause(session, user)).limit(org.SCOPE_FIRST_OUTLETS + 1)
    ).scalars().all())
    in_scope = (in_ids(session, Visit.outlet_id, few) if few is not None else sa.true() if permissions.is_admin(user)
                else unindexed(Visit.outlet_id).in_(select(Outlet.id).where(permissions.outlets_clause(session, user))))
    open_states = [VisitStatus.scheduled, VisitStatus.in_progress, VisitStatus.in_review, VisitStatus.returned]
    counts = dict(session.exec(select(Visit.status, sa.func.count())
                               .where(scope, Visit.status.in_(open_states)).group_by(Visit.status)).all())
    overdue = session.exec(select(sa.func.count()).select_from(Visit).where(
        scope, Visit.status == VisitStatus.scheduled, Visit.due_until < today)).one()
    released = select(Visit).where(in_scope, Visit.status == VisitStatus.released, Visit.released_at >= since)
    recent = visit_queries.visit_rows(session, released.order_by(Visit.released_at.desc()).limit(8))
    red = visit_queries.visit_rows(session, released.where(Visit.red_line.is_(True)).order_by(Visit.released_at.desc()).limit(8))
    count, total = visit_queries.released_totals(session, since, clock.now(), in_scope)
    return {"counts": counts, "overdue": overdue, "recent": recent, "red": red,
            "released_count": count, "average": round(total / count, 1) if count else None}


def chief_self_inspections(session: Session, user: User, now: dt.datetime) -> dict:
    """A branch chief's self-inspections (自查) in one read: today's to do at each of their outlets
    (planned for today there, or started and not handed in) and this week's missed ones (their day
    is over at the outlet without them; the week from Monday, the outlet's calendar)."""
    margin = clock.today(clock.default_zone())
    query = (select(Visit, Outlet).join(Outlet, Outlet.id == Visit.outlet_id)
             .where(permissions.outlets_clause(session, user), Visit.kind == SELF_KIND,
                    Visit.status != VisitStatus.cancelled,
                    sa.or_(sa.and_(Visit.due_until >= margin - dt.timedelta(days=8),
                                   Visit.due_from <= margin + dt.timedelta(days=1)),
                           sa.and_(Visit.due_from.is_(None), Visit.status == VisitStatus.in_progress)))
             .order_by(Visit.due_from, Outlet.code, Visit.id))
    today, missed = [], []
    for visit, outlet in session.execute(query).all():
        local = clock.local_date(now, outlet.timezone)
        monday = local - dt.timedelta(days=local.weekday())
        open_now = visit.status in (VisitStatus.scheduled, VisitStatus.in_progress)
        if visit.due_from is None or visit.due_from <= local <= visit.due_until:
            if open_now:
                today.append((visit, outlet))
        elif visit.due_until < local and visit.due_until >= monday \
                and coverage.visit_state(visit, outlet, now) == "missed":
            missed.append((visit, outlet))
    return {"self_today": today, "self_missed": missed}
