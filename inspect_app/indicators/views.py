from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app import clock, permissions, tabular
from inspect_app.audit.services import record_export
from inspect_app.csv_import import ImportFailed, run_import
from inspect_app.db import get_session, lock_on_write_only, not_a_page
from inspect_app.downloads import views as downloads
from inspect_app.downloads.services import rendering_in_worker
from inspect_app.errors import DomainError
from inspect_app.forms_common import ActionForm, CsvUploadForm, flash_form_errors, record_id
from inspect_app.http import get_or_404, is_safe_next, run_service
from inspect_app.i18n import select_locale, select_timezone
from inspect_app.indicators import importing, rows, services
from inspect_app.numbers import half_up
from inspect_app.org.models import Unit

bp = Blueprint("indicators", __name__)


def _selection():
    """The ranking's unit and period from the query string, after its checks."""
    if not permissions.can_see_indicators(current_user):
        abort(403)
    db = get_session()
    node_id = request.args.get("unit", type=record_id) or current_user.unit_id
    node = db.get(Unit, node_id) if node_id else None
    if node is not None and not permissions.unit_in_scope(db, current_user, node):
        abort(404)
    zone = select_timezone()
    try:
        period = services.period_of(request.args.get("period"), zone)
    except DomainError as exc:
        flash(exc.message, "error")
        period = services.period_of(None, zone)
    return db, node, period, zone


@bp.route("/indicators")
@login_required
def ranking():
    db, node, period, zone = _selection()
    result = services.ranking(db, current_user, node=node, period=period, zone=zone)
    parent = db.get(Unit, node.parent_id) if node is not None and node.parent_id else None
    if parent is not None and not permissions.unit_in_scope(db, current_user, parent):
        parent = None
    snapshot = services.snapshot_of(db, node, period)
    may_publish = (permissions.is_admin(current_user) or (current_user.role == "manager" and node is not None)) \
        and clock.day_start(period.end, zone) <= clock.now()
    return render_template("indicators/ranking.html", r=result, parent=parent, locale=select_locale(),
                           snapshot=snapshot, may_publish=may_publish, form=ActionForm(),
                           refresh=refresh_form(db, node))


def refresh_form(db, node: Unit | None) -> ActionForm | None:
    """The 重新计算 button's form, for those who may press it (a manager of the unit, an admin)."""
    return ActionForm() if services.may_refresh(db, current_user, node) else None


@bp.route("/indicators/refresh", methods=["POST"])
@login_required
def refresh():
    """重新计算: the worker computes the unit's figures for the period again (and the units' below)."""
    db, node, period, _zone = _selection()  # 403 / 404 out of scope
    if not services.may_refresh(db, current_user, node):
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        services.request_refresh(db, periods=[period, period.previous()], node=node, requested_by=current_user)
        db.commit()
        flash(_("Recomputing: the figures are computed again in the background and appear in a minute or two."),
              "success")
    else:
        flash_form_errors(form)
    target = request.args.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for("indicators.ranking", period=period.label, **({"unit": node.id} if node else {})))


@bp.route("/indicators/publish", methods=["POST"])
@login_required
def publish():
    """发布 a finished period's ranking: its figures are kept and never recomputed."""
    db, node, period, zone = _selection()
    form = ActionForm()
    if form.validate_on_submit():
        run_service(lambda db: services.freeze(db, current_user, node=node, period=period, zone=zone),
                    _("Published: this period's ranking is kept as it is now."))
    args = {"period": period.label, **({"unit": node.id} if node else {})}
    return redirect(url_for("indicators.ranking", **args))


