from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from inspect_app.channels.events import TOPICS
from inspect_app.channels.models import CHANNEL_KIND_LABELS, DigestMode
from inspect_app.forms_common import Required, record_id


class ChannelForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=record_id, validate_choice=False)
    name = StringField(_l("Name (the group it posts to)"), validators=[Required(), Length(max=64)])
    kind = SelectField(_l("Kind"), choices=[(k.value, v) for k, v in CHANNEL_KIND_LABELS.items()],
                       validate_choice=False)
    target = StringField(_l("Webhook address or e-mail addresses"), validators=[Optional(), Length(max=1000)])
    secret = PasswordField(_l("Signing secret"), validators=[Optional(), Length(max=255)])
    topics = SelectMultipleField(_l("Events"), choices=[(t.code, t.label) for t in TOPICS], validate_choice=False)
    subunits = BooleanField(_l("Also the events of the units below"), default=True)
    active = BooleanField(_l("Active"), default=True)


class PreferenceForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    mode = RadioField(_l("When"), choices=[(DigestMode.immediate.value, _l("At once, one e-mail each")),
                                           (DigestMode.daily.value, _l("One daily digest at 08:00"))],
                      default=DigestMode.immediate.value, validate_choice=False)
