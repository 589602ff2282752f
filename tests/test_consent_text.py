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


@pytest.mark.parametrize("late", [True, False])
def test_what_cancelling_will_do_says_billed_minutes_without_a_price_when_none_was_recorded(app, late):
    """Before the client agrees to cancel: minutes billed at a rate agreed with the planner are said alone (the
    page read « 45 minutes restent facturées ( HT) »); with a price, the price is said."""
    unpriced = SimpleNamespace(late=late, included_minutes=0, billable_minutes=45, price_eur=None)
    priced = SimpleNamespace(late=late, included_minutes=0, billable_minutes=45, price_eur=Decimal("90"))
    for language in ("fr", "en"):
        with app.test_request_context(), force_locale(language):
            said = " ".join(consent_text.will_happen(unpriced, held=False))
            assert "45 minutes" in said and "()" not in said and "( " not in said and "HT" not in said
            assert "VAT" not in said
            assert "90" in " ".join(consent_text.will_happen(priced, held=False))
