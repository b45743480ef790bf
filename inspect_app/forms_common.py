"""Small WTForms pieces shared by several domains."""
from __future__ import annotations

import math

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup, escape
from wtforms import fields, widgets
from wtforms.validators import DataRequired, StopValidation


class LongSelect(widgets.Select):
    """A select of thousands of (value, label) options (the people an administrator may give a
    visit to): the options written straight from the choices, each as WTForms writes it, not
    through its per-option objects and attribute writer (0.1 ms an option, 400 ms for the nation's
    4,000 people). Other choices (groups, option attributes) are WTForms' own."""

    def __call__(self, field, **kwargs):
        choices = field.choices
        if self.multiple or not isinstance(choices, list) or any(
                not isinstance(c, tuple) or len(c) != 2 or isinstance(c[0], bool) for c in choices):
            return super().__call__(field, **kwargs)
        opening = str(super().__call__(_Without(field), **kwargs))[:-len("</select>")]
        data = field.data
        options = [f'<option {"selected " if field.coerce(value) == data else ""}value="{escape(value)}">'
                   f'{escape(label or value)}</option>' for value, label in choices]
        return Markup(opening + "".join(options) + "</select>")


class _Without:
    """A field seen without its choices (the select's own tag and attributes are written by WTForms)."""

    def __init__(self, field):
        self._field = field

    def __getattr__(self, name):
        return getattr(self._field, name)

    def has_groups(self):
        return False

    def _iter_choices_normalized(self):
        return iter(())


class Required(DataRequired):
    """DataRequired whose message names the field ("请填写“整改说明”。"): a message shown away
    from its field (a flash at the top of a phone screen) must still say what is missing.

    Something typed that could not be read (``2026-02-30`` in a date) is not "missing": the
    field's own message ("不是有效日期") stays instead of "请填写"."""

    def __call__(self, form, field):
        if field.process_errors:
            field.errors[:] = [str(e) for e in field.process_errors]
            raise StopValidation()
        if field.data and (not isinstance(field.data, str) or field.data.strip()):
            return
        field.errors[:] = []
        raise StopValidation(self.message or _("Fill in “%(field)s”.", field=field.label.text))


class _SaysWhatItCannotRead:
    """A typed field whose unreadable value is said so, in the user's language, naming the field;
    an empty one is left to Required or Optional ("missing" is theirs to say)."""

    def unreadable(self, typed: str) -> str:
        raise NotImplementedError

    def accept(self) -> bool:
        return True

    def process_formdata(self, valuelist):
        typed = " ".join(valuelist or []).strip()
        if not typed:
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
            readable = self.accept()
        except ValueError:
            readable = False
        if not readable:
            self.data = None
            raise ValueError(self.unreadable(typed[:20]))


class DateField(_SaysWhatItCannotRead, fields.DateField):
    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a valid date: %(value)s (use the calendar or YYYY-MM-DD).",
                 field=self.label.text, value=typed)


class FloatField(_SaysWhatItCannotRead, fields.FloatField):
    """A number that must be a real one: ``nan`` and ``inf`` parse as floats but mean nothing."""

    def accept(self) -> bool:
        return self.data is None or math.isfinite(self.data)

    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a number.", field=self.label.text)


class IntegerField(_SaysWhatItCannotRead, fields.IntegerField):
    def unreadable(self, typed: str) -> str:
        return _("“%(field)s” is not a whole number: %(value)s.", field=self.label.text, value=typed)


#: The ids are PostgreSQL INTEGER columns (32 bits, signed): a larger number is no row's id, and
#: PostgreSQL refuses to compare one with them (a DataError, a 500), as SQLite's driver refuses to
#: bind a number past 64 bits.
LARGEST_ID = 2 ** 31 - 1


def record_id(value) -> int:
    """``coerce`` of a field that names a row by id (a select a page fills): a number past the
    database's range is refused like a word (the field's "invalid choice"), where ``int`` let it
    through to the query and the driver failed (a 500)."""
    number = int(value)
    if not 0 < number <= LARGEST_ID:
        raise ValueError(value)
    return number


def error_messages(form) -> list[str]:
    """Every error of a form, each naming its field unless the message already does."""
    messages = []
    for name, errors in form.errors.items():
        field = getattr(form, name, None)
        label = str(field.label.text) if field is not None and field.label is not None else ""
        for error in errors:
            error = str(error)
            if name == "csrf_token":
                error = _("This form has expired or was sent twice. Please reload the page and try again.")
            elif label and label not in error:
                error = _("%(field)s: %(error)s", field=label, error=error)
            messages.append(error)
    return messages


def flash_form_errors(form) -> None:
    for message in error_messages(form):
        flash(message, "error")


class ActionForm(FlaskForm):
    """No fields: gives CSRF protection to POST-only buttons."""


class CsvUploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file to import."))])
