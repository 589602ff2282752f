"""Monthly billable report per company: one line per session, net of refunds."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from calendars.worktime import PARIS
from .. import csvsafe
from ..extensions import db
from ..models import Booking, Company, LedgerEntry

HEADER = ["date", "heure", "prestation", "contact", "consultant", "statut", "minutes_incluses", "minutes_facturables"]


def month_range(month: date) -> tuple[datetime, datetime]:
    first = datetime.combine(month.replace(day=1), datetime.min.time(), PARIS)
    following = datetime.combine(date(month.year + month.month // 12, month.month % 12 + 1, 1), datetime.min.time(), PARIS)
    return first, following


def monthly_rows(company: Company, month: date) -> list[tuple[Booking, int, int]]:
    """(booking, included minutes used, billable minutes) for the sessions of a local month."""
    start, end = month_range(month)
    rows = db.session.execute(
        select(Booking, -func.sum(LedgerEntry.minutes), func.sum(LedgerEntry.billable_minutes))
        .join(LedgerEntry, LedgerEntry.booking_id == Booking.id)
        .where(Booking.company_id == company.id, Booking.start_at >= start, Booking.start_at < end)
        .group_by(Booking.id).order_by(Booking.start_at)
    ).all()
    return [(b, int(inc), int(bill)) for b, inc, bill in rows if inc or bill]


def monthly_csv(company: Company, month: date) -> str:
    """The report as CSV, with a total line; names and e-mails written so that no spreadsheet runs them."""
    rows = monthly_rows(company, month)
    lines = [HEADER]
    for booking, included, billable in rows:
        local = booking.start_at.astimezone(PARIS)
        lines.append([local.date().isoformat(), local.strftime("%H:%M"), booking.kind,
                      booking.contact.email if booking.contact else "", booking.consultant.name,
                      booking.status, included, billable])
    lines.append(["total", "", "", "", "", "", sum(r[1] for r in rows), sum(r[2] for r in rows)])
    return csvsafe.write(lines)
