"""The quality office's configuration page (质量体系配置): the checklists and the indicator tree with
their versions, each item and indicator in full, uploads compared with the current version and
published, and every version downloadable as TOML or as an Excel sheet to edit and upload again."""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import permissions, tabular
from inspect_app.checklists import config as checklist_config
from inspect_app.checklists import services as checklists
from inspect_app.checklists import versions
from inspect_app.checklists.config import ConfigError
from inspect_app.checklists.definition import KIND_LABELS, SEVERITY_LABELS, from_dict
from inspect_app.checklists.models import ChecklistVersion, ConfigDraft
from inspect_app.db import get_session
from inspect_app.forms_common import ActionForm, record_id
from inspect_app.http import REFUSED, get_or_404, run_service
from inspect_app.i18n import select_locale
from inspect_app.indicators import config, services
from inspect_app.indicators.definition import SOURCES, parse
from inspect_app.indicators.forms import ConfigUploadForm, DecideDraftForm
from inspect_app.indicators.models import IndicatorTreeVersion

bp = Blueprint("config", __name__, url_prefix="/admin/config")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _only_administrators():
    if not permissions.can_configure_quality_system(current_user):
        abort(403)


def _users(db, ids) -> dict[int, str]:
    from inspect_app.auth.models import User

    wanted = {i for i in ids if i}
    return {u.id: u.display_name for u in db.exec(select(User).where(User.id.in_(wanted))).all()} if wanted else {}


@bp.route("")
def index():
    return _index(ConfigUploadForm(), [])


def _index(form: ConfigUploadForm, errors: list[str]):
    """The page; after a refused upload, the same page with what was wrong at the top (status 200:
    bad input, nothing written)."""
    db = get_session()
    current = checklists.registry()
    refs = checklists.current_refs()
    rows = {r.id: r for r in db.exec(select(ChecklistVersion).where(
        ChecklistVersion.id.in_([ref.id for ref in refs.values()]))).all()} if refs else {}
    tree_ref = services.current_ref()
    tree_row = db.get(IndicatorTreeVersion, tree_ref.id)
    drafts = db.exec(select(ConfigDraft).where(ConfigDraft.state == "pending").order_by(ConfigDraft.id.desc())).all()
    people = _users(db, [r.published_by_id for r in rows.values()] + [tree_row.published_by_id if tree_row else None]
                    + [d.uploaded_by_id for d in drafts])
    return render_template("config/index.html", checklists=sorted(current.values(), key=lambda c: c.code),
                           refs=refs, rows=rows, tree=services.tree(), tree_ref=tree_ref, tree_row=tree_row,
                           drafts=drafts, people=people, form=form, errors=errors,
                           kinds=KIND_LABELS, locale=select_locale())


def _checklist_version(code: str):
    db = get_session()
    checklists.current_refs(db)  # the files recorded first
    history = versions.history(db, ChecklistVersion, code)
    if not history:
        abort(404)
    wanted = request.args.get("version", type=record_id)
    row = next((r for r in history if r.version == wanted), None) if wanted else history[0]
    if row is None:
        abort(404)
    return db, history, row, checklists.definition(row)


@bp.route("/checklists/<code>")
def checklist(code: str):
    db, history, row, definition = _checklist_version(code)
    return render_template("config/checklist.html", checklist=definition, row=row, history=history,
                           people=_users(db, [r.published_by_id for r in history]), kinds=KIND_LABELS,
                           severities=SEVERITY_LABELS, locale=select_locale())


@bp.route("/checklists/<code>/items/<item_code>")
def item(code: str, item_code: str):
    _db, _history, row, definition = _checklist_version(code)
    found = definition.item(item_code)
    if found is None:
        abort(404)
    section = next(s for s in definition.sections if s.code == found.section)
    return render_template("config/item.html", checklist=definition, row=row, item=found, section=section,
                           severities=SEVERITY_LABELS, locale=select_locale())


def _tree_version():
    db = get_session()
    services.current_ref(db)
    history = versions.history(db, IndicatorTreeVersion, services.tree_file().code)
    wanted = request.args.get("version", type=record_id)
    row = next((r for r in history if r.version == wanted), None) if wanted else history[0]
    if row is None:
        abort(404)
    return db, history, row, parse(row.definition, f"{row.code} v{row.version}")


