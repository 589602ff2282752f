"""What a slot promises before consent, said on the slot itself: until when cancelling is free (or that it
no longer is), and by when an intervention's prerequisites must be confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from .. import contract
from ..date_format import format_datetime
from . import bookings
from .availability import BUSINESS

FREE_CALLS = ("callback",)  # nothing is consumed by cancelling them: no cancellation note


@dataclass(frozen=True)
class Note:
    kind: str  # free_cancel, late_cancel, prerequisites: the page's CSS class
    text: str


def business_before(instant: datetime, hours: int) -> datetime:
    """The instant `hours` business hours before `instant` (the company's business time)."""
    return BUSINESS.minutes_before(instant, hours * 60)


def notes(kind: str, start: datetime, now: datetime) -> list[Note]:
    """The notes of a slot starting at `start`, as seen at `now`."""
    terms, found = contract.current(), []
    if kind not in FREE_CALLS:
        hours = terms.policy.cancel_cutoff_hours
        until = business_before(start, hours)
        late = bookings.inside_cutoff(start, now)
        found.append(
            Note("late_cancel", _("annulation non remboursable"))
            if late
            else Note("free_cancel", _("annulation gratuite jusqu'au %(when)s", when=_when(until)))
        )
    gate = prerequisites_until(kind, start)
    if gate:
        found.append(Note("prerequisites", _("prérequis à confirmer avant le %(when)s", when=_when(gate))))
    return found


def prerequisites_until(kind: str, start: datetime) -> datetime | None:
    """By when an intervention starting at `start` needs its prerequisites confirmed (None: it has no gate)."""
    gate = contract.current().service(kind).prerequisites_gate_hours
    return business_before(start, gate) if gate else None


def _when(instant: datetime) -> str:
    return format_datetime(instant, "EEE d MMM HH:mm")
