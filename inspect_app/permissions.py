"""Who may do what: every permission predicate of the app lives here.

Views call these to decide 403/404, templates to hide what cannot be used, services to refuse
again (a view is not the only caller). Predicates take the acting user first.

Cross-cutting by design: it reads the table models of every domain it judges (and nothing else of
them), and the layer contract lets every domain use it.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context
from sqlmodel import Session, select

from inspect_app import clock
from inspect_app.auth.models import UNIT_SCOPED_ROLES, Role, User, UserOutlet
from inspect_app.complaints.models import Accountability, Complaint
from inspect_app.org.models import Outlet, Unit
from inspect_app.plans.models import InspectionPlan
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from inspect_app.visits.models import SELF_KIND, Visit, VisitStatus


def is_admin(user: User) -> bool:
    return user.is_authenticated and user.role == Role.admin


def can_manage_org(user: User) -> bool:
    """Unit tree, outlets, users and imports are the admin's."""
    return is_admin(user)


def can_see_org_pages(user: User) -> bool:
    """Outlet lists and details for people who work over a region."""
    return user.is_authenticated and (is_admin(user) or user.role in UNIT_SCOPED_ROLES)


def _memo(key: tuple, compute):
    """Per-request memo: scope lookups run once per request, not once per predicate call."""
    if not has_app_context():
        return compute()
    memo = g.setdefault("_permission_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def scope_path(session: Session, user: User) -> str | None:
    """Materialised path of the user's unit subtree, or None when the user has no unit scope."""
    if user.role not in UNIT_SCOPED_ROLES or user.unit_id is None:
        return None
    return _memo(("unit_path", user.unit_id),
                 lambda: session.exec(select(Unit.path).where(Unit.id == user.unit_id)).first())


def branch_outlet_ids(session: Session, user: User) -> set[int]:
    return _memo(("outlets", user.id), lambda: set(
        session.exec(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)).all()))


def unit_in_scope(session: Session, user: User, unit: Unit) -> bool:
    if is_admin(user):
        return True
    path = scope_path(session, user)
    return path is not None and unit.path.startswith(path)


def units_clause(session: Session, user: User):
    """A WHERE clause on ``Unit`` limiting to what the user may see."""
    if is_admin(user):
        return sa.true()
    path = scope_path(session, user)
    if path is None:
        return sa.false()
    return Unit.path.startswith(path, autoescape=True)


def outlets_clause(session: Session, user: User):
    """A WHERE clause on ``Outlet`` limiting to the outlets the user may see as an organisation.

    Shoppers get nothing here: they reach an outlet only through a visit assigned to them.
    """
    if is_admin(user):
        return sa.true()
    if user.role == Role.branch_chief:
        ids = branch_outlet_ids(session, user)
        return Outlet.id.in_(ids) if ids else sa.false()
    path = scope_path(session, user)
    if path is None:
        return sa.false()
    return Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path, autoescape=True)))


def outlet_in_scope(session: Session, user: User, outlet: Outlet) -> bool:
    if is_admin(user):
        return True
    if user.role == Role.branch_chief:
        return outlet.id in branch_outlet_ids(session, user)
    path = scope_path(session, user)
    if path is None:
        return False
    unit_path = _memo(("unit_path", outlet.unit_id),
                      lambda: session.exec(select(Unit.path).where(Unit.id == outlet.unit_id)).one())
    return unit_path.startswith(path)


# --- visits ------------------------------------------------------------------------------------

