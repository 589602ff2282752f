"""RFC 9457 problem details: every API error says what went wrong in words a person can act on."""

from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .validation import said, summary

MEDIA_TYPE = "application/problem+json"

# Werkzeug's own errors on the API, by status: the sentence (unless the view gave its own) and the code.
HTTP_ERRORS = {
    400: (_l("Requête illisible : vérifiez sa syntaxe et ses en-têtes."), "bad_input"),
    403: (_l("Accès refusé à cette ressource."), "not_entitled"),
    404: (
        _l("Aucune ressource à cette adresse : vérifiez le chemin et l'identifiant (voir /api/v1/openapi.json)."),
        "not_found",
    ),
    413: (_l("Requête trop volumineuse : envoyez-en une plus petite."), "too_large"),
}


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


def http_problem(error: HTTPException):
    """An HTTP error on the API (webargs' refusal of the input, no such route, a method the route lacks …) as
    problem+json with its code, in the request's language."""
    status = error.code or 500
    messages = (getattr(error, "data", None) or {}).get("messages")
    if messages:
        messages = said(messages)
        detail = _("Requête invalide — %(summary)s", summary=summary(messages))
        return problem(status, detail, errors=messages, code="invalid_request")
    if status == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        detail = _(
            "La méthode %(method)s n'est pas acceptée à cette adresse, qui accepte : %(allowed)s.",
            method=request.method,
            allowed=allowed,
        )
        response = problem(405, detail, code="method_not_allowed")
        response.headers["Allow"] = allowed
        return response
    sentence, code = HTTP_ERRORS.get(status, (None, None))
    given = error.description if error.description != type(error).description else None  # abort(404, "…")
    return problem(status, given or (str(sentence) if sentence else error.description), code=code)
