"""Destructive steps ask first (a page that works without JavaScript) and say what they did;
the confirm step and the API tell the cost before consent."""

import html
import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from booking.extensions import db
from booking.models import Booking, LedgerEntry
from booking.services import bookings, feeds, hour_bank, tokens
from booking.services.access import ticket_for
from booking.web import consent
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
YEAR = date(2026, 1, 1)
START = datetime(2026, 12, 8, 14, tzinfo=PARIS)


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


def _contact(tier: str = "serenite", taken: int = 0):
    company = f.company(tier, contract_start=YEAR)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    if taken:
        hour_bank.ensure_grant(company, YEAR)
        db.session.add(
            LedgerEntry(
                company_id=company.id,
                contract_year=YEAR,
                kind="adjust",
                minutes=-taken,
                billable_minutes=0,
                note="test",
            )
        )
    db.session.commit()
    return company, contact


def test_the_confirm_step_shows_the_fourteenth_sessions_split_and_the_cancellation_limit(any_app, client, auth):
    _company, contact = _contact("serenite", taken=13 * 45)
    held = bookings.book(contact, "erplib", START, NOW, hold=True)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = client.get(f"/portail/rendez-vous/{held.id}/confirmer").get_data(as_text=True)
    assert "15 minutes incluses" in page and "30 minutes, soit 50,00\xa0€ HT" in page
    assert "Annulation gratuite jusqu'au jeudi 3 décembre à 11 h 00 ; après, la séance est décomptée." in page


def test_the_confirmed_booking_still_shows_what_it_costs(any_app, client, auth):
    _company, contact = _contact("serenite", taken=13 * 45)
    held = bookings.book(contact, "erplib", START, NOW, hold=True)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        confirmed = client.post(f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": 30})
        page = client.get(f"/portail/rendez-vous/{held.id}").get_data(as_text=True)
    assert confirmed.status_code == 302
    assert "15 minutes incluses" in page and "30 minutes, soit 50,00\xa0€ HT" in page


def test_an_included_session_inside_the_cut_off_says_a_cancellation_is_late_not_counted(any_app, client, auth):
    _company, contact = _contact("confort")
    soon = datetime(2026, 12, 2, 15, tzinfo=PARIS)  # this afternoon: inside the cut-off
    ticket = ticket_for(contact.company, "TCK-9", "mineure", NOW)
    held = bookings.book(contact, "callback", soon, NOW, hold=True, ticket=ticket)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = html.unescape(client.get(f"/portail/rendez-vous/{held.id}/confirmer").get_data(as_text=True))
    assert "une annulation sera enregistrée comme tardive" in page and "décomptée" not in page
    # the callback's promise, said before consent: the ticket's take-charge deadline, kept by this slot
    taken = re.search(r'data-testid="take-charge">([^<]*)<', page)
    assert taken and taken.group(1).startswith("avant le ") and "ce créneau tient l'engagement" in taken.group(1)


@pytest.mark.parametrize(
    "tier, kind, shown",
    [
        ("standard", "erplib", "45 minutes, soit 90,00\xa0€ HT"),
        ("confort", "erplib", "45 minutes, soit 82,50\xa0€ HT"),
        ("confort", "minor_update", "inclus dans votre contrat"),
        ("serenite", "major_install", "inclus dans votre contrat"),
    ],
)
def test_the_confirm_step_tells_every_tier_its_cost(any_app, client, auth, tier, kind, shown):
    _company, contact = _contact(tier)
    held = bookings.book(
        contact,
        kind,
        START if kind != "major_install" else datetime(2026, 12, 9, 9, tzinfo=PARIS),
        NOW,
        hold=True,
        environment="test" if kind == "major_install" else None,
    )
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = client.get(f"/portail/rendez-vous/{held.id}/confirmer").get_data(as_text=True)
    assert shown in page


def test_the_api_tells_the_cost_of_a_hold_and_what_the_booking_recorded(any_app, client):
    _company, contact = _contact("serenite", taken=13 * 45)
    raw = tokens.create(contact)
    db.session.commit()
    auth = {"Authorization": f"Bearer {raw}"}
    with time_machine.travel(NOW, tick=False):
        r = client.post(
            "/api/v1/bookings", json={"service": "erplib", "start": START.isoformat(), "hold": True}, headers=auth
        )
        assert r.status_code == 201, r.json
        assert r.json["cost"] == {
            "basis": "hour_bank",
            "included_minutes": 15,
            "billable_minutes": 30,
            "price_eur": "50.00",
            "hour_bank_balance_after": 0,
            "free_cancellation_until": "2026-12-03T11:00:00+01:00",
        }
        done = client.post(f"/api/v1/bookings/{r.json['id']}/confirm", headers=auth)
    assert done.status_code == 200 and done.json["cost"] == r.json["cost"]


def test_cancelling_asks_first_then_says_the_minutes_came_back(any_app, client, auth):
    company, contact = _contact("serenite")
    booking = bookings.book(contact, "erplib", START, NOW)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        detail = client.get(f"/portail/rendez-vous/{booking.id}").get_data(as_text=True)
        assert f'href="/portail/rendez-vous/{booking.id}/annuler"' in detail  # a link, not a one-click form
        ask = client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True)
        assert "Annuler ce rendez-vous ?" in ask and "45 minutes seront rendues à votre banque d&#39;heures." in ask
        assert "Non, revenir" in ask
        assert bookings_status(booking) == "confirmed"  # asking changed nothing
        done = client.post(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True).get_data(as_text=True)
    assert "Rendez-vous annulé : 45 minutes rendues à votre banque d&#39;heures." in done
    assert hour_bank.balance(company, YEAR) == 600