def can_schedule(user: User) -> bool:
    """Managers plan visits for their region (admins anywhere)."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager)


def can_start_adhoc(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.inspector, Role.manager)


def can_be_assigned(user: User, kind: str) -> bool:
    """Secret visits go to shoppers only; self-inspections (自查) to branch chiefs only; every other
    kind to inspectors (or managers who inspect)."""
    if not user.active:
        return False
    if kind == "secret":
        return user.role == Role.shopper
    if kind == SELF_KIND:
        return user.role == Role.branch_chief
    return user.role in (Role.inspector, Role.manager)


def _in_unit(session: Session, user: User, unit: Unit) -> bool:
    """The user's own unit lies in ``unit``'s subtree (an inspector "of" that unit)."""
    path = scope_path(session, user)
    return path is not None and path.startswith(unit.path)


def can_be_assigned_at(session: Session, user: User, kind: str, outlet: Outlet, *,
                       paired_unit: Unit | None = None) -> bool:
    """Whether the person may be given a visit of this kind at this outlet.

    Shoppers go anywhere (rotation and blackouts are the scheduling's checks); everyone else only
    within their unit, with one exception: a plan's cross-inspection (区域巡查互查) sends the
    inspectors of the paired unit (``paired_unit``) to the outlets of another unit, and only them.
    """
    if not can_be_assigned(user, kind):
        return False
    if kind == "secret":
        return True
    if kind == SELF_KIND:  # the outlet's own chief, for their own outlet only
        return outlet.id in branch_outlet_ids(session, user)
    if paired_unit is not None:
        return user.role == Role.inspector and _in_unit(session, user, paired_unit)
    return outlet_in_scope(session, user, outlet)


#: The statuses in which a visit is still its assignee's to do (or, for a secret visit, under review).
HELD_STATUSES = (VisitStatus.scheduled, VisitStatus.in_progress, VisitStatus.in_review, VisitStatus.returned)


def holds_visit(session: Session, user: User, visit) -> bool:
    """The assignee's hold on a visit. People with a unit hold a visit outside it (a plan's
    cross-inspection) only while it is theirs to do: once it is released or cancelled, it and its
    outlet are out of their scope like any other. Shoppers (no unit) keep their own visits."""
    if not user.is_authenticated or visit.assignee_id != user.id:
        return False
    if user.role not in UNIT_SCOPED_ROLES or visit.status in HELD_STATUSES:
        return True
    return outlet_in_scope(session, user, session.get(Outlet, visit.outlet_id))


def _held_clause(session: Session, user: User):
    """``holds_visit`` as a WHERE clause on ``Visit``, beside a clause for the user's scope."""
    return sa.and_(Visit.assignee_id == user.id, Visit.status.in_(HELD_STATUSES))


def held_clause(session: Session, user: User):
    """The visits the user holds (assigned and not done), wherever they are: a WHERE clause on ``Visit``."""
    return _held_clause(session, user)


def can_view_outlet(session: Session, user: User, outlet: Outlet) -> bool:
    """An outlet's page: the outlets in scope, and for an inspector the outlets of the visits they
    hold outside their unit (a cross-inspection), only while they hold one there that is started
    or whose date window has begun at the outlet (a visit planned for next month opens nothing yet)."""
    if outlet_in_scope(session, user, outlet):
        return True
    if not user.is_authenticated or user.role not in (Role.inspector, Role.manager):
        return False
    due = sa.or_(Visit.status != VisitStatus.scheduled, Visit.due_from.is_(None),
                 Visit.due_from <= clock.today(outlet.timezone))
    return session.exec(select(Visit.id).where(_held_clause(session, user), Visit.outlet_id == outlet.id, due)
                        .limit(1)).first() is not None


def can_view_visit(session: Session, user: User, visit) -> bool:
    """Who may see a visit at all. Out of scope → the caller answers 404, never 403.

    The outlet side (branch chiefs) sees only released visits of its own outlets; a shopper only
    the visits assigned to them; inspectors see secret visits of others only once released; an
    assignee sees a visit outside their unit only while they hold it (``holds_visit``).
    """
    if not user.is_authenticated:
        return False
    if is_admin(user) or holds_visit(session, user, visit):
        return True
    if user.role in (Role.shopper, Role.handler):
        return False  # complaint handlers work on complaints, not on visits
    outlet = session.get(Outlet, visit.outlet_id)
    if not outlet_in_scope(session, user, outlet):
        return False
    if user.role == Role.branch_chief:
        # released findings, and the outlet's own self-inspections (自查) at every stage: its
        # chiefs fill them and may hand them to one another
        return visit.status == VisitStatus.released or visit.kind == SELF_KIND
    if user.role == Role.inspector and visit.kind == "secret":
        return visit.status == VisitStatus.released
    return True


def sees_released_visits_of(session: Session, user: User, outlet: Outlet) -> bool:
    """Whether the user may see every released visit of the outlet, whoever made it: the rule of
    ``can_view_visit`` for a released visit not assigned to the user, asked once per outlet."""
    if not user.is_authenticated:
        return False
    if is_admin(user):
        return True
    if user.role in (Role.shopper, Role.handler):
        return False
    return outlet_in_scope(session, user, outlet)


