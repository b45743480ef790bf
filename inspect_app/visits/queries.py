"""Read-side queries for visit lists, home pages and the star board (no rules, no writes)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from inspect_app import permissions
from inspect_app.auth.models import Role, User
from inspect_app.db import in_ids, unindexed
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit, Window
from inspect_app.visits.models import SELF_KIND, StarRating, Visit, VisitStatus

PER_PAGE = 30


def counts_self_inspections() -> bool:
    """Whether self-inspections (自查) count in inspection figures like any visit (the network's
    choice, ``SELF_INSPECTION_IN_RANKINGS``); by default they are counted apart."""
    return bool(has_app_context() and int(current_app.config.get("SELF_INSPECTION_IN_RANKINGS", 0) or 0))


def inspection_visits():
    """A WHERE clause on ``Visit``: the visits inspection figures count (averages, coverage,
    bulletins, the indicators' inspection sources): not the outlets' own self-inspections, unless
    the network counts them in."""
    return sa.true() if counts_self_inspections() else Visit.kind != SELF_KIND


def assignable_people(session: Session, user: User) -> list[tuple[int, str, str | None]]:
    """Who a visit may be given to (the schedule's picker) as (id, display name, code name), in one
    statement: mystery shoppers anywhere; the active inspectors and managers of the units in the
    user's scope (an admin's: everyone), and the user. Each person's unit was read and checked one
    by one before: 3,600 statements for a county's manager on a national network; and the nation's
    4,000 people are read as values, not as accounts (150 ms)."""
    query = select(User.id, User.display_name, User.code_name).where(User.active.is_(True), User.role.in_([Role.inspector, Role.shopper, Role.manager]))
    if not permissions.is_admin(user):
        in_scope = User.unit_id.in_(select(Unit.id).where(permissions.units_clause(session, user)))
        query = query.where(sa.or_(User.role == Role.shopper, in_scope,
                                   sa.and_(User.id == user.id, User.unit_id.is_not(None))))
    return [tuple(r) for r in session.execute(query.order_by(User.role, User.display_name)).all()]


def visit_rows(session: Session, query) -> list[tuple[Visit, Outlet, Window | None, User]]:
    """Visits with their outlet, window and assignee, in one query."""
    q = (query.add_columns(Outlet, Window, User)
         .join(Outlet, Outlet.id == Visit.outlet_id)
         .join(Window, Window.id == Visit.window_id, isouter=True)
         .join(User, User.id == Visit.assignee_id))
    return [tuple(r) for r in session.execute(q).all()]


def visits_query(session: Session, user: User, *, status: str | None = None, kind: str | None = None,
                 q: str = "", mine: bool = False):
    """The visit list's selection (scope and filters), ordered as the list shows it."""
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
    return query


def list_key():
    """The managing side's list order, newest work first: submitted, else started, else made (the
    expression ``ix_visit_list_order`` and ``ix_visit_outlet_list_order`` index)."""
    return sa.func.coalesce(Visit.submitted_at, Visit.started_at, Visit.created_at)


def visit_order(user: User):
    # The outlet side sees released visits in the order they were released: the order of
    # submission would tell it which secret visit came when in the day.
    order = (sa.func.coalesce(Visit.released_at, Visit.created_at) if permissions.is_outlet_side(user)
             else list_key())
    return order.desc(), Visit.id.desc()


#: The visit list counts at most this many visits of its selection and says "more than" beyond:
#: the nation's 4,000,000 took 250 ms to count and a province's 100,000 40 ms (growing with every
#: month kept); a city's 10,000 are still counted in full.
COUNT_CAP = 20_000

#: A scope of at most this many outlets (and ``org.SCOPE_FIRST_OUTLETS``) reads its visit list
#: outlet by outlet: each outlet's newest visits down to the page's end, then those sorted (a city's
#: 128 outlets: 4,000 index entries for the first page). A larger one walks the country's visits in
#: list order and keeps its own, stopping at the page's end: a province (1/40 of the country) finds
#: the first page among ~1,200, where its 1,264 outlets' newest would be 38,000.
LIST_BY_OUTLETS = 400


@dataclass
class VisitPage:
    rows: list[tuple]
    #: visits in the selection, counted up to ``COUNT_CAP`` (``more``: there are more than that)
    total: int
    more: bool = False


def _outlet_matches(q: str):
    like = f"%{q.strip()}%"
    return Outlet.name.ilike(like) | Outlet.code.ilike(like)


def list_visits(session: Session, user: User, *, status: str | None = None, kind: str | None = None,
                q: str = "", mine: bool = False, page: int = 1) -> VisitPage:
    offset = (page - 1) * PER_PAGE
    if user.role in (Role.admin, Role.manager, Role.reviewer) and not (mine or status or kind):
        return _scope_page(session, user, q=q, offset=offset)
    query = visits_query(session, user, status=status, kind=kind, q=q, mine=mine)
    total = _capped_count(session, query.with_only_columns(sa.literal(1)))
    rows = visit_rows(session, query.order_by(*visit_order(user)).offset(offset).limit(PER_PAGE))
    return VisitPage(rows=rows, total=min(total, COUNT_CAP), more=total > COUNT_CAP)


def _capped_count(session: Session, query) -> int:
    """Rows of ``query`` (a select of anything), counted up to one past ``COUNT_CAP``."""
    return session.execute(select(sa.func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())).scalar()


def _scope_page(session: Session, user: User, *, q: str, offset: int) -> VisitPage:
    """The managing side's unfiltered list (or searched by outlet): the scope's visits and those the
    user holds elsewhere (``permissions.visits_clause``), newest first, planned by scope. The page's
    keys (list key, id) come from each part (the held ones by assignee; the scope's by its outlets
    or by the country's walk), merged; then the page's rows by id. Five statements either way."""
    n, key = offset + PER_PAGE, list_key()
    outlets = select(Outlet.id).where(permissions.outlets_clause(session, user))
    if q:
        outlets = outlets.where(_outlet_matches(q))
    few = org.few_outlets(session.execute(outlets.limit(org.SCOPE_FIRST_OUTLETS + 1)).scalars().all())
    admin = permissions.is_admin(user)
    held = sa.false() if admin else permissions.held_clause(session, user)
    if q:
        held = sa.and_(held, Visit.outlet_id.in_(select(Outlet.id).where(_outlet_matches(q))))
    keys = select(key.label("key"), Visit.id)
    if few is None:
        scope = sa.true() if admin and not q else Visit.outlet_id.in_(outlets)
        total = _capped_count(session, select(Visit.id).where(sa.or_(held, scope)))
        in_scope = sa.true() if admin and not q else unindexed(Visit.outlet_id).in_(outlets)
        parts = [keys.where(in_scope)]
    else:
        counted = (select(sa.func.count()).select_from(
            select(Visit.id).where(in_ids(session, Visit.outlet_id, few)).limit(COUNT_CAP + 1).subquery())
            .scalar_subquery())
        elsewhere = select(sa.func.count()).where(held, sa.not_(in_ids(session, Visit.outlet_id, few))).scalar_subquery()
        total = sum(session.execute(select(counted, elsewhere)).one())
        if len(few) <= min(LIST_BY_OUTLETS, org.SCOPE_FIRST_OUTLETS):
            parts = [_newest_by_outlet(session, few, n)]
        else:
            parts = [keys.where(in_ids(session, unindexed(Visit.outlet_id), few))]
    if not admin:
        parts.append(keys.where(held))
    found = {}
    for part in parts:
        for row_key, visit_id in session.execute(part.order_by(key.desc(), Visit.id.desc()).limit(n)).all():
            found[visit_id] = _aware(row_key)
    ids = sorted(found, key=lambda i: (found[i], i), reverse=True)[offset:n]
    rows = visit_rows(session, select(Visit).where(Visit.id.in_(ids))) if ids else []
    order = {visit_id: k for k, visit_id in enumerate(ids)}
    return VisitPage(rows=sorted(rows, key=lambda r: order[r[0].id]), total=min(total, COUNT_CAP),
                     more=total > COUNT_CAP)


def _newest_by_outlet(session: Session, outlet_ids: list[int], n: int):
    """(list key, id) of each outlet's newest ``n`` visits (and ties), unordered: per outlet, its
    n-th newest key through ``ix_visit_outlet_list_order``, then the range down to it."""
    other = aliased(Visit)
    other_key = sa.func.coalesce(other.submitted_at, other.started_at, other.created_at)
    nth = (select(other_key).where(other.outlet_id == Outlet.id).order_by(other_key.desc(), other.id.desc())
           .offset(n - 1).limit(1).scalar_subquery())
    # OFFSET 0: each outlet's threshold computed once, not per visit row (PostgreSQL and SQLite
    # would otherwise pull the subquery up into the join and run it for every visit)
    since = (select(Outlet.id.label("outlet_id"), sa.func.coalesce(nth, EARLIEST).label("since"))
             .where(in_ids(session, Outlet.id, outlet_ids)).offset(0).subquery())
    return (select(list_key().label("key"), Visit.id).join(since, Visit.outlet_id == since.c.outlet_id)
            .where(list_key() >= since.c.since))


#: before any visit: the threshold of an outlet with fewer visits than a page's end
EARLIEST = sa.literal(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), sa.DateTime(timezone=True))


