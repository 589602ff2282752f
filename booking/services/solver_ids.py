"""How database rows are named in a reshuffle instance (docs/solver-format.md) and read back from its plan.

The solver only sees strings; this module is the one place that turns ids into them and back, so that a
plan's "b42" can never be read as consultant 42."""

from __future__ import annotations

BOOKING, CONSULTANT, JOB, CLIENT = "b", "c", "p", "company"


def booking(booking_id: int) -> str:
    return f"{BOOKING}{booking_id}"


def consultant(consultant_id: int) -> str:
    return f"{CONSULTANT}{consultant_id}"


def job(request_id: int) -> str:
    """A priority job, named after its priority request."""
    return f"{JOB}{request_id}"


def client(company_id: int) -> str:
    return f"{CLIENT}{company_id}"


def booking_id(instance_id: str) -> int:
    """ "b42" → 42; a ValueError for anything else."""
    return _decode(BOOKING, instance_id)


def consultant_id(instance_id: str) -> int:
    """ "c7" → 7; a ValueError for anything else."""
    return _decode(CONSULTANT, instance_id)


def _decode(prefix: str, instance_id: str) -> int:
    digits = instance_id[len(prefix) :] if instance_id.startswith(prefix) else ""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{instance_id!r} is not a solver id of kind {prefix!r}")
    return int(digits)
