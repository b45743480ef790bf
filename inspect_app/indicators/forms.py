from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional


class ConfigUploadForm(FlaskForm):
    """A new version of a checklist or of the indicator tree: TOML or an Excel sheet."""

    kind = SelectField(_l("What the file is"), choices=[("checklist", _l("A checklist")),
                                                         ("indicator_tree", _l("The indicator tree"))])
    file = FileField(_l("File (TOML or Excel .xlsx)"),
                     validators=[FileRequired(message=_l("Choose a TOML or Excel file to upload."))])


class DecideDraftForm(FlaskForm):
    """Publish or discard an uploaded version; ``seen_version`` is the current version the
    administrator compared it with."""

    seen_version = HiddenField()
    note = StringField(_l("Note for the version history"), validators=[Optional(), Length(max=300)])
