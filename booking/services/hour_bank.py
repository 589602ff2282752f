"""The Sérénité hour bank and billable minutes: contract years, balances, reserve, refund.

Every movement is a ledger line; balances are sums. Callers hold the company's lock
(see `locking`), so the balance read before a reservation is still true when it is written.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError

from calendars.worktime import PARIS

from .. import contract
from ..extensions import db
from ..models import Alert, Booking, Company, LedgerEntry
from . import appends, audit, locking, notify, periods
from .errors import Conflict

CENT = Decimal("0.01")


def price(tier: str, billable_minutes: int) -> Decimal | None:
    """The tier's price of billable ERP-Lib minutes at the contract's rate now (a 45-minute session: three quarters
    of the hour); None when the contract lists no rate."""
    hourly = contract.current().tier(tier).price("erplib_hour")
    if hourly is None:
        return None
    return (hourly * billable_minutes / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def _anniversary(start: date, year: int) -> date:
    try:
        return start.replace(year=year)
    except ValueError:  # a contract signed on 29 February renews on 28 February
        return date(year, 2, 28)


def contract_year(company: Company, today: date) -> date:
    """First day of the contract year containing `today` (the contract's anniversary)."""
    start = company.contract_start
    year = today.year if _anniversary(start, today.year) <= today else today.year - 1
    return max(start, _anniversary(start, year))


def year_end(company: Company, year: date) -> date:
    """The day after the contract year that starts on `year` (the next anniversary)."""
    return _anniversary(company.contract_start, year.year + 1)


def balance(company: Company, year: date, tier: str | None = None) -> int:
    """Included minutes left in a contract year (the year's grant, that of `tier` or else of today's tier,
    counts before it is written)."""
    total, granted = db.session.execute(
        select(func.coalesce(func.sum(LedgerEntry.minutes), 0), func.count().filter(LedgerEntry.kind == "grant")).where(
            LedgerEntry.company_id == company.id, LedgerEntry.contract_year == year
        )
    ).one()
    return total if granted else total + contract.current().tier(tier or company.tier).hour_bank_minutes


def ensure_grant(company: Company, year: date, tier: str | None = None) -> None:
    """The year's included minutes (no carry-over: each contract year has its own grant), those of `tier`
    (the one in force on the booking's day) or else of today's tier."""
    minutes = contract.current().tier(tier or company.tier).hour_bank_minutes
    if not minutes:
        return
    exists = db.session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.company_id == company.id, LedgerEntry.contract_year == year, LedgerEntry.kind == "grant"
        )
    )
    if exists is None:
        db.session.add(
            LedgerEntry(company_id=company.id, contract_year=year, kind="grant", minutes=minutes, note="")
        )  # the kind says it: a note would repeat it
        db.session.flush()


def _year_of(booking: Booking) -> date:
    return contract_year(booking.company, booking.start_at.astimezone(PARIS).date())


_TABLE = LedgerEntry.__table__  # movements are plain rows, summed when read (a read writes what waits first)


_NEW = "hour_bank.new"  # session.info: (transaction, {booking id: (minutes, billable) written in it})


def created(booking: Booking) -> None:
    """`booking` was inserted in this transaction: every ledger line it holds is written by `_write` in
    this same transaction, so `held_here` can answer without summing them again."""
    session = db.session()
    memo = session.info.get(_NEW)
    if memo is None or memo[0] is not session.get_transaction():
        memo = session.info[_NEW] = (session.get_transaction(), dict[int, tuple[int, int, Decimal | None]]())
    memo[1][booking.id] = (0, 0, Decimal(0))


def held_here(booking: Booking) -> tuple[int, int, Decimal | None] | None:
    """The (minutes, billable, amount) sums of a booking created in the current transaction, else None (read
    them)."""
    session = db.session()
    memo = session.info.get(_NEW)
    if memo is None or memo[0] is not session.get_transaction():
        return None
    return memo[1].get(booking.id)


def _write(
    booking: Booking, year: date, kind: str, minutes: int, billable: int, note: str, amount: Decimal | None
) -> None:
    appends.add(
        _TABLE,
        {
            "company_id": booking.company_id,
            "contract_year": year,
            "booking_id": booking.id,
            "kind": kind,
            "minutes": minutes,
            "billable_minutes": billable,
            "note": note,
            "amount_eur": amount,
        },
    )
    sums = held_here(booking)
    if sums is not None:
        total = None if sums[2] is None or (amount is None and billable) else sums[2] + (amount or 0)
        db.session.info[_NEW][1][booking.id] = (sums[0] + minutes, sums[1] + billable, total)


