"""Why a webhook delivery failed is stored as a code and its parameters (a `Note`), and said in the reader's
language on the admin's page and in the API; a row stored before as a French sentence is shown as written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from booking.extensions import db
from booking.models import WebhookDelivery, WebhookSubscription
from booking.services import tokens, webhook_delivery, webhooks
from calendars.importer import Note

from . import factories as f

TIMEOUT = Note("receiver_timeout", detail="hooks.example.com", count=2.5)
OLD = "Destinataire injoignable : « hooks.example.com » refuse la connexion."  # as stored before notes


def _log(errors: list[str]) -> int:
    subscription = WebhookSubscription(url="https://hooks.example.com/", events=["booking.created"], secret="whsec_x")
    db.session.add(subscription)
    db.session.flush()
    for i, error in enumerate(errors):
        body = webhooks.payload(f"evt_{i:032x}", "booking.created", datetime.now(UTC), {"object": "booking"})
        db.session.add(
            WebhookDelivery(
                subscription_id=subscription.id,
                event_id=f"evt_{i:032x}",
                event_type="booking.created",
                body=body,
                attempts=2,
                error=error,
            )
        )
    db.session.commit()
    return subscription.id


def test_a_failure_is_stored_as_its_code_and_parameters():
    assert json.loads(webhook_delivery._stored(TIMEOUT)) == {
        "code": "receiver_timeout",
        "detail": "hooks.example.com",
        "count": 2.5,
    }


def test_a_host_too_long_for_the_column_is_shortened_and_still_read_as_a_note(app):
    host = "é" + "a" * 1990 + '"'  # as long as a subscription's address allows, with what JSON escapes
    stored = webhook_delivery._stored(Note("dns_unknown", detail=host))
    assert len(stored) <= webhook_delivery.ERROR_LENGTH
    said = webhook_delivery.error_sentence(WebhookDelivery(error=stored))
    assert said.startswith("Serveur introuvable : le nom « éaaa") and "a… » n'existe pas (DNS)." in said


def test_the_page_says_the_failure_in_the_reader_s_language_and_old_rows_as_written(app, client, auth):
    admin = f.user("admin")
    sid = _log([webhook_delivery._stored(TIMEOUT), OLD, webhook_delivery.INTERRUPTED])
    auth.login(admin.email)
    french = client.get(f"/admin/webhooks/{sid}").get_data(as_text=True)
    assert "Délai dépassé : le serveur « hooks.example.com » n&#39;a pas répondu en 2,5 s." in french
    assert "Dernière tentative interrompue" in french and "receiver_timeout" not in french
    assert OLD in french
    client.post("/langue/en", data={"next": "/"})
    english = client.get(f"/admin/webhooks/{sid}").get_data(as_text=True)
    assert "Time limit exceeded: the server “hooks.example.com” did not answer within 2.5 s." in english
    assert "Last attempt cut off (the scheduler stopped while sending)." in english
    assert OLD in english  # stored as a French sentence: shown as it was written
    assert "Délai dépassé" not in english and "{&#34;code" not in english


def test_the_api_says_the_failure_in_the_reader_s_language(app, client):
    headers = {"Authorization": f"Bearer {tokens.create(f.user('admin'), 'webhooks')}"}
    sid = _log([webhook_delivery._stored(TIMEOUT), OLD])
    english = client.get(f"/api/v1/webhooks/{sid}/deliveries", headers={**headers, "Accept-Language": "en"}).json
    assert [d["error"] for d in english] == [
        OLD,
        "Time limit exceeded: the server “hooks.example.com” did not answer within 2.5 s.",
    ]
    french = client.get(f"/api/v1/webhooks/{sid}/deliveries", headers={**headers, "Accept-Language": "fr"}).json
    assert french[1]["error"] == "Délai dépassé : le serveur « hooks.example.com » n'a pas répondu en 2,5 s."
