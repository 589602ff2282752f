"""The one form layer: Flask-WTF classes with their validators, one module per area. A view validates a
form, calls a service, and hands a service's refusal back to the form (`refused`), which shows it beside
the field it is about (or above the form), in the same words as the API's problem+json."""
from __future__ import annotations

from flask_wtf import FlaskForm

from ...services.errors import ServiceError


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (logout, language switch, one-click actions, confirmations)."""


def refused(form: FlaskForm, error: ServiceError, fallback: str | None = None) -> None:
    """Show a service's refusal on the field it names (else on `fallback`, else as the form's own error)."""
    name = error.field if error.field in form._fields else fallback
    if name in form._fields:
        form._fields[name].errors = [*form._fields[name].errors, error.message]
    else:
        form.form_errors.append(error.message)