def reserve(booking: Booking, expected_billable: int | None = None, expected_price: Decimal | None = None) -> None:
    """Record a confirmed session: included minutes while the bank lasts, the rest billable.

    `expected_billable`: the billable minutes the client was shown before consenting; if the bank has
    moved since (another booking of the company confirmed meanwhile), nothing is recorded and the
    refusal states the new split, so that nobody is billed for minutes they were told were included.
    `expected_price`: the price of those minutes the client was shown; if the contract's rate changed since
    (a new version applied from the contract page), nothing is recorded and the refusal states the new price."""
    # the tier of the booking's day: a session after a planned change is paid as the new tier says
    tier = periods.tier_on(booking.company, booking.start_at.astimezone(PARIS).date())
    access = contract.current().tier(tier).access(booking.kind)
    if access not in ("hour_bank", "billable"):
        return
    minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    year = _year_of(booking)
    included = 0
    if access == "hour_bank":
        ensure_grant(booking.company, year, tier)
        left = balance(booking.company, year)
        included = max(0, min(minutes, left))
    billable = minutes - included
    amount = price(tier, billable) if billable else Decimal(0)  # what the ledger records: checked before written
    check_shown(expected_billable, included, billable, expected_price, amount)
    if access == "hour_bank" and included and included == left:  # this session takes the last included minutes
        audit.record(
            None,
            "hour_bank.exhausted",
            booking.company,
            contract_year=year.isoformat(),
            balance_minutes=0,
            booking=booking.id,
        )
    _write(booking, year, "reserve", -included, billable, "", amount)


def check_shown(
    expected_billable: int | None,
    included: int,
    billable: int,
    expected_price: Decimal | None = None,
    amount: Decimal | None = None,
) -> None:
    """Refuse (`cost_changed`, with the new split) when the billable minutes the client was shown before consenting
    are not those about to be recorded: nobody is billed for minutes they were told were included; and (with the
    new price) when the price shown is not the `amount` about to be recorded: nobody is billed at a rate they did
    not see (`amount` None: the contract lists no rate, the page then says « au tarif convenu »)."""
    if expected_billable is not None and expected_billable != billable:
        raise Conflict(
            _(
                "Le coût a changé depuis son affichage (le compteur d'heures de votre société a bougé) : "
                "%(included)s min incluses, %(billable)s min facturables. Vérifiez-le, puis confirmez "
                "de nouveau.",
                included=included,
                billable=billable,
            ),
            code="cost_changed",
        )
    if expected_price is not None and amount != expected_price:  # Decimal: 82.5 is 82.50
        if amount is None:
            raise Conflict(
                _(
                    "Le prix a changé ou diffère de celui affiché : le contrat ne fixe pas de tarif, %(billable)s "
                    "min facturables au tarif convenu avec votre planificateur. Vérifiez-le, puis confirmez de "
                    "nouveau.",
                    billable=billable,
                ),
                code="cost_changed",
            )
        raise Conflict(
            _(
                "Le prix a changé ou diffère de celui affiché : %(billable)s min facturables, soit %(price)s HT. "
                "Vérifiez-le, puis confirmez de nouveau.",
                billable=billable,
                price=format_currency(amount, "EUR"),
            ),
            code="cost_changed",
        )


def check_kept(booking: Booking, expected_billable: int | None, expected_price: Decimal | None) -> None:
    """A move that keeps the booking's lines records nothing: what it was shown is what those lines hold, their
    price as `costs.consented` reads it (lines without an amount: at today's rate), or it is refused as `reserve`
    refuses."""
    included, billable, amount = counted(booking)
    if amount is None or not billable:
        tier = periods.tier_on(booking.company, booking.start_at.astimezone(PARIS).date())
        amount = price(tier, billable) if billable else Decimal(0)
    check_shown(expected_billable, included, billable, expected_price, amount)


# Built once (it runs on every booking's answer): building a statement costs more than running it. The last
# column sums the billable minutes of the lines with no amount (written before the amounts were): while they hold
# some, the amounts' sum is not the price consented to.
_UNPRICED = func.coalesce(func.sum(case((LedgerEntry.amount_eur.is_(None), LedgerEntry.billable_minutes), else_=0)), 0)
_HELD = select(
    func.coalesce(func.sum(LedgerEntry.minutes), 0),
    func.coalesce(func.sum(LedgerEntry.billable_minutes), 0),
    func.coalesce(func.sum(LedgerEntry.amount_eur), 0),
    _UNPRICED,
).where(LedgerEntry.booking_id == bindparam("booking_id"))


