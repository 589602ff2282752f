"""Web portal blueprints: parse → service → render or redirect."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import format_date, format_datetime, get_locale

from ..api.problems import problem
from ..services.errors import ServiceError


def register(app) -> None:
    from .. import labels
    from . import admin, auth, book, calendars, consultant, feeds, health, planner, portal, priority

    for module in (auth, health, feeds, portal, book, consultant, planner, admin, calendars, priority):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.globals.update(labels.helpers())
    app.jinja_env.filters["when"] = lambda dt, fmt="EEE d MMM HH:mm": format_datetime(dt, fmt)
    app.jinja_env.filters["day"] = lambda d, fmt="EEEE d MMMM": format_date(d, fmt)

    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, _error_page)
    app.register_error_handler(ServiceError, _refusal)


def _refusal(error: ServiceError):
    """A rule said no: problem+json for the API, the reason on a page otherwise."""
    if request.path.startswith("/api/"):
        return problem(error.status, error.message)
    return render_template("errors/error.html", status=error.status, message=error.message), error.status


def _error_page(error):
    status = getattr(error, "code", 500) or 500
    if request.path.startswith("/api/"):
        return problem(status, getattr(error, "description", None))
    return render_template("errors/error.html", status=status, error=error), status
