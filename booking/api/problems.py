"""RFC 9457 problem details: every API error says what went wrong in words a person can act on."""

from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES

MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str | None = None, **extra):
    """A problem+json response; `extra` adds members such as `errors` or `code` (None: left out)."""
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    body.update((name, value) for name, value in extra.items() if value is not None)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    return response
