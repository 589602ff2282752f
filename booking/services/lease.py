"""The scheduler's lease: only its holder runs the jobs, so that starting two schedulers is harmless."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import SchedulerLease
from . import locking

NAME = "scheduler"
TTL = timedelta(seconds=90)  # renewed by every job run; a dead holder is replaced after this


def acquire(holder: str, now: datetime) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    try:
        with locking.locked([]):
            renewed = cast(
                CursorResult,
                db.session.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == NAME,
                        or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
                    )
                    .values(holder=holder, expires_at=now + TTL)
                ),
            ).rowcount
            if renewed:
                return True
            if db.session.get(SchedulerLease, NAME) is not None:
                return False
            db.session.add(SchedulerLease(name=NAME, holder=holder, expires_at=now + TTL))
        return True
    except IntegrityError:  # another scheduler created the lease at the same instant
        return False
