from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from inspect_app.forms_common import DateField, Required, record_id


class VersionedForm(FlaskForm):
    """Carries the line version the user saw, so a concurrent change is detected, not overwritten."""

    version = HiddenField()

    def base_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class AnswerForm(VersionedForm):
    description = TextAreaField(_l("What was done to fix it"), validators=[Required(), Length(max=2000)])


class DisputeForm(VersionedForm):
    reason = TextAreaField(_l("Why the finding is wrong"), validators=[Required(), Length(max=2000)])


class VerifyForm(VersionedForm):
    decision = RadioField(_l("Decision"), choices=[("accept", _l("Accept and close")), ("return", _l("Return to the outlet"))],
                          validators=[Required()])
    reason = TextAreaField(_l("Reason (required when returning)"), validators=[Optional(), Length(max=2000)])
    new_deadline = DateField(_l("New deadline (optional)"), validators=[Optional()])
    on_site = BooleanField(_l("Checked on site (re-check visit)"))


class DecideForm(VersionedForm):
    decision = RadioField(_l("Decision"), choices=[("uphold", _l("Uphold the finding")), ("withdraw", _l("Withdraw the finding"))],
                          validators=[Required()])
    reason = TextAreaField(_l("Reason"), validators=[Required(), Length(max=2000)])
    new_deadline = DateField(_l("New deadline (optional)"), validators=[Optional()])


class DeadlineForm(VersionedForm):
    new_deadline = DateField(_l("New deadline"), validators=[Required()])
    reason = TextAreaField(_l("Reason"), validators=[Required(), Length(max=2000)])


class ResponsibleForm(FlaskForm):
    user_id = SelectField(_l("Responsible person"), coerce=record_id, validate_choice=False)


class ExtensionRequestForm(VersionedForm):
    # own ids: the line page holds other forms with a deadline and a reason
    new_deadline = DateField(_l("New deadline asked for"), validators=[Required()], id="extension-deadline")
    reason = TextAreaField(_l("Why more time is needed"), validators=[Required(), Length(max=2000)],
                           id="extension-reason")


class ExtensionDecideForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve")), ("refuse", _l("Refuse"))],
                          validators=[Required()])
    new_deadline = DateField(_l("Approved deadline (empty: the day asked for)"), validators=[Optional()],
                             id="extension-approved")
    reason = TextAreaField(_l("Reason (required when refusing)"), validators=[Optional(), Length(max=2000)],
                           id="extension-decision-reason")
