"""Reviewing secret visits before release, and the outlets' blackout lists."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inspect_app import permissions
from inspect_app.auth.models import User
from inspect_app.db import get_session
from inspect_app.errors import DomainError
from inspect_app.forms_common import ActionForm
from inspect_app.http import REFUSED, get_or_404, run_service
from inspect_app.i18n import select_locale
from inspect_app.org.models import Outlet, OutletBlackout
from inspect_app.org.views import load_outlet
from inspect_app.visits import photo_checks, secret, services, timers
from inspect_app.visits.forms import BlackoutForm, CorrectForm, ReturnForm
from inspect_app.visits.lifecycle import VISIT
from inspect_app.visits.views import load_visit

bp = Blueprint("review", __name__)


def _require_reviewer_role():
    if not permissions.can_review_secret_visits(current_user):
        abort(403)


@bp.route("/review")
@login_required
def queue():
    _require_reviewer_role()
    db = get_session()
    rows = []
    for visit in secret.review_queue(db, current_user):
        rows.append((visit, db.get(Outlet, visit.outlet_id), db.get(User, visit.assignee_id), secret.review_flags(db, visit, current_user)))
    return render_template("visits/review_queue.html", rows=rows)


@bp.route("/review/<int:visit_id>")
@login_required
def review(visit_id: int):
    _require_reviewer_role()
    visit = load_visit(visit_id)
    if visit.kind != "secret":
        abort(404)
    db = get_session()
    checklist = services.checklist_of(db, visit)
    answers = services.answers_of(db, visit)
    result = services.score_visit(checklist, answers, visit)
    by_item = services.photos_by_place(db, visit)
    return render_template(
        "visits/review.html", visit=visit, checklist=checklist, answers=answers, result=result, photos=by_item,
        outlet=db.get(Outlet, visit.outlet_id), shopper=db.get(User, visit.assignee_id), locale=select_locale(),
        flags=secret.review_flags(db, visit, current_user), evidence=photo_checks.visit_checks(db, current_user, visit),
        timers=timers.timer_moments(visit), timer_names=timers.TIMERS,
        timer_labels=timers.TIMER_LABELS, durations=timers.durations(visit), return_form=ReturnForm(),
        action_form=ActionForm(), correct_form=CorrectForm(), actions=VISIT.available(db, current_user, visit),
        distance=services.checkin_place(db.get(Outlet, visit.outlet_id), visit.checkin_lat, visit.checkin_lon,
                                        visit.checkin_accuracy).distance,
    )


def _done(visit_id: int, message: str, action):
    if run_service(action, message) is REFUSED:
        return redirect(url_for("review.review", visit_id=visit_id))
    return redirect(url_for("review.queue"))


@bp.route("/review/<int:visit_id>/release", methods=["POST"])
@login_required
def release(visit_id: int):
    _require_reviewer_role()
    visit = load_visit(visit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _done(visit.id, _("Released: the outlet now sees the findings under the shopper's code name."),
                 lambda db: services.release_visit(db, actor=current_user, visit=visit))


@bp.route("/review/<int:visit_id>/return", methods=["POST"])
@login_required
def return_(visit_id: int):
    _require_reviewer_role()
    visit = load_visit(visit_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash(_("Write what the shopper should correct."), "error")
        return redirect(url_for("review.review", visit_id=visit.id))
    return _done(visit.id, _("Returned to the shopper."),
                 lambda db: secret.return_visit(db, actor=current_user, visit=visit, comment=form.comment.data))


@bp.route("/review/<int:visit_id>/correct", methods=["POST"])
@login_required
def correct(visit_id: int):
    _require_reviewer_role()
    visit = load_visit(visit_id)
    form = CorrectForm()
    if not form.validate_on_submit():
        flash(_("Give the corrected answer and a reason."), "error")
        return redirect(url_for("review.review", visit_id=visit.id))

    def number(value):
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            raise DomainError(_("The request could not be understood.")) from None

    run_service(lambda db: secret.correct_answer(
        db, actor=current_user, visit=visit, item_code=form.item_code.data, reason=form.reason.data,
        result=form.result.data or None, occurrences=number(form.occurrences.data),
        scale_value=number(form.scale_value.data)), _("Answer corrected; the change is in the audit log."))
    return redirect(url_for("review.review", visit_id=visit.id) + f"#item-{form.item_code.data}")


@bp.route("/outlets/<int:outlet_id>/blackouts", methods=["GET", "POST"])
@login_required
def blackouts(outlet_id: int):
    outlet = load_outlet(outlet_id)
    db = get_session()
    if not permissions.can_schedule(current_user):
        abort(403)
    form = BlackoutForm()
    if form.validate_on_submit():
        added = run_service(lambda db: services.add_blackout(db, actor=current_user, outlet=outlet,
                                                            date_from=form.date_from.data,
                                                            date_until=form.date_until.data, reason=form.reason.data or ""),
                            _("Saved."))
        if added is not REFUSED:
            return redirect(url_for("review.blackouts", outlet_id=outlet.id))
    from sqlmodel import select

    rows = db.exec(select(OutletBlackout).where(OutletBlackout.outlet_id == outlet.id)
                   .order_by(OutletBlackout.date_from.desc())).all()
    return render_template("visits/blackouts.html", outlet=outlet, rows=rows, form=form, action_form=ActionForm())


@bp.route("/blackouts/<int:blackout_id>/delete", methods=["POST"])
@login_required
def blackout_delete(blackout_id: int):
    blackout = get_or_404(OutletBlackout, blackout_id)
    outlet = load_outlet(blackout.outlet_id)
    if ActionForm().validate_on_submit():
        run_service(lambda db: services.remove_blackout(db, actor=current_user, blackout=blackout), _("Removed."))
    return redirect(url_for("review.blackouts", outlet_id=outlet.id))
