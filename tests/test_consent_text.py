"""The consent sentences are said in one place (`services/consent_text`) for pages and mails: a late cancellation's
result page and its mail say the same thing; billed minutes without a recorded price are said without one."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from booking.services import consent_text
from booking.web import consent


def _late(billable: int, price: Decimal | None, included: int = 0) -> SimpleNamespace:
    return SimpleNamespace(late=True, included_minutes=included, billable_minutes=billable, price_eur=price)


@pytest.mark.parametrize(
    "told, french, english",
    [
        (
            _late(45, Decimal("90")),
            "Rendez-vous annulé tardivement : la séance est décomptée (45 minutes facturées, 90,00\xa0€ HT).",
            "Appointment cancelled late: the session is consumed (45 minutes billed, €90.00 excl. VAT).",
        ),
        (  # a rate agreed with the planner: no price recorded, none said (it read « facturées,  HT »)
            _late(45, None, included=30),
            "Rendez-vous annulé tardivement : la séance est décomptée "
            "(30 minutes de votre banque d'heures ; 45 minutes facturées).",
            "Appointment cancelled late: the session is consumed (30 minutes of your hour bank; 45 minutes billed).",
        ),
    ],
)
def test_the_result_page_and_the_mail_say_what_a_late_cancellation_consumed_alike(app, told, french, english):
    with app.test_request_context(), force_locale("fr"):
        assert consent.happened(told, was_held=False) == consent_text.consumed(told) == french
    with app.test_request_context(), force_locale("en"):
        assert consent.happened(told, was_held=False) == english
