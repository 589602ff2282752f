"""A calendar that cannot be read over the network says why in the reader's language: calendars/fetch.py gives a
stable code and its parameters (the host, the status, the limit), the booking side translates it on the calendar
page, in the stored report and in refusals; a row stored before (a French sentence, no code) is shown as it is."""

from __future__ import annotations

import html
import socket
import ssl
import time
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from booking.extensions import db
from booking.models import ExternalCalendar
from booking.services import calendar_sync
from booking.services.errors import Invalid
from calendars import fetch, importer
from calendars.fetch import FetchError, Policy

from . import factories as f
from .loopback import send, serving

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)  # a Tuesday; no test here reads the clock
PUBLIC = "93.184.216.34"


def public(host: str, port: int) -> list[str]:
    return [PUBLIC]


def failing(error: BaseException):
    """A connector that fails as a network would (and never connects anywhere)."""

    def connect(address: tuple[str, int], timeout: float) -> socket.socket:
        raise error

    return connect


def note_of(call) -> importer.Note:
    with pytest.raises(FetchError) as failed:
        call()
    assert failed.value.note is not None, str(failed.value)
    return failed.value.note


def both(app, note: importer.Note) -> tuple[str, str]:
    """The note as a French reader and an English reader see it."""
    said = []
    for locale in ("fr", "en"):
        with app.test_request_context(), force_locale(locale):
            said.append(calendar_sync.sentence(note))
    return said[0], said[1]


# --- fetch.py: codes and parameters, no sentence of its own ------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, phrase",
    [
        (401, "http_not_public", "Unauthorized"),
        (403, "http_not_public", "Forbidden"),
        (404, "http_address", "Not Found"),
        (418, "http_address", "I'm a Teapot"),
        (410, "http_gone", "Gone"),
        (500, "http_retry", "Internal Server Error"),
        (503, "http_retry", "Service Unavailable"),
        (599, "http_retry", ""),
    ],
)
def test_a_status_is_a_code_with_the_status_and_its_standard_phrase(status, code, phrase):
    with serving(lambda h: send(h, status, b"secret body", reason="Server's own words")) as server:
        note = note_of(lambda: fetch.fetch(f"{server.url}/cal.ics", policy=Policy(allow_loopback=True)))
    assert (note.code, note.count, note.detail) == (code, status, phrase)
    assert note.to_json() == {"code": code, "count": status, **({"detail": phrase} if phrase else {})}


def test_the_network_failures_are_codes_naming_the_host():
    def fail(error: BaseException) -> importer.Note:
        policy = Policy(resolve=public, connect=failing(error))
        return note_of(lambda: fetch.fetch("https://cal.example.com/x.ics", policy=policy))

    refused, failed, tls = fail(ConnectionRefusedError()), fail(OSError("reset")), fail(ssl.SSLError("bad cert"))
    assert (refused.code, refused.detail) == ("connection_refused", "cal.example.com")
    assert (failed.code, failed.detail) == ("connection_failed", "cal.example.com")
    assert (tls.code, tls.detail) == ("tls_failed", "cal.example.com")
    posted = note_of(
        lambda: fetch.post(
            "https://hooks.example.com/in", b"{}", {}, policy=Policy(resolve=public, connect=failing(OSError()))
        )
    )
    assert (posted.code, posted.detail) == ("receiver_failed", "hooks.example.com")


def test_the_limits_are_parameters_seconds_bytes_and_redirects():
    def slow(host: str, port: int) -> list[str]:
        time.sleep(3)
        return [PUBLIC]

    timeout = note_of(lambda: fetch.fetch("http://slow.example.com/", policy=Policy(deadline=0.5, resolve=slow)))
    assert (timeout.code, timeout.detail, timeout.count) == ("timeout", "slow.example.com", 0.5)
    whole = note_of(lambda: fetch.post("http://slow.example.com/", b"", {}, policy=Policy(deadline=1, resolve=slow)))
    assert (whole.code, whole.count) == ("receiver_timeout", 1) and isinstance(whole.count, int)

    def handle(h):
        send(h, 301, Location="/again") if h.path != "/big" else send(h, 200, b"x" * 5000)

    with serving(handle) as server:
        big = note_of(lambda: fetch.fetch(f"{server.url}/big", policy=Policy(allow_loopback=True, max_bytes=4096)))
        loop = note_of(lambda: fetch.fetch(f"{server.url}/", policy=Policy(allow_loopback=True, max_redirects=2)))
    assert (big.code, big.count, big.size()) == ("download_too_big", 4096, ("kib", 4))
    assert (loop.code, loop.count) == ("too_many_redirects", 2)
    assert importer.Note("download_too_big", count=10 * 1024 * 1024).size() == ("mib", 10)


