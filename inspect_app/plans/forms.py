"""The plan form (new and edit), and the forms of one planned visit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from inspect_app.forms_common import DateField, IntegerField, Required, record_id
from inspect_app.plans.models import ASSIGN_MODE_LABELS, OUTLET_RULE_LABELS, PERIOD_LABELS

#: Rows of "this unit inspects that unit" the form offers.
PAIR_ROWS = 6


class PlanEditForm(FlaskForm):
    """What a running plan may change."""

    name = StringField(_l("Plan name"), validators=[Required(), Length(max=120)])
    ends_on = DateField(_l("Until"), validators=[Required()])
    outlet_rule = SelectField(_l("Which outlets"), choices=list(OUTLET_RULE_LABELS.items()), validate_choice=False)
    outlet_ids = SelectMultipleField(_l("Outlets"), coerce=record_id, validate_choice=False)
    red_line_days = IntegerField(_l("Red line within the last days"), validators=[Optional(), NumberRange(min=1, max=366)])
    member_ids = SelectMultipleField(_l("Pool"), coerce=record_id, validate_choice=False)
    max_per_person = IntegerField(_l("At most per person and period"),
                                  validators=[Optional(), NumberRange(min=1, max=1000)])
    blackouts = TextAreaField(_l("Blackout days"), validators=[Optional(), Length(max=4000)])


class PlanForm(PlanEditForm):
    """A new plan: what it is as well."""

    unit_id = SelectField(_l("Unit"), coerce=record_id, validate_choice=False)
    checklist = SelectField(_l("Checklist"), validators=[Required()], validate_choice=False)
    starts_on = DateField(_l("From"), validators=[Required()])
    per_period = IntegerField(_l("Visits per outlet"), validators=[Required(), NumberRange(min=1, max=60)])
    period_kind = SelectField(_l("Every"), choices=list(PERIOD_LABELS.items()), validate_choice=False)
    assign_mode = SelectField(_l("By whom"), choices=list(ASSIGN_MODE_LABELS.items()), validate_choice=False)
    pair_source = FieldList(SelectField(coerce=str, validate_choice=False, choices=[]), min_entries=PAIR_ROWS,
                            max_entries=20)
    pair_target = FieldList(SelectField(coerce=str, validate_choice=False, choices=[]), min_entries=PAIR_ROWS,
                            max_entries=20)

    def pairs(self) -> list[tuple[int, int]]:
        """The filled rows of "source inspects target" (a half-filled row is kept, to be refused)."""
        found = []
        for source, target in zip(self.pair_source.data, self.pair_target.data):
            if source or target:
                found.append((int(source) if str(source).isdigit() else 0, int(target) if str(target).isdigit() else 0))
        return found


class EndPlanForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Required(), Length(max=300)])


class MoveForm(FlaskForm):
    due_from = DateField(_l("From"), validators=[Required()])
    due_until = DateField(_l("Until"), validators=[Required()])


class ReassignForm(FlaskForm):
    assignee_id = SelectField(_l("Assigned to"), coerce=record_id, validators=[Required()], validate_choice=False)
