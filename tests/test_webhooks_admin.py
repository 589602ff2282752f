"""Webhook administration through the API and the pages: the secret given once, refusals with a code,
rotation and deletion after a confirmation, the delivery log and redelivery, in French and English."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from sqlalchemy import select

from booking.extensions import db
from booking.models import WebhookDelivery, WebhookSubscription
from booking.services import tokens, webhook_subscriptions, webhooks

from . import factories as f


def _admin_token():
    admin = f.user("admin")
    token = tokens.create(admin, "webhooks")
    db.session.commit()
    return admin, {"Authorization": f"Bearer {token}"}


def _queue(subscription_id: int, n: int = 1) -> list[int]:
    """Deliveries as `emit` writes them (the event itself is not under test here)."""
    ids = []
    for i in range(n):
        body = webhooks.payload(f"evt_{i:032x}", "booking.created", datetime.now(UTC), {"object": "booking"})
        delivery = WebhookDelivery(
            subscription_id=subscription_id,
            event_id=f"evt_{i:032x}",
            event_type="booking.created",
            body=body,
            attempts=3,
            error="Réponse 500",
        )
        db.session.add(delivery)
        db.session.flush()
        ids.append(delivery.id)
    db.session.commit()
    return ids


def test_api_create_gives_the_secret_once_then_only_a_hint(app, client):
    _admin, headers = _admin_token()
    created = client.post(
        "/api/v1/webhooks",
        headers=headers,
        json={"url": "https://hooks.example.com/erp", "events": ["booking.cancelled", "booking.created"]},
    )
    assert created.status_code == 201, created.json
    secret = created.json["secret"]
    assert created.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)
    assert created.json["events"] == ["booking.created", "booking.cancelled"]  # the catalogue's order
    shown = client.get(f"/api/v1/webhooks/{created.json['id']}", headers=headers).json
    listed = client.get("/api/v1/webhooks", headers=headers).json
    assert "secret" not in shown and shown["secret_hint"] == secret[:10] + "…" and secret not in json.dumps(listed)

    rotated = client.post(f"/api/v1/webhooks/{shown['id']}/rotate", headers=headers, json={})
    assert rotated.status_code == 200 and rotated.json["secret"] != secret and rotated.json["previous_secret_until"]
    now = client.post(f"/api/v1/webhooks/{shown['id']}/rotate", headers=headers, json={"keep_previous": False})
    assert now.json["previous_secret_until"] is None

    patched = client.patch(f"/api/v1/webhooks/{shown['id']}", headers=headers, json={"active": False})
    assert patched.status_code == 200 and patched.json["active"] is False
    assert client.delete(f"/api/v1/webhooks/{shown['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{shown['id']}", headers=headers).json["code"] == "webhook_not_found"


def test_api_refuses_internal_addresses_and_unknown_events_and_changes_nothing(app, client):
    _admin, headers = _admin_token()
    internal = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": "https://192.168.1.10/hook", "events": ["booking.created"]}
    )
    assert internal.status_code == 422 and internal.json["code"] == "webhook_url"
    assert "réseau privé" in internal.json["detail"]
    english = client.post(
        "/api/v1/webhooks",
        headers={**headers, "Accept-Language": "en"},
        json={"url": "https://10.0.0.1/hook", "events": ["booking.created"]},
    )
    assert english.json["detail"] == (
        "Address refused: “10.0.0.1” is a private network address; only public Internet servers are accepted."
    )
    unknown = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": "https://hooks.example.com/", "events": ["booking.exploded"]}
    )
    assert unknown.status_code == 422
    assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_api_is_for_admins_only(app, client):
    planner = f.user("planner")
    token = tokens.create(planner, "p")
    db.session.commit()
    answer = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"


def test_api_delivery_log_and_redelivery(app, client):
    _admin, headers = _admin_token()
    sid = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": "https://hooks.example.com/", "events": ["booking.created"]}
    ).json["id"]
    first, _second = _queue(sid, 2)
    log = client.get(f"/api/v1/webhooks/{sid}/deliveries?status=pending", headers=headers)
    assert log.status_code == 200 and [d["status"] for d in log.json] == ["pending", "pending"]
    again = client.post(f"/api/v1/webhooks/{sid}/deliveries/{first}/redeliver", headers=headers)
    assert again.status_code == 202 and again.json["attempts"] == 0 and again.json["event_id"] == f"evt_{0:032x}"
    other = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": "https://hooks.example.com/2", "events": ["booking.created"]}
    ).json["id"]
    assert client.post(f"/api/v1/webhooks/{other}/deliveries/{first}/redeliver", headers=headers).status_code == 404
    assert client.get(f"/api/v1/webhooks/{sid}/deliveries?status=lost", headers=headers).status_code == 422


def test_pages_create_show_secret_once_edit_disable_rotate_delete(app, client, auth):
    admin = f.user("admin")
    db.session.commit()
    auth.login(admin.email)
    assert "Webhooks" in client.get("/admin/").get_data(as_text=True)  # in the admin's sections
    refused = client.post("/admin/webhooks/nouveau", data={"url": "https://10.1.2.3/x", "events": ["booking.created"]})
    assert refused.status_code == 200 and "réseau privé" in refused.get_data(as_text=True)
    empty = client.post("/admin/webhooks/nouveau", data={"url": "https://hooks.example.com/x"})
    assert "Choisissez au moins un événement" in empty.get_data(as_text=True)
    created = client.post(
        "/admin/webhooks/nouveau",
        data={
            "url": "https://hooks.example.com/x",
            "events": ["booking.created", "quote.waiting"],
            "description": "ERP",
        },
    )
    page = created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'data-testid="secret">(whsec_[^<]+)<', page).group(1)
    subscription = db.session.scalars(select(WebhookSubscription)).one()
    assert subscription.secret == secret and subscription.events == ["booking.created", "quote.waiting"]
    shown = client.get(f"/admin/webhooks/{subscription.id}").get_data(as_text=True)
    assert secret not in shown and secret[:10] in shown and "Journal des envois" in shown

    edited = client.post(
        f"/admin/webhooks/{subscription.id}", data={"url": "https://hooks.example.com/y", "events": ["plan.applied"]}
    )
    assert edited.status_code == 302
    f.reread()
    assert subscription.url == "https://hooks.example.com/y" and subscription.events == ["plan.applied"]
    client.post(f"/admin/webhooks/{subscription.id}/activation", data={})
    f.reread()
    assert subscription.active is False
    client.post(f"/admin/webhooks/{subscription.id}/activation", data={"active": "y"})
    f.reread()
    assert subscription.active is True

    question = client.get(f"/admin/webhooks/{subscription.id}/rotation").get_data(as_text=True)
    assert "Remplacer le secret de signature ?" in question
    f.reread()
    assert subscription.secret == secret  # asking changed nothing
    rotated = client.post(f"/admin/webhooks/{subscription.id}/rotation", data={"keep_previous": "y"}).get_data(
        as_text=True
    )
    f.reread()
    assert subscription.secret in rotated and subscription.previous_secret == secret

    ask = client.get(f"/admin/webhooks/{subscription.id}/supprimer").get_data(as_text=True)
    assert "Supprimer cet abonnement ?" in ask and db.session.get(WebhookSubscription, subscription.id)
    gone = client.post(f"/admin/webhooks/{subscription.id}/supprimer")
    assert gone.status_code == 302
    f.reread()
    assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_page_log_redelivers_and_speaks_english(app, client, auth):
    admin = f.user("admin")
    subscription = WebhookSubscription(url="https://hooks.example.com/", events=["booking.created"], secret="whsec_x")
    db.session.add(subscription)
    db.session.commit()
    first, _ = _queue(subscription.id, 2)
    auth.login(admin.email)
    page = client.get(f"/admin/webhooks/{subscription.id}?statut=en-attente").get_data(as_text=True)
    assert page.count("Renvoyer</button>") == 2 and "3 sur 10" in page
    assert client.get(f"/admin/webhooks/{subscription.id}?statut=perdu").status_code == 400
    answer = client.post(
        f"/admin/webhooks/{subscription.id}/renvoyer", data={"delivery_id": first}, follow_redirects=True
    )
    assert "remis en file, avec le même identifiant" in answer.get_data(as_text=True)
    f.reread()
    assert db.session.get(WebhookDelivery, first).attempts == 0
    client.post("/langue/en", data={"next": "/"})
    english = client.get(f"/admin/webhooks/{subscription.id}").get_data(as_text=True)
    assert "Delivery log" in english and "Send again" in english and "Journal des envois" not in english


def test_deleting_a_subscription_deletes_its_log_on_both_databases(any_app):
    admin = f.user("admin")
    subscription = WebhookSubscription(url="https://hooks.example.com/", events=["booking.created"], secret="whsec_x")
    db.session.add(subscription)
    db.session.commit()
    _queue(subscription.id, 3)
    webhook_subscriptions.delete(admin, subscription.id)
    f.reread()
    assert db.session.scalars(select(WebhookDelivery)).all() == []
