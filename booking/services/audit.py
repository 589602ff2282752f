"""Append to the audit log inside the caller's transaction (and queue the webhooks it announces)."""

from ..extensions import db
from ..models import AuditEntry
from . import webhooks

_INSERT = AuditEntry.__table__.insert()  # a plain row: the log is written, never read back here


def record(actor, action: str, obj, **details) -> None:
    """Log that `actor` (a User or None for the system) did `action` to `obj` (flushed: it has its id)."""
    db.session.execute(
        _INSERT,
        {
            "actor_id": getattr(actor, "id", None),
            "action": action,
            "object_type": type(obj).__name__.lower(),
            "object_id": getattr(obj, "id", None),
            "details": details,
        },
    )
    webhooks.emit(action, obj, details)  # the webhook outbox: queued iff this transaction commits
