"""Client companies and their contracts: create, edit, deactivate, and tier changes on a chosen date.

A tier change is a new contract period (`ContractPeriod`); `Company.tier` is today's period's tier, set
at once for a change effective today and by the daily job `apply_due` for later ones. What a booking is
entitled to and what the hour bank pays follow the period covering the booking's day (`periods`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from calendars.worktime import PARIS

from .. import contract, labels
from ..date_format import format_date
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    TIERS,
    ApiToken,
    Booking,
    Company,
    Consultant,
    ContractPeriod,
    LedgerEntry,
    User,
)
from ..models.types import utcnow
from . import accounts, audit, bookings, feeds, hour_bank, locking, logins, periods
from .errors import Conflict, Invalid, NotFound

ENVIRONMENTS = ("test", "production")
PLAN_AHEAD = timedelta(days=2 * 366)  # a tier change is planned at most two years ahead


@dataclass
class CompanyData:
    """What an admin types about a company (a form or an API body)."""

    name: str
    erp_version: str
    environments: list[str] = field(default_factory=lambda: ["production"])
    privileged_consultant_id: int | None = None
    notes: str = ""
    contract_start: date | None = None
    tier: str | None = None  # on creation only: later changes go through `change_tier`


def _check(data: CompanyData, tier: str, company_id: int | None = None) -> None:
    name = (data.name or "").strip()
    if not name or len(name) > 120:
        raise Invalid(_("Donnez à la société un nom de 1 à 120 caractères."), code="invalid_name", field="name")
    if db.session.scalar(
        select(Company.id).where(func.lower(Company.name) == name.lower(), Company.id != (company_id or 0))
    ):
        raise Conflict(
            _("Une société s'appelle déjà « %(name)s » : choisissez un autre nom.", name=name),
            code="name_taken",
            field="name",
        )
    if not (data.erp_version or "").strip() or len(data.erp_version.strip()) > 20:
        raise Invalid(
            _("Indiquez la version de l'ERP (1 à 20 caractères, par exemple 12.1)."),
            code="invalid_erp_version",
            field="erp_version",
        )
    if not data.environments or set(data.environments) - set(ENVIRONMENTS):
        raise Invalid(
            _("Choisissez au moins un environnement : test, production."),
            code="invalid_environments",
            field="environments",
        )
    if data.privileged_consultant_id is not None:
        if not contract.current().tier(tier).privileged_consultant:
            raise Invalid(
                _(
                    "La formule %(tier)s ne comprend pas de consultant privilégié : laissez le champ vide.",
                    tier=contract.current().tier(tier).label,
                ),
                code="no_privileged_consultant",
                field="privileged_consultant_id",
            )
        if db.session.get(Consultant, data.privileged_consultant_id) is None:
            raise Invalid(
                _("Ce consultant n'existe pas : choisissez-en un dans la liste."),
                code="unknown_consultant",
                field="privileged_consultant_id",
            )
    if len(data.notes or "") > 4000:
        raise Invalid(_("Les notes tiennent en 4 000 caractères au plus."), code="invalid_notes", field="notes")


def create(actor: User, data: CompanyData) -> Company:
    """A new client company and the first period of its contract (from its start, in its tier)."""
    if data.tier not in TIERS:
        raise Invalid(_("Choisissez une formule : Standard, Confort ou Sérénité."), code="invalid_tier", field="tier")
    if data.contract_start is None:
        raise Invalid(_("Indiquez la date de début du contrat."), code="invalid_contract_start", field="contract_start")
    _check(data, data.tier)
    try:
        return _create(actor, data)
    except IntegrityError:  # PostgreSQL: another admin created the same name between the check and the write
        raise Conflict(
            _("Une société s'appelle déjà « %(name)s » : choisissez un autre nom.", name=data.name.strip()),
            code="name_taken",
            field="name",
        ) from None


def _create(actor: User, data: CompanyData) -> Company:
    assert data.tier is not None and data.contract_start is not None  # create() refused them missing
    with locking.locked([]):
        _check(data, data.tier)  # again in the write transaction (SQLite: under its write lock)
        company = Company(
            name=data.name.strip(),
            tier=data.tier,
            contract_start=data.contract_start,
            erp_version=data.erp_version.strip(),
            environments=list(data.environments),
            privileged_consultant_id=data.privileged_consultant_id,
            notes=(data.notes or "").strip(),
        )
        db.session.add(company)
        db.session.flush()
        db.session.add(
            ContractPeriod(
                company_id=company.id,
                starts_on=data.contract_start,
                tier=data.tier,
                created_by_id=getattr(actor, "id", None),
            )
        )
        db.session.flush()
        audit.record(actor, "company.create", company, tier=data.tier, start=data.contract_start.isoformat())
    return company


def edit(actor: User, company: Company, data: CompanyData) -> Company:
    """Name, ERP version, environments, privileged consultant, notes, contract start (the tier: `change_tier`)."""
    _check(data, company.tier, company.id)
    with locking.locked([locking.company(company.id)]):
        company = db.session.get_one(Company, company.id)
        _check(data, company.tier, company.id)
        before = _audited(company)
        company.name, company.erp_version = data.name.strip(), data.erp_version.strip()
        company.environments = list(data.environments)
        company.privileged_consultant_id, company.notes = data.privileged_consultant_id, (data.notes or "").strip()
        if data.contract_start is not None and data.contract_start != company.contract_start:
            _check_start_not_counted(company)
            first = next(iter(periods.history(company)), None)
            if first is not None and first.starts_on == company.contract_start:
                first.starts_on = data.contract_start  # the first period is the contract's start
            company.contract_start = data.contract_start
        after = _audited(company)
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        db.session.flush()
        audit.record(actor, "company.update", company, changed=changed)
    return company


def _check_start_not_counted(company: Company) -> None:
    """The contract's start dates its years, and every hour-bank line is counted in one of them: once the bank has
    lines, another start would leave them in years that no longer exist and open a full new one beside them."""
    # the yearly grant (written each night by `roll_over`) counts nothing yet: a start typed wrong can be corrected
    counted = select(LedgerEntry.id).where(LedgerEntry.company_id == company.id, LedgerEntry.kind != "grant")
    if db.session.scalar(counted.limit(1)) is not None:
        raise Conflict(
            _(
                "La date de début du contrat ne change plus : la banque d'heures de %(name)s a déjà des lignes, "
                "comptées par année de contrat depuis le %(start)s. Une autre date laisserait ces lignes hors de "
                "toute année et ouvrirait une banque neuve à côté. Gardez-la, ou demandez une correction de la "
                "banque d'heures à l'équipe technique.",
                name=company.name,
                start=format_date(company.contract_start, "d MMMM yyyy"),
            ),
            code="contract_start_counted",
        )


def _audited(company: Company) -> dict:
    """What an edit may change, as the audit row records it before and after."""
    return {
        "name": company.name,
        "erp_version": company.erp_version,
        "environments": company.environments,
        "privileged_consultant_id": company.privileged_consultant_id,
        "notes": company.notes,
        "contract_start": company.contract_start.isoformat(),
    }


def get(company_id) -> Company:
    company = (
        db.session.get(Company, int(company_id)) if str(company_id).isdigit() and int(company_id) < 2**31 else None
    )
    if company is None:
        raise NotFound(_("Cette société n'existe pas."), code="not_found")
    return company


# --- tier changes ---------------------------------------------------------------------------------


def check_change(company: Company, tier: str, starts_on: date, today: date) -> None:
    if tier not in TIERS:
        raise Invalid(_("Choisissez une formule : Standard, Confort ou Sérénité."), code="invalid_tier", field="tier")
    if starts_on < today:
        raise Invalid(
            _(
                "Un changement de formule prend effet aujourd'hui ou plus tard : choisissez une date à "
                "partir du %(day)s.",
                day=format_date(today, "d MMMM yyyy"),
            ),
            code="change_in_past",
            field="starts_on",
        )
    if starts_on > today + PLAN_AHEAD:
        raise Invalid(
            _(
                "Un changement de formule se prévoit au plus deux ans à l'avance : choisissez une date "
                "avant le %(day)s.",
                day=format_date(today + PLAN_AHEAD, "d MMMM yyyy"),
            ),
            code="change_too_far",
            field="starts_on",
        )
    if periods.tier_on(company, starts_on) == tier and not _planned_on(company, starts_on):
        raise Invalid(
            _(
                "%(company)s est déjà en formule %(tier)s le %(day)s : choisissez une autre formule ou une autre date.",
                company=company.name,
                tier=contract.current().tier(tier).label,
                day=format_date(starts_on, "d MMMM yyyy"),
            ),
            code="same_tier",
            field="tier",
        )
    _check_consents_kept(company, tier, starts_on, today)


def _check_consents_kept(company: Company, tier: str, starts_on: date, today: date) -> None:
    """A change on `starts_on` puts the days up to the next period's start under `tier`: refused while confirmed
    bookings on them were accepted under another tier planned for them, whether this change replaces that planned
    change on its day or cuts it from a later day (Sérénité planned from 1 March, Standard now from 1 April: the
    April sessions booked as included since Sérénité was planned). A period already in force is cut as the sixth
    session decided: the bookings made keep what they were counted, and the confirmation says how many."""
    replaced = _planned_on(company, starts_on)
    if replaced is not None:
        if replaced.tier != tier:
            _check_nothing_counted_under(company, replaced, today)
        return
    cut = db.session.scalar(
        select(ContractPeriod)
        .where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on < starts_on)
        .order_by(ContractPeriod.starts_on.desc())
        .limit(1)
    )
    if cut is not None and cut.starts_on > today and cut.tier != tier:
        _check_nothing_counted_under(company, cut, today, starts_on)


def _planned_on(company: Company, day: date) -> ContractPeriod | None:
    return db.session.scalar(
        select(ContractPeriod).where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on == day)
    )


def consequences(company: Company, tier: str, starts_on: date, now: datetime) -> list[str]:
    """What the change says to the admin before it is confirmed: entitlements, hour bank, contacts,
    privileged consultant, bookings already made after the date."""
    terms = contract.current()
    old_name = periods.tier_on(company, starts_on - timedelta(days=1))
    old, new = terms.tier(old_name), terms.tier(tier)
    day = format_date(starts_on, "d MMMM yyyy")
    lines = [
        _(
            "À partir du %(day)s, %(company)s passe de la formule %(old)s à la formule %(new)s.",
            day=day,
            company=company.name,
            old=old.label,
            new=new.label,
        )
    ]
    for kind in terms.services:
        if old.access(kind) != new.access(kind):
            lines.append(
                _(
                    "%(service)s : %(old)s → %(new)s.",
                    service=labels.KINDS.get(kind, kind),
                    old=labels.ACCESS.get(old.access(kind)),
                    new=labels.ACCESS.get(new.access(kind)),
                )
            )
    year = hour_bank.contract_year(company, starts_on)
    if old.hour_bank_minutes and not new.hour_bank_minutes:
        left = hour_bank.balance(company, year)
        lines.append(
            _(
                "Banque d'heures : elle se ferme le %(day)s. Les séances réservées avant cette date gardent "
                "leurs minutes incluses ; les %(left)s encore incluses ne servent plus aux séances à partir "
                "du %(day)s, qui suivent la formule %(new)s.",
                day=day,
                left=labels.minutes_label(left),
                new=new.label,
            )
        )
    elif new.hour_bank_minutes and not old.hour_bank_minutes:
        lines.append(
            _(
                "Banque d'heures : elle s'ouvre le %(day)s avec %(hours)s incluses pour l'année contractuelle "
                "commencée le %(year)s (pas de prorata), puis %(hours)s à chaque anniversaire du contrat.",
                day=day,
                hours=labels.minutes_label(new.hour_bank_minutes),
                year=format_date(year, "d MMMM yyyy"),
            )
        )
    contacts = accounts.active_contacts(company)
    if contacts > new.contacts:
        lines.append(
            _(
                "Contacts : la formule %(new)s en permet %(cap)s, %(company)s en a %(count)s actifs. Ils "
                "restent actifs, mais aucun contact ne peut être ajouté tant qu'ils sont plus de %(cap)s : "
                "désactivez-en %(extra)s.",
                new=new.label,
                cap=new.contacts,
                company=company.name,
                count=contacts,
                extra=contacts - new.contacts,
            )
        )
    if old.privileged_consultant and not new.privileged_consultant and company.privileged_consultant_id:
        lines.append(_("Consultant privilégié : il n'est plus attribué à partir du %(day)s.", day=day))
    # A change planned later ends this one's days: what is said and counted stops the day before it.
    following = _following(company, starts_on)
    start = datetime.combine(starts_on, datetime.min.time(), PARIS)
    query = (
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.company_id == company.id, Booking.status.in_(ACTIVE_STATUSES), Booking.start_at >= max(start, now)
        )
    )
    if following is not None:
        query = query.where(Booking.start_at < datetime.combine(following.starts_on, datetime.min.time(), PARIS))
    later = db.session.scalar(query)
    if following is None:
        if later:
            lines.append(
                ngettext(
                    "Le rendez-vous déjà pris après cette date reste tel qu'il a été réservé ; les nouveaux suivent "
                    "la formule %(new)s.",
                    "%(num)d rendez-vous déjà pris après cette date restent tels qu'ils ont été réservés ; les "
                    "nouveaux suivent la formule %(new)s.",
                    later,
                    new=new.label,
                )
            )
        return lines
    until = format_date(following.starts_on - timedelta(days=1), "d MMMM yyyy")
    planned = {"next": terms.tier(following.tier).label, "next_day": format_date(following.starts_on, "d MMMM yyyy")}
    if later:
        lines.append(
            ngettext(
                "Le rendez-vous déjà pris du %(day)s au %(until)s reste tel qu'il a été réservé ; les nouveaux suivent "
                "la formule %(new)s jusqu'au %(until)s, la formule %(next)s prévue prenant effet le %(next_day)s.",
                "%(num)d rendez-vous déjà pris du %(day)s au %(until)s restent tels qu'ils ont été réservés ; les "
                "nouveaux suivent la formule %(new)s jusqu'au %(until)s, la formule %(next)s prévue prenant effet le "
                "%(next_day)s.",
                later,
                day=day,
                until=until,
                new=new.label,
                **planned,
            )
        )
    else:
        lines.append(
            _(
                "La formule %(new)s s'applique jusqu'au %(until)s, la formule %(next)s prévue prenant effet le "
                "%(next_day)s.",
                new=new.label,
                until=until,
                **planned,
            )
        )
    return lines


def _previous(company: Company, day: date) -> ContractPeriod | None:
    """The last period started before `day`, if any."""
    return db.session.scalar(
        select(ContractPeriod)
        .where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on < day)
        .order_by(ContractPeriod.starts_on.desc())
        .limit(1)
    )


def _following(company: Company, day: date) -> ContractPeriod | None:
    """The period that starts first after `day` (a change planned later), if any."""
    return db.session.scalar(
        select(ContractPeriod)
        .where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on > day)
        .order_by(ContractPeriod.starts_on)
        .limit(1)
    )


def change_tier(
    actor: User, company: Company, tier: str, starts_on: date, now: datetime, note: str = ""
) -> ContractPeriod:
    """Plan (or apply, when `starts_on` is today) a new tier; a change already planned on that day is replaced."""
    today = now.astimezone(PARIS).date()
    check_change(company, tier, starts_on, today)
    with locking.locked([locking.company(company.id)]):
        company = db.session.get_one(Company, company.id)
        if not company.active:
            raise Conflict(
                _("%(company)s est désactivée : réactivez-la avant de changer sa formule.", company=company.name),
                code="company_inactive",
            )
        check_change(company, tier, starts_on, today)
        if not periods.history(company):  # a company made before periods existed: its contract so far first
            db.session.add(
                ContractPeriod(company_id=company.id, starts_on=min(company.contract_start, today), tier=company.tier)
            )
            db.session.flush()
        period = _planned_on(company, starts_on)  # check_change refused replacing it if bookings count under it
        previous = period.tier if period else None
        if period is None:
            period = ContractPeriod(company_id=company.id, starts_on=starts_on, tier=tier)
            db.session.add(period)
        if period.tier != tier or period.created_at is None:
            # planned anew: bookings are counted under it from now (the same tier planned again, its note edited,
            # keeps its date: the bookings accepted under it since stay counted as such)
            period.created_by_id, period.created_at = getattr(actor, "id", None), utcnow()
        period.tier, period.note = tier, (note or "").strip()[:500]
        db.session.flush()
        _apply(company, today)
        audit.record(actor, "contract.change", company, tier=tier, starts_on=starts_on.isoformat(), replaced=previous)
    return period


def planned_change(company: Company, period_id: int, today: date) -> ContractPeriod:
    """The company's change planned for a later day, which may still be withdrawn (refused with the reason)."""
    period = db.session.get(ContractPeriod, period_id)
    if period is None or period.company_id != company.id:
        raise NotFound(_("Ce changement de formule n'existe pas."), code="not_found")
    if period.starts_on <= today:
        raise Conflict(
            _("Ce changement a déjà pris effet : prévoyez plutôt un nouveau changement."), code="change_started"
        )
    # withdrawn, its days fall back to the tier before it: when that is its own tier, the sessions accepted under it
    # keep the terms they were accepted at (Sérénité planned from 8 and again from 11 January)
    if periods.tier_on(company, period.starts_on - timedelta(days=1)) != period.tier:
        _check_nothing_counted_under(company, period, today)
    return period