def test_the_french_str_stays_for_logs_and_the_command_line():
    assert str(importer.Note("timeout", detail="h.example", count=2.5)) == (
        "Délai dépassé : le serveur « h.example » n'a pas envoyé le calendrier complet en 2,5 s."
    )
    assert str(importer.Note("download_too_big", count=10 * 1024 * 1024)) == (
        "Calendrier trop volumineux : plus de 10 Mio."
    )
    assert str(importer.Note("http_retry", count=599)) == (
        "Le serveur du calendrier a répondu 599 (code inconnu) : réessayez plus tard."
    )
    assert str(importer.Note("receiver_refused", detail="hooks.example")) == (
        "Destinataire injoignable : « hooks.example » refuse la connexion."
    )


# --- the booking side: the reader's language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "note, french, english",
    [
        (
            importer.Note("timeout", detail="cal.example.com", count=15),
            "Délai dépassé : le serveur « cal.example.com » n'a pas envoyé le calendrier complet en 15 s.",
            "Time limit exceeded: the server “cal.example.com” did not send the whole calendar within 15 s.",
        ),
        (
            importer.Note("timeout", detail="cal.example.com", count=2.5),
            "Délai dépassé : le serveur « cal.example.com » n'a pas envoyé le calendrier complet en 2,5 s.",
            "Time limit exceeded: the server “cal.example.com” did not send the whole calendar within 2.5 s.",
        ),
        (
            importer.Note("connection_refused", detail="cal.example.com"),
            "Calendrier injoignable : « cal.example.com » refuse la connexion.",
            "Calendar unreachable: “cal.example.com” refuses the connection.",
        ),
        (
            importer.Note("connection_failed", detail="cal.example.com"),
            "Calendrier injoignable : la connexion avec « cal.example.com » a échoué ou sa réponse n'est pas du "
            "HTTP valide.",
            "Calendar unreachable: the connection with “cal.example.com” failed or its answer is not valid HTTP.",
        ),
        (
            importer.Note("tls_failed", detail="cal.example.com"),
            "Connexion sécurisée impossible avec « cal.example.com » : certificat refusé ou chiffrement incompatible.",
            "No secure connection with “cal.example.com”: certificate refused or incompatible encryption.",
        ),
        (
            importer.Note("http_not_public", detail="Forbidden", count=403),
            "Le serveur du calendrier a répondu 403 (Forbidden) : le calendrier n'est pas public.",
            "The calendar's server answered 403 (Forbidden): the calendar is not public.",
        ),
        (
            importer.Note("http_gone", detail="Gone", count=410),
            "Le serveur du calendrier a répondu 410 (Gone) : le calendrier a été supprimé.",
            "The calendar's server answered 410 (Gone): the calendar has been deleted.",
        ),
        (
            importer.Note("http_retry", count=599),
            "Le serveur du calendrier a répondu 599 (code inconnu) : réessayez plus tard.",
            "The calendar's server answered 599 (unknown code): try again later.",
        ),
        (
            importer.Note("http_address", detail="Not Found", count=404),
            "Le serveur du calendrier a répondu 404 (Not Found) : vérifiez l'adresse.",
            "The calendar's server answered 404 (Not Found): check the address.",
        ),
        (
            importer.Note("download_too_big", count=10 * 1024 * 1024),
            "Calendrier trop volumineux : plus de 10 Mio.",
            "Calendar too large: more than 10 MiB.",
        ),
        (
            importer.Note("download_too_big", count=4096),
            "Calendrier trop volumineux : plus de 4 Kio.",
            "Calendar too large: more than 4 KiB.",
        ),
        (
            importer.Note("too_many_redirects", count=3),
            "Trop de redirections : plus de 3 à partir de l'adresse donnée.",
            "Too many redirects: more than 3 from the address given.",
        ),
        (
            importer.Note("receiver_timeout", detail="hooks.example", count=10),
            "Délai dépassé : le serveur « hooks.example » n'a pas répondu en 10 s.",
            "Time limit exceeded: the server “hooks.example” did not answer within 10 s.",
        ),
        (
            importer.Note("receiver_refused", detail="hooks.example"),
            "Destinataire injoignable : « hooks.example » refuse la connexion.",
            "Receiver unreachable: “hooks.example” refuses the connection.",
        ),
    ],
    ids=lambda value: value.code if isinstance(value, importer.Note) else "",
)
def test_each_failure_is_said_in_french_and_in_english(app, note, french, english):
    assert both(app, note) == (french, english)
    assert both(app, importer.Note.from_json(note.to_json())) == (french, english)  # as stored, as read back


