"""The JSON API under /api/v1 (flask-smorest): OpenAPI 3 at /api/v1/openapi.json, problem+json errors."""

from __future__ import annotations

import threading

import flask_smorest
from flask import request
from flask_babel import force_locale

from . import validation
from .problems import http_problem

validation.install()  # before any schema of the API is built


class Api(flask_smorest.Api):
    """flask-smorest, with every API error as application/problem+json, and the document written when it is
    first read (the openapi.json route, the CLI) rather than when the app is built: documenting the blueprints
    (deep copies of every schema) was 0.08 of the 0.23 s that building the app took, which every worker process,
    every test and every plan worker paid for a document most of them never serve. Written in French, as when it
    was written with the app, whatever the language of its first reader."""

    def __init__(self, *args, **kwargs):
        self._pending: list = []
        self._documenting = threading.Lock()
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        with self._documenting:  # two first readers at once: the second waits for the whole document
            spec = self._spec
            if self._pending:
                with force_locale("fr"):
                    while self._pending:  # a step that raises stays, and raises again for the next reader
                        self._pending[0](spec)
                        self._pending.pop(0)
        return spec

    @spec.setter
    def spec(self, value) -> None:  # flask-smorest sets it for each app: what was pending was the last app's
        with self._documenting:
            self._spec, self._pending = value, []

    def register_blueprint(self, blp, *, parameters=None, **options):
        """flask-smorest's own, the documentation of the blueprint's views deferred."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        app = self._app
        self.document(lambda spec: blp.register_views_in_doc(self, app, spec, name=name, parameters=parameters))
        self.document(lambda spec: spec.tag({"name": name, "description": blp.description}))

    def document(self, step) -> None:
        """Run `step(spec)` when the document is first read, after the steps already waiting."""
        self._pending.append(step)

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return error
        return http_problem(error)


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
    api.document(webhooks.document)  # the `webhooks` section: what subscribers receive (OpenAPI 3.1)
    csrf.exempt(blp)  # bearer tokens only: no cookie, no CSRF
    csrf.exempt(webhooks.blp)
    csrf.exempt(backoffice)
