from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from inspect_app.forms_common import DateField, FloatField, LongSelect, Required, record_id


class ScheduleForm(FlaskForm):
    checklist = SelectField(_l("Checklist"), validators=[Required()])
    outlet_ids = SelectMultipleField(_l("Outlets"), coerce=record_id, validate_choice=False)
    window_id = SelectField(_l("Window"), coerce=str, validators=[Optional()], validate_choice=False)
    assignee_id = SelectField(_l("Assigned to"), coerce=record_id, validators=[Required()], validate_choice=False,
                              widget=LongSelect())
    due_from = DateField(_l("From"), validators=[Required()])
    due_until = DateField(_l("Until"), validators=[Required()])


class SelfInspectionForm(FlaskForm):
    """A branch chief starts a self-inspection (自查) of one of their outlets."""

    outlet_id = SelectField(_l("Outlet"), coerce=record_id, validate_choice=False)
    checklist = SelectField(_l("Checklist"), validators=[Required()], validate_choice=False)


class HandOverForm(FlaskForm):
    """A self-inspection to another branch chief of the outlet."""

    user_id = SelectField(_l("Hand it to"), coerce=record_id, validate_choice=False)


class AdhocForm(FlaskForm):
    outlet_id = SelectField(_l("Outlet"), coerce=record_id, validate_choice=False)
    checklist = SelectField(_l("Checklist"), validators=[Required()])
    window_id = SelectField(_l("Window"), coerce=str, validators=[Optional()], validate_choice=False)
    despite_planned = HiddenField()


class CheckinForm(FlaskForm):
    lat = FloatField(_l("Latitude"), validators=[Optional()])
    lon = FloatField(_l("Longitude"), validators=[Optional()])
    accuracy = FloatField(_l("Location accuracy"), validators=[Optional()])
    window_id = SelectField(_l("Window"), coerce=str, validators=[Optional()], validate_choice=False)
    no_location_reason = TextAreaField(_l("No location? Say why"), validators=[Optional(), Length(max=300)])
    far_reason = TextAreaField(_l("Why do you check in this far from the outlet?"), validators=[Optional(), Length(max=300)])


class SubmitForm(FlaskForm):
    token = HiddenField()
    accept_warnings = HiddenField()


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What the shopper should correct"), validators=[Required(), Length(max=2000)])


class CorrectForm(FlaskForm):
    item_code = HiddenField(validators=[Required()])
    result = SelectField(_l("Answer"), choices=[("pass", _l("Pass")), ("fail", _l("Fail")), ("na", _l("N/A"))],
                         validators=[Optional()], validate_choice=False)
    occurrences = StringField(_l("Occurrences"), validators=[Optional(), Length(max=3)])
    scale_value = StringField(_l("Value"), validators=[Optional(), Length(max=3)])
    reason = TextAreaField(_l("Reason for the correction"), validators=[Required(), Length(max=300)])


class BlackoutForm(FlaskForm):
    date_from = DateField(_l("From"), validators=[Required()])
    date_until = DateField(_l("Until"), validators=[Required()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Required(), Length(max=300)])
