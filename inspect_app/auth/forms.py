from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import EqualTo, Length, Optional, Regexp

from inspect_app.auth.models import ROLE_LABELS, Role
from inspect_app.forms_common import Required


def role_choices():
    return [(r.value, ROLE_LABELS[r]) for r in Role]


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[Required(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[Required(), Length(max=200)])


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[Required(), Length(min=2, max=64),
                    Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dot, dash or underscore."))],
    )
    display_name = StringField(_l("Name"), validators=[Required(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[], validators=[Required()])
    #: Units and outlets are named by their codes: selects of the nation's 3,182 units and 50,060
    #: outlets weighed 3.7 MB and could not be used on a phone. The service checks every code.
    unit_code = StringField(_l("Unit code (scope)"), validators=[Optional(), Length(max=32)])
    outlet_codes = TextAreaField(_l("Outlet codes (branch chief)"), validators=[Optional(), Length(max=2000)])
    code_name = StringField(_l("Code name (mystery shopper)"), validators=[Optional(), Length(max=32)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=200)])


class PasswordForm(FlaskForm):
    """An admin sets a password (no current one to give)."""

    password = PasswordField(_l("New password"), validators=[Required(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[Required(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class OwnPasswordForm(PasswordForm):
    """One's own password: the current one first."""

    current = PasswordField(_l("Current password"), validators=[Required(), Length(max=200)])