def _aware(moment):
    if isinstance(moment, str):  # SQLite hands back an expression's datetime as text
        moment = dt.datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment


def visit_batches(session: Session, user: User, *, batch: int = 1000, **filters) -> Iterator[list[tuple]]:
    """Every visit of the list (same scope, filters and order), a batch at a time, read through
    one streaming cursor: memory stays flat however many there are."""
    q = (visits_query(session, user, **filters).add_columns(Outlet, Window, User)
         .join(Outlet, Outlet.id == Visit.outlet_id)
         .join(Window, Window.id == Visit.window_id, isouter=True)
         .join(User, User.id == Visit.assignee_id)
         .order_by(*visit_order(user)))
    for part in session.execute(q.execution_options(yield_per=batch)).partitions():
        yield [tuple(r) for r in part]


_WHOLE = object()


def star_scope(session: Session, user: User) -> list[int] | None:
    """The viewer's outlets when few enough to read the star ratings by (``org.SCOPE_FIRST_OUTLETS``:
    a county, a city, a province); else None (the nation reads the current ratings' own index)."""
    query = select(Outlet.id).where(permissions.outlets_clause(session, user)).limit(org.SCOPE_FIRST_OUTLETS + 1)
    return org.few_outlets(session.execute(query).scalars().all())