@bp.route("/tree")
def tree():
    db, history, row, found = _tree_version()
    return render_template("config/tree.html", tree=found, row=row, history=history,
                           people=_users(db, [r.published_by_id for r in history]), sources=SOURCES,
                           source_names={v: k for k, v in config.SOURCE_NAMES.items()}, locale=select_locale())


@bp.route("/tree/indicators/<code>")
def indicator(code: str):
    _db, _history, row, found = _tree_version()
    chosen = found.indicator(code)
    if chosen is None:
        abort(404)
    area = next(a for a in found.areas if chosen in a.indicators)
    return render_template("config/indicator.html", tree=found, row=row, indicator=chosen, area=area,
                           sources=SOURCES, source_names={v: k for k, v in config.SOURCE_NAMES.items()},
                           locale=select_locale())


@bp.route("/<any(checklist, indicator_tree):kind>/<code>/download.<any(toml, xlsx):fmt>")
def download(kind: str, code: str, fmt: str):
    """A version as a file to edit and upload again (TOML as in forms/, or the Excel layout)."""
    if kind == "checklist":
        _db, _history, row, _definition = _checklist_version(code)
        body = checklist_config.to_toml(row.definition) if fmt == "toml" else checklist_config.to_workbook(row.definition)
    else:
        _db, _history, row, _found = _tree_version()
        body = config.to_toml(row.definition) if fmt == "toml" else config.to_workbook(row.definition)
    filename = f"{row.code}-v{row.version}.{fmt}"
    return Response(body, mimetype="application/toml; charset=utf-8" if fmt == "toml" else XLSX,
                    headers={"Content-Disposition": tabular.attachment(filename)})


@bp.route("/upload", methods=["POST"])
def upload():
    form = ConfigUploadForm()
    if not form.validate_on_submit():
        errors = [e for messages in form.errors.values() for e in messages]
        return _index(form, errors or [_("Choose a TOML or Excel file to upload.")])
    db = get_session()
    upload_file = form.file.data
    try:
        draft = config.upload(db, actor=current_user, kind=form.kind.data, data=upload_file.read(),
                              filename=upload_file.filename or "")
    except ConfigError as exc:
        db.rollback()
        return _index(form, exc.errors)
    db.commit()
    return redirect(url_for("config.draft", draft_id=draft.id))


@bp.route("/drafts/<int:draft_id>")
def draft(draft_id: int):
    db = get_session()
    found = get_or_404(ConfigDraft, draft_id)
    ref, changes = config.changes_of(db, found)
    labels = checklist_config.FIELD_LABELS if found.kind == "checklist" else config.FIELD_LABELS
    name = (from_dict(found.definition).title(select_locale()) if found.kind == "checklist"
            else parse(found.definition, found.filename).title_zh)
    return render_template("config/draft.html", draft=found, ref=ref, changes=changes, labels=labels, name=name,
                           form=DecideDraftForm(seen_version=str(ref.version) if ref else ""), discard_form=ActionForm(),
                           uploader=_users(db, [found.uploaded_by_id]).get(found.uploaded_by_id, ""))


def _decide(draft_id: int, publish: bool):
    found = get_or_404(ConfigDraft, draft_id)
    form = DecideDraftForm() if publish else ActionForm()
    if not form.validate_on_submit():
        abort(400)
    seen = int(form.seen_version.data) if publish and (form.seen_version.data or "").isdigit() else None
    message = _("Published: visits started from now on use the new version.") if found.kind == "checklist" \
        else _("Published: the running period and those after it are scored with the new tree.")
    result = run_service(lambda db: config.decide(db, actor=current_user, draft=found, seen_version=seen,
                                                  publish=publish, note=form.note.data if publish else ""),
                         message if publish else _("Discarded: nothing changed."))
    if result is REFUSED:
        return redirect(url_for("config.draft", draft_id=found.id))
    if not publish:
        return redirect(url_for("config.index"))
    return redirect(url_for("config.checklist", code=found.code) if found.kind == "checklist" else url_for("config.tree"))


@bp.route("/drafts/<int:draft_id>/publish", methods=["POST"])
def publish(draft_id: int):
    return _decide(draft_id, True)


@bp.route("/drafts/<int:draft_id>/discard", methods=["POST"])
def discard(draft_id: int):
    return _decide(draft_id, False)