def test_a_cancellation_page_left_open_while_a_planner_moved_the_booking_inside_the_cut_off_is_refused(
    any_app, client, auth
):
    """The page promised 45 minutes back; the booking was moved to tomorrow meanwhile (a late cancellation now): its
    old form is refused as a stale move is (moved_meanwhile), nothing consumed; a fresh page cancels as it says."""
    company, contact = _contact("serenite")
    booking = bookings.book(contact, "erplib", START, NOW)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        ask = client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True)
        assert "45 minutes seront rendues" in ask
        seen = re.search(r'name="seen"[^>]*value="(\d+)"', ask)
        assert seen  # the sequence the page showed, carried by its form
        bookings.reschedule(f.user("planner"), booking, datetime(2026, 12, 3, 10, tzinfo=PARIS), NOW)
        db.session.commit()
        stale = client.post(f"/portail/rendez-vous/{booking.id}/annuler", data={"seen": seen.group(1)})
        shown = html.unescape(client.get(stale.location).get_data(as_text=True))
        assert "Ce rendez-vous vient d'être déplacé au 03/12/2026 à 10:00" in shown
        assert bookings_status(booking) == "confirmed" and hour_bank.balance(company, YEAR) == 555
        again = client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True)
        assert "la séance est décomptée" in again
        fresh = re.search(r'name="seen"[^>]*value="(\d+)"', again)
        assert fresh and fresh.group(1) != seen.group(1)
        client.post(f"/portail/rendez-vous/{booking.id}/annuler", data={"seen": fresh.group(1)})
    assert bookings_status(booking) == "late_cancelled"


def _seen_then_moved(client, to: datetime):
    """A Sérénité client's session read through the API (its sequence), then moved to `to` by a planner; call with the
    clock on NOW. (company, booking, the client's API headers, the sequence seen)."""
    company, contact = _contact("serenite")
    booking = bookings.book(contact, "erplib", START, NOW)
    auth = {"Authorization": f"Bearer {tokens.create(contact)}"}
    db.session.commit()
    seen = client.get(f"/api/v1/bookings/{booking.id}", headers=auth).json["sequence"]
    bookings.reschedule(f.user("planner"), booking, to, NOW)
    db.session.commit()
    return company, booking, auth, seen