def _check_nothing_counted_under(
    company: Company, period: ContractPeriod, today: date, cut_on: date | None = None
) -> None:
    """A planned change stays once confirmed bookings were accepted under it (booked, or counted by a move, since it
    was planned, on its days): each client consented to its terms (a session included by a Sérénité planned, one
    billed under a Standard one), which withdrawing or replacing it would change behind their back. With `cut_on`,
    only its days from that one are asked about: another change planned inside it would take them."""
    counted = _counted_under(company, period, today, cut_on)
    count, first, last = counted.count, counted.first, counted.last
    if not count:
        return
    assert first is not None and last is not None  # counted bookings have a first and a last start
    tier = contract.current().tier(period.tier).label
    # moved there keeping the price they were booked at under another tier: said, not claimed to be this tier's
    kept = (
        " "
        + ngettext(
            "Le rendez-vous du %(day)s a été déplacé sous la formule %(tier)s en gardant le prix auquel il avait "
            "été réservé avant qu'elle soit prévue.",
            "%(num)d d'entre eux ont été déplacés sous la formule %(tier)s en gardant le prix auquel ils avaient été "
            "réservés avant qu'elle soit prévue.",
            counted.kept,
            day=format_date(counted.first_kept, "d MMMM yyyy"),
            tier=tier,
        )
        if counted.kept and counted.first_kept is not None
        else ""
    )
    if cut_on is None:
        raise Conflict(
            ngettext(
                "Le rendez-vous du %(day)s, confirmé depuis que ce changement est prévu, a été accepté aux "
                "conditions de la formule %(tier)s : annulez-le ou déplacez-le avant de retirer ou de remplacer "
                "ce changement, ou prévoyez un autre changement après lui.",
                "%(num)d rendez-vous confirmés depuis que ce changement est prévu (le premier le %(day)s) ont été "
                "acceptés aux conditions de la formule %(tier)s : annulez-les ou déplacez-les avant de retirer ou "
                "de remplacer ce changement, ou prévoyez un autre changement après lui.",
                count,
                day=format_date(first, "d MMMM yyyy"),
                tier=tier,
            )
            + kept,
            code="change_counted",
        )
    # the day after the last of them: a change from then leaves them under the tier they were accepted under, unless
    # that day is the next planned change's (the last of them on its eve): a change then would replace that one
    after = last.astimezone(PARIS).date() + timedelta(days=1)
    following = _following(company, cut_on)
    if following is not None and after >= following.starts_on:
        raise Conflict(
            ngettext(
                "Le rendez-vous du %(first)s, confirmé depuis que le passage en formule %(tier)s du %(planned)s est "
                "prévu, a été accepté aux conditions de la formule %(tier)s, qu'un changement au %(day)s remplacerait "
                "pour lui : annulez-le ou déplacez-le avant. Le lendemain, le %(after)s, est le jour du changement "
                "prévu en formule %(next)s : un changement ce jour-là le remplacerait.",
                "%(num)d rendez-vous confirmés depuis que le passage en formule %(tier)s du %(planned)s est prévu "
                "(du %(first)s au %(last)s) ont été acceptés aux conditions de la formule %(tier)s, qu'un changement "
                "au %(day)s remplacerait pour eux : annulez-les ou déplacez-les avant. Le lendemain du dernier, le "
                "%(after)s, est le jour du changement prévu en formule %(next)s : un changement ce jour-là le "
                "remplacerait.",
                count,
                first=format_date(first, "d MMMM yyyy"),
                last=format_date(last, "d MMMM yyyy"),
                tier=tier,
                planned=format_date(period.starts_on, "d MMMM yyyy"),
                day=format_date(cut_on, "d MMMM yyyy"),
                after=format_date(after, "d MMMM yyyy"),
                next=contract.current().tier(following.tier).label,
            )
            + kept,
            code="change_counted",
        )
    raise Conflict(
        ngettext(
            "Le rendez-vous du %(first)s, confirmé depuis que le passage en formule %(tier)s du %(planned)s est "
            "prévu, a été accepté aux conditions de la formule %(tier)s, qu'un changement au %(day)s remplacerait "
            "pour lui : annulez-le ou déplacez-le avant, ou choisissez une date à partir du %(after)s.",
            "%(num)d rendez-vous confirmés depuis que le passage en formule %(tier)s du %(planned)s est prévu "
            "(du %(first)s au %(last)s) ont été acceptés aux conditions de la formule %(tier)s, qu'un changement "
            "au %(day)s remplacerait pour eux : annulez-les ou déplacez-les avant, ou choisissez une date à partir "
            "du %(after)s.",
            count,
            first=format_date(first, "d MMMM yyyy"),
            last=format_date(last, "d MMMM yyyy"),
            tier=tier,
            planned=format_date(period.starts_on, "d MMMM yyyy"),
            day=format_date(cut_on, "d MMMM yyyy"),
            after=format_date(after, "d MMMM yyyy"),
        )
        + kept,
        code="change_counted",
    )


