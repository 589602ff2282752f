"""Refusals that a person can act on; pages flash them, the API turns them into problem+json."""


class ServiceError(Exception):
    status = 400
    code: str | None = None  # a stable name for API clients (problem+json `code`), where one applies
    field: str | None = None  # the input the refusal is about: a form shows it beside that field

    def __init__(self, message: str, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class Invalid(ServiceError):
    status = 422


class NotEntitled(ServiceError):
    status = 403
    code = "not_entitled"


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409