def test_the_api_refuses_a_cancellation_of_a_booking_moved_since_it_was_seen(any_app, client):
    with time_machine.travel(NOW, tick=False):
        company, booking, auth, seen = _seen_then_moved(client, datetime(2026, 12, 3, 10, tzinfo=PARIS))
        stale = client.post(f"/api/v1/bookings/{booking.id}/cancel?seen={seen}", headers=auth)
        assert stale.status_code == 409 and stale.json["code"] == "moved_meanwhile", stale.json
        assert bookings_status(booking) == "confirmed" and hour_bank.balance(company, YEAR) == 555
        bad = client.post(f"/api/v1/bookings/{booking.id}/cancel?seen=-1", headers=auth)
        assert bad.status_code == 422 and "seen" in bad.json["errors"]["query"]
        done = client.post(f"/api/v1/bookings/{booking.id}/cancel?seen={seen + 1}", headers=auth)
    assert done.status_code == 200 and done.json["status"] == "late_cancelled"


def test_the_api_refuses_a_move_of_a_booking_moved_since_it_was_seen(any_app, client):
    with time_machine.travel(NOW, tick=False):
        _company, booking, auth, seen = _seen_then_moved(client, datetime(2026, 12, 9, 10, tzinfo=PARIS))
        wanted = {"start": "2026-12-10T10:00:00+01:00", "seen": seen}
        stale = client.patch(f"/api/v1/bookings/{booking.id}", json=wanted, headers=auth)
        assert stale.status_code == 409 and stale.json["code"] == "moved_meanwhile", stale.json
        f.reread()
        assert db.session.get(Booking, booking.id).start_at == datetime(2026, 12, 9, 10, tzinfo=PARIS)
        done = client.patch(f"/api/v1/bookings/{booking.id}", json={**wanted, "seen": seen + 1}, headers=auth)
    assert done.status_code == 200 and done.json["start"].startswith("2026-12-10T10:00")


def test_a_late_cancellation_says_beforehand_and_afterwards_that_the_session_is_consumed(any_app, client, auth):
    company, contact = _contact("standard")
    booking = bookings.book(contact, "erplib", START, NOW)
    late = datetime(2026, 12, 8, 8, tzinfo=UTC)
    with time_machine.travel(late, tick=False):
        auth.login(contact.email)
        ask = client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True)
        assert "la séance est décomptée" in ask and "45 minutes restent facturées (90,00\xa0€ HT)." in ask
        done = client.post(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True).get_data(as_text=True)
    assert "Rendez-vous annulé tardivement : la séance est décomptée (45 minutes facturées, 90,00\xa0€ HT)." in done


def test_a_late_cancellation_of_an_included_service_says_it_is_recorded_late_and_counts_nothing(any_app, client, auth):
    """Its page said a cancellation would be recorded as late: the consent step and the result say the same, not
    that a session is consumed "free of charge"."""
    _company, contact = _contact("confort")
    ticket = ticket_for(contact.company, "TCK-7", "mineure", NOW)
    booking = bookings.book(contact, "callback", START, NOW, ticket=ticket)
    late = datetime(2026, 12, 8, 8, tzinfo=UTC)
    with time_machine.travel(late, tick=False):
        auth.login(contact.email)
        ask = html.unescape(client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True))
        assert "l'annulation sera enregistrée comme tardive." in ask and "Rien ne vous sera décompté ni facturé." in ask
        assert "décomptée" not in ask
        done = client.post(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True)
    said = html.unescape(done.get_data(as_text=True))
    assert (
        "Rendez-vous annulé ; l'annulation est enregistrée comme tardive, rien ne vous est décompté ni facturé." in said
    )
    assert bookings_status(booking) == "late_cancelled"