def _stars_in(session: Session, user: User, query, scope):
    """``query`` (on StarRating) joined to its outlet and limited to the viewer's: through the
    outlets' own ratings for a small scope, else each current rating checked against the scope."""
    if scope is _WHOLE:
        scope = star_scope(session, user)
    if scope is not None:
        query = query.join(Outlet, Outlet.id == StarRating.outlet_id).where(in_ids(session, StarRating.outlet_id, scope))
        if session.get_bind().dialect.name == "postgresql":
            # the ids on the outlets too: PostgreSQL hashed all 50,000 outlets and 175,000 windows
            # for a province's 3,070 ratings (the page's statement 57 → 32 ms); SQLite's plan was
            # right, and slower with them (60-70 → 74-78 ms the page, large dataset)
            query = query.where(in_ids(session, Outlet.id, scope))
        return query
    return query.join(Outlet, Outlet.id == unindexed(StarRating.outlet_id)).where(permissions.outlets_clause(session, user))


def _ratings_in(session: Session, user: User, query, scope):
    """``query`` (on StarRating, reading no outlet column) limited to the viewer's ratings, joining
    no outlet where none is needed: a small scope by its outlets' ids, the admin not at all (every
    outlet is theirs: the nation's 123,000 ratings hashed against 50,000 outlets took 120 ms of the
    star board), another nation-wide viewer each rating checked against the scope."""
    if scope is not None:
        return query.where(in_ids(session, StarRating.outlet_id, scope))
    if permissions.is_admin(user):
        return query
    return _stars_in(session, user, query, None)


def star_counts(session: Session, user: User, *, now: dt.datetime, scope=_WHOLE) -> dict[int, int]:
    if scope is _WHOLE:
        scope = star_scope(session, user)
    query = _ratings_in(session, user, select(StarRating.stars, sa.func.count()).select_from(StarRating), scope)
    query = query.where(StarRating.ended_at.is_(None), StarRating.valid_until > now).group_by(StarRating.stars)
    return dict(session.execute(query).all())


def star_query(session: Session, user: User, *, stars: int | None = None, now: dt.datetime, scope=_WHOLE):
    """Current star levels in the user's scope, in the board's order: (rating, outlet, window, unit name)."""
    query = _stars_in(session, user, select(StarRating, Outlet, Window, Unit.name).select_from(StarRating), scope)
    query = (query.join(Unit, Unit.id == Outlet.unit_id)
             .join(Window, Window.id == StarRating.window_id, isouter=True)
             .where(StarRating.ended_at.is_(None), StarRating.valid_until > now))
    if stars:
        query = query.where(StarRating.stars == stars)
    return query.order_by(StarRating.stars.desc(), Outlet.code, Window.number, StarRating.id)


#: Star ratings per page of the star board.
STAR_PAGE = 100