def test_every_code_fetch_can_give_has_a_sentence():
    codes = {*fetch.STATUS_CODES.values(), "http_retry", "http_address", "tls_failed", "download_too_big"}
    codes |= {"too_many_redirects", *(code for kind in fetch.FAILURES.values() for code in kind.values())}
    assert codes <= set(importer.MESSAGES)


def test_a_refusal_of_a_read_at_once_is_in_the_readers_language(app):
    """`calendar_sync.add` with an address (the command line) refuses with the translated sentence."""
    app.config["CALENDAR_FETCH_ALLOW_LOOPBACK"] = True
    consultant = f.consultant()
    db.session.commit()
    with serving(lambda h: send(h, 404)) as server:
        said = []
        for locale in ("fr", "en"):
            with app.test_request_context(), force_locale(locale), pytest.raises(Invalid) as refused:
                calendar_sync.add(None, consultant, "Perso", NOW, url=f"{server.url}/cal.ics")
            assert refused.value.code == "calendar_unreadable"
            said.append(str(refused.value.message))
    assert said == [
        "Le serveur du calendrier a répondu 404 (Not Found) : vérifiez l'adresse.",
        "The calendar's server answered 404 (Not Found): check the address.",
    ]


# --- the calendar page: what was stored is shown in the reader's language ----------------------------------------


def _row(label: str) -> ExternalCalendar:
    db.session.rollback()
    return db.session.scalar(select(ExternalCalendar).where(ExternalCalendar.label == label))


def test_the_page_says_a_stored_failure_in_the_readers_language(app, client, auth):
    app.config["CALENDAR_FETCH_ALLOW_LOOPBACK"] = True
    consultant = f.consultant()
    db.session.commit()
    with serving(lambda h: send(h, 403, b"private")) as server:
        calendar_sync.queue(None, consultant, "Privé", f"{server.url}/cal.ics", NOW)
        assert calendar_sync.import_queued(NOW) == 0
    calendar = _row("Privé")
    assert calendar.status == "error"
    assert calendar.report["refusal"] == {"code": "http_not_public", "count": 403, "detail": "Forbidden"}
    auth.login(consultant.user.email)
    french = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "Erreur : Le serveur du calendrier a répondu 403 (Forbidden) : le calendrier n'est pas public." in french
    client.post("/langue/en", data={"next": "/agenda"})
    english = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "The calendar's server answered 403 (Forbidden): the calendar is not public." in english
    assert "le calendrier n'est pas public" not in english


def test_a_row_stored_before_the_codes_is_shown_as_it_was_written(app, client, auth):
    """Read failures were stored as a French sentence with no code: such a row still reads, as it is."""
    consultant = f.consultant()
    old = "Délai dépassé : le serveur « cal.example.com » n'a pas envoyé le calendrier complet en 15 s."
    db.session.add(
        ExternalCalendar(
            consultant_id=consultant.id,
            label="Ancien",
            url="https://cal.example.com/x.ics",
            status="error",
            error=old,
            report={"refusal": None, "skipped": [], "dropped": False, "kept_until": None},
        )
    )
    db.session.commit()
    auth.login(consultant.user.email)
    for locale in ("fr", "en"):
        client.post(f"/langue/{locale}", data={"next": "/agenda"})
        page = html.unescape(client.get("/agenda").get_data(as_text=True))
        assert old in page, locale
