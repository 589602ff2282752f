"""Every API refusal has its code and a sentence in the request's language: idempotency keys, the rate limit, no
such route or method, marshmallow's validation messages; booleans are JSON's true and false only."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from booking.api import idempotency
from booking.extensions import db
from booking.models import ApiToken, Booking, IdempotentRequest
from booking.services import tokens

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Paris
START = "2026-12-08T10:00:00+01:00"  # a free Tuesday slot, past the notice, inside the horizon
PATH = "/api/v1/bookings"


@pytest.fixture
def key(app):
    """A client's API token; the clock stays on NOW for the whole test."""
    with time_machine.travel(NOW, tick=False):
        f.consultant(skills=("installation",))
        raw = tokens.create(f.user("client", f.company("serenite")))
        db.session.commit()
        yield raw


def _call(client, key, lang, method, path, **kw):
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": lang, **kw.pop("headers", {})}
    return client.open(path, method=method, headers=headers, **kw)


def _booked() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Booking))


# --- idempotency ---------------------------------------------------------------------------------------------------


def test_a_retry_with_its_keys_reordered_and_respaced_gets_the_first_answer(client, key):
    first = _call(
        client,
        key,
        "fr",
        "POST",
        PATH,
        data=json.dumps({"service": "erplib", "start": START, "notes": "été"}),
        content_type="application/json",
        headers={"Idempotency-Key": "k1"},
    )
    again = _call(
        client,
        key,
        "fr",
        "POST",
        PATH,
        data='{ "notes" : "\\u00e9t\\u00e9",\n  "start": "' + START + '", "service":"erplib" }',
        content_type="application/json",
        headers={"Idempotency-Key": "k1"},
    )
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true" and _booked() == 1


@pytest.mark.parametrize(
    "lang, sentence",
    [
        ("fr", "Cette clé Idempotency-Key a déjà servi pour une autre requête : utilisez-en une nouvelle."),
        ("en", "This Idempotency-Key was already used for a different request: use a new one."),
    ],
)
def test_a_key_reused_for_another_body_is_refused_with_its_code(client, key, lang, sentence):
    body = {"service": "erplib", "start": START}
    assert _call(client, key, lang, "POST", PATH, json=body, headers={"Idempotency-Key": "k2"}).status_code == 201
    other = _call(client, key, lang, "POST", PATH, json={**body, "hold": True}, headers={"Idempotency-Key": "k2"})
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    assert other.json["code"] == "idempotency_key_reused" and other.json["detail"] == sentence
    assert _booked() == 1 and db.session.scalars(select(Booking.status)).all() == ["confirmed"]


@pytest.mark.parametrize(
    "lang, sentence",
    [
        ("fr", "L'en-tête Idempotency-Key dépasse 200 caractères."),
        ("en", "The Idempotency-Key header is longer than 200 characters."),
    ],
)
def test_a_key_too_long_is_refused_with_its_code(client, key, lang, sentence):
    body = {"service": "erplib", "start": START}
    r = _call(client, key, lang, "POST", PATH, json=body, headers={"Idempotency-Key": "k" * 201})
    assert r.status_code == 400 and r.json["code"] == "idempotency_key_too_long" and r.json["detail"] == sentence
    assert _booked() == 0


@pytest.mark.parametrize(
    "lang, words", [("fr", "encore en cours : réessayez dans un instant"), ("en", "still in progress: try again")]
)
def test_a_key_still_in_progress_is_refused_with_its_code(client, key, lang, words):
    """Claimed a second ago, under the fingerprint of its raw bytes (as keys were before bodies were made
    canonical): the same request, still running."""
    body = json.dumps({"service": "erplib", "start": START}).encode()  # ", " and ": ": not the canonical form
    user_id = db.session.scalar(select(ApiToken.user_id))
    raw = hashlib.sha256(b"\n".join((b"POST", PATH.encode(), b"", body))).hexdigest()
    assert raw != idempotency.fingerprint("POST", PATH, b"", body)
    db.session.add(
        IdempotentRequest(user_id=user_id, key="k3", fingerprint=raw, status=0, body={}, claimed_at=NOW, attempt=0)
    )
    db.session.commit()
    r = _call(
        client, key, lang, "POST", PATH, data=body, content_type="application/json", headers={"Idempotency-Key": "k3"}
    )
    assert r.status_code == 409 and r.json["code"] == "idempotency_in_progress" and words in r.json["detail"]
    assert int(r.headers["Retry-After"]) >= 1 and _booked() == 0


