from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField, fields
from wtforms.validators import Length, Optional

from inspect_app.complaints.models import SATISFACTION_LABELS, TIER_LABELS, VERDICT_LABELS
from inspect_app.forms_common import DateField, Required, _SaysWhatItCannotRead, record_id
from inspect_app.rectifications.forms import VersionedForm


class DateTimeLocalField(_SaysWhatItCannotRead, fields.DateTimeLocalField):
    """A local date and time (``<input type=datetime-local>``), read in the outlet's zone later."""

    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a valid date and time: %(value)s.", field=self.label.text, value=typed)


class IntegerField(_SaysWhatItCannotRead, fields.IntegerField):
    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a whole number.", field=self.label.text)


class MonthField(_SaysWhatItCannotRead, fields.MonthField):
    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a month (YYYY-MM): %(value)s.", field=self.label.text, value=typed)


class ComplaintForm(FlaskForm):
    outlet_code = StringField(_l("Outlet code"), validators=[Required(), Length(max=32)])
    source = SelectField(_l("Source"), validators=[Required()])
    received_at = DateTimeLocalField(_l("Received at (outlet's local time)"), validators=[Required()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
    category = SelectField(_l("Category"), validators=[Required()])
    account = TextAreaField(_l("What the customer says happened"), validators=[Required(), Length(max=2000)])
    reference = StringField(_l("Waybill or business number"), validators=[Optional(), Length(max=64)])
    staff_job_number = StringField(_l("Staff member concerned (job number, if known)"), validators=[Optional(), Length(max=32)])
    customer_name = StringField(_l("Customer's name"), validators=[Optional(), Length(max=64)])
    customer_phone = StringField(_l("Customer's phone"), validators=[Optional(), Length(max=32)])


class ContactForm(VersionedForm):
    contact_text = TextAreaField(_l("What you and the customer said"), validators=[Required(), Length(max=2000)])


class NoteForm(VersionedForm):
    note_text = TextAreaField(_l("Investigation note"), validators=[Required(), Length(max=2000)])


class HandOnForm(VersionedForm):
    to_user_id = SelectField(_l("Hand on to"), coerce=record_id, validators=[Required()], validate_choice=False)
    reason = TextAreaField(_l("Why you hand it on"), validators=[Required(), Length(max=2000)])


class ConcludeForm(VersionedForm):
    verdict = RadioField(_l("Conclusion"), choices=list(VERDICT_LABELS.items()), validators=[Required()])
    reasons = TextAreaField(_l("Reasons (what the investigation found)"), validators=[Required(), Length(max=2000)])
    grade = SelectField(_l("Grade (substantiated only)"), coerce=str, validators=[Optional()], validate_choice=False)
    staff_id = SelectField(_l("Staff member concerned"), coerce=str, validators=[Optional()], validate_choice=False)
    requirements = TextAreaField(_l("Rectification for the outlet (one item per line, optional)"),
                                 validators=[Optional(), Length(max=4000)])
    severity = SelectField(_l("Severity of the rectification"), validators=[Optional()], validate_choice=False)


class RaiseForm(FlaskForm):
    requirements = TextAreaField(_l("Rectification for the outlet (one item per line)"),
                                 validators=[Required(), Length(max=4000)])
    severity = SelectField(_l("Severity"), validators=[Required()], validate_choice=False)


class CallbackForm(FlaskForm):
    satisfaction = RadioField(_l("The customer is"), choices=list(SATISFACTION_LABELS.items()), validators=[Required()])
    note = TextAreaField(_l("What the customer said (required if not satisfied)"), validators=[Optional(), Length(max=1000)])


class OpenAccountabilityForm(FlaskForm):
    staff_id = SelectField(_l("Staff member"), coerce=record_id, validators=[Required()], validate_choice=False)
    reason = TextAreaField(_l("What the person is held accountable for"), validators=[Required(), Length(max=2000)])


class DecideForm(FlaskForm):
    grade = SelectField(_l("Grade"), coerce=int, validators=[Required()], validate_choice=False)
    amount = IntegerField(_l("Amount (yuan, by the table)"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


class DropForm(FlaskForm):
    reason = TextAreaField(_l("Why it is dropped"), validators=[Required(), Length(max=2000)])


class AppealForm(FlaskForm):
    reason = TextAreaField(_l("Grounds of the appeal"), validators=[Required(), Length(max=2000)])


class AppealDecisionForm(FlaskForm):
    outcome = RadioField(_l("Appeal decision"), choices=[("uphold", _l("Uphold the decision")),
                                                         ("revise", _l("Revise the grade")),
                                                         ("revoke", _l("Revoke the decision"))], validators=[Required()])
    reason = TextAreaField(_l("Reasons"), validators=[Required(), Length(max=2000)])
    grade = SelectField(_l("New grade (when revising)"), coerce=str, validators=[Optional()], validate_choice=False)


class CommendForm(FlaskForm):
    month = MonthField(_l("Month"), validators=[Required()])
    title = StringField(_l("Title"), default="服务之星", validators=[Required(), Length(max=32)])
    reason = TextAreaField(_l("For what"), validators=[Optional(), Length(max=500)])


class KeyCustomerForm(FlaskForm):
    outlet_code = StringField(_l("Outlet code"), validators=[Required(), Length(max=32)])
    name = StringField(_l("Customer (company)"), validators=[Required(), Length(max=100)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    tier = SelectField(_l("Call back"), choices=list(TIER_LABELS.items()), validators=[Required()])
    start_date = DateField(_l("First callback on"), validators=[Optional()])
    note = TextAreaField(_l("Note for the callers (business, preferences)"), validators=[Optional(), Length(max=500)])


class KeyCustomerEditForm(FlaskForm):
    tier = SelectField(_l("Call back"), choices=list(TIER_LABELS.items()), validators=[Required()])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    note = TextAreaField(_l("Note for the callers (business, preferences)"), validators=[Optional(), Length(max=500)])


class DeactivateForm(FlaskForm):
    reason = TextAreaField(_l("Why the customer leaves the plan"), validators=[Required(), Length(max=500)])
