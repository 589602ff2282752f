"""Small helpers shared by the web views."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to, never another site (no user-controlled redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