def star_board(session: Session, user: User, *, stars: int | None = None, now: dt.datetime, limit: int = STAR_PAGE,
               offset: int = 0, scope=_WHOLE, counts: dict[int, int] | None = None) -> list[tuple]:
    """Current star levels in the user's scope, a page at a time: (rating, outlet, window, unit name).

    A small scope sorts its outlets' ratings. A large one (the nation: 123,000 current ratings,
    half a second to sort) takes the page's ratings level by level, the levels' sizes known from
    ``counts`` (``star_counts``, read anyway): within one level the order is the outlets' code
    order, so each level's slice walks the outlets by their code index and stops at the slice's
    end; then the page's rows by id. Two statements whatever the page."""
    if scope is _WHOLE:
        scope = star_scope(session, user)
    if scope is not None:
        query = star_query(session, user, stars=stars, now=now, scope=scope).offset(offset).limit(limit)
        return [tuple(r) for r in session.execute(query).all()]
    if counts is None:
        counts = star_counts(session, user, now=now, scope=scope)
    slices, skip, wanted = [], offset, limit
    for level in sorted((n for n in counts if not stars or n == stars), reverse=True):
        if wanted <= 0:
            break
        if skip >= counts[level]:
            skip -= counts[level]
            continue
        take = min(counts[level] - skip, wanted)
        slices.append(select(StarRating.id).join(Outlet, Outlet.id == StarRating.outlet_id)
                      .join(Window, Window.id == StarRating.window_id, isouter=True)
                      .where(StarRating.ended_at.is_(None), StarRating.valid_until > now, StarRating.stars == level,
                             permissions.outlets_clause(session, user))
                      .order_by(Outlet.code, Window.number, StarRating.id).offset(skip).limit(take))
        skip, wanted = 0, wanted - take
    query = star_query(session, user, stars=stars, now=now, scope=scope)
    if slices:
        page = sa.union_all(*[part.subquery().select() for part in slices]).subquery()
        query = query.where(StarRating.id.in_(select(page.c.id)))
    else:  # past the last page: nothing, read as a small scope's page would be (the same statements)
        query = query.where(sa.false())
    return [tuple(r) for r in session.execute(query).all()]


def star_rows(session: Session, user: User, *, stars: int | None = None, now: dt.datetime,
              batch: int = 1000) -> Iterator[tuple]:
    """The whole star board, streamed (same scope and order as its pages)."""
    for row in session.execute(star_query(session, user, stars=stars, now=now).execution_options(yield_per=batch)):
        yield tuple(row)


def star_changes(session: Session, user: User, *, since: dt.datetime, limit: int = 30, scope=_WHOLE) -> list[tuple]:
    """Stars awarded or removed since a moment, newest first: (rating, outlet, window).

    One statement: the newest ``limit`` ratings awarded and the newest ``limit`` ended, each a
    narrow walk of its own time index (two ranges, not an OR over the whole table), then only those
    rows joined to their outlets and windows (a province's 1,345 awarded and 981 ended ratings of
    90 days were joined whole and sorted: 21 + 17 ms). The newest ``limit`` changes are among them:
    a change's moment is the later of its award and its end, and either list holds every rating
    newer by its own time than the last it keeps."""
    if scope is _WHOLE:
        scope = star_scope(session, user)
    newest = [_ratings_in(session, user, select(StarRating.id).select_from(StarRating), scope)
              .where(moment >= since).order_by(moment.desc()).limit(limit)
              for moment in (StarRating.awarded_at, StarRating.ended_at)]
    picked = sa.union(*[part.subquery().select() for part in newest]).subquery()
    rows = session.execute(select(StarRating, Outlet, Window).join(Outlet, Outlet.id == StarRating.outlet_id)
                           .join(Window, Window.id == StarRating.window_id, isouter=True)
                           .where(StarRating.id.in_(select(picked.c.id)))).all()
    return sorted((tuple(r) for r in rows), key=lambda r: (max(r[0].awarded_at, r[0].ended_at or r[0].awarded_at), r[0].id),
                  reverse=True)[:limit]


def visit_stats(session: Session, since, until, outlet_ids: list[int] | None = None) -> list[tuple]:
    """Released visits per outlet in a period: (outlet id, count, score sum, red lines, score sum
    of the visits without a red line).

    Read from the covering index on (status, released_at, outlet, score, red line) with no join;
    the scope is applied per outlet in Python, where the outlets are few. Given the ids of a small
    scope's outlets, only theirs are read (by outlet), not the country's month."""
    query = (select(Visit.outlet_id, sa.func.count(), sa.func.sum(Visit.score),
                    sa.func.sum(sa.case((Visit.red_line.is_(True), 1), else_=0)),
                    sa.func.sum(sa.case((Visit.red_line.is_(True), 0), else_=Visit.score)))
             .where(Visit.status == VisitStatus.released, Visit.released_at >= since, Visit.released_at < until,
                    inspection_visits())
             .group_by(Visit.outlet_id))
    if outlet_ids is not None:
        query = query.where(Visit.outlet_id.in_(outlet_ids))
    return session.execute(query).all()


