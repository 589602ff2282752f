"""People's access: invitations by mail with a set-password link, deactivation, reactivation, password
resets (asked by an admin or by the person: "mot de passe oublié"), main contacts, staff roles.

A link is `secrets.token_urlsafe(32)` shown only in the mail, kept as its SHA-256, single use (re-checked
under the account's lock) and expiring; a newer link for the same person replaces the older ones.
A client's main contact manages the contacts of their own company, within the tier's cap.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Company, PasswordLink, User
from . import accounts, audit, companies, locking, logins, notify
from .errors import Conflict, Invalid, NotEntitled, NotFound

STAFF_ROLES = ("planner", "admin")  # consultants are hired on the consultants' page (with their skills)


def valid_hours(purpose: str) -> int:
    """How long a link of this purpose works, in hours."""
    return int(current_app.config["INVITE_LINK_HOURS" if purpose == "invite" else "RESET_LINK_HOURS"])


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _issue(user: User, purpose: str, now: datetime) -> None:
    """A new link for `user` (older unused ones stop working), mailed through the outbox."""
    db.session.execute(
        update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None)).values(used_at=now)
    )
    raw, hours = secrets.token_urlsafe(32), valid_hours(purpose)
    db.session.add(
        PasswordLink(
            user_id=user.id,
            token_hash=digest(raw),
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    db.session.flush()
    notify.password_link(user, raw, purpose, hours)


def may_manage(actor: User, company: Company) -> None:
    """Admins manage every company's contacts; a client only their own company's, as its main contact."""
    if actor.role == "admin":
        return
    if actor.role != "client" or actor.company_id != company.id or not actor.main_contact:
        raise NotEntitled(
            _(
                "Seul le contact principal de la société gère ses contacts : demandez-lui, ou à votre "
                "administrateur ERP-Lib."
            ),
            code="not_main_contact",
        )


def _new_account(email: str, name: str) -> tuple[str, str]:
    email, name = (email or "").strip().lower(), (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid(_("Indiquez le nom de la personne (1 à 120 caractères)."), code="invalid_name", field="name")
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise Invalid(
            _("Indiquez une adresse e-mail valide, par exemple prenom.nom@societe.fr."),
            code="invalid_email",
            field="email",
        )
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(_("Un compte existe déjà pour %(email)s.", email=email), code="email_taken", field="email")
    return email, name


def invite_contact(
    actor: User, company: Company, email: str, name: str, now: datetime, main_contact: bool = False
) -> User:
    """A new portal contact of `company`, within its tier's cap; the invitation mail carries the link."""
    may_manage(actor, company)
    email, name = _new_account(email, name)
    with locking.locked([locking.company(company.id)]):
        company = db.session.get_one(Company, company.id)
        if not company.active:
            raise Conflict(
                _("%(company)s est désactivée : réactivez-la avant d'y inviter un contact.", company=company.name),
                code="company_inactive",
            )
        accounts.check_contact_cap(company)
        email, name = _new_account(email, name)
        user = User(email=email, name=name, role="client", company=company, main_contact=bool(main_contact))
        user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the link sets the real one
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "user.invite", user, company=company.id, main_contact=user.main_contact)
        _issue(user, "invite", now)
    return user


def invite_staff(actor: User, email: str, name: str, role: str, now: datetime) -> User:
    if role not in STAFF_ROLES:
        raise Invalid(_("Choisissez un rôle : planificateur ou administrateur."), code="invalid_role", field="role")
    email, name = _new_account(email, name)
    with locking.locked([]):
        email, name = _new_account(email, name)
        user = User(email=email, name=name, role=role)
        user.set_password(secrets.token_urlsafe(32))
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "user.invite", user, role=role)
        _issue(user, "invite", now)
    return user


def get_user(user_id) -> User:
    user = db.session.get(User, int(user_id)) if str(user_id).isdigit() and int(user_id) < 2**31 else None
    if user is None:
        raise NotFound(_("Ce compte n'existe pas."), code="not_found")
    return user


def _managed(actor: User, user: User) -> None:
    if user.company is not None:
        may_manage(actor, user.company)
    elif actor.role != "admin":
        raise NotEntitled(_("Seul un administrateur gère les comptes de l'équipe."), code="admin_only")
    if user.id == actor.id:
        raise Conflict(
            _("Vous ne pouvez pas modifier votre propre accès : demandez-le à un autre administrateur."), code="self"
        )


