"""Monthly billable report per company: one line per session, net of refunds, then the priority consulting it
was quoted a price for, and the compensations it pays for the bookings of other clients moved for it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal
from sqlalchemy import func, select

from calendars.worktime import PARIS

from .. import csvsafe
from ..extensions import db
from ..models import Booking, Company, Compensation, LedgerEntry, PriorityRequest

CONSULTING_HEADER = ["ligne", "date", "demande", "duree", "unite", "montant_eur"]
COMPENSATION_HEADER = ["ligne", "date", "plan", "rendez_vous_deplace", "client_deplace", "montant_eur"]
HEADER = ["date", "heure", "prestation", "contact", "consultant", "statut", "minutes_incluses", "minutes_facturables"]


def month_range(month: date) -> tuple[datetime, datetime]:
    first = datetime.combine(month.replace(day=1), datetime.min.time(), PARIS)
    following = datetime.combine(
        date(month.year + month.month // 12, month.month % 12 + 1, 1), datetime.min.time(), PARIS
    )
    return first, following


def monthly_rows(company: Company, month: date) -> list[tuple[Booking, int, int]]:
    """(booking, included minutes used, billable minutes) for the sessions of a local month."""
    start, end = month_range(month)
    rows = db.session.execute(
        select(Booking, -func.sum(LedgerEntry.minutes), func.sum(LedgerEntry.billable_minutes))
        .join(LedgerEntry, LedgerEntry.booking_id == Booking.id)
        .where(Booking.company_id == company.id, Booking.start_at >= start, Booking.start_at < end)
        .group_by(Booking.id)
        .order_by(Booking.start_at)
    ).all()
    return [(b, int(inc), int(bill)) for b, inc, bill in rows if inc or bill]


def monthly_csv(company: Company, month: date) -> str:
    """The report as CSV, with a total line; names and e-mails written so that no spreadsheet runs them."""
    rows = monthly_rows(company, month)
    lines: list[list] = [HEADER]
    for booking, included, billable in rows:
        local = booking.start_at.astimezone(PARIS)
        lines.append(
            [
                local.date().isoformat(),
                local.strftime("%H:%M"),
                booking.kind,
                booking.contact.email if booking.contact else "",
                booking.consultant.name,
                booking.status,
                included,
                billable,
            ]
        )
    lines.append(["total", "", "", "", "", "", sum(r[1] for r in rows), sum(r[2] for r in rows)])
    consulting = monthly_consulting(company, month)
    if consulting:  # its own block, like the compensations: the sessions' columns stay as they were
        lines += [[], CONSULTING_HEADER]
        for request in consulting:
            assert request.applied_at is not None and request.consulting_eur is not None  # what the query selects
            lines.append(
                [
                    "conseil_prioritaire",
                    request.applied_at.astimezone(PARIS).date().isoformat(),
                    request.id,
                    request.amount,
                    "jours" if request.unit == "days" else "heures",
                    _amount(request.consulting_eur),
                ]
            )
        total = sum((r.consulting_eur or Decimal(0) for r in consulting), Decimal(0))
        lines.append(["total_conseil_prioritaire", "", "", "", "", _amount(total)])
    paid = monthly_compensations(company, month)
    if paid:  # a second block, so that the sessions' columns stay what they were for those who read them
        lines += [[], COMPENSATION_HEADER]
        for entry, beneficiary in paid:
            lines.append(
                [
                    "compensation",
                    entry.created_at.astimezone(PARIS).date().isoformat(),
                    entry.plan_id,
                    entry.booking_id,
                    beneficiary,
                    _amount(entry.amount_eur),
                ]
            )
        lines.append(["total_compensations", "", "", "", "", _amount(sum((e.amount_eur for e, _ in paid), Decimal(0)))])
    return csvsafe.write(lines)


def monthly_consulting(company: Company, month: date) -> list[PriorityRequest]:
    """The company's priority consulting billed in a local month: those whose plan was applied then at a
    price (Confort's, from the contract's rates; Sérénité's is included, 0, and not listed). Billed when
    applied, like the compensations of the same plan: one quote accepted, one month."""
    start, end = month_range(month)
    return list(
        db.session.scalars(
            select(PriorityRequest)
            .where(
                PriorityRequest.company_id == company.id,
                PriorityRequest.applied_at >= start,
                PriorityRequest.applied_at < end,
                PriorityRequest.consulting_eur > 0,
            )
            .order_by(PriorityRequest.applied_at, PriorityRequest.id)
        )
    )


def consulting_totals(month: date) -> dict[int, Decimal]:
    """Every company's priority consulting billed in a local month (`monthly_consulting`, summed), in one query
    for the billing page's column."""
    start, end = month_range(month)
    rows = db.session.execute(
        select(PriorityRequest.company_id, func.sum(PriorityRequest.consulting_eur))
        .where(
            PriorityRequest.applied_at >= start,
            PriorityRequest.applied_at < end,
            PriorityRequest.consulting_eur > 0,
        )
        .group_by(PriorityRequest.company_id)
    )
    return {company_id: Decimal(total or 0) for company_id, total in rows}


def monthly_compensations(company: Company, month: date) -> list[tuple[Compensation, str]]:
    """(compensation, moved client's name) charged to the company in a local month for the bookings moved
    for its priority consulting."""
    start, end = month_range(month)
    rows = db.session.execute(
        select(Compensation, Company.name)
        .join(Company, Company.id == Compensation.beneficiary_company_id)
        .where(
            Compensation.payer_company_id == company.id, Compensation.created_at >= start, Compensation.created_at < end
        )
        .order_by(Compensation.created_at, Compensation.id)
    )
    return [(entry, name) for entry, name in rows]


def _amount(value: Decimal) -> str:
    """Euros with a decimal comma, as the French spreadsheet reading the ';'-separated file expects."""
    return format_decimal(Decimal(value), format="0.00", locale="fr_FR")
