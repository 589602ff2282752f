"""The API documentation's webhook examples work as served: the Python check and the openssl command
verify a real delivery's signature, and the curl command's test event passes the receiver's check."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from booking.extensions import db
from booking.models.types import utcnow
from booking.services import bookings, webhook_delivery, webhooks
from booking.services import webhook_subscriptions as subs
from calendars.worktime import PARIS

from . import factories as f
from .webhook_receiver import Receiver


def _examples(client) -> dict[str, str]:
    """The code blocks of the signature header's documentation, from /api/v1/openapi.json."""
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    text = doc["components"]["parameters"]["WebhookSignature"]["description"]
    blocks = re.findall(r"```(\w+)\n(.*?)```", text, re.S)
    assert [language for language, _ in blocks] == ["python", "sh", "sh"]
    for event_type in webhooks.EVENTS:
        operation = doc["webhooks"][event_type]["post"]
        assert operation["parameters"][0] == {"$ref": "#/components/parameters/WebhookSignature"}
        assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"] == {
            "const": event_type
        }
    return {"python": blocks[0][1], "verify": blocks[1][1], "send": blocks[2][1]}


def test_the_documented_checks_verify_a_real_delivery(app, client, tmp_path):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    examples = _examples(client)
    admin, company = f.user("admin"), f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    receiver = Receiver()
    subscription, secret = subs.create(admin, receiver.url, ["booking.created"])
    receiver.secret = secret
    receiver.start()
    try:
        bookings.book(contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), datetime(2026, 12, 2, 8, tzinfo=UTC))
        assert webhook_delivery.deliver(utcnow()) == 1
        headers, body = receiver.raw[0]
        header = headers["ERPLib-Signature"]

        namespace: dict = {}
        exec(examples["python"], namespace)  # the documented Python, as served
        assert namespace["verify"](secret, header, body)
        assert not namespace["verify"](secret, header, body + b" ")
        assert not namespace["verify"]("whsec_other", header, body)
        stale = re.sub(r"t=\d+", f"t={int(utcnow().timestamp()) - 3600}", header)
        assert not namespace["verify"](secret, stale, body)

        (tmp_path / "body.json").write_bytes(body)
        stamp = re.search(r"t=(\d+)", header).group(1)
        printed = subprocess.run(
            ["bash", "-c", examples["verify"]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "T": stamp, "SECRET": secret},
            check=True,
        ).stdout
        assert f"v1={printed.strip()}" in header.split(",")

        (tmp_path / "body.json").write_text('{"id":"evt_00000000000000000000000000000000","type":"booking.created"}')
        subprocess.run(
            ["bash", "-c", examples["send"]],
            cwd=tmp_path,
            capture_output=True,
            check=True,
            env={"PATH": "/usr/bin:/bin", "SECRET": secret, "URL": receiver.url},
            timeout=30,
        )
        assert receiver.refused == 0 and receiver.events[-1]["id"] == "evt_00000000000000000000000000000000"
    finally:
        receiver.stop()


def test_docs_carry_the_same_examples_as_the_api_document(client):
    examples = _examples(client)
    text = (Path(__file__).resolve().parent.parent / "docs" / "webhooks.md").read_text()
    assert all(code in text for code in examples.values())


def test_the_document_is_the_same_whatever_the_language_of_its_first_reader(app, client):
    """Written when first read (booking/api/__init__.py): in French, as when it was written with the app."""
    english = client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"})
    french = client.get("/api/v1/openapi.json", headers={"Accept-Language": "fr"})
    assert english.get_data() == french.get_data()
    assert english.json["webhooks"]["booking.rescheduled"]["post"]["summary"] == "Rendez-vous déplacé"
