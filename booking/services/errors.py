"""Refusals that a person can act on: a stable `code` for programs and a sentence for people.

A service raises with a lazy translatable sentence, `Invalid(_l("… %(name)s …", name=…), code="…")`: the
sentence is rendered only when shown, in the language of the request that reads it (French outside
requests: jobs, command line, mail). Each surface has one handler: the API's problem+json
(`web._refusal`, `api.idempotency`), pages' flashes and form errors (`web.refusals`)."""


class ServiceError(Exception):
    status = 400
    code = "refused"  # a stable name for programs (problem+json `code`); subclasses and raises narrow it
    field: str | None = None  # the input the refusal is about: a form shows it beside that field

    def __init__(self, message, code: str | None = None, field: str | None = None, on_page=None):
        super().__init__(message)
        self._message = message  # str or flask_babel's LazyString: kept lazy until someone reads it
        self._on_page = on_page  # what a page says instead, when it does for the reader what a program must do
        if code:
            self.code = code
        self.field = field

    @property
    def message(self) -> str:
        """The sentence in the current language (the request's; French outside requests)."""
        return str(self._message)

    @property
    def page_message(self) -> str:
        """The sentence pages show: `message`, unless the refusal has its own for pages (a page refused shows the
        reader what a program is asked to send: « choisissez-en un à nouveau » rather than « indiquez ces valeurs »)."""
        return str(self._on_page) if self._on_page is not None else self.message

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


# Every code a refusal may carry besides the slot reasons (reasons.CODES); the API documents them all
# (problem+json `code`) and tests/test_messages.py checks that no code is used without being listed here.
CODES = (
    # one per kind, when nothing narrower applies
    "refused",
    "invalid",
    "not_entitled",
    "not_found",
    "conflict",
    "bad_input",
    "invalid_request",
    # accounts, sign-in and tokens
    "login_refused",
    "login_locked",
    "link_invalid",
    "wrong_password",
    "weak_password",
    "email_taken",
    "invalid_email",
    "invalid_role",
    "user_inactive",
    "admin_only",
    "self",
    "not_a_contact",
    "not_main_contact",
    "role_refused",
    "token_refused",
    "token_invalid",
    "token_revoked",
    "token_expired",
    "token_not_found",
    "token_ambiguous",
    "invalid_lifetime",
    "invalid_name",
    # companies and contracts
    "company_missing",
    "company_not_found",
    "company_inactive",
    "company_has_bookings",
    "contact_cap",
    "name_taken",
    "invalid_tier",
    "same_tier",
    "invalid_contract_start",
    "invalid_grid",
    "invalid_contract",  # a contract text's key: out of its range, of the wrong type, unknown or missing
    "contract_syntax",
    "service_required",
    "tier_required",
    "change_in_past",
    "change_started",
    "change_too_far",
    "invalid_environments",
    "invalid_erp_version",
    "invalid_notes",
    "no_privileged_consultant",
    "unknown_consultant",
    "contract_start_counted",
    "change_counted",
    # bookings and their changes
    "booking_not_found",
    "unknown_service",
    "invalid_environment",
    "ticket_missing",
    "invalid_ticket",
    "invalid_priority",
    "ticket_differs",
    "no_commitment",
    "callback_window_free",
    "version_installed",
    "state_changed",
    "moved_meanwhile",
    "hold_expired",
    "cutoff",
    "already_started",
    "acknowledge_first",
    "cost_changed",
    "not_started",
    "invalid_outcome",
    "no_follow_up",
    # interventions
    "unknown_prerequisite",
    "checklist_closed",
    "not_major_install",
    # priority consulting and plans
    "invalid_duration",
    "unknown_skill",
    "agreement_missing",
    "reason_missing",
    "reason_too_long",
    "no_quote",
    "quote_changed",
    "quote_expired",
    "plan_not_ready",
    "plan_applied",
    "plan_stale",
    "plan_not_found",
    # calendars and webhooks
    "calendar_unreadable",
    "invalid_url",
    "webhook_url",
    "webhook_events",
    "webhook_not_found",
    "webhook_delivery_not_found",
    # the API's own refusals: idempotency keys, the rate limit, no such route or method
    "idempotency_key_reused",
    "idempotency_in_progress",
    "idempotency_key_too_long",
    "staff_only_field",
    "rate_limited",
    "method_not_allowed",
    "too_large",
    # the service itself
    "database_down",
)