@pytest.mark.parametrize(
    "tier, taken, shown",
    [
        ("serenite", 0, "Appointment cancelled late: the session is consumed (45 minutes of your hour bank)."),
        ("standard", 0, "Appointment cancelled late: the session is consumed (45 minutes billed, €90.00 excl. VAT)."),
        (
            "serenite",
            13 * 45,
            "Appointment cancelled late: the session is consumed (15 minutes of your hour bank; 30 minutes billed, "
            "€50.00 excl. VAT).",
        ),
    ],
)
def test_a_late_cancellation_is_said_wholly_in_english(any_app, client, auth, tier, taken, shown):
    _company, contact = _contact(tier, taken=taken)
    contact.locale = "en"
    db.session.commit()
    booking = bookings.book(contact, "erplib", START, NOW)
    with time_machine.travel(datetime(2026, 12, 8, 8, tzinfo=UTC), tick=False):
        auth.login(contact.email)
        done = client.post(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True)
    assert shown in html.unescape(done.get_data(as_text=True))


def test_a_started_session_offers_no_cancellation_and_refuses_one_with_its_reason(any_app, client, auth):
    company, contact = _contact("serenite")
    booking = bookings.book(contact, "erplib", START, NOW)
    raw = tokens.create(contact)
    db.session.commit()
    reason = (
        "Ce rendez-vous a déjà commencé : il ne peut plus être annulé. Un empêchement ? Appelez votre planificateur"
    )
    with time_machine.travel(datetime(2026, 12, 8, 13, 10, tzinfo=UTC), tick=False):  # 14:10 in Paris
        auth.login(contact.email)
        detail = client.get(f"/portail/rendez-vous/{booking.id}").get_data(as_text=True)
        assert f"/portail/rendez-vous/{booking.id}/annuler" not in detail
        assert "Ce rendez-vous a commencé : il ne s'annule plus" in html.unescape(detail), detail[
            detail.find("<main") :
        ]
        asked = client.get(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True)
        assert asked.request.path == f"/portail/rendez-vous/{booking.id}" and reason in html.unescape(asked.text)
        sent = client.post(f"/portail/rendez-vous/{booking.id}/annuler", follow_redirects=True)
        assert reason in html.unescape(sent.text)
        api = client.post(
            f"/api/v1/bookings/{booking.id}/cancel",
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert api.status_code == 409 and api.json["code"] == "already_started" and api.json["detail"].startswith(reason)
    assert bookings_status(booking) == "confirmed" and hour_bank.balance(company, YEAR) == 555


def test_releasing_a_hold_asks_first(any_app, client, auth):
    _company, contact = _contact("serenite")
    held = bookings.book(contact, "erplib", START, NOW, hold=True)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        confirm = client.get(f"/portail/rendez-vous/{held.id}/confirmer").get_data(as_text=True)
        assert f'href="/portail/rendez-vous/{held.id}/annuler"' in confirm
        ask = client.get(f"/portail/rendez-vous/{held.id}/annuler").get_data(as_text=True)
        assert "Libérer ce créneau ?" in ask and "Rien n&#39;a encore été compté" in ask
        done = client.post(f"/portail/rendez-vous/{held.id}/annuler", follow_redirects=True).get_data(as_text=True)
    assert "Créneau libéré : rien ne vous est compté." in done and bookings_status(held) == "cancelled"


def bookings_status(booking) -> str:
    f.reread()
    return db.session.get(type(booking), booking.id).status


@pytest.mark.parametrize(
    "path, question",
    [
        ("/agenda/flux", "Remplacer l'adresse de votre agenda ?"),
        ("/agenda/flux/revoquer", "Révoquer l'adresse de votre agenda ?"),
    ],
)
def test_rotating_or_revoking_a_feed_asks_first(any_app, client, auth, path, question):
    _company, contact = _contact("serenite")
    raw = feeds.issue(contact, contact.company)
    db.session.commit()
    auth.login(contact.email)
    agenda = client.get("/agenda").get_data(as_text=True)
    assert f'href="{path}"' in agenda
    ask = client.get(path).get_data(as_text=True)
    assert question in ask and "Non, revenir" in ask
    assert feeds.token_for(raw) is not None  # asking changed nothing
    done = client.post(path, follow_redirects=True).get_data(as_text=True)
    assert "l&#39;ancienne ne fonctionne plus" in done if path == "/agenda/flux" else "ne fonctionne plus" in done
    f.reread()
    assert feeds.token_for(raw) is None


def _feed_url(page: str) -> str | None:
    found = re.search(r'data-testid="feed-url">(https?://[^<]+/calendars/[^<]+\.ics)</code>', page)
    return found[1] if found else None


def test_the_first_feed_address_is_shown_once_and_a_reload_replaces_nothing(any_app, client, auth):
    consultant = f.consultant()
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(consultant.user.email)
        assert "Créer mon adresse" in client.get("/agenda").get_data(as_text=True)
        created = client.post("/agenda/flux")
        assert created.status_code == 302  # Post/Redirect/Get
        assert created.headers["Location"] == "/agenda"
        shown = client.get("/agenda")
        page = shown.get_data(as_text=True)
        assert "Adresse secrète créée." in page and "ancienne" not in page  # there was no old address
        assert shown.headers["Cache-Control"] == "no-store"
        url = _feed_url(page)
        assert url is not None and client.get(url).status_code == 200
        reloaded = client.get("/agenda").get_data(as_text=True)  # what a reload of the shown page sends
    assert _feed_url(reloaded) is None and "Une adresse est active depuis le" in reloaded  # shown only once
    assert "Adresse secrète créée." not in reloaded
    f.reread()
    assert feeds.token_for(url.rsplit("/", 1)[1].removesuffix(".ics")) is not None  # not replaced by the reload


def test_replacing_a_feed_address_says_the_old_one_stopped_and_shows_the_new_one_once(any_app, client, auth):
    consultant = f.consultant()
    old = feeds.issue(None, consultant)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(consultant.user.email)
        page = client.post("/agenda/flux", follow_redirects=True).get_data(as_text=True)
        assert "Nouvelle adresse secrète créée : l&#39;ancienne ne fonctionne plus." in page
        url = _feed_url(page)
        assert url is not None and old not in url
        assert _feed_url(client.get("/agenda").get_data(as_text=True)) is None
    f.reread()
    assert feeds.token_for(old) is None and feeds.token_for(url.rsplit("/", 1)[1].removesuffix(".ics")) is not None


@pytest.mark.parametrize(
    "language, said",
    [("fr", "jeudi 3 décembre à 9 h 15"), ("en", "Thursday 3 December at 09:15")],
)
def test_a_limit_reads_as_the_readers_language_writes_hours(app, language, said):
    with app.test_request_context(headers={"Accept-Language": language}):
        assert consent.limit(datetime(2026, 12, 3, 8, 15, tzinfo=UTC)) == said  # 9:15 in Paris


def test_the_cut_off_said_is_the_contract_s_not_a_fixed_24_hours(any_app, client, auth):
    """The admin sets 48 business hours: a session within them is said to be inside « 48 heures ouvrées » on its
    page, its cancellation's consent step and its result (they said 24 whatever the contract)."""
    from booking import contract
    from booking.services import contract_store

    with time_machine.travel(NOW, tick=False):
        packaged = contract_store.normalise(open(contract.DEFAULT_FILE).read())
        text = contract_store.set_value(packaged, "booking", "cancel_cutoff_hours", 48)
        contract_store.apply(f.user("admin"), text, None, NOW)
        db.session.commit()
        _company, contact = _contact("standard")
        booking = bookings.book(contact, "erplib", datetime(2026, 12, 3, 14, tzinfo=PARIS), NOW)  # 13 h ahead
        db.session.commit()
        auth.login(contact.email)
        page = html.unescape(client.get(f"/portail/rendez-vous/{booking.id}").get_data(as_text=True))
        ask = html.unescape(client.get(f"/portail/rendez-vous/{booking.id}/annuler").get_data(as_text=True))
    assert "Moins de 48 heures ouvrées avant le rendez-vous : une annulation sera décomptée." in page
    assert "Moins de 48 heures ouvrées avant le rendez-vous : la séance est décomptée." in ask
