"""The booking lifecycle, shared by pages, API, jobs and CLI: hold, confirm, reschedule, cancel,
complete, no-show, follow-up proposal. Each change: lock, re-check, write, audit, queue its mail; commit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from calendars.worktime import PARIS

from .. import contract, labels
from ..date_format import format_date, format_datetime
from ..extensions import db
from ..models import ACTIVE_STATUSES, Absence, Booking, Company, Ticket, User, overlapping, with_status
from ..models.types import utcnow
from . import access, audit, availability, holds, hour_bank, locking, notify, periods, priority_changes, reasons
from .errors import Conflict, Invalid, NotEntitled

STAFF = ("planner", "admin")
TAKEN = _l("Ce créneau n'est plus disponible : choisissez-en un autre.")


def _label(kind: str):
    return labels.KINDS.get(kind, kind)  # lazy: said in the language of whoever reads the refusal


def check_entitlement(company: Company, kind: str, day: date | None = None) -> None:
    """Refuse, with the reason, a service the company's contract does not include (on `day` when given:
    a booking after a planned tier change follows the new tier), or no longer allows (a major install
    per version: `version_installed`)."""
    check_tier_allows(company, kind, day)
    if kind == "major_install":  # said before any slot is offered: the service list, the week, the API alike
        _check_one_install_per_version(company)


def check_tier_allows(company: Company, kind: str, day: date | None = None) -> None:
    """The tier in force on `day` (else today's) lets the client book `kind`: what a move to that day checks too,
    where the booking itself is the version's one install."""
    # the tier first: its read brings the contract version in force with it (services.snapshot)
    tier_name = periods.tier_on(company, day) if day else company.tier
    terms = contract.current()
    if kind not in terms.services:
        raise Invalid(
            _l(
                "Prestation inconnue : « %(kind)s ». Prestations : %(known)s.",
                kind=kind,
                known=", ".join(terms.services),
            ),
            code="unknown_service",
        )
    tier = terms.tier(tier_name)
    level = tier.access(kind)
    if kind == "priority_consulting" and level in ("yes", "quote"):
        raise NotEntitled(
            _l(
                "Le conseil prioritaire se demande (durée, compétence, description) : "
                "un planificateur l'accepte puis le place."
            )
        )
    later = day is not None and tier_name != company.tier  # a planned change of tier: say from when
    if level == "quote":
        raise NotEntitled(
            _l(
                "Le %(day)s, votre contrat sera en formule %(tier)s, qui propose « %(service)s » sur devis : "
                "contactez votre planificateur.",
                day=format_date(day, "d MMMM yyyy"),
                tier=tier.label,
                service=_label(kind),
            )
            if later
            else _l(
                "La formule %(tier)s propose « %(service)s » sur devis : contactez votre planificateur.",
                tier=tier.label,
                service=_label(kind),
            )
        )
    if not tier.may_book(kind):
        raise NotEntitled(
            _l(
                "Le %(day)s, votre contrat sera en formule %(tier)s, qui n'inclut pas « %(service)s ».",
                day=format_date(day, "d MMMM yyyy"),
                tier=tier.label,
                service=_label(kind),
            )
            if later
            else _l("La formule %(tier)s n'inclut pas « %(service)s ».", tier=tier.label, service=_label(kind))
        )


def refused_days(company: Company, kind: str, first: date, last: date) -> dict[date, str]:
    """The days of [first, last] on which the tier then in force refuses `kind` (after a planned change of tier),
    each with the refusal's sentence: a week of slots offers none on them, as a booking there is refused."""
    refused: dict[date, str] = {}
    day, tier, sentence = first, None, None
    while day <= last:
        if (today := periods.tier_on(company, day)) != tier:  # the tier changes only where a period starts
            tier, sentence = today, None
            try:
                check_tier_allows(company, kind, day)
            except (NotEntitled, Invalid) as refusal:
                sentence = refusal.message
        if sentence is not None:
            refused[day] = sentence
        day += timedelta(days=1)
    return refused


def refusal(company: Company, kind: str) -> str | None:
    """Why `company` may not book `kind`, or None when it may."""
    try:
        check_entitlement(company, kind)
    except (NotEntitled, Invalid, Conflict) as refused:
        return refused.message
    return None


def _environment(company: Company, service: contract.Service, wanted: str | None) -> str | None:
    if not service.environments:
        return None
    allowed = [env for env in service.environments if env in company.environments]
    if wanted is None and allowed:
        return allowed[-1] if "production" in allowed and service.kind != "major_install_test" else allowed[0]
    if wanted not in allowed:
        if not allowed:
            raise Invalid(
                _l(
                    "Environnement « %(env)s » impossible pour « %(service)s » : votre société n'en a aucun.",
                    env=wanted,
                    service=_label(service.kind),
                ),
                code="invalid_environment",
            )
        raise Invalid(
            _l(
                "Environnement « %(env)s » impossible pour « %(service)s » : choisissez parmi %(known)s.",
                env=wanted,
                service=_label(service.kind),
                known=", ".join(allowed),
            ),
            code="invalid_environment",
        )
    return wanted


def _lock_keys(company: Company, consultant_ids: list[int], start_at: datetime, service: contract.Service):
    first = start_at.astimezone(PARIS).date()
    # days a booking may cross, weekends included; a priority consulting lasts up to 5 days
    span = 1 if service.span == "block" else (service.duration_days or 5) * 2 + 4
    days = [first + timedelta(days=n) for n in range(span)]
    return [locking.company(company.id)] + [locking.consultant_day(c, d) for c in consultant_ids for d in days]


def take_charge_deadline(company: Company, priority: str, opened_at: datetime) -> datetime | None:
    """When the tier's take-charge commitment for a ticket runs out (business time), if it has one."""
    commitment = contract.current().tier(company.tier).commitment(priority, "take_charge")
    return availability.BUSINESS.add(opened_at, commitment) if commitment else None


class _ChooseAgain(Exception):
    """The consultant chosen before the locks is no longer free at that start: choose among the whole team."""


def book(
    actor: User,
    kind: str,
    start_at: datetime,
    now: datetime,
    *,
    company: Company | None = None,
    consultant_id: int | None = None,
    ticket: Ticket | None = None,
    hold: bool = False,
    environment: str | None = None,
    notes: str = "",
    follow_up_of: Booking | None = None,
    contact: User | None = None,
    expected_billable: int | None = None,
    expected_price: Decimal | None = None,
) -> Booking:
    """Create a booking (confirmed, or held while the client confirms) if the slot is still free. Confirmed at once:
    with `expected_billable` and `expected_price`, only at the cost the client was shown (see `hour_bank.reserve`);
    a hold records nothing, its confirmation checks them."""
    company = company or actor.company
    if company is None:
        raise Invalid(_l("Indiquez la société cliente pour laquelle réserver."), code="company_missing")
    check_entitlement(company, kind, start_at.astimezone(PARIS).date())
    service = contract.current().service(kind)
    if service.needs_ticket and ticket is None:
        raise Invalid(
            _l("Un créneau de rappel est lié à un ticket : indiquez sa référence, sa priorité et sa date d'ouverture."),
            code="ticket_missing",
        )
    environment = _environment(company, service, environment)
    # The consultant named, else the one availability prefers, chosen before the locks: under them only that
    # consultant is locked and re-checked, so the critical section does not grow with the team. Should the
    # slot have gone meanwhile, the whole team is locked and asked again (`_ChooseAgain`).
    only = consultant_id
    if only is None:
        first = availability.decide(kind, company, start_at, now)
        only = first.consultant_id if isinstance(first, availability.Slot) else None
    consultant_ids = [only] if only is not None else availability.eligible_ids(service)
    contact = contact or (actor if actor.role == "client" else None)

    def place() -> Booking:
        # the slot is re-read under the locks by its own queries; actor and company need not be
        with locking.locked(_lock_keys(company, consultant_ids, start_at, service), reread=False):
            if follow_up_of is not None:  # the session followed, as committed now (cancelled meanwhile: refused)
                check_follow_up(current(follow_up_of), now)
            # read under the locks (absences as they are now), only those the locks cover
            consultants = [c for c in availability.eligible(service, only=only, reread=True) if c.id in consultant_ids]
            slot = availability.decide(kind, company, start_at, now, consultants=consultants)
            if isinstance(slot, reasons.Reason):
                if only != consultant_id:
                    raise _ChooseAgain
                raise reasons.refused(slot)
            # ids rather than relationships: the flush then has only the new rows to look at (the loaded
            # consultant, company and contact are found again in the session when the booking is read)
            booking = Booking(
                kind=kind,
                start_at=slot.start,
                end_at=slot.end,
                consultant_id=slot.consultant_id,
                company_id=company.id,
                contact_id=contact.id if contact else None,
                environment=environment,
                notes=notes,
                booked_at=now,
                # confirmed at once: the client (or staff for them) accepts its day's terms now (a hold: at `confirm`)
                terms_accepted_at=None if hold else utcnow(),
                follow_up_of_id=follow_up_of.id if follow_up_of else None,
                status="held" if hold else "confirmed",
                target_version=company.erp_version if kind == "major_install" else None,
            )
            if ticket is not None:
                # maybe new, written with the booking; unless a booking of the company, which waited for the same
                # lock, has just written its reference: then it is that ticket (the lock orders both, the first
                # one's commit is visible under it)
                linked = booking.ticket = access.ticket_again(ticket)
                deadline = take_charge_deadline(company, linked.priority, linked.opened_at)
                booking.beyond_commitment = deadline is not None and slot.start >= deadline
            if hold:
                policy = contract.current().policy
                minutes = policy.follow_up_hold_hours * 60 if follow_up_of else policy.hold_minutes
                # at the slot's start at the latest: a follow-up is kept 48 h but may begin sooner, and a slot
                # under way can no longer be confirmed (nor released as if it were to come)
                booking.hold_expires_at = min(now + timedelta(minutes=minutes), slot.start)
            db.session.add(booking)
            db.session.flush()
            hour_bank.created(booking)  # its answer's cost then needs no second read of the lines just written
            if not hold:
                hour_bank.reserve(booking, expected_billable, expected_price)
            audit.record(
                actor,
                "booking.hold" if hold else "booking.confirm",
                booking,
                kind=kind,
                start=slot.start.isoformat(),
                consultant=slot.consultant_id,
            )
            if not hold or follow_up_of:
                notify.booking_changed(booking, "proposed" if hold else "confirmed", now=now)
        return booking

    def place_or_choose_again() -> Booking:
        nonlocal only, consultant_ids
        try:
            return place()
        except _ChooseAgain:
            only, consultant_ids = None, availability.eligible_ids(service)
            return place()

    try:
        return place_or_choose_again()
    except IntegrityError:
        # The database's constraint still counts a hold past its expiry that the sweeper has not marked
        # yet (availability already sees it as free): mark this consultant's, then try once more.
        if not holds.expire(now, consultant_ids):
            raise Conflict(TAKEN, code="taken") from None
    try:
        return place_or_choose_again()
    except IntegrityError:  # the database constraint caught a race the locks should have prevented
        raise Conflict(TAKEN, code="taken") from None


def _check_one_install_per_version(company: Company) -> None:
    done = db.session.scalar(
        select(Booking.id).where(
            Booking.company_id == company.id,
            Booking.kind == "major_install",
            Booking.target_version == company.erp_version,
            Booking.status.in_(("held", "confirmed", "completed")),
        )
    )
    if done:
        raise Conflict(
            _l(
                "Une installation de la version majeure %(version)s est déjà prévue ou faite pour votre "
                "société : le contrat en prévoit une par version.",
                version=company.erp_version,
            ),
            code="version_installed",
        )


# What each state means to whoever wants to change it: a refused transition names the current state, then what can
# no longer be done, said impersonally ("l'annulation n'est plus possible"): the state's subject may be feminine.
STATES = {
    "held": _l("Ce rendez-vous attend encore la confirmation du client"),
    "confirmed": _l("Ce rendez-vous est déjà confirmé"),
    "completed": _l("Ce rendez-vous est déjà réalisé"),
    "no_show": _l("Ce rendez-vous est déjà clos (client absent)"),
    "cancelled": _l("Ce rendez-vous est déjà annulé"),
    "late_cancelled": _l("Ce rendez-vous est déjà annulé (annulation tardive)"),
    "expired": _l("Cette réservation provisoire a expiré"),
    "prerequisites_missing": _l("Cette intervention est déjà reportée faute de prérequis"),
}
CANCELLED = ("cancelled", "late_cancelled")


def current(booking: Booking) -> Booking:
    """The booking as committed now, read inside the transition's locks (on PostgreSQL its row is locked
    too, so that a job's plain UPDATE cannot land between the check and the write)."""
    return db.session.scalars(
        select(Booking)
        .where(Booking.id == booking.id)
        .with_for_update(of=Booking)
        .execution_options(populate_existing=True)
    ).one()


def refusal_of_state(booking: Booking, doing: str | None) -> Conflict:
    """409 naming the booking's current state, and what can no longer be done (None: nothing to add)."""
    state = STATES.get(booking.status) or _l(
        "Ce rendez-vous est au statut « %(status)s »", status=labels.STATUSES.get(booking.status, booking.status)
    )
    sentence = (
        _l("%(state)s.", state=state) if doing is None else _l("%(state)s : %(doing)s.", state=state, doing=doing)
    )
    return Conflict(sentence, code="state_changed")


def recheck(
    booking: Booking, seen: int | None, allowed: tuple[str, ...], doing: str, already: tuple[str, ...] = ()
) -> None:
    """Under the lock: the state still allows the transition, and nobody moved the booking since the caller
    read it (`seen`: its SEQUENCE then, None: no matter) — of two changes sent at the same moment, only the first happens.
    In a state of `already` the transition was done before: saying so is enough."""
    current(booking)
    if booking.status not in allowed:
        raise refusal_of_state(booking, None if booking.status in already else doing)
    if seen is not None and booking.sequence != seen:
        raise Conflict(
            _l(
                "Ce rendez-vous vient d'être déplacé au %(day)s à %(time)s : vérifiez sa nouvelle date, "
                "puis recommencez si besoin.",
                day=format_date(booking.start_at, "dd/MM/yyyy"),
                time=format_datetime(booking.start_at, "HH:mm"),
            ),
            code="moved_meanwhile",
        )


def staff_only_for_priority(actor: User, booking: Booking) -> None:
    """A client may neither move nor cancel a priority consulting (NotEntitled, with whom to call)."""
    # other clients' bookings were moved (and compensated) to make room for it: only a planner undoes it
    if booking.kind == "priority_consulting" and actor.role not in STAFF:
        raise NotEntitled(
            _l(
                "Un conseil prioritaire ne se déplace ni ne s'annule en ligne : d'autres rendez-vous ont "
                "été déplacés pour lui. Appelez votre planificateur, qui vous dira ce que cela implique."
            )
        )


def confirm(
    actor: User,
    booking: Booking,
    now: datetime,
    expected_billable: int | None = None,
    expected_price: Decimal | None = None,
) -> Booking:
    """The client confirms a held slot (or a consultant's follow-up proposal) in one click; with
    `expected_billable` and `expected_price`, only at the cost they were shown (see `hour_bank.reserve`)."""
    seen = booking.sequence
    with locking.locked([locking.company(booking.company_id)]):
        recheck(booking, seen, ("held",), _l("la confirmation n'est plus possible"))
        assert booking.hold_expires_at is not None  # every hold has its expiry
        expired = min(booking.hold_expires_at, booking.start_at) <= now  # holds made before the start bounded them
        if expired:  # the slot is freed with the block's commit, then refused (the lock contract's outcome)
            booking.status = "expired"
        else:
            booking.status, booking.hold_expires_at = "confirmed", None
            booking.terms_accepted_at = utcnow()  # its day's terms, accepted with this click
            booking.contact = booking.contact or actor
            hour_bank.reserve(booking, expected_billable, expected_price)
            audit.record(actor, "booking.confirm", booking)
            notify.booking_changed(booking, "confirmed", now=now)
    if expired:
        raise Conflict(
            _l("La réservation provisoire a expiré : le créneau a été libéré, choisissez-en un autre."),
            code="hold_expired",
        )
    return booking


def inside_cutoff(start: datetime, now: datetime) -> bool:
    """Less than the cut-off (24 business hours) before `start`: changes are no longer free."""
    cutoff = timedelta(hours=contract.current().policy.cancel_cutoff_hours)
    return availability.BUSINESS.between(now, start) < cutoff


def cutoff_passed(booking: Booking, now: datetime) -> bool:
    return inside_cutoff(booking.start_at, now)


def late_cancellation(actor: User, booking: Booking, now: datetime) -> bool:
    """A client's cancellation of a confirmed booking past the cut-off: the session is consumed."""
    return actor.role not in STAFF and booking.status == "confirmed" and cutoff_passed(booking, now)


def cancel(
    actor: User, booking: Booking, now: datetime, *, acknowledged: bool = False, seen: int | None = None
) -> Booking:
    """Cancel: before the cut-off the session is refunded; later (clients) it is consumed. A priority
    consulting: planners only, once they have seen what it implies (`acknowledged`). `seen`: the SEQUENCE
    of the booking the person saw (a confirmation page); moved since, the cancellation is refused."""
    staff_only_for_priority(actor, booking)
    seen = booking.sequence if seen is None else seen
    with locking.locked([locking.company(booking.company_id)]):
        recheck(booking, seen, ("held", "confirmed"), _l("l'annulation n'est plus possible"), already=CANCELLED)
        refuse_once_started(actor, booking, now)
        _check_acknowledged(booking, acknowledged, "cancel")
        was_held, late = booking.status == "held", late_cancellation(actor, booking, now)
        booking.status = "late_cancelled" if late else "cancelled"
        booking.sequence += 1
        if not late:
            hour_bank.refund(booking, "timely_cancel")  # a code: labels.LEDGER_NOTES says it
        audit.record(actor, "booking.cancel", booking, late=late)
        if booking.kind == "priority_consulting":
            priority_changes.forgo_price(actor, booking, CANCELLED)
        if not was_held:
            notify.booking_changed(booking, "cancelled")
    return booking


def refuse_once_started(actor: User, booking: Booking, now: datetime) -> None:
    """A client cancels before the start, not during or after the session: the consultant records how it went
    (held or missed), and no cancellation mail goes out for an event already under way. Planners may. A hold
    (a follow-up proposed) is released at any time: nothing took place, nothing is recorded."""
    if actor.role not in STAFF and booking.status == "confirmed" and booking.start_at <= now:
        raise Conflict(
            _l(
                "Ce rendez-vous a déjà commencé : il ne peut plus être annulé. Un empêchement ? Appelez votre "
                "planificateur ; le consultant indique s'il a eu lieu."
            ),
            code="already_started",
        )


def _check_acknowledged(booking: Booking, acknowledged: bool, change: str) -> None:
    if booking.kind == "priority_consulting" and not acknowledged:
        raise Conflict(
            _l(
                "%(consequences)s Pour confirmer, renvoyez la demande avec acknowledged=true.",
                consequences=priority_changes.consequences(booking, change),
            ),
            code="acknowledge_first",
        )


def reschedule(
    actor: User,
    booking: Booking,
    start_at: datetime,
    now: datetime,
    *,
    acknowledged: bool = False,
    seen: int | None = None,
    expected_billable: int | None = None,
    expected_price: Decimal | None = None,
) -> Booking:
    """Move a confirmed booking to another free slot, before the cut-off (staff: any time). `expected_billable`,
    `expected_price`: the billable minutes and their price the move's consent showed (`costs.for_move`); refused
    with `cost_changed` if the move would now record others."""
    _may_move(actor, booking, now)
    seen = booking.sequence if seen is None else seen
    service = contract.current().service(booking.kind)
    priority = booking.kind == "priority_consulting"  # placed by a plan: it stays with its consultant
    consultant_ids = [booking.consultant_id] if priority else [c.id for c in availability.eligible(service)]
    keys = _lock_keys(booking.company, consultant_ids, start_at, service) + _lock_keys(
        booking.company, [booking.consultant_id], booking.start_at, service
    )
    try:
        with locking.locked(keys):
            recheck(booking, seen, ("confirmed",), _l("le déplacement n'est plus possible"))
            _check_acknowledged(booking, acknowledged, "move")
            slot = _free_slot(booking, start_at, now)
            previous = (booking.start_at, booking.consultant_id)
            before = (booking.start_at.isoformat(), booking.consultant_id)
            terms = repriced(booking, slot.start)
            booking.start_at, booking.end_at, booking.consultant_id = slot.start, slot.end, slot.consultant_id
            booking.sequence += 1
            # A move is a consent to the new day's terms, whether counted again or not (same tier: its lines kept),
            # by a planner too: staff move a client's booking for them, through the same consent step (the cost
            # shown, re-checked here); only a priority plan moves bookings nobody of their company agreed to.
            booking.terms_accepted_at = utcnow()
            if terms is not None:  # counted again as the new day's contract year and tier say (`costs.for_move`)
                hour_bank.refund(booking, terms)
                db.session.flush()
                hour_bank.reserve(booking, expected_billable, expected_price)
            elif expected_billable is not None or expected_price is not None:
                hour_bank.check_kept(booking, expected_billable, expected_price)  # its lines are what was shown
            audit.record(
                actor, "booking.reschedule", booking, before=before, after=(slot.start.isoformat(), slot.consultant_id)
            )
            notify.booking_changed(booking, "rescheduled", before=previous, now=now)
    except IntegrityError:
        raise Conflict(TAKEN, code="taken") from None
    return booking


def repriced(booking: Booking, start_at: datetime) -> str | None:
    """Why a move to `start_at` counts the booking again (the code of the ledger's note), or None: the new day falls
    in another contract year, or under another tier than its present day, or its tier cannot pay what the booking's
    lines hold (a downgrade planned after the booking: a Sérénité session holds included minutes that a Standard day
    does not pay). A booking that stays under the same tier keeps what it was counted, as bookings that do not move
    do; an upgrade planned after it is not applied to it by a move within the upgraded days."""
    company = booking.company
    old, new = booking.start_at.astimezone(PARIS).date(), start_at.astimezone(PARIS).date()
    if hour_bank.contract_year(company, new) != hour_bank.contract_year(company, old):
        return "other_contract_year"
    tier = periods.tier_on(company, new)
    access = contract.current().tier(tier).access(booking.kind)
    included, billable = hour_bank.held(booking)
    counted = access in ("hour_bank", "billable")  # the accesses `hour_bank.reserve` writes lines for
    unpaid = counted != bool(included or billable) or (access == "billable" and included)
    return "other_tier" if tier != periods.tier_on(company, old) or unpaid else None


def move_preview(actor: User, booking: Booking, start_at: datetime, now: datetime) -> availability.Slot:
    """Where `reschedule` would put the booking now (its consultant included), for the client to consent to;
    nothing is held: the move re-checks all of it under its locks."""
    _may_move(actor, booking, now)
    return _free_slot(booking, start_at, now)


def _may_move(actor: User, booking: Booking, now: datetime) -> None:
    staff_only_for_priority(actor, booking)
    if booking.status != "confirmed":  # early, before reading availability; re-checked under the lock
        raise refusal_of_state(booking, _l("le déplacement n'est plus possible"))
    if actor.role not in STAFF and cutoff_passed(booking, now):
        hours = contract.current().policy.cancel_cutoff_hours
        raise Conflict(
            _l(
                "Il reste moins de %(hours)s heures ouvrées avant le rendez-vous : il ne peut plus être déplacé.",
                hours=hours,
            ),
            code="cutoff",
        )


def _free_slot(booking: Booking, start_at: datetime, now: datetime) -> availability.Slot:
    """Where the booking can go; a priority consulting has no fixed duration in the catalogue: it keeps its
    own length in business time, with its consultant."""
    if booking.kind != "priority_consulting":
        # the new day's tier decides, as for a new booking (a planned change of formula may exclude the service)
        check_tier_allows(booking.company, booking.kind, start_at.astimezone(PARIS).date())
        slot = availability.decide(booking.kind, booking.company, start_at, now, exclude_id=booking.id)
        if isinstance(slot, reasons.Reason):
            raise reasons.refused(slot)
        return slot
    if start_at <= now or availability.BUSINESS.next_working_moment(start_at) != start_at:
        raise Conflict(_l("Choisissez un début futur, pendant les heures ouvrées."), code="closed")
    end_at = availability.BUSINESS.add_minutes(
        start_at, int(availability.BUSINESS.between(booking.start_at, booking.end_at).total_seconds() // 60)
    )
    busy = db.session.scalar(
        select(Booking.id)
        .where(
            Booking.consultant_id == booking.consultant_id,
            Booking.id != booking.id,
            with_status(ACTIVE_STATUSES),
            overlapping(start_at, end_at),
        )
        .limit(1)
    )
    away = db.session.scalar(
        select(Absence.id)
        .where(Absence.consultant_id == booking.consultant_id, Absence.start_at < end_at, Absence.end_at > start_at)
        .limit(1)
    )
    if busy or away:
        raise Conflict(
            _l("Ce créneau n'est pas libre pour ce consultant (rendez-vous ou absence) : choisissez-en un autre."),
            code="taken",
        )
    return availability.Slot(start_at, end_at, booking.consultant_id)


def record_outcome(actor: User, booking: Booking, outcome: str, now: datetime) -> Booking:
    """The consultant records that a session took place (completed) or that nobody came (no_show)."""
    if outcome not in ("completed", "no_show"):
        raise Invalid(_l("Issue inconnue : choisissez « réalisé » ou « absent »."), code="invalid_outcome")
    if booking.start_at > now:
        raise Conflict(_l("Le rendez-vous n'a pas encore commencé."), code="not_started")
    seen = booking.sequence
    with locking.locked([locking.company(booking.company_id)]):
        recheck(booking, seen, ("confirmed",), _l("aucune issue ne peut plus être enregistrée"))
        booking.status = outcome  # a no-show consumes the session: its ledger line stays
        audit.record(actor, f"booking.{outcome}", booking)
    return booking


def check_follow_up(booking: Booking, now: datetime) -> None:
    """A follow-up is proposed for a confirmed or completed ERP-Lib session that has started (until then, nothing
    has overrun: the client books another session themselves)."""
    if booking.kind != "erplib" or booking.status not in ("confirmed", "completed"):
        raise Conflict(_l("Un suivi se propose après une session ERP-Lib confirmée ou réalisée."), code="no_follow_up")
    if booking.start_at > now:
        raise Conflict(
            _l(
                "La session du %(day)s à %(time)s n'a pas encore commencé : proposez un suivi pendant ou après "
                "elle, si elle déborde.",
                day=format_date(booking.start_at, "dd/MM/yyyy"),
                time=format_datetime(booking.start_at, "HH:mm"),
            ),
            code="not_started",
        )


def propose_follow_up(actor: User, booking: Booking, start_at: datetime, now: datetime) -> Booking:
    """When a session overran, its consultant holds a next slot, after the session, that the client confirms in one
    click."""
    check_follow_up(booking, now)
    if start_at < booking.end_at:
        raise Conflict(
            _l(
                "Un suivi commence après la fin de la session (le %(day)s à %(time)s) : choisissez un créneau plus "
                "tardif.",
                day=format_date(booking.end_at, "dd/MM/yyyy"),
                time=format_datetime(booking.end_at, "HH:mm"),
            ),
            code="no_follow_up",
        )
    return book(
        actor,
        "erplib",
        start_at,
        now,
        company=booking.company,
        consultant_id=booking.consultant_id,
        hold=True,
        follow_up_of=booking,
        contact=booking.contact,
        notes=f"Suite de la session du {booking.start_at.astimezone(PARIS):%d/%m/%Y %H:%M}",
    )
