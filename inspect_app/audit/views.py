from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlmodel import select

from inspect_app import permissions
from inspect_app.audit.models import AuditEvent
from inspect_app.db import get_session
from inspect_app.forms_common import record_id

bp = Blueprint("audit", __name__)

PER_PAGE = 50


@bp.route("/admin/audit")
@login_required
def events():
    if not permissions.is_admin(current_user):
        abort(403)
    db = get_session()
    page = max(1, request.args.get("page", 1, type=record_id))
    object_type = request.args.get("type") or None
    query = select(AuditEvent)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    total = db.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = db.exec(query.order_by(AuditEvent.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("audit/events.html", rows=rows, page=page, total=total, per_page=PER_PAGE,
                           object_type=object_type)
