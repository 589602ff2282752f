"""The troubleshooter: why an instant is not free, every rule that blocks it, per consultant.

The rules come from availability.why_not (the very steps `decide` stops at the first of); this module
only adds the company's entitlement and names what each rule found: which absence, which booking, which
imported calendar, whether only the buffer touches it. Clients get their words: no other client's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..date_format import span
from ..extensions import db
from ..models import ACTIVE_STATUSES, Absence, Booking, Company, Consultant, ExternalBusy, ExternalCalendar
from . import availability
from .bookings import check_entitlement
from .errors import Conflict, NotEntitled


@dataclass
class Rule:
    code: str
    sentence: str
    detail: str = ""  # planners only: what the rule found


@dataclass
class Answer:
    """Per consultant (None: shared by every consultant) the rules that block; the slot when it is free."""

    shared: list[Rule] = field(default_factory=list)
    consultants: list[tuple[Consultant, list[Rule]]] = field(default_factory=list)
    slot: availability.Slot | None = None

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.shared] + [r.code for _, rules in self.consultants for r in rules]


def _detail(consultant: Consultant, blocker: availability.Blocker, company: Company) -> str:
    """What a rule found, in a planner's words."""
    if blocker.interval is None:
        return ""
    a, b = blocker.interval
    code, when = blocker.reason.code, span(*blocker.interval)
    buffer = _(" (dans le tampon entre deux rendez-vous)") if blocker.buffered else ""
    if code == "absence":
        found = db.session.scalar(
            select(Absence.reason)
            .where(Absence.consultant_id == consultant.id, Absence.start_at == a, Absence.end_at == b)
            .limit(1)
        )
        return _("Absence %(span)s", span=when) + (f" : {found}" if found else "")
    if code == "busy":
        label = db.session.scalar(
            select(ExternalCalendar.label)
            .join(ExternalBusy.calendar)
            .where(ExternalBusy.consultant_id == consultant.id, ExternalBusy.start_at == a, ExternalBusy.end_at == b)
            .limit(1)
        )
        return _("Agenda importé « %(label)s » : occupé %(span)s", label=label or "?", span=when) + buffer
    if code == "taken":
        booking = db.session.scalars(
            select(Booking)
            .where(
                Booking.consultant_id == consultant.id,
                Booking.start_at == a,
                Booking.end_at == b,
                Booking.status.in_(ACTIVE_STATUSES),
            )
            .limit(1)
        ).first()
        if booking is None:
            return when + buffer
        whose = booking.company.name if booking.company_id != company.id else _("ce client")
        return _("Rendez-vous n° %(id)d (%(whose)s) %(span)s", id=booking.id, whose=whose, span=when) + buffer
    return when


def _client_detail(blocker: availability.Blocker) -> str:
    """A client's words: when, never whose."""
    if blocker.reason.code == "taken":
        return _("déjà réservé") + (_(" (tampon entre deux rendez-vous)") if blocker.buffered else "")
    if blocker.reason.code == "busy":
        return _("le consultant est pris")
    return ""


def explain(
    kind: str,
    company: Company,
    start_at: datetime,
    now: datetime,
    *,
    consultant_id: int | None = None,
    for_client: bool = False,
) -> Answer:
    """Every rule that blocks `start_at` for `kind` booked by `company` (entitlement included)."""
    answer = Answer()
    try:
        check_entitlement(company, kind, start_at.astimezone(availability.PARIS).date())
    except (NotEntitled, Conflict) as refused:  # Conflict: a major install of this version is booked already
        answer.shared.append(Rule(refused.code or "not_entitled", refused.message))
    verdict = availability.why_not(kind, company, start_at, now, consultant_id=consultant_id)
    answer.shared += [Rule(b.reason.code, b.reason.sentence) for b in verdict.shared]
    for consultant, blockers in verdict.consultants:
        if for_client:
            rules = [Rule(b.reason.code, b.reason.sentence, _client_detail(b)) for b in blockers]
        else:
            rules = [Rule(b.reason.code, b.reason.sentence, _detail(consultant, b, company)) for b in blockers]
        answer.consultants.append((consultant, rules))
    answer.slot = verdict.slot if not answer.shared else None
    return answer