@bp.route("/indicators/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    db, _node, period, zone = _selection()
    target = get_or_404(Unit, unit_id)
    if not permissions.unit_in_scope(db, current_user, target):
        abort(404)
    result, score = services.unit_score(db, current_user, unit=target, period=period, zone=zone)
    return render_template("indicators/unit.html", r=result, s=score, unit=target, locale=select_locale(),
                           has_children=bool(services.children_of(db, current_user, target)),
                           refresh=refresh_form(db, result.node))


def _rows_of(unit_id: int, code: str, limit: int | None = rows.LIMIT):
    db, _node, period, zone = _selection()
    target = get_or_404(Unit, unit_id)
    if not permissions.unit_in_scope(db, current_user, target):
        abort(404)
    result, score = services.unit_score(db, current_user, unit=target, period=period, zone=zone, with_previous=False)
    if score is None:  # the worker is computing the figures: the unit's page says so
        abort(redirect(url_for("indicators.unit", unit_id=unit_id, period=period.label)))
    chosen = next((s for s in score.scores if s.indicator.code == code), None)
    if chosen is None:
        abort(404)
    return db, target, period, zone, result, chosen, rows.rows_behind(db, chosen.indicator, target, period, zone,
                                                                      limit=limit)


@bp.route("/indicators/units/<int:unit_id>/<code>")
@login_required
def indicator_rows(unit_id: int, code: str):
    """The rows behind one indicator's value: the visits, lines, complaints or imported values."""
    _db, target, period, _zone, result, chosen, table = _rows_of(unit_id, code)
    return render_template("indicators/rows.html", unit=target, r=result, s=chosen, table=table,
                           locale=select_locale())


@bp.route("/indicators/units/<int:unit_id>/<code>/export.<any(csv, xlsx):fmt>")
@login_required
def indicator_rows_export(unit_id: int, code: str, fmt: str):
    db, target, period, _zone, _result, chosen, table = _rows_of(unit_id, code, limit=None)
    not_a_page()
    if len(table.rows) > int(current_app.config.get("EXPORT_INLINE_ROWS", 5000)) and not rendering_in_worker():
        return downloads.defer(f"{target.name}-{code}-{period.label}.{fmt}")  # the worker writes it
    record_export(db, actor=current_user, what="indicator_rows", fmt=fmt,
                  filters={"unit": target.code, "indicator": code, "period": period.label})
    db.commit()
    words = {True: _("yes"), False: _("no")}
    header = [str(c) for c in table.columns]
    cells = [[words.get(v, v) if isinstance(v, bool) else v for v in row] for row in table.rows]
    filename = f"{target.name}-{chosen.indicator.code}-{period.label}.{fmt}"
    if fmt == "csv":
        return tabular.csv_response(header, cells, filename)
    return tabular.xlsx_response(header, cells, filename, sheet=chosen.indicator.code)


@bp.route("/indicators/export.<any(csv, xlsx):fmt>")
@login_required
def export(fmt: str):
    db, node, period, zone = _selection()
    result = services.ranking(db, current_user, node=node, period=period, zone=zone)
    not_a_page()
    record_export(db, actor=current_user, what="indicators", fmt=fmt, filters=request.args.to_dict())
    db.commit()
    locale = select_locale()
    header = [_("Rank"), _("Unit"), _("Total"), _("Period before"), _("Places gained"), _("Veto")] + \
        [a.name(locale) for a in result.tree.areas]
    points_word = _("points")
    for i in result.tree.indicators:
        header += [f"{i.code} {i.name(locale)}" + (f" ({i.unit})" if i.unit else ""), f"{i.code} {points_word}"]
    header.append(_("Award (yuan)"))
    rows = []
    for u in result.units:
        areas = u.area_points(result.tree)
        row = [u.rank if u.inspected else _("not inspected"), u.name, u.total, u.previous_total, u.rank_change,
               "; ".join(f"{s.indicator.name(locale)} {s.raw}" for s in u.vetoes)] + \
            [areas[a.code] for a in result.tree.areas]
        for score in u.scores:
            row += [score.raw, None if score.points is None else half_up(score.points)]
        rows.append(row + [u.award])
    filename = f"{_('Composite ranking')}-{period.label}.{fmt}"
    if fmt == "csv":
        return tabular.csv_response(header, rows, filename)
    return tabular.xlsx_response(header, rows, filename, sheet=_("Composite ranking"))


@bp.route("/indicators/import", methods=["GET", "POST"])
@lock_on_write_only
@login_required
def import_values():
    if not permissions.can_import_operating_data(current_user):
        abort(403)
    form = CsvUploadForm()
    errors: list[str] = []
    if form.validate_on_submit():
        db = get_session()
        not_a_page()
        try:
            result = run_import(db, importing.OperatingImporter(services.tree()), actor=current_user,
                                data=form.file.data.read())
        except ImportFailed as exc:
            db.rollback()
            errors = exc.errors
        else:
            flash(_("Imported: %(created)d new, %(updated)d updated.", created=result.created, updated=result.updated),
                  "success")
            return redirect(url_for("indicators.import_values"))
    elif request.method == "POST":
        errors = [_("Choose a CSV or Excel file to import.")]
    return render_template("indicators/import.html", form=form, errors=errors, tree=services.tree(),
                           locale=select_locale(), max_rows=importing.MAX_ROWS)


@bp.route("/indicators/import/template.<any(csv, xlsx):fmt>")
@login_required
def import_template(fmt: str):
    """The file to fill in, with a unit of the viewer's own and the last complete month in their zone."""
    if not permissions.can_import_operating_data(current_user):
        abort(403)
    example = {"unit_code": importing.example_unit_code(get_session(), current_user),
               "month": importing.last_complete_month(select_timezone())}
    if fmt == "csv":
        body, mimetype = importing.template_csv(services.tree(), **example), tabular.CSV_CONTENT_TYPE
    else:
        body, mimetype = importing.template_xlsx(services.tree(), **example), tabular.XLSX_MIMETYPE
    name = _("Operating data template")
    return Response(body, content_type=mimetype, headers={"Content-Disposition": tabular.attachment(f"{name}.{fmt}")})