def can_manage_visit(session: Session, user: User, visit) -> bool:
    """Reschedule or cancel: managers of the outlet's region."""
    if not can_schedule(user):
        return False
    return is_admin(user) or outlet_in_scope(session, user, session.get(Outlet, visit.outlet_id))


def can_review_secret_visits(user: User) -> bool:
    """Reviewers check secret visits before release (managers and admins may stand in)."""
    return user.is_authenticated and user.role in (Role.reviewer, Role.admin, Role.manager)


def visit_sides(session: Session, user: User, visit) -> set[str]:
    """The sides a user takes towards a visit, for its transition table (``visits.lifecycle``)."""
    sides: set[str] = set()
    if not user.is_authenticated:
        return sides
    if visit.assignee_id == user.id:
        sides.add("assignee")
    if visit.kind == "secret" and visit.assignee_id != user.id and can_review_secret_visits(user) \
            and can_view_visit(session, user, visit):
        sides.add("reviewer")  # never one's own visit
    if can_manage_visit(session, user, visit):
        sides.add("manager")
    return sides


def sees_shopper_identity(user: User) -> bool:
    """The outlet side knows a shopper only by code name."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer)


def visits_clause(session: Session, user: User, *, outlet_key=None):
    """A WHERE clause on ``Visit`` matching ``can_view_visit`` for lists and counts. ``outlet_key``:
    the visit's outlet as the scope checks it (``db.unindexed(Visit.outlet_id)`` for rows another
    index chooses: the planners otherwise read the scope's every visit by outlet)."""
    if is_admin(user):
        return sa.true()
    if user.role == Role.shopper:
        return Visit.assignee_id == user.id
    if user.role == Role.handler:
        return _held_clause(session, user)
    in_scope = (Visit.outlet_id if outlet_key is None else outlet_key).in_(
        select(Outlet.id).where(outlets_clause(session, user)))
    if user.role == Role.branch_chief:
        return sa.and_(in_scope, sa.or_(Visit.status == VisitStatus.released, Visit.kind == SELF_KIND))
    if user.role == Role.inspector:
        return sa.or_(_held_clause(session, user),
                      sa.and_(in_scope, sa.or_(Visit.kind != "secret", Visit.status == VisitStatus.released,
                                               Visit.assignee_id == user.id)))
    return sa.or_(_held_clause(session, user), in_scope)


# --- inspection plans ----------------------------------------------------------------------------

def can_manage_plans(user: User) -> bool:
    """Plans are made by managers for their unit subtree (admins anywhere)."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager)


def can_manage_plan(session: Session, user: User, plan: InspectionPlan) -> bool:
    """A plan is its unit's: the managers over that unit (admins anywhere). Others → 404."""
    if not can_manage_plans(user):
        return False
    return is_admin(user) or unit_in_scope(session, user, session.get(Unit, plan.unit_id))


def plans_clause(session: Session, user: User):
    """A WHERE clause on ``InspectionPlan`` for the plan list."""
    if not can_manage_plans(user):
        return sa.false()
    return InspectionPlan.unit_id.in_(select(Unit.id).where(units_clause(session, user)))


def can_see_coverage(user: User) -> bool:
    """Plan coverage and the missed visits: the board's viewers (the inspection side)."""
    return can_see_board(user)


# --- rectification -------------------------------------------------------------------------------

def is_outlet_side(user: User) -> bool:
    return user.is_authenticated and user.role == Role.branch_chief


def can_answer_for_outlet(session: Session, user: User, outlet_id: int) -> bool:
    """The outlet side acts on its own notices: acknowledge, answer, dispute."""
    return is_outlet_side(user) and outlet_id in branch_outlet_ids(session, user)


def can_verify_lines(session: Session, user: User, outlet_id: int, *, from_complaint: bool = False) -> bool:
    """The inspection side of the outlet's region verifies answers and decides disputes; for a line
    raised from a complaint, the complaint handlers of the region as well."""
    roles = (Role.admin, Role.manager, Role.reviewer, Role.inspector) + ((Role.handler,) if from_complaint else ())
    if not user.is_authenticated or user.role not in roles:
        return False
    return is_admin(user) or outlet_in_scope(session, user, session.get(Outlet, outlet_id))


