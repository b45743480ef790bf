from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.csv_import import import_page
from inspect_app.db import get_session, lock_on_write_only
from inspect_app.errors import DomainError
from inspect_app.forms_common import record_id
from inspect_app.http import REFUSED, get_or_404, run_service
from inspect_app.org import services
from inspect_app.org.forms import OutletForm, StaffForm, UnitForm, UnitRenameForm, WindowForm
from inspect_app.org.importing import OUTLETS, STAFF
from inspect_app.org.models import Outlet, StaffMember, Unit

bp = Blueprint("org", __name__)


def _require_admin():
    if not permissions.can_manage_org(current_user):
        abort(403)


def load_outlet(outlet_id: int) -> Outlet:
    """The outlet, if the user may see it; otherwise 404 (never 403: no hint that it exists)."""
    outlet = get_or_404(Outlet, outlet_id)
    if not permissions.outlet_in_scope(get_session(), current_user, outlet):
        abort(404)
    return outlet


@bp.route("/admin/units", methods=["GET", "POST"])
@login_required
def units():
    """The tree one level at a time: the children of ``?unit=`` (the provinces without it) with
    their counts, each a link one level down; a sub-unit is added to the unit shown."""
    _require_admin()
    db = get_session()
    # a unit no link names (a word, a number past 64 bits) is not found, never a 500 from the query
    node = get_or_404(Unit, request.args.get("unit", type=record_id) or 0) if request.args.get("unit") else None
    form = UnitForm()
    if form.validate_on_submit():
        unit = run_service(lambda db: services.create_unit(db, actor=current_user, code=form.code.data,
                                                            name=form.name.data, parent=_parent(db, form.parent_id.data)),
                           lambda unit: _("Unit %(name)s created.", name=unit.name))
        if unit is not REFUSED:
            return redirect(url_for("org.units", unit=unit.parent_id))
    ancestors, children = services.unit_level(db, node)
    return render_template("org/units.html", node=node, ancestors=ancestors, children=children, form=form,
                           rename_form=UnitRenameForm())


def _parent(db, typed: str | None) -> Unit | None:
    """The unit a sub-unit goes under, from the hidden field of its row; a value no row of the
    page sends (a word, a number past the database's range, a unit that is gone) is refused, not
    read as "no parent" (that made a new top-level unit) nor left to ``int()`` (a 500)."""
    typed = (typed or "").strip()
    if not typed:
        return None
    parent = db.get(Unit, int(typed)) if typed.isascii() and typed.isdigit() and int(typed) < 2 ** 63 else None
    if parent is None:
        raise DomainError(_("The parent unit does not exist. Reload the page and try again."))
    return parent


@bp.route("/admin/units/<int:unit_id>", methods=["POST"])
@login_required
def unit_rename(unit_id: int):
    _require_admin()
    unit = get_or_404(Unit, unit_id)
    form = UnitRenameForm()
    if form.validate_on_submit():
        run_service(lambda db: services.rename_unit(db, actor=current_user, unit=unit, name=form.name.data), _("Saved."))
    return redirect(url_for("org.units", unit=unit.parent_id))


@bp.route("/outlets")
@login_required
def outlets():
    if not permissions.can_see_outlet_list(current_user):
        abort(403)
    db = get_session()
    q = (request.args.get("q") or "").strip()
    unit_id = request.args.get("unit", type=record_id)
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total = services.search_outlets(db, user=current_user, q=q, unit_id=unit_id, page=page)
    shown = db.get(Unit, unit_id) if unit_id else None
    units = services.unit_tree_labels(db, sa.and_(permissions.units_clause(db, current_user), services.picker_units(shown)))
    return render_template("org/outlets.html", outlets=rows, total=total, page=page, per_page=30, q=q,
                           unit_id=unit_id, units=units, unit_names=services.unit_names(db, [o.unit_id for o in rows]))


@bp.route("/admin/outlets/new", methods=["GET", "POST"])
@bp.route("/admin/outlets/<int:outlet_id>/edit", methods=["GET", "POST"])
@login_required
def outlet_edit(outlet_id: int | None = None):
    _require_admin()
    db = get_session()
    outlet = get_or_404(Outlet, outlet_id) if outlet_id else None
    unit = db.get(Unit, outlet.unit_id) if outlet is not None else None
    form = OutletForm(obj=outlet)
    if unit is not None and not form.is_submitted():
        form.unit_code.data = unit.code
    if form.validate_on_submit():
        saved = run_service(lambda db: services.save_outlet(
            db, actor=current_user, outlet=outlet, code=form.code.data, name=form.name.data,
            address=form.address.data or "", lat=form.lat.data, lon=form.lon.data,
            unit_id=services.county_by_code(db, form.unit_code.data).id,
            timezone=form.timezone.data, active=form.active.data,
        ), _("Saved."))
        if saved is not REFUSED:
            return redirect(url_for("dashboard.outlet", outlet_id=saved.id))
    return render_template("org/outlet_form.html", form=form, outlet=outlet, unit=unit)


@bp.route("/admin/outlets/<int:outlet_id>/windows", methods=["POST"])
@login_required
def window_add(outlet_id: int):
    _require_admin()
    outlet = get_or_404(Outlet, outlet_id)
    form = WindowForm()
    if form.validate_on_submit():
        run_service(lambda db: services.save_window(db, actor=current_user, outlet=outlet, window=None,
                                                     number=form.number.data, name=form.name.data or ""),
                    _("Window added."))
    else:
        flash(_("Give the window a number."), "error")
    return redirect(url_for("dashboard.outlet", outlet_id=outlet.id))


@bp.route("/admin/outlets/import", methods=["GET", "POST"])
@lock_on_write_only
@login_required
def outlets_import():
    _require_admin()
    return import_page(OUTLETS, "outlets", "org.outlets")


# --- the staff register ----------------------------------------------------------------------------

def staff_selection() -> tuple[str, str]:
    """The staff list's search and outlet code from the query string, for those who see it."""
    if not permissions.can_see_staff(current_user):
        abort(403)
    return (request.args.get("q") or "").strip()[:100], (request.args.get("outlet") or "").strip()[:32]


@bp.route("/staff")
@login_required
def staff():
    q, outlet_code = staff_selection()
    page = max(1, request.args.get("page", 1, type=record_id))
    rows, total = services.search_staff(get_session(), user=current_user, q=q, outlet_code=outlet_code, page=page)
    return render_template("org/staff.html", rows=rows, total=total, page=page, per_page=30, q=q,
                           outlet_code=outlet_code)


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@bp.route("/admin/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@login_required
def staff_edit(staff_id: int | None = None):
    _require_admin()
    db = get_session()
    member = get_or_404(StaffMember, staff_id) if staff_id else None
    form = StaffForm(obj=member)
    if member is not None and not form.is_submitted():
        form.outlet_code.data = db.get(Outlet, member.outlet_id).code
    if form.validate_on_submit():
        saved = run_service(lambda db: services.save_staff(
            db, actor=current_user, staff=member, job_number=form.job_number.data, name=form.name.data,
            post=form.post.data or "", outlet_code=form.outlet_code.data, active=form.active.data,
        ), lambda saved: _("Saved: %(number)s %(name)s.", number=saved.job_number, name=saved.name))
        if saved is not REFUSED:
            return redirect(url_for("org.staff", outlet=form.outlet_code.data.strip()))
    return render_template("org/staff_form.html", form=form, member=member)


@bp.route("/admin/staff/import", methods=["GET", "POST"])
@lock_on_write_only
@login_required
def staff_import():
    _require_admin()
    return import_page(STAFF, "staff", "org.staff")
