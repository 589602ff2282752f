"""The one form layer: Flask-WTF classes with their validators, one module per area. A view validates a
form, calls a service, and hands a service's refusal back to the form (`refused`), which shows it beside
the field it is about (or above the form), in the same words as the API's problem+json."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from calendars.worktime import PARIS

from ...date_format import format_date
from ...inputs import FIRST_DAY, LAST_DAY
from ...services.errors import ServiceError


def managed_day(_form, field) -> None:
    """A date (or date and time) field's day lies in the years the service manages: a typing mistake
    otherwise, and a value that would overflow once a day is added to it or it is moved to UTC."""
    day = field.data.date() if isinstance(field.data, datetime) else field.data
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(_l("Indiquez un jour entre 2000 et 2099."))


def paris_wall_time(_form, field) -> None:
    """A date and time typed in Paris wall time exists: on the spring clock change 02:00–02:59 does not (the clocks
    go from 02:00 to 03:00), and taken as it is such a time is an instant an hour later that compares as earlier
    (an absence from 02:30 to 03:30 that day began as it ended)."""
    value = field.data
    # outside the managed years `managed_day` says so (and year 1 cannot be moved to UTC)
    if isinstance(value, datetime) and value.tzinfo is None and FIRST_DAY <= value.date() <= LAST_DAY:
        there = value.replace(tzinfo=PARIS)
        if there.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != value:
            raise ValidationError(
                _l(
                    "%(time)s n'existe pas le %(day)s à Paris : à 02:00, les horloges passent à 03:00 (heure d'été). "
                    "Choisissez une autre heure.",
                    time=value.strftime("%H:%M"),
                    day=format_date(value.date(), "d MMMM yyyy"),
                )
            )


def blank_is_empty(value):
    """A filter for an optional select: white space (" ", a tab), which no option sends, is its empty choice; the
    value is otherwise read as an id, and `int(" ")` fails."""
    return value.strip() if isinstance(value, str) else value


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (logout, language switch, one-click actions, confirmations)."""


def refused(form: FlaskForm, error: ServiceError, fallback: str | None = None) -> None:
    """Show a service's refusal on the field it names (else on `fallback`, else as the form's own error)."""
    name = error.field if error.field in form._fields else fallback
    if name in form._fields:
        form._fields[name].errors = [*form._fields[name].errors, error.page_message]
    else:
        form.form_errors.append(error.page_message)
