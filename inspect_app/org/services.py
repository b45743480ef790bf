"""Units, outlets, windows and the staff register: creation, editing and the queries other domains share."""
from __future__ import annotations

import functools
import re
from zoneinfo import available_timezones

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from inspect_app import permissions, signals
from inspect_app.actors import Actor
from inspect_app.audit.services import record, snapshot
from inspect_app.errors import DomainError, PermissionDenied
from inspect_app.org.models import LEVEL_ORDER, Outlet, StaffMember, Unit, UnitLevel, Window
from inspect_app.text import fits, identifier, max_length

UNIT_FIELDS = ["code", "name", "level", "parent_id"]
OUTLET_FIELDS = ["code", "name", "address", "lat", "lon", "unit_id", "timezone", "active"]
STAFF_FIELDS = ["job_number", "name", "post", "outlet_id", "active"]


def _require_admin(actor: Actor | None) -> None:
    if actor is not None and not permissions.can_manage_org(actor):
        raise PermissionDenied(_("Only an administrator may change the organisation."))


def child_level(parent: Unit | None) -> UnitLevel:
    if parent is None:
        return UnitLevel.province
    index = LEVEL_ORDER.index(UnitLevel(parent.level))
    if index + 1 >= len(LEVEL_ORDER):
        raise DomainError(_("A county or district cannot have sub-units."))
    return LEVEL_ORDER[index + 1]


def create_unit(session: Session, *, actor: Actor | None, code: str, name: str, parent: Unit | None) -> Unit:
    _require_admin(actor)
    code = identifier(code, label=_l("The unit code"), max_length=max_length(Unit, "code"))
    name = name.strip()
    fits(name, label=_l("The unit name"), max_length=max_length(Unit, "name"))
    if not code or not name:
        raise DomainError(_("A unit needs a code and a name."))
    if session.exec(select(Unit).where(Unit.code == code)).first():
        raise DomainError(_("The unit code %(code)s is already used.", code=code))
    unit = Unit(code=code, name=name, level=child_level(parent), parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.add(unit)
    record(session, actor=actor, action="unit.created", obj=unit, after=snapshot(unit, UNIT_FIELDS))
    return unit


def rename_unit(session: Session, *, actor: Actor, unit: Unit, name: str) -> Unit:
    _require_admin(actor)
    name = name.strip()
    fits(name, label=_l("The unit name"), max_length=max_length(Unit, "name"))
    if not name:
        raise DomainError(_("A unit needs a name."))
    before = snapshot(unit, ["name"])
    unit.name = name
    session.add(unit)
    record(session, actor=actor, action="unit.renamed", obj=unit, before=before, after={"name": name})
    return unit


def unit_tree_labels(session: Session, clause=None) -> list[tuple[Unit, str]]:
    """Units in tree order, each with an indented label for select boxes and lists."""
    query = select(Unit).order_by(Unit.path)
    if clause is not None:
        query = query.where(clause)
    return _tree_labels(session.exec(query).all())


def unit_choices(session: Session, clause=None) -> list[tuple[int, str]]:
    """(id, indented label) of the units in tree order, for a select box: read as values, not as
    units (the nation's 3,200 units as objects took 100 ms of the schedule page)."""
    query = select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.path).order_by(Unit.path)
    if clause is not None:
        query = query.where(clause)
    return [(u.id, label) for u, label in _tree_labels(session.execute(query).all())]


def _tree_labels(units) -> list[tuple]:
    by_id = {u.id: u for u in units}

    def sort_key(unit):
        # Order siblings by code, not by id: path order alone sorts "/1/10/" before "/1/2/".
        chain, node = [], unit
        while node is not None:
            chain.append(node.code)
            node = by_id.get(node.parent_id)
        return list(reversed(chain))

    units = sorted(units, key=sort_key)
    return [(u, "\u3000" * (u.path.count("/") - 2) + u.name) for u in units]


def picker_units(node: Unit | None):
    """A WHERE clause on ``Unit`` for a unit picker: provinces and cities, and the counties beside
    and below ``node`` (the one shown): the nation's 2,800 counties made a select no one scrolls
    (and a fifth of a page's time)."""
    near = [Unit.parent_id == node.id, Unit.parent_id == node.parent_id] if node is not None else []
    return sa.or_(Unit.level != UnitLevel.county, *near)


def unit_names(session: Session, ids=None) -> dict[int, str]:
    """Unit id → name, of ``ids`` only when given."""
    query = select(Unit.id, Unit.name)
    if ids is not None:
        query = query.where(Unit.id.in_(sorted(set(ids))))
    return dict(session.execute(query).all())


