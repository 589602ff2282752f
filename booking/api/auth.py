"""Bearer-token authentication for the API (never the session cookie, so no CSRF exposure)."""

from functools import wraps

from flask import g, request
from flask_babel import gettext

from .. import labels
from ..models.types import utcnow
from ..services import tokens
from .problems import problem

ALL_ROLES = ("client", "consultant", "planner", "admin")


def token_required(*roles: str):
    """Authenticate the bearer token and check the role (401 / 403 as problem+json)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            try:
                user = tokens.authenticate(raw.strip() if scheme.lower() == "bearer" else "", utcnow())
            except tokens.TokenRefused as refusal:
                response = problem(401, refusal.message, code=refusal.code)
                response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
            if roles and user.role not in roles:
                return problem(
                    403,
                    gettext(
                        "Le rôle « %(role)s » n'a pas accès à cette ressource.",
                        role=labels.ROLES.get(user.role, user.role),
                    ),
                    code="role_refused",
                )
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles or ALL_ROLES
        return wrapped

    return decorator