@dataclass(frozen=True)
class Counted:
    """The confirmed bookings accepted under a planned change's tier: how many, the first's and the last's start;
    of them, how many were moved there keeping another tier's price (and the first of those)."""

    count: int
    first: datetime | None
    last: datetime | None
    kept: int = 0
    first_kept: datetime | None = None


def _counted_under(company: Company, period: ContractPeriod, today: date, cut_on: date | None = None) -> Counted:
    """How many confirmed bookings were accepted under the planned `period`'s tier on its days (from `cut_on`), the
    first's and the last's start.

    Read on the bookings alone (`Booking.terms_accepted_at`, written by the confirmation or the move that accepted
    their day's terms), not the audit log: a booking counts when, at the moment it was accepted, the change planned
    for its day (the latest-starting change up to that day already planned then) was a planned one of this tier.
    That is this period, or an earlier-starting one of the same tier it was accepted under before this one was
    planned (a session booked under one Sérénité planned and moved, lines kept, under a later-planned Sérénité).
    A booking moved there with its ledger lines kept from before this tier was planned (a move under the same tier
    counts nothing again) accepted the day's tier at another tier's price: it counts (its day keeps the tier it
    consented to) and is told apart (`kept`), so that the refusal says so rather than claim that price was X's."""
    first_day = cut_on or period.starts_on
    following = db.session.scalar(
        select(func.min(ContractPeriod.starts_on)).where(
            ContractPeriod.company_id == company.id, ContractPeriod.starts_on > first_day
        )
    )
    counted_at = (
        select(func.max(LedgerEntry.created_at))
        .where(LedgerEntry.booking_id == Booking.id, LedgerEntry.kind == "reserve")
        .scalar_subquery()
    )
    query = select(Booking.start_at, Booking.terms_accepted_at, counted_at).where(
        Booking.company_id == company.id,
        Booking.status == "confirmed",
        Booking.terms_accepted_at.is_not(None),
        Booking.start_at >= datetime.combine(first_day, datetime.min.time(), PARIS),
    )
    if following is not None:
        query = query.where(Booking.start_at < datetime.combine(following, datetime.min.time(), PARIS))
    history = list(
        db.session.scalars(
            select(ContractPeriod)
            .where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on <= period.starts_on)
            .order_by(ContractPeriod.starts_on.desc())
        )
    )

    def planned_tier(day: date, at: datetime) -> str | None:
        """The tier of a planned change (not in force today) that `day` fell under at `at`, if any."""
        for planned in history:  # latest start first; the days from `first_day` hold no other start
            if planned.starts_on <= day and (planned.created_at is None or planned.created_at <= at):
                return planned.tier if planned.starts_on > today else None
        return None

    # since when the contract has had (or planned) this tier at all: lines written before cannot be this tier's
    tier_known = [p.created_at for p in periods.history(company) if p.tier == period.tier]
    tier_since = None if not tier_known or None in tier_known else min(t for t in tier_known if t is not None)

    def other_price(accepted: datetime, lines: datetime | None) -> bool:
        """Lines written before the acceptance were kept by a move under the same tier (their old day is not on the
        booking): written before the contract had or planned this tier, they hold another tier's price."""
        if lines is None or lines >= accepted:
            return False
        return not tier_known or (tier_since is not None and lines < tier_since)

    found = sorted(
        (start, other_price(accepted, lines))
        for start, accepted, lines in db.session.execute(query)
        if accepted and planned_tier(start.astimezone(PARIS).date(), accepted) == period.tier
    )
    kept = [start for start, other in found if other]
    return Counted(
        len(found), found[0][0] if found else None, found[-1][0] if found else None, len(kept), min(kept, default=None)
    )


