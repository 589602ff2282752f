"""Append to the audit log inside the caller's transaction."""
from ..extensions import db
from ..models import AuditEntry


def record(actor, action: str, obj, **details) -> AuditEntry:
    """Log that `actor` (a User or None for the system) did `action` to `obj`."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None), action=action,
        object_type=type(obj).__name__.lower(), object_id=getattr(obj, "id", None),
        details=details,
    )
    db.session.add(entry)
    return entry
