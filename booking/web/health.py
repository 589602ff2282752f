"""Liveness with the database reachable, for load balancers and `make run`."""

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from sqlalchemy import text

from ..api.problems import problem
from ..extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", never a 500 page
        db.session.rollback()
        return problem(
            503, _("Base de données injoignable : %(error)s", error=type(exc).__name__), code="database_down"
        )
    return jsonify(status="ok", database="ok")
