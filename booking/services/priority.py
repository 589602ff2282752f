"""Priority consulting and absence repair: request → accept → plan (queued, then computed with CP-SAT by a
scheduler's worker, with progress) → the requester accepts the quote → the plan is applied in one transaction
→ everyone is told."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from .. import contract, labels
from ..extensions import db
from ..models import (
    Absence,
    Booking,
    Company,
    Compensation,
    Consultant,
    PriorityRequest,
    ReshufflePlan,
    User,
    overlapping,
)
from ..models.bookings import REFUSAL_REASON_MAX
from . import audit, consultants, locking, notify, quotes, reshuffle, solver_ids
from .errors import Conflict, Invalid, NotEntitled
from .plan_compute import snapshot

log = logging.getLogger(__name__)


def held_skills() -> set[str]:
    """The known skills (labels.SKILLS) some consultant has: what a client may ask priority consulting for."""
    return {s for c in db.session.scalars(select(Consultant)) for s in c.skills if s in labels.SKILLS}


def check_entitlement(company: Company) -> str:
    """The company's access to priority consulting ("yes", "quote"); refused, with the reason, for a tier
    that has neither (Standard)."""
    tier = contract.current().tier(company.tier)
    level = tier.access("priority_consulting")
    if level not in ("yes", "quote"):
        raise NotEntitled(_l("La formule %(tier)s n'inclut pas le conseil prioritaire.", tier=tier.label))
    return level


def refusal(company: Company) -> str | None:
    """Why `company` may not request priority consulting, or None when it may: the page says it up front."""
    try:
        check_entitlement(company)
    except NotEntitled as refused:
        return refused.message
    return None


def request_consulting(
    actor: User, skill: str, amount: int, unit: str, description: str, now: datetime
) -> PriorityRequest:
    """A client asks for priority consulting: Sérénité includes it, Confort gets a quote, Standard cannot."""
    company = actor.company
    assert company is not None  # only client contacts reach this (the pages and the API check the role)
    level = check_entitlement(company)
    if unit not in ("days", "hours") or not 1 <= amount <= 5:
        raise Invalid(_l("Durée : de 1 à 5 jours ou de 1 à 5 heures."), code="invalid_duration")
    skills = held_skills()
    if skill not in skills:
        raise Invalid(
            _l(
                "Compétence inconnue « %(skill)s » : choisissez parmi %(known)s.",
                skill=skill,
                known=", ".join(sorted(skills)),
            ),
            code="unknown_skill",
        )
    with locking.locked([locking.company(company.id)]):
        request = PriorityRequest(
            company_id=actor.company_id,
            requester_id=actor.id,
            skill=skill,
            amount=amount,
            unit=unit,
            description=description.strip()[:2000],
            requested_at=now,
        )
        db.session.add(request)
        db.session.flush()
        audit.record(actor, "priority.request", request, on_quote=level == "quote")
    return request


def decide(actor: User, request: PriorityRequest, accept: bool, now: datetime) -> ReshufflePlan | None:
    """The planner accepts (and a plan starts computing) or refuses a request; a refusal goes through `refuse`,
    which needs the reason the client is told."""
    if not accept:
        refuse(actor, request, "", now)  # refused for its missing reason: no refusal without one
        return None
    with locking.locked([locking.company(request.company_id)]):
        check_undecided(request)
        request.status = "accepted"
        request.accepted_at, request.accepted_by_id = now, actor.id
        audit.record(actor, "priority.accept", request)
    return start(actor, "priority", now, request=request)


def refuse(actor: User, request: PriorityRequest, reason: str, now: datetime) -> None:
    """A planner refuses a request, saying why: the reason is kept on the request, shown on the client's page
    and mailed to the requester in their language, with what they can do instead."""
    reason = reason.strip()
    if not reason:
        raise Invalid(
            _l("Indiquez le motif du refus : le client le reçoit et peut agir en conséquence."),
            code="reason_missing",
            field="reason",
        )
    if len(reason) > REFUSAL_REASON_MAX:
        raise Invalid(
            _l("Motif trop long : %(max)d caractères au plus.", max=REFUSAL_REASON_MAX),
            code="reason_too_long",
            field="reason",
        )
    with locking.locked([locking.company(request.company_id)]):
        check_undecided(request)
        request.status, request.refused_at, request.refusal_reason = "refused", now, reason
        audit.record(actor, "priority.refuse", request, reason=reason)
        notify.request_refused(request)


def check_undecided(request: PriorityRequest) -> None:
    """Refused once decided. The decisions call it under the company's lock, where `locked()` reads the status
    again whatever the session held: two planners deciding at once (or a page left open), one wins."""
    if request.status != "requested":
        raise Conflict(
            _l(
                "Cette demande a déjà été traitée : elle est « %(status)s ». Rechargez la page pour voir la décision.",
                status=labels.STATUSES.get(request.status, request.status),
            ),
            code="state_changed",
        )


def start(
    actor: User | None,
    kind: str,
    now: datetime,
    *,
    request: PriorityRequest | None = None,
    consultant: Consultant | None = None,
) -> ReshufflePlan:
    """A new plan, queued: a scheduler's worker computes it (services/plan_queue.py), the page follows it.
    Refused for a request already applied or refused (read under its company's lock): a new plan would
    replace, on its pages, the quote that was accepted."""
    with locking.locked([locking.company(request.company_id)] if request else []):
        if request is not None and request.status in ("applied", "refused"):
            raise Conflict(
                _l("Cette demande est déjà appliquée ou refusée : il n'y a plus de plan à calculer."),
                code="state_changed",
            )
        plan = ReshufflePlan(
            kind=kind,
            status="queued",
            request_id=request.id if request else None,
            consultant_id=consultant.id if consultant else None,
            created_by_id=actor.id if actor else None,
            created_at=now,
        )
        db.session.add(plan)
    return plan


def recompute(actor: User, plan: ReshufflePlan, now: datetime) -> ReshufflePlan:
    """A planner asks for a new plan in place of `plan`: refused once it is applied (the schedule follows it
    already; `start` re-checks the request under its lock, should a client accept meanwhile)."""
    if plan.status == "applied":  # final: no later change makes it applicable again
        raise Conflict(_l("Ce plan est déjà appliqué : il n'y a plus rien à recalculer."), code="plan_applied")
    consultant = db.session.get(Consultant, plan.consultant_id) if plan.consultant_id else None
    return start(actor, plan.kind, now, request=plan.request, consultant=consultant)


def accept_quote(actor: User, request: PriorityRequest, now: datetime, plan_id: int | None = None) -> ReshufflePlan:
    """The requester accepts the quote they read (`plan_id`): the plan is applied at once. A quote that
    changed since, or expired, is refused; an expired one is computed afresh and mailed again."""
    plan = _quoted_plan(request, now, plan_id)

    def consent(request: PriorityRequest) -> None:
        request.client_accepted_at = now
        quote = quotes.build(request, plan)
        assert quote is not None  # _quoted_plan returns a ready plan
        audit.record(
            actor,
            "priority.quote_accepted",
            request,
            plan=plan.id,
            quote_eur=request.quote_eur,
            total_eur=str(quote.total),
        )

    return apply(actor, plan, now, consent=consent)


def apply_as_planner(actor: User, plan: ReshufflePlan, now: datetime, agreement_note: str = "") -> ReshufflePlan:
    """A planner applies a plan; a priority plan whose quote the client has not accepted needs the planner's
    note of the client's agreement (by phone), kept on the request and in the audit."""
    request = plan.request
    if request is not None and request.client_accepted_at is None:
        note = agreement_note.strip()[:2000]
        if not note:
            raise Invalid(
                _l(
                    "Le client n'a pas encore accepté le devis : notez son accord (par exemple par "
                    "téléphone : qui, quand) pour appliquer le plan à sa place."
                ),
                code="agreement_missing",
            )
        plan = _quoted_plan(request, now, plan.id)

        def consent(request: PriorityRequest) -> None:
            request.client_accepted_at, request.agreement_note = now, note
            quote = quotes.build(request, plan)
            assert quote is not None  # _quoted_plan returns a ready plan
            audit.record(
                actor, "priority.quote_agreed_by_phone", request, plan=plan.id, note=note, total_eur=str(quote.total)
            )

        return apply(actor, plan, now, consent=consent)
    return apply(actor, plan, now)


def _quoted_plan(request: PriorityRequest, now: datetime, plan_id: int | None) -> ReshufflePlan:
    """The plan whose quote may be accepted now: the latest, ready, the one that was read, not expired."""
    plan = latest(request)
    if plan is None or plan.status != "ready" or request.status != "planned":
        raise Conflict(
            _l("Aucun devis à accepter pour cette demande : il a déjà été accepté, ou le planificateur le recalcule."),
            code="no_quote",
        )
    if plan_id is not None and plan_id != plan.id:
        raise Conflict(
            _l("Le devis a changé depuis que vous l'avez lu : relisez le nouveau devis avant de l'accepter."),
            code="quote_changed",
        )
    if request.quote_valid_until is not None and now >= request.quote_valid_until:
        with locking.locked([]):  # only a plan still ready: never one a twin request has just applied
            db.session.execute(
                update(ReshufflePlan)
                .where(ReshufflePlan.id == plan.id, ReshufflePlan.status == "ready")
                .values(status="stale")
            )
        fresh = start(None, plan.kind, now, request=request)
        raise Conflict(
            _l(
                "Ce devis a expiré : un nouveau devis (plan n°%(plan)s) est en cours de calcul ; "
                "vous le recevrez par courriel.",
                plan=fresh.id,
            ),
            code="quote_expired",
        )
    return plan


def latest(request: PriorityRequest) -> ReshufflePlan | None:
    return db.session.scalar(
        select(ReshufflePlan).where(ReshufflePlan.request_id == request.id).order_by(ReshufflePlan.id.desc())
    )


def apply(actor: User, plan: ReshufflePlan, now: datetime, *, consent=None) -> ReshufflePlan:
    """All of the plan in one transaction, or nothing: a schedule changed since the plan is refused and re-planned.
    `consent(request)` records the client's acceptance in that same transaction, once the plan is re-read as
    still applicable: a twin request or a stale plan records none."""
    if plan.status != "ready":
        raise Conflict(_l("Ce plan n'est pas applicable (déjà appliqué, périmé ou en échec)."), code="plan_not_ready")
    moves, placements = plan.plan.get("moves", []), plan.plan.get("placements", [])  # the keys: whom it touches
    touched = (
        {m["to"]["consultant"] for m in moves}
        | {m["from"]["consultant"] for m in moves}
        | {p["consultant"] for p in placements}
    )
    keys = [
        locking.consultant_day(solver_ids.consultant_id(c), (now + timedelta(days=d)).date())
        for c in touched
        for d in range(reshuffle.WEEKS * 7 + 1)
    ]
    keys += [locking.company(plan.request.company_id)] if plan.request else []
    # the moved bookings' own lock, the one their cancel or move takes: neither can slip in meanwhile
    moved_ids = [solver_ids.booking_id(m["id"]) for m in moves]
    keys += [
        locking.company(c) for c in db.session.scalars(select(Booking.company_id).where(Booking.id.in_(moved_ids)))
    ]
    if _apply_locked(actor, plan, now, keys, moved_ids, consent) == "stale":
        fresh = start(
            actor,
            plan.kind,
            now,
            request=plan.request,
            consultant=db.session.get(Consultant, plan.consultant_id) if plan.consultant_id else None,
        )
        raise Conflict(
            _l("Le planning a changé depuis le calcul : un nouveau plan (n°%(plan)s) est en cours.", plan=fresh.id),
            code="plan_stale",
        )
    return plan


def _apply_locked(
    actor: User, plan: ReshufflePlan, now: datetime, keys: list[locking.LockKey], moved_ids: list[int], consent
) -> Literal["applied", "stale"]:
    """`apply`'s one transaction. A plan found stale under the locks is marked so and "stale" returned: the
    block commits that, and the caller re-plans and refuses after it (the lock contract's outcome)."""
    moves, placements = plan.plan.get("moves", []), plan.plan.get("placements", [])
    created, moved, previous = [], [], {}  # previous: each moved booking's (start, consultant id)
    with locking.locked(keys):
        db.session.scalars(
            select(ReshufflePlan)
            .where(ReshufflePlan.id == plan.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if plan.status != "ready":  # applied (or made stale) by a twin request that held the locks first
            raise Conflict(
                _l("Ce plan vient d'être appliqué ou remplacé : rechargez la page pour voir où il en est."),
                code="plan_not_ready",
            )
        db.session.scalars(
            select(Booking)
            .where(Booking.id.in_(moved_ids))
            .with_for_update(of=Booking)
            .execution_options(populate_existing=True)
        ).all()
        if snapshot(datetime.fromisoformat(plan.instance["now"])) != plan.snapshot:
            plan.status = "stale"
            return "stale"
        if consent is not None:
            consent(plan.request)
        bookings = {m["id"]: db.session.get_one(Booking, solver_ids.booking_id(m["id"])) for m in moves}
        for booking in bookings.values():  # park first: moves may swap places within the transaction
            booking.status = "expired"
        db.session.flush()
        for move in moves:
            booking = bookings[move["id"]]
            previous[booking.id] = (booking.start_at, booking.consultant_id)
            booking.status = "confirmed"
            booking.consultant_id = solver_ids.consultant_id(move["to"]["consultant"])
            booking.start_at = datetime.fromisoformat(move["to"]["start"])
            booking.end_at = datetime.fromisoformat(move["to"]["end"])
            booking.sequence += 1
            # `terms_accepted_at` stays as it was: the requester paid for this plan, but nobody of the moved
            # booking's company consented to its new day's terms, so a planned change of formula does not count it
            # as accepted there (`companies._counted_under`); the placements below are priority consulting, priced
            # once at the plan (`consulting_eur`), which no change of formula re-prices.
            moved.append(booking)
            audit.record(actor, "booking.reshuffle", booking, plan=plan.id, to=move["to"])
            if plan.request and move["compensation_eur"]:
                db.session.add(
                    Compensation(
                        plan_id=plan.id,
                        payer_company_id=plan.request.company_id,
                        beneficiary_company_id=booking.company_id,
                        booking_id=booking.id,
                        amount_eur=Decimal(str(move["compensation_eur"])),
                    )
                )
        db.session.flush()
        for placement in placements:
            request = plan.request
            assert request is not None  # placements are a priority request's jobs
            booking = Booking(
                kind="priority_consulting",
                status="confirmed",
                company_id=request.company_id,
                contact_id=request.requester_id,
                consultant_id=solver_ids.consultant_id(placement["consultant"]),
                start_at=datetime.fromisoformat(placement["start"]),
                end_at=datetime.fromisoformat(placement["end"]),
                booked_at=now,
                notes=request.description,
            )
            db.session.add(booking)
            db.session.flush()
            created.append(booking)
            audit.record(actor, "booking.priority", booking, plan=plan.id)
        plan.status = "applied"
        if plan.request:
            # the consulting's price as the quote said it, for the month's billing (services/billing.py)
            plan.request.status, plan.request.applied_at = "applied", now
            plan.request.consulting_eur = quotes.consulting_price(plan.request)[2]
        audit.record(actor, "reshuffle.apply", plan, moved=len(moves))
        # the mails say the cancellation limit at the plan's application (the change's time), not the clock's
        for booking in moved:
            notify.booking_changed(booking, "rescheduled", before=previous[booking.id], now=now)
        for booking in created:
            notify.booking_changed(booking, "confirmed", now=now)
    return "applied"


def mark_absent(
    actor: User, consultant: Consultant, start: datetime, end: datetime, reason: str, now: datetime
) -> ReshufflePlan | None:
    """Record an absence; if it covers booked time, start a repair plan for the bookings it hits."""
    consultants.check_span(start, end)
    # the days it covers: a booking being made on one of them re-checks after this absence, or before it
    with locking.locked(consultants.day_keys(consultant.id, (start, end))):
        db.session.add(Absence(consultant_id=consultant.id, start_at=start, end_at=end, reason=reason[:120]))
        audit.record(actor, "consultant.absence", consultant, start=start.isoformat(), end=end.isoformat())
    hit = db.session.scalar(
        select(Booking.id).where(
            Booking.consultant_id == consultant.id,
            Booking.status == "confirmed",
            overlapping(start, end),
            Booking.start_at >= now,
        )
    )
    return start_repair(actor, consultant, now) if hit else None


def start_repair(actor: User, consultant: Consultant, now: datetime) -> ReshufflePlan:
    return start(actor, "repair", now, consultant=consultant)