def released_totals(session: Session, since, until, where) -> tuple[int, float]:
    """Released visits in a period (those inspection figures count) whose outlet ``where``
    (a clause on ``Visit``) allows: how many, and their scores' sum, summed in the database (the
    nation's 158,000 visits of a month grouped per outlet and summed in Python took 0.3 s of home)."""
    count, total = session.execute(
        select(sa.func.count(), sa.func.sum(Visit.score))
        .where(Visit.status == VisitStatus.released, Visit.released_at >= since, Visit.released_at < until,
               inspection_visits(), where)).one()
    return int(count or 0), float(total or 0)


# --- check-ins flagged (far from the outlet, no location) ----------------------------------------

def flagged_checkins_query(session: Session, user: User, *, since: dt.datetime | None, until: dt.datetime | None,
                           assignee_id: int | None = None):
    """Visits in the user's reach whose check-in was flagged (``visits.checkin_place``), newest first."""
    query = select(Visit).where(permissions.visits_clause(session, user), Visit.checkin_flag != "")
    if since is not None:
        query = query.where(Visit.checkin_at >= since)
    if until is not None:
        query = query.where(Visit.checkin_at < until)
    if assignee_id:
        query = query.where(Visit.assignee_id == assignee_id)
    return query.order_by(Visit.checkin_at.desc(), Visit.id.desc())


@dataclass
class FlaggedCheckins:
    """The flagged check-ins page: per person (check-ins, far, without a location), the flagged
    visits' keys newest first, and the page's rows."""
    people: list[tuple[User, int, int, int]]
    total: int
    rows: list[tuple]


def flagged_checkins_page(session: Session, user: User, *, since: dt.datetime, until: dt.datetime,
                          assignee_id: int | None = None, page: int = 1) -> FlaggedCheckins:
    """The flagged check-ins of the user's reach in a period, in four statements whatever the
    scope: the flagged ones of the period (``ix_visit_flagged_checkin``: flagged check-ins by time,
    few where check-ins are mostly at their outlet), then the flagged people's other check-ins of
    the period counted (each person's range of ``ix_visit_checkin_flag``), the people, and the
    page's rows by id. The scope is checked on each of those rows, off the outlet indexes: the
    period and the flag choose them (the scope's every visit was read before: a province's
    100,000, or the nation's 160,000 check-ins of a month, for six flagged)."""
    reach = permissions.visits_clause(session, user, outlet_key=unindexed(Visit.outlet_id))
    period = sa.and_(Visit.checkin_at >= since, Visit.checkin_at < until)
    # the partial index's own predicate, as a literal (a bound '' would not match it on SQLite)
    flagged = sa.and_(Visit.checkin_flag != sa.literal_column("''"), period, reach)
    far = sa.func.sum(sa.case((Visit.checkin_flag == "far", 1), else_=0))
    counts = {person: [int(n), int(f or 0), int(n) - int(f or 0)] for person, n, f in session.execute(
        select(Visit.assignee_id, sa.func.count(), far).where(flagged).group_by(Visit.assignee_id)).all()}
    total = sum(n for person, (n, _f, _none) in counts.items() if not assignee_id or person == assignee_id)
    people = {}
    if counts:
        for person, plain in session.execute(select(Visit.assignee_id, sa.func.count())
                                             .where(Visit.checkin_flag == "", in_ids(session, Visit.assignee_id, counts),
                                                    period, reach).group_by(Visit.assignee_id)).all():
            counts[person][0] += plain
        people = {u.id: u for u in session.exec(select(User).where(User.id.in_(list(counts)))).all()}
    by_person = sorted(((people[i], *counts[i]) for i in counts if i in people),
                       key=lambda r: (-(r[2] + r[3]), r[0].display_name))
    # the page's rows walking the flagged check-ins newest first, stopping at the page's end
    listed = select(Visit).where(flagged)
    if assignee_id:
        listed = listed.where(Visit.assignee_id == assignee_id)
    rows = visit_rows(session, listed.order_by(Visit.checkin_at.desc(), Visit.id.desc())
                      .offset((page - 1) * PER_PAGE).limit(PER_PAGE)) if total else []
    return FlaggedCheckins(people=by_person, total=total, rows=rows)