def test_a_body_that_is_not_json_is_compared_by_its_bytes():
    assert idempotency.canonical(b"not json {") == b"not json {"
    assert idempotency.canonical(b'{"b": 1,  "a": [1, 2]}') == b'{"a":[1,2],"b":1}'


# --- the rate limit, no such route, no such method -----------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, words", [("fr", "(limite : 1 par minute). Réessayez dans"), ("en", "(limit: 1 per minute). Try again in")]
)
def test_the_rate_limit_is_refused_with_its_code_and_when_to_retry(app, client, key, lang, words):
    app.config["RATELIMIT_BOOKING"] = "1 per minute"
    bad = {"service": "erplib", "start": "not a date"}
    assert _call(client, key, lang, "POST", PATH, json=bad).status_code == 422
    r = _call(client, key, lang, "POST", PATH, json=bad)
    assert r.status_code == 429 and r.mimetype == "application/problem+json" and r.json["code"] == "rate_limited"
    assert words in r.json["detail"] and int(r.headers["Retry-After"]) > 0


@pytest.mark.parametrize("lang, words", [("fr", "Aucune ressource à cette adresse"), ("en", "Nothing at this address")])
def test_no_such_route_is_a_404_with_its_code(client, key, lang, words):
    r = _call(client, key, lang, "GET", "/api/v1/nope")
    assert r.status_code == 404 and r.mimetype == "application/problem+json" and r.json["code"] == "not_found"
    assert r.json["detail"].startswith(words)


@pytest.mark.parametrize(
    "lang, sentence",
    [
        ("fr", "La méthode DELETE n'est pas acceptée à cette adresse, qui accepte : GET, HEAD, OPTIONS, PATCH."),
        ("en", "The DELETE method is not accepted at this address, which accepts: GET, HEAD, OPTIONS, PATCH."),
    ],
)
def test_a_method_the_route_lacks_is_a_405_with_its_code(client, key, lang, sentence):
    r = _call(client, key, lang, "DELETE", "/api/v1/bookings/1")
    assert r.status_code == 405 and r.json["code"] == "method_not_allowed" and r.json["detail"] == sentence
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"


# --- validation messages in the request's language -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, fr, en",
    [
        (
            {"start": START},
            "service : Champ obligatoire manquant.",
            "service : Missing data for required field.",
        ),
        (
            {"service": "massage", "start": START},
            "service : Valeur attendue parmi : ",
            "service : Must be one of: ",
        ),
        (
            {"service": "erplib", "start": START, "consultant_id": "abc"},
            "consultant_id : Nombre entier attendu.",
            "consultant_id : Not a valid integer.",
        ),
        (
            {"service": "erplib", "start": START, "consultant_id": 99999999999},
            "consultant_id : Identifiant inconnu : 99999999999.",
            "consultant_id : Unknown identifier: 99999999999.",
        ),
        (
            {"service": "erplib", "start": START, "ticket": None},
            "ticket : Ce champ ne peut pas être nul.",
            "ticket : Field may not be null.",
        ),
        (
            {"service": "minor_update", "start": START, "ticket": {"reference": "", "priority": "majeure"}},
            "ticket.reference : La longueur doit être comprise entre 1 et 40.",
            "ticket.reference : Length must be between 1 and 40.",
        ),
        (
            {"service": "erplib", "start": START, "colour": "blue"},
            "colour : Champ inconnu.",
            "colour : Unknown field.",
        ),
    ],
)
def test_validation_messages_follow_the_request_language(client, key, body, fr, en):
    for lang, words in (("fr", fr), ("en", en)):
        r = _call(client, key, lang, "POST", PATH, json=body)
        assert r.status_code == 422 and r.json["code"] == "invalid_request", r.json
        assert words in r.json["detail"], (lang, r.json["detail"])
        assert "{'" not in r.json["detail"]  # no Python dict shown
    assert _booked() == 0


