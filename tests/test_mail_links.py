"""Booking mails (issue 14, item 9): Date and Message-ID headers, and signed, expiring links to see,
reschedule and cancel the booking that still need a login and the booking's access rules."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import time_machine
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from booking.extensions import db
from booking.services import bookings, links, mail
from calendars.worktime import PARIS

from . import factories as f
from .test_mail import smtp  # noqa: F401 (the fixture)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
LINK = re.compile(r"(\S+) : (http://\S+/lien/(\w+)/(\S+))")


def _world():
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact, consultant = f.user("client", company), f.consultant()
    stranger = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    db.session.commit()
    booking = bookings.book(
        contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), NOW, consultant_id=consultant.id
    )
    db.session.commit()
    return contact, consultant, stranger, booking


def _links(message) -> dict[str, str]:
    """purpose → path of each link in a mail's text part."""
    text = message.get_body(("plain",)).get_content()
    return {purpose: url.split("127.0.0.1:5000", 1)[1] for _label, url, purpose, _token in LINK.findall(text)}


@time_machine.travel(NOW, tick=True)
def test_every_mail_has_date_and_message_id_and_the_client_links_to_see_move_cancel(app, smtp, client, auth):  # noqa: F811
    contact, consultant, stranger, booking = _world()
    mail.deliver(NOW)
    (to_client,), (to_consultant,) = (
        [m for rcpt, m in smtp.messages if rcpt == [who]] for who in (contact.email, consultant.user.email)
    )
    ids = {m["Message-ID"] for _, m in smtp.messages}
    assert len(ids) == 2 and all(re.fullmatch(r"<outbox-\d+@127\.0\.0\.1>", i) for i in ids)
    assert all(parsedate_to_datetime(m["Date"]).tzinfo is not None for _, m in smtp.messages)
    client_links, consultant_links = _links(to_client), _links(to_consultant)
    assert set(client_links) == {"voir", "deplacer", "annuler"} and set(consultant_links) == {"voir"}

    # no login: the login form first
    assert "/login" in client.get(client_links["voir"]).headers["Location"]
    auth.login(contact.email)
    pages = {p: client.get(path).headers["Location"] for p, path in client_links.items()}
    assert pages == {
        "voir": f"/portail/rendez-vous/{booking.id}",
        "deplacer": f"/portail/rendez-vous/{booking.id}/deplacer",
        "annuler": f"/portail/rendez-vous/{booking.id}/annuler",
    }
    assert client.get(pages["annuler"]).status_code == 200  # the second step of the cancellation, as usual
    auth.logout()
    auth.login(consultant.user.email)
    assert client.get(consultant_links["voir"]).headers["Location"] == f"/consultant/#rendez-vous-{booking.id}"
    auth.logout()
    auth.login(stranger.email)  # another company's contact holding the mail: the link opens nothing
    assert client.get(client_links["voir"]).status_code == 404


@time_machine.travel(NOW, tick=True)
def test_a_tampered_or_expired_link_shows_why(app, client, auth):
    contact, _consultant, _stranger, booking = _world()
    auth.login(contact.email)
    cancel = links.url(booking, "annuler").split("127.0.0.1:5000", 1)[1]
    see = links.url(booking, "voir").split("127.0.0.1:5000", 1)[1]
    token = cancel.rsplit("/", 1)[1]
    forged = client.get(cancel[:-2] + ("AA" if not cancel.endswith("AA") else "BB"))
    assert forged.status_code == 400 and "pas valide" in forged.get_data(as_text=True)
    # a see link's signature does not open the cancel page: a salt per purpose
    assert client.get(f"/lien/annuler/{see.rsplit('/', 1)[1]}").status_code == 400
    assert client.get(f"/lien/inconnu/{token}").status_code == 400
    # reschedule and cancel links end at the booking's start; see links after 30 days
    with time_machine.travel(booking.start_at + timedelta(minutes=1), tick=False):
        auth.login(contact.email)  # a session of that day
        late = client.get(cancel)
        assert late.status_code == 410 and "expiré" in late.get_data(as_text=True)
        assert client.get(see).status_code == 302
    with time_machine.travel(NOW + links.MAX_AGE + timedelta(minutes=1), tick=False):
        auth.login(contact.email)
        assert client.get(see).status_code == 410
        client.post("/langue/en", data={"next": "/"})
        english = client.get(see).get_data(as_text=True)
        assert "Link expired" in english and "valid for 30 days" in english


@given(st.integers(min_value=1, max_value=2**31 - 1), st.integers(min_value=0, max_value=2**34))
def test_a_link_is_the_token_the_library_would_make(booking_id, until):
    """Links skip the library's attempt to compress the payload (it rarely shortens a link's few bytes): each
    reads the other's tokens, so links already sent still open and new ones are read by the library's code."""
    payload = {"b": booking_id, "e": until}
    ours, library = links._signer("k", "annuler"), URLSafeTimedSerializer("k", salt="booking-link-annuler")
    assert library.loads(ours.dumps(payload)) == payload and ours.loads(library.dumps(payload)) == payload
    assert not ours.dumps(payload).startswith(".")  # never compressed