def can_change_deadlines(session: Session, user: User, outlet_id: int) -> bool:
    """Deadlines and responsible persons are the issuer side's, never the outlet's."""
    return can_verify_lines(session, user, outlet_id)


def line_sides(session: Session, user: User, line) -> set[str]:
    """The sides a user takes towards a rectification line (``rectifications.lifecycle``): the
    outlet's chief answers an inspection's line and owns a self-inspection's (自查) line outright."""
    sides: set[str] = set()
    if can_answer_for_outlet(session, user, line.outlet_id):
        sides.add("owner" if line.checklist_kind == SELF_KIND else "outlet")
    if can_verify_lines(session, user, line.outlet_id, from_complaint=line.visit_id is None):
        sides.add("inspection")
    return sides


def notice_sides(session: Session, user: User, notice) -> set[str]:
    return {"outlet"} if can_answer_for_outlet(session, user, notice.outlet_id) else set()


def can_view_notice(session: Session, user: User, notice: RectificationNotice) -> bool:
    """A visit's notice: whoever may see the visit, but never a mystery shopper (not even of their
    own visit: the notice carries the outlet side's work, its answers and people, as the lists
    say). A complaint's notice: the outlet's side and the region's people; nothing in it is secret."""
    if not user.is_authenticated or user.role == Role.shopper:
        return False
    if notice.visit_id is not None:
        return can_view_visit(session, user, session.get(Visit, notice.visit_id))
    return outlet_in_scope(session, user, session.get(Outlet, notice.outlet_id))


def can_view_line(session: Session, user: User, line: RectificationLine) -> bool:
    return can_view_notice(session, user, session.get(RectificationNotice, line.notice_id))


def notices_clause(session: Session, user: User):
    """A WHERE clause on ``RectificationNotice`` for lists: complaint handlers see complaint notices only."""
    scope = RectificationNotice.outlet_id.in_(select(Outlet.id).where(outlets_clause(session, user)))
    if user.role == Role.handler:
        return sa.and_(scope, RectificationNotice.visit_id.is_(None))
    return scope


def can_see_outlet_list(user: User) -> bool:
    """The outlet list: people who work over a region, and branch chiefs (their own outlets)."""
    return can_see_org_pages(user) or (user.is_authenticated and user.role == Role.branch_chief)


def can_see_notices(user: User) -> bool:
    """Notices and reminders: everyone but mystery shoppers (who never see the outlet side's work)."""
    return user.is_authenticated and user.role != Role.shopper


def can_see_line_lists(user: User) -> bool:
    """The board's line lists: the board's viewers, and inspectors and branch chiefs for their reach."""
    return can_see_board(user) or (user.is_authenticated and user.role in (Role.inspector, Role.branch_chief))


def can_see_star_board(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer, Role.inspector)


def sees_visit_times(user: User, visit) -> bool:
    """Check-in and timer times of a secret visit: the inspection side and the shopper, never the
    outlet side (it learns the date only)."""
    return (visit.kind != "secret" or sees_shopper_identity(user) or visit.assignee_id == user.id
            or (user.is_authenticated and user.role == Role.inspector))


def sees_checkin_flags(user: User, visit) -> bool:
    """Where a check-in was made against the outlet (far, no location, the reason): the managing
    side and the visit's own assignee, never the outlet side (it is about the inspector's work)."""
    return user.is_authenticated and (user.role in (Role.admin, Role.manager, Role.reviewer) or visit.assignee_id == user.id)


def can_see_board(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer)


def may_download_original(user: User) -> bool:
    """Originals keep EXIF (place, device): only the inspection side gets them, never the outlet side."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer, Role.inspector)


def judges_evidence(user: User) -> bool:
    """Evidence checks (reused photos, capture time and place) are for the people who judge the
    evidence: the inspection side, and complaint handlers for the answers they verify. Never the
    outlet side, whose own answers are being judged (and who must not learn of a secret visit)."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer, Role.inspector,
                                                   Role.handler)


def can_view_line_id(session: Session, user: User, line_id: int) -> bool:
    line = session.get(RectificationLine, line_id)
    return line is not None and can_view_line(session, user, line)


