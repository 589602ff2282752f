"""The JSON API: OpenAPI document, bearer tokens, problem+json, idempotency, scoping."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from booking.extensions import db
from booking.services import availability, tokens
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(app, frozen):
    serenite = f.company("serenite", contract_start=date(2026, 1, 1))
    other = f.company("standard")
    consultant = f.consultant(skills=("installation",))
    me, stranger = f.user("client", serenite), f.user("client", other)
    keys = {"me": tokens.create(me), "stranger": tokens.create(stranger), "planner": tokens.create(f.user("planner"))}
    db.session.commit()
    return {"company": serenite, "other": other, "consultant": consultant, "keys": keys}


def call(client, method, path, key, **kw):
    return client.open(path, method=method, headers={"Authorization": f"Bearer {key}", **kw.pop("headers", {})}, **kw)


def test_openapi_document_lists_the_resources(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/v1/availability",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
        "/api/v1/bookings/{booking_id}/cancel",
        "/api/v1/hour-bank",
        "/api/v1/callbacks",
    } <= set(doc["paths"])
    assert "application/problem+json" in doc["paths"]["/api/v1/bookings"]["post"]["responses"]["409"]["content"]


def test_availability_groups_slots_by_local_day(client, world):
    r = call(client, "GET", "/api/v1/availability?service=erplib&start=2026-12-03&end=2026-12-04", world["keys"]["me"])
    assert r.status_code == 200 and [d["date"] for d in r.json["days"]] == ["2026-12-03", "2026-12-04"]
    first = r.json["days"][0]["slots"][0]
    assert first["start"] == "2026-12-03T09:00:00+01:00" and first["consultant_id"] == world["consultant"].id


@pytest.mark.parametrize(
    "query, field",
    [
        ("service=erplib&start=2026-12-05&end=2026-12-01", "end"),
        ("service=erplib&start=2026-12-01&end=2027-06-01", "end"),
        ("service=massage&start=2026-12-01&end=2026-12-02", "service"),
        ("service=erplib&start=01/12/2026&end=2026-12-02", "start"),
    ],
)
def test_bad_availability_queries_are_clear_422s(client, world, query, field):
    r = call(client, "GET", f"/api/v1/availability?{query}", world["keys"]["me"])
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert field in r.json["detail"] and field in r.json["errors"]["query"]


def test_book_reschedule_cancel_and_hour_bank(client, world):
    key = world["keys"]["me"]
    r = call(client, "POST", "/api/v1/bookings", key, json={"service": "erplib", "start": "2026-12-08T10:00:00+01:00"})
    assert r.status_code == 201 and r.json["status"] == "confirmed"
    booking_id = r.json["id"]
    assert call(client, "GET", "/api/v1/hour-bank", key).json["balance_minutes"] == 555
    r = call(client, "PATCH", f"/api/v1/bookings/{booking_id}", key, json={"start": "2026-12-09T15:00:00+01:00"})
    assert r.status_code == 200 and r.json["start"] == "2026-12-09T15:00:00+01:00" and r.json["sequence"] == 1
    r = call(client, "POST", f"/api/v1/bookings/{booking_id}/cancel", key)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    bank = call(client, "GET", "/api/v1/hour-bank", key).json
    assert bank["balance_minutes"] == 600 and [e["kind"] for e in bank["entries"]] == ["grant", "reserve", "refund"]


def test_idempotency_key_replays_the_first_answer(client, world):
    key, body = world["keys"]["me"], {"service": "erplib", "start": "2026-12-08T10:00:00+01:00"}
    first = call(client, "POST", "/api/v1/bookings", key, json=body, headers={"Idempotency-Key": "abc"})
    again = call(client, "POST", "/api/v1/bookings", key, json=body, headers={"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201 and first.json == again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    other = call(
        client, "POST", "/api/v1/bookings", key, json={**body, "notes": "x"}, headers={"Idempotency-Key": "abc"}
    )
    assert other.status_code == 422 and "autre requête" in other.json["detail"]
    assert len(call(client, "GET", "/api/v1/bookings", key).json) == 1


def test_taken_slot_is_409_problem_json(client, world):
    key, body = world["keys"]["me"], {"service": "erplib", "start": "2026-12-08T10:00:00+01:00"}
    call(client, "POST", "/api/v1/bookings", key, json=body)
    r = call(client, "POST", "/api/v1/bookings", key, json=body)
    assert r.status_code == 409 and r.mimetype == "application/problem+json" and "plus disponible" in r.json["detail"]


def test_naive_times_are_refused_with_a_hint(client, world):
    r = call(
        client,
        "POST",
        "/api/v1/bookings",
        world["keys"]["me"],
        json={"service": "erplib", "start": "2026-12-08T10:00:00"},
    )
    assert r.status_code == 422 and "décalage horaire" in r.json["detail"]


def test_another_companys_booking_is_a_404(client, world):
    r = call(
        client,
        "POST",
        "/api/v1/bookings",
        world["keys"]["me"],
        json={"service": "erplib", "start": "2026-12-08T10:00:00+01:00"},
    )
    booking_id = r.json["id"]
    stranger = world["keys"]["stranger"]
    assert call(client, "GET", f"/api/v1/bookings/{booking_id}", stranger).status_code == 404
    assert call(client, "POST", f"/api/v1/bookings/{booking_id}/cancel", stranger).status_code == 404
    assert call(client, "GET", "/api/v1/bookings", stranger).json == []
    assert call(client, "GET", f"/api/v1/bookings/{booking_id}", world["keys"]["planner"]).status_code == 200


def test_services_say_why_not(client, world):
    services = {s["kind"]: s for s in call(client, "GET", "/api/v1/services", world["keys"]["stranger"]).json}
    assert services["erplib"]["bookable"] and not services["minor_update"]["bookable"]
    assert "Standard n'inclut pas" in services["minor_update"]["reason"]
    r = call(
        client,
        "POST",
        "/api/v1/bookings",
        world["keys"]["stranger"],
        json={"service": "minor_update", "start": "2026-12-08T14:00:00+01:00"},
    )
    assert r.status_code == 403 and "Standard n'inclut pas" in r.json["detail"]


def test_callbacks_carry_their_ticket_and_commitment(client, world):
    key = world["keys"]["me"]
    ticket = {"reference": "TCK-9", "priority": "bloquante", "opened_at": "2026-12-02T09:00:00+01:00"}
    r = call(
        client,
        "GET",
        "/api/v1/availability?service=callback&start=2026-12-02&end=2026-12-03"
        "&ticket_priority=bloquante&ticket_opened_at=2026-12-02T09:00:00%2B01:00",
        key,
    )
    flags = [s["within_commitment"] for d in r.json["days"] for s in d["slots"]]
    # Sérénité bloquante: taken charge of within 2 business hours; a callback needs only 30 minutes' notice
    assert flags[0] is True and flags[-1] is False
    r = call(
        client,
        "POST",
        "/api/v1/bookings",
        key,
        json={"service": "callback", "start": "2026-12-03T10:00:00+01:00", "ticket": ticket},
    )
    assert r.status_code == 201 and r.json["beyond_commitment"] is True and r.json["ticket"]["reference"] == "TCK-9"
    assert [b["id"] for b in call(client, "GET", "/api/v1/callbacks", key).json] == [r.json["id"]]


def test_staff_book_for_a_company(client, world):
    r = call(
        client,
        "POST",
        "/api/v1/bookings",
        world["keys"]["planner"],
        json={"service": "minor_update", "start": "2026-12-08T14:00:00+01:00", "company_id": world["company"].id},
    )
    assert r.status_code == 201 and r.json["company"]["id"] == world["company"].id


def test_a_client_naming_another_company_is_refused_not_booked_for_their_own(client, world):
    """company_id is for planners and admins: a client's request naming another company was answered for their own
    (booked, 201), the field silently ignored. Refused (422 staff_only_field) and nothing booked; their own id is
    accepted, as it names what the request does anyway."""
    key, own, other = world["keys"]["me"], world["company"].id, world["other"].id
    body = {"service": "erplib", "start": "2026-12-08T10:00:00+01:00"}
    refused = call(client, "POST", "/api/v1/bookings", key, json={**body, "company_id": other})
    assert refused.status_code == 422 and refused.json["code"] == "staff_only_field", refused.json
    assert "company_id" in refused.json["detail"] and "planificateurs" in refused.json["detail"]
    assert call(client, "GET", "/api/v1/bookings", key).json == []
    english = call(
        client, "POST", "/api/v1/bookings", key, json={**body, "company_id": other}, headers={"Accept-Language": "en"}
    )
    assert english.json["code"] == "staff_only_field" and "planners" in english.json["detail"]
    for path in (
        f"/api/v1/availability?service=erplib&start=2026-12-07&end=2026-12-08&company_id={other}",
        f"/api/v1/availability/why?service=erplib&start=2026-12-08T10:00:00%2B01:00&company_id={other}",
    ):
        answer = call(client, "GET", path, key)
        assert answer.status_code == 422 and answer.json["code"] == "staff_only_field", (path, answer.json)
    booked = call(client, "POST", "/api/v1/bookings", key, json={**body, "company_id": own})
    assert booked.status_code == 201 and booked.json["company"]["id"] == own


def test_availability_is_cut_at_each_instants_notice_within_a_minute(client, world):
    # the listing and its JSON are kept for the minute; the notice moves on within it
    first = availability.earliest(NOW)
    day = first.astimezone(PARIS).date().isoformat()
    path = f"/api/v1/availability?service=erplib&start={day}&end={day}"

    def starts():
        r = call(client, "GET", path, world["keys"]["me"])
        assert r.status_code == 200
        return [slot["start"] for d in r.json["days"] for slot in d["slots"]]

    at_first = starts()
    assert at_first[0] == first.astimezone(PARIS).isoformat()
    with time_machine.travel(NOW + timedelta(seconds=50), tick=False):
        later = starts()
    assert later == at_first[1:]
    assert starts() == at_first
