"""Web portal blueprints: parse → service → render or redirect."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError

from .. import contract
from ..api.problems import http_problem, problem
from ..date_format import format_date, format_datetime, span
from ..extensions import db
from ..services import locking
from ..services.errors import ServiceError
from ..services.locking import LockTimeout


def register(app) -> None:
    from .. import labels
    from . import (
        absences,
        account,
        admin,
        audit_log,
        auth,
        book,
        calendars,
        consultant,
        consultants,
        contacts,
        dashboard,
        feeds,
        health,
        links,
        outbox,
        plan_status,
        planner,
        planner_week,
        policy,
        portal,
        priority,
        priority_client,
        staff_bookings,
        webhooks,
        why_not,
    )

    for module in (
        auth,
        health,
        feeds,
        portal,
        book,
        consultant,
        planner,
        outbox,
        admin,
        calendars,
        priority,
        account,
        consultants,
        policy,
        audit_log,
        staff_bookings,
        webhooks,
        contacts,
        links,
        why_not,
        priority_client,
        absences,
        planner_week,
        dashboard,
        plan_status,
    ):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.globals["contract_terms"] = contract.current  # the contract in force: its hours, said as they are
    app.jinja_env.globals.update(labels.helpers(), span=span)
    app.jinja_env.filters["when"] = lambda dt, fmt="EEE d MMM HH:mm": format_datetime(dt, fmt)
    app.jinja_env.filters["day"] = lambda d, fmt="EEEE d MMMM": format_date(d, fmt)
    app.jinja_env.filters["number"] = format_decimal  # 1,5 on French pages, 1.5 on English ones

    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, _error_page)
    app.register_error_handler(ServiceError, _refusal)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(LockTimeout, _busy)


def _refusal(error: ServiceError):
    """A rule said no: problem+json for the API, the reason on a page otherwise."""
    if request.path.startswith("/api/"):
        return problem(error.status, error.message, code=error.code)
    return render_template("errors/error.html", status=error.status, message=error.page_message), error.status


def _database_down(error):
    """The database is unreachable (restarting, failing over): say so and ask for a retry; the
    transaction was not committed, so nothing was half-written."""
    db.session.rollback()
    if locking.refused(error):  # a write outside locked() that waited too long: busy, not down
        return _busy(LockTimeout(locking.timeout()))
    return _retry_later(_("La base de données est momentanément indisponible : réessayez dans quelques secondes."), 5)


def _busy(error: LockTimeout):
    """Another change holds what this one needs for longer than the lock timeout: nothing was written
    (the transaction was rolled back); ask for a retry rather than keep the worker waiting."""
    return _retry_later(
        _("Une autre opération occupe les mêmes données : réessayez dans quelques secondes (rien n'a été enregistré)."),
        error.retry_after,
    )


def _retry_later(message: str, seconds: int):
    """503 with Retry-After: problem+json for the API, the error page otherwise."""
    if request.path.startswith("/api/"):
        response = problem(503, message)
    else:
        response = current_app.make_response((render_template("errors/error.html", status=503, message=message), 503))
    response.headers["Retry-After"] = str(seconds)
    return response


def _error_page(error):
    status = getattr(error, "code", 500) or 500
    if request.path.startswith("/api/"):
        return http_problem(error)
    return render_template("errors/error.html", status=status, error=error), status
