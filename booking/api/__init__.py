"""The JSON API under /api/v1, authenticated by personal bearer tokens only."""
from functools import wraps

from flask import Blueprint, g, jsonify, request

from ..services import tokens
from .problems import problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def token_required(*roles: str):
    """Authenticate the bearer token (never the session cookie) and check the role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, raw = header.partition(" ")
            user = tokens.user_for(raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None
            if user is None:
                response = problem(401, "Jeton d'API manquant, invalide ou révoqué. "
                                        "Envoyez l'en-tête « Authorization: Bearer <jeton> ».")
                response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
            if roles and user.role not in roles:
                return problem(403, f"Le rôle « {user.role} » n'a pas accès à cette ressource.")
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles or ("client", "consultant", "planner", "admin")
        return wrapped

    return decorator


@bp.route("/me")
@token_required()
def me():
    user = g.api_user
    return jsonify(id=user.id, email=user.email, name=user.name, role=user.role,
                   company=user.company.name if user.company else None)
