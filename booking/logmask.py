"""Secrets kept out of log lines: a feed URL carries its token (/calendars/<token>.ics), a mailed
set-password link its own (/mot-de-passe/<token>), which anyone reading the access log could otherwise use. `MaskSecrets` rewrites each record on the
loggers that write request lines (gunicorn's access and error logs, werkzeug's, the app's own)."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

# The feed and set-password routes' path segment, whatever it holds (a mistyped token is a secret too).
FEED_PATH = re.compile(r"(/calendars/|/mot-de-passe/)[^/?#\s\"'\\]+?(\.ics)?(?=[/?#\s\"'\\]|$)", re.IGNORECASE)
# A feed or API token anywhere else in a line (a query string, a Referer header).
TOKEN = re.compile(r"\b(cal|erp)_[A-Za-z0-9_-]{16,}")
MASK = "***"


def _mask(text: str) -> str:
    return TOKEN.sub(MASK, FEED_PATH.sub(rf"\g<1>{MASK}\g<2>", text))


def mask(text: str) -> str:
    """The line with every feed token replaced by ***, also when the client percent-encoded it."""
    masked = _mask(text)
    if "%" in masked:
        decoded = unquote(masked)
        if _mask(decoded) != decoded:
            return _mask(decoded)
    return masked


class MaskSecrets(logging.Filter):
    """A logger filter that rewrites a record's message with its secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install(*loggers: logging.Logger | str) -> None:
    """Add the filter once to each logger (by object or name) and to its handlers: a logger's own filters
    do not see what its child loggers (booking.inputs …) propagate to it, its handlers do."""
    for logger in loggers:
        logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, MaskSecrets) for f in target.filters):
                target.addFilter(MaskSecrets())
