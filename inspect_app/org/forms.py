from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import Length, NumberRange, Optional

from inspect_app.forms_common import FloatField, Required


class UnitForm(FlaskForm):
    parent_id = HiddenField()
    code = StringField(_l("Code"), validators=[Required(), Length(max=32)])
    name = StringField(_l("Name"), validators=[Required(), Length(max=100)])


class UnitRenameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Required(), Length(max=100)])


class OutletForm(FlaskForm):
    code = StringField(_l("Outlet code"), validators=[Required(), Length(max=32)])
    name = StringField(_l("Name"), validators=[Required(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    unit_code = StringField(_l("County code"), validators=[Required(), Length(max=32)])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai", validators=[Required(), Length(max=64)])
    active = BooleanField(_l("In service"), default=True)


class WindowForm(FlaskForm):
    number = StringField(_l("Window number"), validators=[Required(), Length(max=16)])
    name = StringField(_l("Purpose"), validators=[Optional(), Length(max=60)])


class StaffForm(FlaskForm):
    job_number = StringField(_l("Job number"), validators=[Required(), Length(max=32)])
    name = StringField(_l("Name"), validators=[Required(), Length(max=64)])
    post = StringField(_l("Post"), validators=[Optional(), Length(max=32)])
    outlet_code = StringField(_l("Outlet code"), validators=[Required(), Length(max=32)])
    active = BooleanField(_l("At work (can be named in findings)"), default=True)
