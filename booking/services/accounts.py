"""Client contacts, capped by the company's tier."""
from __future__ import annotations

from sqlalchemy import func, select

from .. import contract
from ..extensions import db
from ..models import Company, User
from . import audit, locking
from .errors import Conflict, Invalid


def add_contact(actor: User, company: Company, email: str, name: str, password: str) -> User:
    """A new portal contact for `company`, refused beyond the tier's number of contacts."""
    tier = contract.current().tier(company.tier)
    email = email.strip().lower()
    if "@" not in email or len(password) < 8 or not name.strip():
        raise Invalid("Indiquez un nom, une adresse e-mail valide et un mot de passe d'au moins 8 caractères.")
    with locking.locked([locking.company(company.id)]):
        return _add(actor, company, tier, email, name, password)


def _add(actor, company, tier, email, name, password) -> User:
    count = db.session.scalar(select(func.count()).select_from(User).where(
        User.company_id == company.id, User.active.is_(True)))
    if count >= tier.contacts:
        raise Conflict(f"La formule {tier.label} donne accès au portail à {tier.contacts} contact(s) : "
                       f"{company.name} en a déjà {count}. Désactivez un contact ou changez de formule.")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(f"Un compte existe déjà pour {email}.")
    user = User(email=email, name=name.strip(), role="client", company=company)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, company=company.id)
    return user
