"""The JSON API under /api/v1 (flask-smorest): OpenAPI 3 at /api/v1/openapi.json, problem+json errors."""

from __future__ import annotations

import flask_smorest
from flask import request
from flask_babel import gettext as _

from .problems import problem


def _summary(messages) -> str:
    """webargs' nested messages as one line: 'start: Not a valid datetime.; end: …'."""
    parts = []
    for location in messages.values() if isinstance(messages, dict) else []:
        for field, errors in location.items() if isinstance(location, dict) else []:
            text = (
                errors
                if isinstance(errors, str)
                else "; ".join(map(str, errors))
                if isinstance(errors, list)
                else str(errors)
            )
            parts.append(f"{field} : {text}")
    return " ; ".join(parts)


class Api(flask_smorest.Api):
    """flask-smorest, with every API error as application/problem+json."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return error
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages:
            return problem(
                error.code,
                _("Requête invalide — %(summary)s", summary=_summary(messages)),
                errors=messages,
                code="invalid_request",
            )
        return problem(error.code, error.description)


api = Api()


def init_app(app) -> None:
    from ..extensions import csrf
    from . import webhooks
    from .backoffice import blp as backoffice
    from .routes import blp

    app.config.update(
        API_TITLE="ERP-Lib Planner API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(backoffice)
    webhooks.document(api.spec)  # the `webhooks` section: what subscribers receive (OpenAPI 3.1)
    csrf.exempt(blp)  # bearer tokens only: no cookie, no CSRF
    csrf.exempt(webhooks.blp)
    csrf.exempt(backoffice)
