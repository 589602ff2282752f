"""Session login for pages, and the role check that guards every route."""

from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import db, login_manager
from .models import User


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, _generation = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    # The whole id must match: logout and a password change bump its generation, ending every copy.
    return user if user and user.active and user.get_id() == session_id else None


@login_manager.unauthorized_handler
def _unauthorized():
    return redirect(url_for("auth.login", next=request.path))


def role_required(*roles: str):
    """Let through only logged-in users whose role is one of `roles` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


def home_endpoint(user: User) -> str:
    return {"client": "portal.home", "consultant": "consultant.home", "planner": "planner.home", "admin": "admin.home"}[
        user.role
    ]