def counted(booking: Booking) -> tuple[int, int, Decimal | None]:
    """The included and billable minutes a booking's ledger lines still hold, and the price of those billable
    minutes at the rates consented to (None: some line predates the amounts; price it at today's rates)."""
    here = held_here(booking)
    if here is not None:
        minutes, billable, amount = here
    else:
        minutes, billable, amount, unknown = db.session.execute(_HELD, {"booking_id": booking.id}).one()
        amount = None if unknown else Decimal(amount).quantize(CENT)
    return -int(minutes), int(billable), amount


def held(booking: Booking) -> tuple[int, int]:
    """The included and billable minutes a booking's ledger lines still hold."""
    included, billable, _amount = counted(booking)
    return included, billable


def refund(booking: Booking, note: str = "") -> None:
    """Give back everything the booking still holds (included and billable minutes); `note` is a code of
    labels.LEDGER_NOTES, said in the reader's language. Each contract year gets back what the booking holds in it:
    a session moved into another year and back holds its minutes in the first year again, whatever year its
    lines were last written in."""
    for year, held, billable, amount, unpriced in db.session.execute(
        select(
            LedgerEntry.contract_year,
            func.sum(LedgerEntry.minutes),
            func.sum(LedgerEntry.billable_minutes),
            func.sum(LedgerEntry.amount_eur),
            _UNPRICED,
        )
        .where(LedgerEntry.booking_id == booking.id)
        .group_by(LedgerEntry.contract_year)
        .order_by(LedgerEntry.contract_year)
    ):
        if held or billable:
            # minutes held by lines without an amount: the refund has none either (as `counted` reads them)
            given_back = None if unpriced or amount is None else -Decimal(amount)
            _write(booking, year, "refund", -held, -billable, note, given_back)


def entries(company_id: int, year: date) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.company_id == company_id, LedgerEntry.contract_year == year)
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
    )


def summary(company: Company, today: date, year: date | None = None) -> dict:
    """A contract year (by default the current one): included minutes, balance, billable minutes and the ledger,
    with the years that have lines (a session booked past the next anniversary counts in the next year)."""
    current = contract_year(company, today)
    year = contract_year(company, year) if year else current
    lines = entries(company.id, year)
    granted = next((e.minutes for e in lines if e.kind == "grant"), None)
    # another year's grant is its own tier's (a planned change may open or close the bank at the anniversary);
    # the current year's is today's tier's, as a booking counts it (an upgrade opens the whole year)
    tier = company.tier if year == current else periods.tier_on(company, year)
    return {
        "contract_year_start": year,
        "included_minutes": granted if granted is not None else contract.current().tier(tier).hour_bank_minutes,
        "balance_minutes": balance(company, year, tier),
        "billable_minutes": sum(e.billable_minutes for e in lines),
        "entries": lines,
        "years": sorted(set(years(company)) | {current, year}),
    }


def years(company: Company) -> list[date]:
    """The contract years in which the company's ledger has lines, oldest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry.contract_year)
            .where(LedgerEntry.company_id == company.id)
            .distinct()
            .order_by(LedgerEntry.contract_year)
        )
    )


def roll_over(now: datetime) -> int:
    """Write each hour-bank company's grant for its current contract year (idempotent); returns how many."""
    written = 0
    today = now.astimezone(PARIS).date()
    for company in db.session.scalars(select(Company)).all():
        if not contract.current().tier(company.tier).hour_bank_minutes:
            continue
        year = contract_year(company, today)
        with locking.locked([locking.company(company.id)]):
            before = db.session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(
                    LedgerEntry.company_id == company.id, LedgerEntry.contract_year == year, LedgerEntry.kind == "grant"
                )
            )
            ensure_grant(company, year)
        written += before == 0
    return written


def alert_low_balances(now: datetime) -> int:
    """Alert a company and the planners once per contract year when fewer than 2 hours are left."""
    threshold = contract.current().policy.low_balance_minutes
    today, alerted = now.astimezone(PARIS).date(), 0
    for company in db.session.scalars(select(Company)).all():
        if not contract.current().tier(company.tier).hour_bank_minutes:
            continue
        year = contract_year(company, today)
        left = balance(company, year)
        if left >= threshold:
            continue
        name = company.name
        try:
            with locking.locked([locking.company(company.id)]):
                db.session.add(Alert(kind="low_balance", company_id=company.id, period=year))
                db.session.flush()  # a second alert for the year fails here, before any mail is queued
                audit.record(None, "hour_bank.low", company, contract_year=year.isoformat(), balance_minutes=left)
                notify.company_alert(
                    company,
                    "Banque d'heures ERP-Lib bientôt épuisée",
                    f"Il reste {left} minutes incluses à {name} pour l'année contractuelle "
                    f"commencée le {year:%d/%m/%Y} ; au-delà, les séances sont facturées.",
                )
        except IntegrityError:  # already alerted this contract year
            continue
        alerted += 1
    return alerted
