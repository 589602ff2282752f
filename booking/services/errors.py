"""Refusals that a person can act on: a stable `code` for programs and a sentence for people.

A service raises with a lazy translatable sentence, `Invalid(_l("… %(name)s …", name=…), code="…")`: the
sentence is rendered only when shown, in the language of the request that reads it (French outside
requests: jobs, command line, mail). Each surface has one handler: the API's problem+json
(`web._refusal`, `api.idempotency`), pages' flashes and form errors (`web.refusals`)."""


class ServiceError(Exception):
    status = 400
    code = "refused"  # a stable name for programs (problem+json `code`); subclasses and raises narrow it
    field: str | None = None  # the input the refusal is about: a form shows it beside that field

    def __init__(self, message, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self._message = message  # str or flask_babel's LazyString: kept lazy until someone reads it
        if code:
            self.code = code
        self.field = field

    @property
    def message(self) -> str:
        """The sentence in the current language (the request's; French outside requests)."""
        return str(self._message)

    def __str__(self) -> str:
        return self.message


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class NotEntitled(ServiceError):
    status = 403
    code = "not_entitled"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
