"""Append to the audit log inside the caller's transaction (and queue the webhooks it announces)."""

from werkzeug.local import LocalProxy

from ..models import AuditEntry
from . import appends, webhooks

_TABLE = AuditEntry.__table__  # a plain row: the log is written, never read back here


def record(actor, action: str, obj, **details) -> None:
    """Log that `actor` (a User or None for the system) did `action` to `obj` (flushed: it has its id)."""
    # A view may hand over flask-login's `current_user`: the subject is the user, not the proxy's type
    obj = obj._get_current_object() if isinstance(obj, LocalProxy) else obj
    appends.add(
        _TABLE,
        {
            "actor_id": getattr(actor, "id", None),
            "action": action,
            "object_type": type(obj).__name__.lower(),
            "object_id": getattr(obj, "id", None),
            "details": details,
        },
    )
    webhooks.emit(action, obj, details)  # the webhook outbox: queued iff this transaction commits