def cancel_change(actor: User, company: Company, period_id: int, now: datetime) -> None:
    """Withdraw a change planned for a later day (past and current periods are history), unless bookings were
    accepted under it."""
    today = now.astimezone(PARIS).date()
    with locking.locked([locking.company(company.id)]):
        period = planned_change(company, period_id, today)
        # Its days fall to the planned change before it, of the same tier (else `planned_change` refused while
        # sessions were accepted under it): those sessions are now under that one, which counts them from its
        # planning (`_counted_under`), so it takes this one's, earlier; without them it keeps its own date.
        before = _previous(company, period.starts_on)
        if (
            before is not None
            and before.starts_on > today
            and before.tier == period.tier
            and period.created_at < before.created_at
            and _counted_under(company, period, today).count
        ):
            before.created_at = period.created_at
        db.session.delete(period)
        db.session.flush()
        audit.record(actor, "contract.change_cancel", company, tier=period.tier, starts_on=period.starts_on.isoformat())


def _apply(company: Company, today: date) -> bool:
    """Make `Company.tier` today's period's tier (the caller holds the company's lock); True if it changed."""
    tier = periods.tier_on(company, today)
    if tier == company.tier:
        return False
    company.tier = tier
    if not contract.current().tier(tier).privileged_consultant:
        company.privileged_consultant_id = None
    db.session.flush()
    return True


