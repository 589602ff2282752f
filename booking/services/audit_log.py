"""Reading the audit log: who did what, searched by company, booking, user and date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select

from calendars.worktime import PARIS

from ..extensions import db
from ..models import AuditEntry, Booking, Company, Consultant, User
from ..text_order import by_name
from .pages import Page, paginate


def search(
    *,
    company_id: int | None = None,
    booking_id: int | None = None,
    user_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
    page: int = 1,
) -> Page:
    """Newest first; a company's entries are those about it and about its bookings; dates are Paris days."""
    query = select(AuditEntry)
    if company_id is not None:
        bookings = select(Booking.id).where(Booking.company_id == company_id)
        query = query.where(
            or_(
                and_(AuditEntry.object_type == "company", AuditEntry.object_id == company_id),
                and_(AuditEntry.object_type == "booking", AuditEntry.object_id.in_(bookings)),
            )
        )
    if booking_id is not None:
        query = query.where(AuditEntry.object_type == "booking", AuditEntry.object_id == booking_id)
    if user_id is not None:
        query = query.where(AuditEntry.actor_id == user_id)
    if first is not None:
        query = query.where(AuditEntry.at >= datetime.combine(first, datetime.min.time(), PARIS))
    if last is not None:
        query = query.where(AuditEntry.at < datetime.combine(last + timedelta(days=1), datetime.min.time(), PARIS))
    return paginate(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()), page)


def actors(ids: set[int]) -> dict[int, User]:
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def choices() -> tuple[list[Company], list[User]]:
    """The companies and the staff and client users a search may name."""
    return (
        by_name(db.session.scalars(select(Company))),
        by_name(db.session.scalars(select(User))),
    )


def names(ids: dict[str, set[int]]) -> dict[str, dict[int, str]]:
    """The names of the consultants, companies and users the journal's details give by id: one query per kind."""
    queries = {
        "consultant": (Consultant.id, select(Consultant.id, User.name).join(User, Consultant.user_id == User.id)),
        "company": (Company.id, select(Company.id, Company.name)),
        "user": (User.id, select(User.id, User.name)),
    }
    return {
        kind: {ident: name for ident, name in db.session.execute(query.where(column.in_(ids[kind])))}
        for kind, (column, query) in queries.items()
        if ids.get(kind)
    }