def can_view_response_photo(session: Session, user: User, photo) -> bool:
    """After-photos of a rectification (and an extension request's photo): whoever may see the line."""
    line_id = photo.line_id
    if line_id is None:
        return False
    line = session.get(RectificationLine, line_id)
    if line is None:
        return False
    # a staged photo not yet submitted belongs to its uploader; an extension request's photo is
    # sent with the request, for the line's viewers
    if photo.response_id is None and photo.purpose != "extension" and photo.uploaded_by_id != user.id and not is_admin(user):
        return False
    return can_view_line(session, user, line)


# --- complaints, callbacks, accountability ---------------------------------------------------------

def is_handler(user: User) -> bool:
    return user.is_authenticated and user.role == Role.handler


def may_read_contact(user: User) -> bool:
    """Customers' names and phone numbers: complaint handlers only. Everyone else, administrators
    included, sees neither (not even masked) and reads free text with contact details taken out
    (``complaints.privacy``): in pages, exports and papers."""
    return is_handler(user)


def may_view_complaint_photos(user: User) -> bool:
    """A complaint's evidence photos often show a waybill (name, phone, address): complaint
    handlers, and administrators who answer for the data, only."""
    return user.is_authenticated and user.role in (Role.handler, Role.admin)


def can_see_complaints(user: User) -> bool:
    """The complaint register: handlers, the region's managers and reviewers, branch chiefs (their
    own outlets) and administrators. Inspectors and shoppers work on visits."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer, Role.handler,
                                                   Role.branch_chief)


def can_register_complaints(user: User) -> bool:
    return is_handler(user)


def complaints_clause(session: Session, user: User):
    """A WHERE clause on ``Complaint`` for lists and counts."""
    if not can_see_complaints(user):
        return sa.false()
    return Complaint.outlet_id.in_(select(Outlet.id).where(outlets_clause(session, user)))


def can_view_complaint(session: Session, user: User, complaint: Complaint) -> bool:
    return can_see_complaints(user) and outlet_in_scope(session, user, session.get(Outlet, complaint.outlet_id))


def complaint_sides(session: Session, user: User, complaint: Complaint) -> set[str]:
    """"handler": a complaint handler of the outlet's region; "owner": the one who holds it now."""
    sides: set[str] = set()
    if is_handler(user) and can_view_complaint(session, user, complaint):
        sides.add("handler")
        if complaint.owner_id == user.id:
            sides.add("owner")
    return sides


def can_decide_accountability(session: Session, user: User, outlet_id: int) -> bool:
    """Accountability is decided by the region's managers (administrators may stand in)."""
    if not user.is_authenticated or user.role not in (Role.admin, Role.manager):
        return False
    return is_admin(user) or outlet_in_scope(session, user, session.get(Outlet, outlet_id))


def can_open_accountability(session: Session, user: User, outlet_id: int) -> bool:
    """Handlers (for a complaint) and the region's managers may open a record for decision."""
    if is_handler(user):
        return outlet_in_scope(session, user, session.get(Outlet, outlet_id))
    return can_decide_accountability(session, user, outlet_id)


def accountability_sides(session: Session, user: User, record: Accountability) -> set[str]:
    sides: set[str] = set()
    if can_decide_accountability(session, user, record.outlet_id):
        sides.add("manager")
    if can_answer_for_outlet(session, user, record.outlet_id):
        sides.add("outlet")
    return sides


def accountability_clause(session: Session, user: User):
    if not can_see_complaints(user):
        return sa.false()
    return Accountability.outlet_id.in_(select(Outlet.id).where(outlets_clause(session, user)))


def can_see_staff(user: User) -> bool:
    """The staff register and each person's record: the people who see complaints, and inspectors
    (who name staff in findings)."""
    return can_see_complaints(user) or (user.is_authenticated and user.role == Role.inspector)


def can_commend(session: Session, user: User, outlet_id: int) -> bool:
    return can_decide_accountability(session, user, outlet_id)


# --- the indicator system ------------------------------------------------------------------------

def can_see_indicators(user: User) -> bool:
    """The composite ranking: the people who run a region's quality (not the outlet side)."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager, Role.reviewer)


def can_configure_quality_system(user: User) -> bool:
    """Checklists and the indicator tree (the quality office's own system): administrators."""
    return is_admin(user)


def can_import_operating_data(user: User) -> bool:
    """Operating data comes from the quality office: administrators, and managers for their units."""
    return user.is_authenticated and user.role in (Role.admin, Role.manager)
