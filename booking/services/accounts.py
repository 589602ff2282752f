"""Accounts: client contacts capped by the company's tier, passwords."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext  # lazy; under this name pybabel extracts it
from sqlalchemy import func, select

from .. import contract
from ..extensions import db
from ..models import Company, User
from . import audit, locking, logins
from .errors import Conflict, Invalid

MIN_PASSWORD = 8


def add_contact(actor: User, company: Company, email: str, name: str, password: str) -> User:
    """A new portal contact for `company`, refused beyond the tier's number of contacts."""
    email = email.strip().lower()
    if "@" not in email or len(password) < MIN_PASSWORD or not name.strip():
        raise Invalid(_l("Indiquez un nom, une adresse e-mail valide et un mot de passe d'au moins 8 caractères."))
    with locking.locked([locking.company(company.id)]):
        return _add(actor, company, email, name, password)


def active_contacts(company: Company) -> int:
    return db.session.execute(
        select(func.count()).select_from(User).where(User.company_id == company.id, User.active.is_(True))
    ).scalar_one()


def check_contact_cap(company: Company, adding: int = 1) -> None:
    """Refused when `adding` more active contacts would exceed the tier's number (under the company's lock)."""
    tier = contract.current().tier(company.tier)
    count = active_contacts(company)
    if count + adding > tier.contacts:
        raise Conflict(
            ngettext(
                "La formule %(tier)s donne accès au portail à %(num)d contact et %(company)s en a déjà "
                "%(count)s : désactivez d'abord un contact, ou changez de formule.",
                "La formule %(tier)s donne accès au portail à %(num)d contacts et %(company)s en a déjà "
                "%(count)s : désactivez d'abord un contact, ou changez de formule.",
                tier.contacts,
                tier=tier.label,
                company=company.name,
                count=count,
            ),
            code="contact_cap",
            field="email",
        )


def _add(actor, company, email, name, password) -> User:
    check_contact_cap(company)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(_l("Un compte existe déjà pour %(email)s.", email=email), code="email_taken")
    user = User(email=email, name=name.strip(), role="client", company=company)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, company=company.id)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password first; every other session of theirs ends. Checked and
    written (and committed) under the account's lock, taken first as `logins.log_out` does: on SQLite a request
    that has read and then writes fails at once if another writer committed in between; on PostgreSQL two tabs
    changing it at once are one after the other (an invitation's link is redeemed under the same lock). A
    refusal writes nothing."""
    # the user is read again under the lock: the password checked is the one replaced
    with locking.locked(locking.of_user(user)):
        if not user.check_password(current):
            raise Invalid(_l("Le mot de passe actuel ne correspond pas : rien n'a été changé."), code="wrong_password")
        set_password(user, user, new)


def set_password_now(actor: User | None, user: User, new: str) -> None:
    """`set_password` in a transaction of its own, under the account's lock taken first (as `change_password`):
    the CLI's reset beside a login, an invitation or the user's own change."""
    with locking.locked(locking.of_user(user)):
        set_password(actor, user, new)


def set_password(actor: User | None, user: User, new: str) -> None:
    """A new password for `user`; sessions opened with the old one end (the caller commits)."""
    if len(new) < MIN_PASSWORD:
        raise Invalid(
            _l("Choisissez un mot de passe d'au moins %(count)s caractères.", count=MIN_PASSWORD), code="weak_password"
        )
    user.set_password(new)
    logins.end_sessions(actor, user)
    audit.record(actor, "user.password", user)


def set_locale(user: User, code: str) -> None:
    """The account's language (fr or en), chosen with the pages' switch: its later sessions start in it and
    the mails written in the reader's language (a planner's refusal) use it. Last choice wins: no lock."""
    if user.locale != code:
        user.locale = code
        db.session.commit()
