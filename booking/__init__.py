"""ERP-Lib Planner: the Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError

from . import inputs, read_commit, reads, sqlite  # noqa: F401  (sqlite: registers the SQLite connection settings)
from .config import from_environment
from .extensions import babel, csrf, db, login_manager, migrate

MIGRATIONS = str(Path(__file__).with_name("migrations"))


def select_locale() -> str:
    """A page's language: the one chosen in the session, else the account's, else Accept-Language's, else French;
    an API request's: Accept-Language's, else its token's account's, else French; outside requests, French."""
    if not has_request_context():
        return "fr"
    if request.path.startswith("/api/"):
        # an API client says its language in Accept-Language, else its token's account does: not the page
        # session a browser may carry beside the token
        return request.accept_languages.best_match(["fr", "en"]) or _known_locale(g.get("api_user")) or "fr"
    chosen = session.get("lang")
    if chosen:
        return chosen
    if current_user and current_user.is_authenticated:
        return _known_locale(current_user._get_current_object()) or "fr"
    return request.accept_languages.best_match(["fr", "en"]) or "fr"


def _known_locale(user) -> str | None:
    """The account's language, or None when it cannot be read: the error page of a database gone away asks for the
    language too, and reading an expired account there failed and turned its 503 into a 500."""
    if user is None:
        return None
    known = sa_inspect(user).dict.get("locale")
    if known is not None:
        return known
    try:
        return user.locale
    except SQLAlchemyError:
        return None


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests)."""
    app = Flask(__name__, instance_relative_config=True, template_folder="web/templates", static_folder="web/static")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    app.extensions["factory"] = create_app  # the scheduler's worker processes build the same app (plan_workers.py)
    inputs.init_app(app)  # first: its `<int:…>` converter must be in place before any route is added

    reads.init_app(app)  # before the engines are made
    db.init_app(app)
    read_commit.init_app(app)  # after: its teardown must run before the session's removal
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    from . import api, auth, cli, contract, logmask, models, security  # noqa: F401  (models: register tables)
    from .services import contract_store, costs, notify
    from .web import register as register_web

    contract.use_edited(contract_store.in_force)  # the version applied from the admin page, if any
    notify.use_costs(costs.for_booking)  # what booking mails repeat of the client's consent

    from .web import feeds as feed_polls

    feed_polls.serve_polls(app)  # in front of Flask's request handling, behind ProxyFix (the scheme it sets)
    if app.config.get("TRUSTED_PROXIES"):  # behind N reverse proxies: their X-Forwarded-* are believed
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    security.init_app(app)
    auth.init_app(app)
    register_web(app)
    api.init_app(app)
    cli.init_app(app)
    # the development server's request lines carry feed tokens; the root's handlers see every booking.* logger
    logmask.install("werkzeug", app.logger, logging.getLogger())
    return app