def unit_by_code(session: Session, code: str | None) -> Unit:
    """The unit with this code; a form names a unit by its code (a select of the nation's 3,182
    units was most of a form's weight and unusable on a phone)."""
    code = (code or "").strip()
    unit = session.exec(select(Unit).where(Unit.code == code)).first() if code else None
    if unit is None:
        raise DomainError(_("There is no unit with the code %(code)s.", code=code) if code
                          else _("Give the code of the unit."))
    return unit


def county_by_code(session: Session, code: str | None) -> Unit:
    """The county or district with this code: an outlet belongs to one (the form's check; an
    import keeps its own)."""
    unit = unit_by_code(session, code)
    if unit.level != UnitLevel.county:
        raise DomainError(_("%(name)s (%(code)s) is not a county or district: an outlet belongs to a county or "
                            "district.", name=unit.name, code=unit.code))
    return unit


def outlets_by_codes(session: Session, text: str | None) -> list[Outlet]:
    """The outlets named by their codes in ``text`` (separated by spaces, commas or new lines), in
    the order given, each once; every unknown code is named in one message."""
    codes = list(dict.fromkeys(c for c in re.split(r"[\s,，;；、]+", text or "") if c))
    if not codes:
        return []
    found = {o.code: o for o in session.exec(select(Outlet).where(Outlet.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise DomainError(_("There is no outlet with the code %(codes)s.", codes="、".join(unknown[:10])))
    return [found[c] for c in codes]


def unit_level(session: Session, node: Unit | None) -> tuple[list[Unit], list[tuple[Unit, int, int]]]:
    """One level of the tree for the units page: the ancestors of ``node`` (root first) and its
    children (the provinces when None) by code, each with its outlets and direct sub-units
    counted through its whole subtree. Four statements whatever the tree's size: the nation's
    3,182 units on one page took 2.6 s and 2.3 MB."""
    ancestor_ids = [int(i) for i in node.path.strip("/").split("/")[:-1]] if node is not None else []
    ancestors = {u.id: u for u in session.exec(select(Unit).where(Unit.id.in_(ancestor_ids)))} if ancestor_ids else {}
    parent_clause = Unit.parent_id == node.id if node is not None else Unit.parent_id.is_(None)
    children = list(session.exec(select(Unit).where(parent_clause).order_by(Unit.code)).all())
    below = select(Unit.id, Unit.path, Unit.parent_id)
    outlets = select(Outlet.unit_id, sa.func.count()).group_by(Outlet.unit_id)
    if node is not None:
        below = below.where(Unit.path.startswith(node.path, autoescape=True), Unit.id != node.id)
        outlets = outlets.where(Outlet.unit_id.in_(select(Unit.id).where(Unit.path.startswith(node.path, autoescape=True))))
    depth = len(ancestor_ids) + 1 if node is not None else 0  # index of the child's id in a path
    counts = dict(session.execute(outlets).all())
    n_outlets: dict[int, int] = {}
    n_units: dict[int, int] = {}
    for unit_id, path, parent_id in session.execute(below).all():
        child = int(path.strip("/").split("/")[depth])
        n_outlets[child] = n_outlets.get(child, 0) + counts.get(unit_id, 0)
        if parent_id == child:
            n_units[child] = n_units.get(child, 0) + 1
    return ([ancestors[i] for i in ancestor_ids if i in ancestors],
            [(u, n_outlets.get(u.id, 0), n_units.get(u.id, 0)) for u in children])


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())  # walks the tz database on disk: about 18 ms a call


def validate_timezone(tz: str) -> str:
    tz = (tz or "").strip() or "Asia/Shanghai"
    if tz not in _zones():
        raise DomainError(_("Unknown time zone %(tz)s.", tz=tz))
    return tz


def validate_location(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise DomainError(_("Give both latitude and longitude, or neither."))
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError(_("Latitude must lie within ±90 and longitude within ±180."))


def check_outlet_text(*, code: str, name: str, address: str) -> tuple[str, str]:
    """The outlet's code (normalised, nothing invisible) and name, each within its column."""
    code = identifier(code, label=_l("The outlet code"), max_length=max_length(Outlet, "code"))
    name = name.strip()
    fits(name, label=_l("The outlet name"), max_length=max_length(Outlet, "name"))
    fits(address.strip(), label=_l("The address"), max_length=max_length(Outlet, "address"))
    return code, name


def save_outlet(
    session: Session,
    *,
    actor: Actor | None,
    outlet: Outlet | None,
    code: str,
    name: str,
    address: str,
    lat: float | None,
    lon: float | None,
    unit_id: int,
    timezone: str,
    active: bool = True,
) -> Outlet:
    """Create (``outlet`` None) or update an outlet."""
    _require_admin(actor)
    code, name = check_outlet_text(code=code, name=name, address=address)
    if not code or not name:
        raise DomainError(_("An outlet needs a code and a name."))
    clash = session.exec(select(Outlet).where(Outlet.code == code)).first()
    if clash is not None and (outlet is None or clash.id != outlet.id):
        raise DomainError(_("The outlet code %(code)s is already used.", code=code))
    if session.get(Unit, unit_id) is None:
        raise DomainError(_("The unit does not exist."))
    validate_location(lat, lon)
    timezone = validate_timezone(timezone)
    before = snapshot(outlet, OUTLET_FIELDS) if outlet else None
    if outlet is None:
        outlet = Outlet(code=code, name=name, unit_id=unit_id)
    outlet.code, outlet.name, outlet.address = code, name, address.strip()
    outlet.lat, outlet.lon, outlet.unit_id, outlet.timezone, outlet.active = lat, lon, unit_id, timezone, active
    session.add(outlet)
    session.flush()
    after = snapshot(outlet, OUTLET_FIELDS)
    if before != after:
        record(session, actor=actor, action="outlet.created" if before is None else "outlet.updated",
               obj=outlet, before=before, after=after)
    if before is not None and before["unit_id"] != after["unit_id"]:
        signals.outlets_moved.send("org", session=session, moves={outlet.id: (before["unit_id"], after["unit_id"])})
    return outlet


def save_window(
    session: Session, *, actor: Actor | None, outlet: Outlet, window: Window | None, number: str, name: str,
    active: bool = True,
) -> Window:
    _require_admin(actor)
    number = identifier(number, label=_l("The window number"), max_length=max_length(Window, "number"))
    fits(name.strip(), label=_l("The window's purpose"), max_length=max_length(Window, "name"))
    if not number:
        raise DomainError(_("A window needs a number."))
    clash = session.exec(select(Window).where(Window.outlet_id == outlet.id, Window.number == number)).first()
    if clash is not None and (window is None or clash.id != window.id):
        raise DomainError(_("Window %(number)s already exists at this outlet.", number=number))
    before = snapshot(window, ["number", "name", "active"]) if window else None
    if window is None:
        window = Window(outlet_id=outlet.id, number=number)
    window.number, window.name, window.active = number, name.strip(), active
    session.add(window)
    session.flush()
    record(session, actor=actor, action="window.created" if before is None else "window.updated", obj=window,
           before=before, after=snapshot(window, ["number", "name", "active"]))
    return window


def windows_of(session: Session, outlet_id: int, active_only: bool = False) -> list[Window]:
    query = select(Window).where(Window.outlet_id == outlet_id)
    if active_only:
        query = query.where(Window.active.is_(True))
    windows = session.exec(query).all()
    return sorted(windows, key=lambda w: (len(w.number), w.number))


def search_outlets(session: Session, *, user: Actor, q: str = "", unit_id: int | None = None,
                   page: int = 1, per_page: int = 30) -> tuple[list[Outlet], int]:
    """Outlets the user may see, filtered and paged; returns (rows, total).

    A unit's outlets are selected by the ids of the units under it, read first: given the path
    condition instead, the database cannot tell a county's 14 outlets from a province's 1,300 and
    walked all 50,000 outlets in code order to find a county's page (60 ms on the national data)."""
    query = select(Outlet).where(permissions.outlets_clause(session, user))
    paths = [path for path in (permissions.scope_path(session, user),) if path is not None]
    if unit_id:
        unit = session.get(Unit, unit_id)
        if unit is not None:
            paths.append(unit.path)
    if paths:
        units = select(Unit.id)
        for path in paths:
            units = units.where(Unit.path.startswith(path, autoescape=True))
        query = query.where(Outlet.unit_id.in_(session.exec(units).all()))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(Outlet.code.ilike(like) | Outlet.name.ilike(like) | Outlet.address.ilike(like))
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Outlet.code).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


#: Planning by scope: a viewer with at most this many outlets in view has their outlets' rows read
#: outlet by outlet (the outlet indexes); above it, the country's rows of a period or a state are
#: walked in index order and the scope applied to each. Reading a scope's own rows costs what the
#: scope holds and one index probe per outlet, so this stays below only the nation itself: on
#: 50,000 outlets a county (~20), a city (~150) and a province (~1,600) read their own; a
#: province's late lines by its outlets took a few ms where the country's walk took seconds.
SCOPE_FIRST_OUTLETS = 5000


def few_outlets(outlet_ids) -> list[int] | None:
    """The ids, sorted, when few enough to plan by (``SCOPE_FIRST_OUTLETS``); else None."""
    return sorted(outlet_ids) if len(outlet_ids) <= SCOPE_FIRST_OUTLETS else None


def outlets_in(session: Session, user: Actor, where=None) -> dict[int, int]:
    """Outlet id → unit id for the outlets the user may see (and ``where`` allows): one query."""
    query = select(Outlet.id, Outlet.unit_id).where(permissions.outlets_clause(session, user))
    if where is not None:
        query = query.where(where)
    return dict(session.execute(query).all())


# --- the staff register (营业员, 投递员, 大堂经理: people, not accounts) ---------------------------

def check_staff_text(*, job_number: str, name: str, post: str) -> tuple[str, str, str]:
    """The job number (normalised like a code), name and post, each within its column."""
    job_number = identifier(job_number, label=_l("The job number"), max_length=max_length(StaffMember, "job_number"))
    name, post = name.strip(), post.strip()
    fits(name, label=_l("The name"), max_length=max_length(StaffMember, "name"))
    fits(post, label=_l("The post"), max_length=max_length(StaffMember, "post"))
    return job_number, name, post


def save_staff(session: Session, *, actor: Actor | None, staff: StaffMember | None, job_number: str, name: str,
               post: str, outlet_code: str, active: bool = True) -> StaffMember:
    """Add (``staff`` None) or edit one person of the register; the outlet is named by its code."""
    _require_admin(actor)
    job_number, name, post = check_staff_text(job_number=job_number, name=name, post=post)
    if not job_number or not name:
        raise DomainError(_("A staff member needs a job number and a name."))
    clash = session.exec(select(StaffMember).where(StaffMember.job_number == job_number)).first()
    if clash is not None and (staff is None or clash.id != staff.id):
        raise DomainError(_("The job number %(number)s is already used.", number=job_number))
    code = (outlet_code or "").strip()
    outlet = session.exec(select(Outlet).where(Outlet.code == code)).first() if code else None
    if outlet is None:
        raise DomainError(_("There is no outlet with the code %(code)s.", code=code) if code
                          else _("Give the code of the outlet the person works at."))
    before = snapshot(staff, STAFF_FIELDS) if staff else None
    if staff is None:
        staff = StaffMember(job_number=job_number, name=name, outlet_id=outlet.id)
    staff.job_number, staff.name, staff.post, staff.outlet_id, staff.active = job_number, name, post, outlet.id, active
    session.add(staff)
    session.flush()
    after = snapshot(staff, STAFF_FIELDS)
    if before != after:
        record(session, actor=actor, action="staff.created" if before is None else "staff.updated", obj=staff,
               before=before, after=after)
    return staff


def staff_query(session: Session, *, user: Actor, q: str = "", outlet_code: str = ""):
    """(staff member, outlet) of the outlets the user may see, filtered, unordered."""
    query = (select(StaffMember, Outlet).join(Outlet, Outlet.id == StaffMember.outlet_id)
             .where(permissions.outlets_clause(session, user)))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(StaffMember.name.ilike(like) | StaffMember.job_number.ilike(like))
    if outlet_code:
        query = query.where(Outlet.code == outlet_code.strip())
    return query


STAFF_ORDER = (Outlet.code, StaffMember.job_number)


def search_staff(session: Session, *, user: Actor, q: str = "", outlet_code: str = "", page: int = 1,
                 per_page: int = 30) -> tuple[list[tuple[StaffMember, Outlet]], int]:
    """Staff of the outlets the user may see, with their outlet, filtered and paged; (rows, total)."""
    query = staff_query(session, user=user, q=q, outlet_code=outlet_code)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*STAFF_ORDER).offset((page - 1) * per_page).limit(per_page)).all()
    return [tuple(row) for row in rows], total


def staff_to_name(session: Session, outlet_id: int, *, named: set[int] = frozenset()) -> list[StaffMember]:
    """The people a finding at the outlet may name, by job number: its active staff, and those
    ``named`` already (who stay on their findings after they left)."""
    query = select(StaffMember).where(StaffMember.outlet_id == outlet_id,
                                      StaffMember.active.is_(True) | StaffMember.id.in_(named))
    return list(session.exec(query.order_by(StaffMember.job_number)).all())


def staff_by_id(session: Session, ids) -> dict[int, StaffMember]:
    """The staff members with these ids (those findings and lines name), by id: one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {s.id: s for s in session.exec(select(StaffMember).where(StaffMember.id.in_(ids)))}
