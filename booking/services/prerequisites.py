"""An intervention's prerequisites checklist, read from the contract and the client's ticks (a leaf: notify
and interventions both read it)."""

from __future__ import annotations

from datetime import datetime

from .. import contract
from ..models import Booking


def checklist(booking: Booking) -> list[tuple[str, str, datetime | None]]:
    """(code, label, confirmed at) for each prerequisite of the booking's service."""
    prerequisites = contract.current().service(booking.kind).prerequisites
    if not prerequisites:  # most services: no need to read the checks
        return []
    done = {c.code: c.confirmed_at for c in booking.checks}
    return [(code, label, done.get(code)) for code, label in prerequisites]


def all_confirmed(booking: Booking) -> bool:
    return all(confirmed for _, _, confirmed in checklist(booking))
