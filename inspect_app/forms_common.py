"""Small WTForms pieces shared by several domains."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ActionForm(FlaskForm):
    """No fields: gives CSRF protection to POST-only buttons."""


class CsvUploadForm(FlaskForm):
    file = FileField(validators=[FileRequired()])