def test_a_nested_error_keeps_its_place_in_errors(client, key):
    body = {"service": "minor_update", "start": START, "ticket": {"reference": "x" * 41, "priority": "majeure"}}
    r = _call(client, key, "en", "POST", PATH, json=body)
    assert r.json["errors"]["json"]["ticket"]["reference"] == ["Length must be between 1 and 40."]


@pytest.mark.parametrize(
    "lang, sentence",
    [
        ("fr", "Date hors de la période gérée (années 2000 à 2099)."),
        ("en", "Date outside the period the service manages (years 2000 to 2099)."),
    ],
)
def test_a_day_out_of_range_is_said_in_the_request_language(client, key, lang, sentence):
    r = _call(client, key, lang, "GET", "/api/v1/availability?service=erplib&start=1999-12-08&end=2026-12-09")
    assert r.status_code == 422 and r.json["errors"]["query"]["start"] == [sentence]


# --- booleans: JSON's true and false, a query's "true" and "false" -------------------------------------------------


@pytest.mark.parametrize("hold", ["yes", "off", "true", 0, 1, None])
def test_hold_takes_only_true_or_false(client, key, hold):
    r = _call(client, key, "en", "POST", PATH, json={"service": "erplib", "start": START, "hold": hold})
    assert r.status_code == 422 and r.json["code"] == "invalid_request"
    assert "hold" in r.json["errors"]["json"] and _booked() == 0


def test_hold_true_still_holds(client, key):
    r = _call(client, key, "fr", "POST", PATH, json={"service": "erplib", "start": START, "hold": True})
    assert r.status_code == 201 and r.json["status"] == "held"


@pytest.mark.parametrize("value", ["1", "yes", "on"])
def test_a_query_boolean_takes_only_true_or_false(client, key, value):
    booked = _call(client, key, "fr", "POST", PATH, json={"service": "erplib", "start": START}).json
    r = _call(client, key, "fr", "POST", f"{PATH}/{booked['id']}/cancel?acknowledged={value}")
    assert r.status_code == 422 and r.json["errors"]["query"]["acknowledged"] == ["Booléen attendu : true ou false."]
    assert db.session.scalars(select(Booking.status)).all() == ["confirmed"]


# --- language --------------------------------------------------------------------------------------------------


def test_an_api_request_speaks_its_own_language_not_the_page_session_beside_it(app, client, auth, key):
    """A browser logged in to the pages in English sends a token of an account kept in French: the API answers in
    Accept-Language's language, else the token's account's, never the page session's."""
    page_user = f.user("client", f.company("confort"))
    db.session.commit()
    auth.login(page_user.email)
    client.post("/langue/en", data={"next": "/"})
    headers = {"Authorization": f"Bearer {key}"}
    unasked = client.get("/api/v1/bookings/999999", headers=headers).json
    english = client.get("/api/v1/bookings/999999", headers={**headers, "Accept-Language": "en"}).json
    assert unasked["code"] == english["code"] == "booking_not_found"
    assert unasked["detail"] != english["detail"]
    assert english["detail"] == _call(client, key, "en", "GET", "/api/v1/bookings/999999").json["detail"]
    assert unasked["detail"] == "Aucun rendez-vous n°999999 parmi les vôtres."
    english_account = tokens.create(f.user("client", f.company("serenite"), locale="en"))
    db.session.commit()
    client.post("/langue/fr", data={"next": "/"})  # the page now French, the token's account English
    answer = client.get("/api/v1/bookings/999999", headers={"Authorization": f"Bearer {english_account}"}).json
    assert answer["detail"] == english["detail"]
