"""Pages' one way to show a service's refusal, in the reader's language: flashed above the page here, or beside
the form field it is about (`forms.refused`). The API's way is problem+json (`web._refusal`); a refusal no view
catches becomes the error page with its sentence and status (`web._refusal` too)."""

from flask import flash

from ..services.errors import ServiceError


def flash_refusal(error: ServiceError) -> int:
    """Flash the refusal's sentence; returns its HTTP status, for a page shown again with the reason."""
    flash(error.page_message, "error")
    return error.status