def deactivate(actor: User, user: User, now: datetime) -> None:
    """The account stops at once: sessions and API tokens end, pending links stop working."""
    _managed(actor, user)
    with locking.locked(locking.of_user(user)):
        user = db.session.get_one(User, user.id)
        if not user.active:
            return
        companies.stop_user(actor, user, now)
        db.session.execute(
            update(PasswordLink)
            .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
            .values(used_at=now)
        )
        db.session.flush()


def reactivate(actor: User, user: User) -> None:
    """The account works again with its password; a client counts against the cap again."""
    _managed(actor, user)
    with locking.locked(locking.of_user(user)):
        user = db.session.get_one(User, user.id)
        if user.active:
            return
        if user.company is not None:
            if not user.company.active:
                raise Conflict(
                    _("%(company)s est désactivée : réactivez d'abord la société.", company=user.company.name),
                    code="company_inactive",
                )
            accounts.check_contact_cap(user.company)
        user.active = True
        db.session.flush()
        audit.record(actor, "user.reactivate", user)


def set_main_contact(actor: User, user: User, main: bool) -> None:
    if actor.role != "admin":
        raise NotEntitled(_("Seul un administrateur désigne le contact principal."), code="admin_only")
    if user.role != "client":
        raise Invalid(_("Seul un contact client peut être contact principal."), code="not_a_contact")
    with locking.locked(locking.of_user(user)):
        user = db.session.get_one(User, user.id)
        user.main_contact = bool(main)
        db.session.flush()
        audit.record(actor, "user.main_contact", user, main=user.main_contact)


def set_role(actor: User, user: User, role: str) -> None:
    """A staff member becomes planner or admin (clients and consultants keep theirs)."""
    _managed(actor, user)
    if role not in STAFF_ROLES or user.role not in STAFF_ROLES:
        raise Invalid(
            _("Seuls les membres de l'équipe passent de planificateur à administrateur et inversement."),
            code="invalid_role",
            field="role",
        )
    with locking.locked([locking.account(user.id)]):
        user = db.session.get_one(User, user.id)
        before, user.role = user.role, role
        logins.end_sessions(actor, user)  # pages open with the old role must not go on
        db.session.flush()
        audit.record(actor, "user.role", user, before=before, after=role)


def send_reset(actor: User, user: User, now: datetime) -> None:
    """An admin (or the main contact) sends a set-password link; the current password works until it is used."""
    _managed(actor, user)
    with locking.locked(locking.of_user(user)):
        user = db.session.get_one(User, user.id)
        if not user.active:
            raise Conflict(
                _("Ce compte est désactivé : réactivez-le avant de lui envoyer un lien."), code="user_inactive"
            )
        audit.record(actor, "user.reset_link", user)
        _issue(user, "reset", now)


def forgot(email: str, now: datetime) -> None:
    """Self-service: a link to the active account with this address, if there is one. The caller answers
    the same whatever happened (no account enumeration); the rate limits are the view's."""
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is None or not user.active:
        return
    with locking.locked(locking.of_user(user)):
        user = db.session.get_one(User, user.id)
        if user.active:
            audit.record(None, "user.reset_link", user, asked_by="self")
            _issue(user, "reset", now)


class LinkRefused(Invalid):
    code = "link_invalid"


def _refused() -> LinkRefused:
    return LinkRefused(
        _(
            "Ce lien n'est plus valable (il a expiré, a déjà servi ou a été remplacé par un plus "
            "récent) : demandez-en un nouveau avec « Mot de passe oublié »."
        )
    )


def check(raw: str, now: datetime) -> User:
    """The person a link is for, if it still works (the page shows the form), else LinkRefused."""
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == digest(raw or "")))
    if link is None or link.used_at is not None or link.expires_at <= now or not link.user.active:
        raise _refused()
    return link.user


def redeem(raw: str, password: str, now: datetime) -> User:
    """Set the password through a link: once, before it expires (re-checked under the account's lock)."""
    user = check(raw, now)
    if len(password or "") < accounts.MIN_PASSWORD:
        raise Invalid(
            _("Choisissez un mot de passe d'au moins %(n)s caractères.", n=accounts.MIN_PASSWORD),
            code="weak_password",
            field="password",
        )
    with locking.locked(locking.of_user(user)):
        link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == digest(raw)))
        if link is None or link.used_at is not None or link.expires_at <= now or not link.user.active:
            raise _refused()
        link.used_at = now
        user = link.user
        user.set_password(password)
        logins.end_sessions(None, user)
        logins.unlock(None, user)
        db.session.flush()
        audit.record(user, "user.password", user, via=link.purpose)
    return user