def apply_due(now: datetime) -> int:
    """Daily job: the planned changes whose day has come; returns how many companies changed tier."""
    today, changed = now.astimezone(PARIS).date(), 0
    for company_id in db.session.scalars(select(Company.id).order_by(Company.id)).all():
        with locking.locked([locking.company(company_id)]):
            company = db.session.get_one(Company, company_id)
            before = company.tier
            if _apply(company, today):
                audit.record(None, "contract.apply", company, tier=company.tier, previous=before)
                changed += 1
    return changed


# --- deactivation ---------------------------------------------------------------------------------


def future_bookings(company: Company, now: datetime) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Booking)
        .where(Booking.company_id == company.id, Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now)
    ).scalar_one()


def upcoming_bookings(company: Company, now: datetime) -> list[Booking]:
    """The company's bookings still to come (held or confirmed), soonest first: what deactivation waits for."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.company_id == company.id, Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now)
            .order_by(Booking.start_at)
        )
    )


def deactivate(actor: User, company: Company, now: datetime, cancel_bookings: bool = False) -> int:
    """The company and all its contacts stop (sessions and API tokens end). Bookings still to come are either
    cancelled first, each with its usual mails (`cancel_bookings`, after the admin saw them listed), or the
    deactivation is refused, saying how many. Returns how many contacts were deactivated."""
    if cancel_bookings:
        for booking in upcoming_bookings(company, now):  # each under its own lock, as a staff cancellation
            bookings.cancel(actor, booking, now, acknowledged=True)
    with locking.locked([locking.company(company.id)]):
        company = db.session.get_one(Company, company.id)
        left = future_bookings(company, now)  # re-checked under the lock: one may have been booked meanwhile
        if left:
            raise Conflict(
                _(
                    "%(company)s a encore %(count)s rendez-vous à venir : annulez-les d'abord (ou attendez "
                    "qu'ils aient eu lieu), puis désactivez la société.",
                    company=company.name,
                    count=left,
                ),
                code="company_has_bookings",
            )
        company.active = False
        contacts = [u for u in company.contacts if u.active]
        for user in contacts:
            stop_user(actor, user, now)
        db.session.flush()
        audit.record(
            actor, "company.deactivate", company, contacts=[u.id for u in contacts], cancelled_bookings=cancel_bookings
        )
    return len(contacts)


def reactivate(actor: User, company: Company) -> None:
    """The company is a client again; its contacts stay deactivated until reactivated one by one (within the cap)."""
    with locking.locked([locking.company(company.id)]):
        company = db.session.get_one(Company, company.id)
        company.active = True
        db.session.flush()
        audit.record(actor, "company.reactivate", company)


def stop_user(actor: User | None, user: User, now: datetime) -> None:
    """Deactivate `user` in the caller's transaction: sessions and API tokens end at once, and a client contact's
    company feed is replaced (its secret address is shared by the contacts: one who leaves would keep reading the
    company's schedule through it; the others make a new one from their page)."""
    user.active = False
    logins.end_sessions(actor, user)
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    if user.role == "client" and user.company is not None:
        feeds.revoke_here(actor, user.company)
    audit.record(actor, "user.deactivate", user)
