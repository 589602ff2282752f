"""Back office (issue 15): companies and their contract periods, tier changes on a date, invitations and
set-password links, deactivation, "mot de passe oublié", main contacts, the admin API; every change audited."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from booking.extensions import db
from booking.logmask import mask
from booking.models import AuditEntry, Company, ContractPeriod, LedgerEntry, OutboxMessage, PasswordLink, User
from booking.services import bookings, companies, hour_bank, invitations, periods, tokens
from booking.services.errors import Conflict, NotEntitled
from calendars.worktime import PARIS

from . import factories as f
from .pages import unsalted

# A Wednesday in December, far from holidays and clock changes; tests that need it freeze the clock there.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.astimezone(PARIS).date()


def _link(recipient: str) -> str:
    """The path of the last set-password link mailed to `recipient` (read from the outbox)."""
    body = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id.desc())
    ).first()
    assert body, f"no mail to {recipient}"
    return re.search(r"https?://[^/\s]+(/mot-de-passe/[\w-]+)", body).group(1)


def _actions(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def _admin_client(app):
    admin = f.user("admin")
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": admin.email, "password": f.PASSWORD}).status_code == 302
    return client, admin


# --- companies ----------------------------------------------------------------------------------


def test_admin_creates_a_company_and_its_first_contract_period(app):
    client, _ = _admin_client(app)
    consultant = f.consultant()
    db.session.commit()
    response = client.post(
        "/admin/societes/nouvelle",
        data={
            "name": "Fromageries Dubois",
            "tier": "serenite",
            "contract_start": "2026-03-01",
            "erp_version": "12.1",
            "environments": ["test", "production"],
            "privileged_consultant_id": str(consultant.id),
            "notes": "Client VIP",
        },
    )
    assert response.status_code == 302
    company = db.session.scalar(select(Company).where(Company.name == "Fromageries Dubois"))
    assert (company.tier, company.contract_start, company.environments) == (
        "serenite",
        date(2026, 3, 1),
        ["test", "production"],
    )
    assert company.privileged_consultant_id == consultant.id and company.notes == "Client VIP"
    assert [(p.starts_on, p.tier) for p in periods.history(company)] == [(date(2026, 3, 1), "serenite")]
    assert _actions("company.create") == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Fromageries Dubois" in page and "Historique du contrat" in page


def test_a_refused_company_form_shows_its_values_and_the_reason_beside_the_field(app):
    client, _ = _admin_client(app)
    f.company("confort", name="Déjà Là")
    db.session.commit()
    response = client.post(
        "/admin/societes/nouvelle",
        data={
            "name": "déjà là",
            "tier": "confort",
            "contract_start": "2026-03-01",
            "erp_version": "11.4",
            "environments": ["production"],
            "notes": "gardé",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Une société s&#39;appelle déjà « déjà là » : choisissez un autre nom." in html
    assert 'value="11.4"' in html and "gardé" in html and 'value="2026-03-01"' in html
    # a privileged consultant outside Sérénité, a missing date: each beside its field, nothing created
    response = client.post(
        "/admin/societes/nouvelle",
        data={
            "name": "Nouvelle",
            "tier": "standard",
            "contract_start": "",
            "erp_version": "11.4",
            "environments": ["production"],
        },
    )
    assert response.status_code == 422 and "Indiquez la date de début du contrat" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Company)) == 1


def test_editing_a_company_is_audited_with_what_changed(app):
    client, _ = _admin_client(app)
    company = f.company("confort", erp_version="11.4", environments=["production"])
    db.session.commit()
    response = client.post(
        f"/admin/societes/{company.id}/modifier",
        data={
            "name": company.name,
            "contract_start": company.contract_start.isoformat(),
            "erp_version": "12.1",
            "environments": ["test", "production"],
            "notes": "",
        },
    )
    assert response.status_code == 302
    f.reread()
    assert db.session.get(Company, company.id).erp_version == "12.1"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "company.update"))
    assert entry.details["changed"]["erp_version"] == ["11.4", "12.1"]


def test_the_contract_start_no_longer_changes_once_the_hour_bank_has_lines(app):
    """The start dates the contract years the hour bank counts in: moved, it opened a second full bank beside the
    lines already written. Refused then, on the page and in the API, with what to do; before any line but the
    year's grant it is a correction like any other."""
    client, _ = _admin_client(app)
    counted = f.company("serenite", contract_start=date(2026, 3, 1))
    fresh = f.company("serenite", contract_start=date(2026, 3, 1))
    contact = f.user("client", counted)
    f.consultant()
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        bookings.book(contact, "erplib", datetime(2026, 12, 8, 14, tzinfo=PARIS), NOW)
        hour_bank.ensure_grant(fresh, hour_bank.contract_year(fresh, TODAY))  # as the nightly job writes it
        db.session.commit()

    def edit(company, start):
        data = {"name": company.name, "contract_start": start, "erp_version": company.erp_version, "notes": ""}
        return client.post(f"/admin/societes/{company.id}/modifier", data={**data, "environments": ["production"]})

    refused = edit(counted, "2025-11-15")
    assert edit(fresh, "2025-11-15").status_code == 302
    raw = tokens.create(f.user("admin", locale="en"))  # the API speaks the token's owner's language
    db.session.commit()
    api = app.test_client().patch(  # without the admin's page session, whose language would answer
        f"/api/v1/companies/{counted.id}",
        json={"contract_start": "2025-11-15"},
        headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"},
    )
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code in (409, 422) and "La date de début du contrat ne change plus" in page
    assert api.status_code == 409 and api.json["code"] == "contract_start_counted"
    assert api.json["detail"].startswith("The contract start date can no longer change")
    f.reread()
    assert db.session.get(Company, counted.id).contract_start == date(2026, 3, 1)
    assert db.session.get(Company, fresh.id).contract_start == date(2025, 11, 15)


# --- tier changes ---------------------------------------------------------------------------------


def test_a_tier_change_next_month_says_what_changes_then_takes_effect_on_its_day(app):
    with time_machine.travel(NOW, tick=False):
        client, _ = _admin_client(app)
        company = f.company("serenite", contract_start=date(2026, 3, 1))
        db.session.add(ContractPeriod(company_id=company.id, starts_on=date(2026, 3, 1), tier="serenite"))
        db.session.commit()
        first = date(2027, 1, 1)
        preview = client.post(
            f"/admin/societes/{company.id}/formule", data={"tier": "confort", "starts_on": first.isoformat()}
        )
        html = preview.get_data(as_text=True)
        assert preview.status_code == 200 and "Confirmer le changement de formule" in html
        assert "Banque d&#39;heures : elle se ferme le 1er janvier 2027" in html
        assert "Version majeure (test ou production) : inclus → non inclus" in html
        assert db.session.scalar(select(func.count()).select_from(ContractPeriod)) == 1  # nothing yet
        done = client.post(
            f"/admin/societes/{company.id}/formule",
            data={"tier": "confort", "starts_on": first.isoformat(), "confirm": "1"},
        )
        assert done.status_code == 302
        f.reread()
        company = db.session.get(Company, company.id)
        assert company.tier == "serenite"  # until the day comes
        assert periods.tier_on(company, first - timedelta(days=1)) == "serenite"
        assert periods.tier_on(company, first) == "confort"
        assert companies.apply_due(NOW) == 0
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):  # 00:30 in Paris
        assert companies.apply_due(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 1
        f.reread()
        assert db.session.get(Company, company.id).tier == "confort"
    assert _actions("contract.change") == 1 and _actions("contract.apply") == 1


def test_a_change_in_the_past_or_to_the_same_tier_is_refused_beside_its_field(app):
    with time_machine.travel(NOW, tick=False):
        client, _ = _admin_client(app)
        company = f.company("confort")
        db.session.commit()
        past = client.post(
            f"/admin/societes/{company.id}/formule",
            data={"tier": "serenite", "starts_on": (TODAY - timedelta(days=1)).isoformat()},
        )
        assert past.status_code == 422
        assert "prend effet aujourd&#39;hui ou plus tard" in past.get_data(as_text=True)
        same = client.post(
            f"/admin/societes/{company.id}/formule", data={"tier": "confort", "starts_on": TODAY.isoformat()}
        )
        assert same.status_code == 422 and "est déjà en formule Confort" in same.get_data(as_text=True)


def test_a_booking_after_a_planned_change_follows_the_new_tier(app):
    """Clients book up to the horizon ahead: a session after a downgrade is billed, one before uses the bank."""
    with time_machine.travel(NOW, tick=False):
        admin, company, contact = f.client_with_consultant("serenite")
        change = date(2026, 12, 14)  # a Monday
        companies.change_tier(admin, company, "confort", change, NOW)
        before = bookings.book(contact, "erplib", datetime(2026, 12, 10, 10, tzinfo=PARIS), NOW)
        after = bookings.book(contact, "erplib", datetime(2026, 12, 15, 10, tzinfo=PARIS), NOW)
        rows = {
            r.booking_id: (r.minutes, r.billable_minutes)
            for r in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "reserve"))
        }
        assert rows[before.id] == (-45, 0) and rows[after.id] == (0, 45)
        with pytest.raises(NotEntitled):  # major installs are Sérénité only: not after the change
            bookings.check_entitlement(company, "major_install", change)
        bookings.check_entitlement(company, "major_install", change - timedelta(days=1))


def test_an_upgrade_opens_the_hour_bank_for_the_whole_contract_year(app):
    with time_machine.travel(NOW, tick=False):
        admin, company, contact = f.client_with_consultant("confort")
        lines = companies.consequences(company, "serenite", TODAY, NOW)
        assert any("elle s'ouvre le" in line and "10 h" in line for line in lines)
        companies.change_tier(admin, company, "serenite", TODAY, NOW)
        assert db.session.get(Company, company.id).tier == "serenite"  # effective today: at once
        bookings.book(contact, "erplib", datetime(2026, 12, 10, 10, tzinfo=PARIS), NOW)
        assert hour_bank.balance(company, hour_bank.contract_year(company, TODAY)) == 600 - 45


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    starts=st.lists(st.integers(0, 400), min_size=1, max_size=6, unique=True),
    tiers=st.lists(st.sampled_from(["standard", "confort", "serenite"]), min_size=6, max_size=6),
    day=st.integers(-10, 420),
)
def test_the_tier_on_a_day_is_the_last_period_started_by_then(app, starts, tiers, day):
    company = f.company("standard")
    base = date(2026, 1, 1)
    for offset, tier in zip(starts, tiers, strict=False):
        db.session.add(ContractPeriod(company_id=company.id, starts_on=base + timedelta(days=offset), tier=tier))
    db.session.flush()
    started = sorted((o, t) for o, t in zip(starts, tiers, strict=False) if o <= day)
    expected = started[-1][1] if started else "standard"
    assert periods.tier_on(company, base + timedelta(days=day)) == expected
    db.session.rollback()


# --- invitations and links ------------------------------------------------------------------------


def test_an_invited_contact_sets_a_password_once_through_the_mailed_link(app):
    client, _ = _admin_client(app)
    company = f.company("serenite")
    db.session.commit()
    response = client.post(
        f"/admin/societes/{company.id}/contacts", data={"name": "Lucie Petit", "email": "Lucie.Petit@Dubois.example"}
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "lucie.petit@dubois.example"))
    assert user.company_id == company.id and user.active
    link = _link(user.email)
    assert db.session.scalar(select(PasswordLink.token_hash)) == invitations.digest(link.rsplit("/", 1)[1])
    visitor = app.test_client()
    assert "Choisir mon mot de passe" in visitor.get(link).get_data(as_text=True)
    short = visitor.post(link, data={"password": "court", "confirm": "court"})
    assert short.status_code == 422 and "Au moins 8 caractères." in short.get_data(as_text=True)
    assert visitor.post(link, data={"password": "un-bon-mot", "confirm": "un-bon-mot"}).status_code == 302
    assert visitor.get("/portail/").status_code == 200  # signed in
    again = app.test_client().post(link, data={"password": "autre-chose", "confirm": "autre-chose"})
    assert again.status_code == 410 and "Ce lien n&#39;est plus valable" in again.get_data(as_text=True)
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": "un-bon-mot"}).status_code == 302
    assert _actions("user.invite") == 1 and _actions("user.password") == 1


def test_an_expired_link_or_one_replaced_by_a_newer_one_no_longer_works(app):
    admin = f.user("admin")
    user = f.user("client")
    db.session.commit()
    # three hours before the real clock (the link page checks against it), whatever day the suite runs
    invitations.send_reset(admin, user, datetime.now(UTC) - timedelta(hours=3))
    expired = _link(user.email)
    client = app.test_client()
    assert client.get(expired).status_code == 410  # reset links live 2 hours
    invitations.send_reset(admin, user, datetime.now(UTC))
    first = _link(user.email)
    invitations.send_reset(admin, user, datetime.now(UTC))
    assert client.get(first).status_code == 410
    assert client.get(_link(user.email)).status_code == 200


def test_two_concurrent_uses_of_one_link_set_the_password_once(pg_app):
    user = f.user("client")
    db.session.commit()
    invitations.forgot(user.email, datetime.now(UTC))
    raw, user_id = _link(user.email).rsplit("/", 1)[1], user.id
    outcomes, barrier = [], threading.Barrier(2)

    def use(password):
        with pg_app.app_context():
            barrier.wait()
            try:
                invitations.redeem(raw, password, datetime.now(UTC))
                outcomes.append(password)
            except invitations.LinkRefused:
                outcomes.append(None)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=use, args=(p,)) for p in ("premier-mot", "second-mot")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [o for o in outcomes if o]
    assert len(winners) == 1 and outcomes.count(None) == 1
    f.reread()
    assert db.session.get(User, user_id).check_password(winners[0])


def test_the_contact_cap_is_enforced_with_a_way_out(app):
    client, admin = _admin_client(app)
    company = f.company("standard")
    f.user("client", company)
    db.session.commit()
    response = client.post(f"/admin/societes/{company.id}/contacts", data={"name": "Deux", "email": "deux@x.example"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "La formule Standard donne accès au portail à 1 contact et" in html and 'value="deux@x.example"' in html
    assert "désactivez d&#39;abord un contact, ou changez de formule" in html
    page = client.get(f"/admin/societes/{company.id}").get_data(as_text=True)
    assert "Changer de formule" in page and "Désactiver" in page  # both ways out are on the page


@pytest.mark.parametrize(
    "locale, portal, cap, deactivation",
    [
        (
            "fr",
            "La formule Standard donne accès au portail à 1 contact ; 1 actif.",
            "La formule Standard permet 1 contact actif, déjà utilisé",
            "1 contact actif ne pourra plus se connecter ; ses sessions",
        ),
        (
            "en",
            "The Standard plan gives portal access to 1 contact; 1 active.",
            "The Standard plan allows 1 active contact, already in use",
            "Its 1 active contact will no longer be able to sign in;",
        ),
    ],
)
def test_contact_counts_read_as_words_not_contact_s(app, locale, portal, cap, deactivation):
    client, admin = _admin_client(app)
    admin.locale = locale
    company = f.company("standard")  # one contact
    contact = f.user("client", company, locale=locale)
    db.session.commit()
    texts = [
        client.get(f"/admin/societes/{company.id}").get_data(as_text=True),
        client.get(f"/admin/societes/{company.id}/desactiver").get_data(as_text=True),
    ]
    theirs = app.test_client()
    assert theirs.post("/login", data={"email": contact.email, "password": f.PASSWORD}).status_code == 302
    texts.append(theirs.get("/portail/contacts/").get_data(as_text=True))
    admin_page, confirm, contacts = (t.replace("&#39;", "'") for t in texts)
    assert cap in admin_page and deactivation in confirm and portal in contacts
    assert "(s)" not in admin_page + confirm + contacts


def test_deactivating_a_user_ends_their_sessions_and_api_tokens_and_reactivation_counts_against_the_cap(app):
    client, admin = _admin_client(app)
    company = f.company("standard")  # one contact
    contact = f.user("client", company)
    raw = tokens.create(contact, "script")
    db.session.commit()
    theirs = app.test_client()
    assert theirs.post("/login", data={"email": contact.email, "password": f.PASSWORD}).status_code == 302
    assert client.get(f"/admin/utilisateurs/{contact.id}/desactiver").status_code == 200  # the confirm step
    assert client.post(f"/admin/utilisateurs/{contact.id}/desactiver").status_code == 302
    assert theirs.get("/portail/").status_code == 302  # back to the login
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    f.user("client", company)  # the seat is taken meanwhile
    db.session.commit()
    client.post(f"/admin/utilisateurs/{contact.id}/reactiver")
    f.reread()
    assert not db.session.get(User, contact.id).active  # refused: over the cap
    assert _actions("user.deactivate") == 1


def test_a_company_with_bookings_to_come_is_deactivated_only_once_they_are_cancelled(app):
    client, admin = _admin_client(app)
    company = f.company("confort")
    contact = f.user("client", company)
    booking = f.booking(f.consultant(), datetime.now(UTC) + timedelta(days=5), company=company, contact=contact)
    db.session.commit()
    step = client.get(f"/admin/societes/{company.id}/desactiver").get_data(as_text=True)
    assert "Annuler ce rendez-vous et désactiver" in step and contact.name in step  # listed before anything
    refused = client.post(f"/admin/societes/{company.id}/desactiver")
    assert refused.status_code == 409 and "a encore 1 rendez-vous à venir" in refused.get_data(as_text=True)
    assert client.post(f"/admin/societes/{company.id}/desactiver", data={"cancel_bookings": "1"}).status_code == 302
    f.reread()
    assert db.session.get(type(booking), booking.id).status == "cancelled"  # by staff: not a late cancellation
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.booking_id == booking.id, OutboxMessage.recipient == contact.email)
        )
        == 1
    )  # the usual mail
    f.reread()
    assert not db.session.get(Company, company.id).active and not db.session.get(User, contact.id).active
    with pytest.raises(Conflict):
        invitations.invite_contact(admin, db.session.get(Company, company.id), "n@x.example", "N", NOW)


# --- forgotten password ---------------------------------------------------------------------------


def test_forgotten_password_answers_the_same_whether_the_account_exists_or_not(app):
    user = f.user("client", email="connu@x.example")
    db.session.commit()
    client = app.test_client()
    known = client.post("/mot-de-passe-oublie", data={"email": "connu@x.example"}, follow_redirects=True)
    unknown = client.post("/mot-de-passe-oublie", data={"email": "inconnu@x.example"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    # the only difference is the address typed (and the forms' CSRF tokens, signed with the second they were made)
    page = unsalted(known.get_data(as_text=True)).replace("connu@x.example", "ADDRESS")
    assert "Si un compte actif utilise ADDRESS" in page
    assert page == unsalted(unknown.get_data(as_text=True)).replace("inconnu@x.example", "ADDRESS")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert _link(user.email)


def test_forgotten_password_is_rate_limited_per_account(app):
    client = app.test_client()
    statuses = [client.post("/mot-de-passe-oublie", data={"email": "x@y.example"}).status_code for _ in range(12)]
    assert statuses[:10] == [302] * 10 and statuses[-1] == 429


# --- main contacts --------------------------------------------------------------------------------


def test_a_main_contact_manages_their_company_contacts_within_the_cap(app):
    company = f.company("confort")
    main = f.user("client", company, main_contact=True)
    colleague = f.user("client", company)
    stranger = f.user("client")
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": main.email, "password": f.PASSWORD})
    assert (
        client.post("/portail/contacts/inviter", data={"name": "Trois", "email": "trois@x.example"}).status_code == 302
    )
    full = client.post("/portail/contacts/inviter", data={"name": "Quatre", "email": "quatre@x.example"})
    assert full.status_code == 422 and "désactivez d&#39;abord un contact" in full.get_data(as_text=True)
    assert client.post(f"/portail/contacts/{stranger.id}/desactiver").status_code == 404
    assert client.post(f"/portail/contacts/{colleague.id}/desactiver").status_code == 302
    f.reread()
    assert not db.session.get(User, colleague.id).active
    with pytest.raises(NotEntitled):  # a plain contact may not
        invitations.invite_contact(db.session.get(User, colleague.id), company, "c@x.example", "C", NOW)


# --- API ------------------------------------------------------------------------------------------


def test_the_admin_api_creates_a_company_invites_and_says_why_it_refuses(app):
    admin = f.user("admin")
    raw = tokens.create(admin, "back office")
    db.session.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {raw}"}
    created = client.post(
        "/api/v1/companies",
        headers=headers,
        json={"name": "API SA", "tier": "standard", "contract_start": "2026-01-01", "erp_version": "12.1"},
    )
    assert created.status_code == 201 and created.json["periods"][0]["tier"] == "standard"
    company_id = created.json["id"]
    first = client.post(
        f"/api/v1/companies/{company_id}/contacts", headers=headers, json={"name": "Un", "email": "un@api.example"}
    )
    assert first.status_code == 201
    second = client.post(
        f"/api/v1/companies/{company_id}/contacts", headers=headers, json={"name": "Deux", "email": "deux@api.example"}
    )
    assert second.status_code == 409 and second.json["code"] == "contact_cap"
    assert second.mimetype == "application/problem+json"
    assert "désactivez d'abord un contact, ou changez de formule" in second.json["detail"]
    duplicate = client.post(
        "/api/v1/companies",
        headers=headers,
        json={"name": "api sa", "tier": "standard", "contract_start": "2026-01-01", "erp_version": "12.1"},
    )
    assert duplicate.status_code == 409 and duplicate.json["code"] == "name_taken"
    later = (date.today() + timedelta(days=40)).isoformat()
    change = client.post(
        f"/api/v1/companies/{company_id}/contract-changes",
        headers=headers,
        json={"tier": "serenite", "starts_on": later},
    )
    assert change.status_code == 201 and change.json["period"]["tier"] == "serenite"
    assert any("Banque d'heures" in line for line in change.json["consequences"])
    client_token = tokens.create(db.session.get(User, first.json["id"]), "x")
    db.session.commit()
    assert client.get("/api/v1/companies", headers={"Authorization": f"Bearer {client_token}"}).status_code == 403


def test_two_invitations_for_the_last_seat_let_one_in(pg_app):
    """The cap is re-checked under the company's lock: two admins inviting at once never exceed it."""
    admin = f.user("admin")
    company = f.company("standard")  # one seat
    db.session.commit()
    admin_id, company_id = admin.id, company.id  # read here: the threads never touch this session's objects
    outcomes, barrier = [], threading.Barrier(2)

    def invite(email):
        with pg_app.app_context():
            actor, target = db.session.get(User, admin_id), db.session.get(Company, company_id)
            barrier.wait()
            try:
                invitations.invite_contact(actor, target, email, "Invité", datetime.now(UTC))
                outcomes.append(email)
            except Conflict as refused:
                outcomes.append(refused.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=invite, args=(e,)) for e in ("a@race.example", "b@race.example")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(outcomes) == 2 and outcomes.count("contact_cap") == 1
    f.reread()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.company_id == company_id)) == 1


def test_the_admin_api_deactivates_people_and_refuses_a_company_with_bookings_to_come(app):
    admin = f.user("admin")
    raw = tokens.create(admin, "back office")
    company = f.company("confort")
    contact = f.user("client", company)
    f.booking(f.consultant(), datetime.now(UTC) + timedelta(days=3), company=company)
    db.session.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {raw}"}
    refused = client.post(f"/api/v1/companies/{company.id}/deactivate", headers=headers)
    assert refused.status_code == 409 and refused.json["code"] == "company_has_bookings"
    done = client.post(f"/api/v1/users/{contact.id}/deactivate", headers=headers)
    assert done.status_code == 200 and done.json["active"] is False
    self_ = client.post(f"/api/v1/users/{admin.id}/deactivate", headers=headers)
    assert self_.status_code == 409 and self_.json["code"] == "self"
    patched = client.patch(f"/api/v1/companies/{company.id}", headers=headers, json={"erp_version": "13.0"})
    assert patched.status_code == 200 and patched.json["erp_version"] == "13.0"
    assert client.get("/api/v1/companies/999999", headers=headers).status_code == 404


def test_a_set_password_link_never_reaches_the_access_log():
    line = '127.0.0.1 - - "GET /mot-de-passe/Zr4_k-9qLm HTTP/1.1" 200 -'
    assert "Zr4_k-9qLm" not in mask(line) and "/mot-de-passe/***" in mask(line)
    assert mask('"POST /mot-de-passe-oublie HTTP/1.1" 302') == '"POST /mot-de-passe-oublie HTTP/1.1" 302'


@pytest.mark.parametrize("old, new, shown", [("serenite", "confort", (0, 45)), ("confort", "serenite", (45, 0))])
def test_the_cost_shown_for_a_session_after_a_planned_change_is_what_its_ledger_records(app, old, new, shown):
    """The preview prices with the tier of the session's day, as the ledger does: a confirmation at the cost
    shown goes through (it would be refused as cost_changed if the two read different tiers)."""
    from booking.services import costs

    with time_machine.travel(NOW, tick=False):
        admin = f.user("admin")
        company = f.company(old, contract_start=date(2026, 3, 1))
        contact = f.user("client", company)
        f.consultant()
        db.session.commit()
        companies.change_tier(admin, company, new, date(2026, 12, 14), NOW)
        held = bookings.book(contact, "erplib", datetime(2026, 12, 15, 10, tzinfo=PARIS), NOW, hold=True)
        cost = costs.for_booking(held)
        assert (cost.included_minutes, cost.billable_minutes) == shown
        bookings.confirm(contact, held, NOW, expected_billable=cost.billable_minutes)
        assert costs.for_booking(held) == costs.Cost(
            cost.basis, *shown, cost.price_eur, cost.balance_after, cost.free_cancel_until
        )


def test_a_planned_change_with_bookings_accepted_under_it_is_neither_withdrawn_nor_replaced(app, client, auth):
    """Confort until Sunday 13th, Sérénité planned from Monday 14th: a session of the 15th is booked as included.
    Withdrawing the change (after its question) or replacing it by Standard is refused with the reason; a change
    no booking was accepted under is withdrawn after its question."""
    with time_machine.travel(NOW, tick=False):
        admin, company, contact = f.client_with_consultant("confort")
        period = companies.change_tier(admin, company, "serenite", date(2026, 12, 14), NOW).id
        other = companies.change_tier(admin, company, "standard", date(2027, 3, 1), NOW).id
        session = bookings.book(contact, "erplib", datetime(2026, 12, 15, 10, tzinfo=PARIS), NOW)
        session_id = session.id
        db.session.commit()
        with pytest.raises(Conflict) as refused:
            companies.change_tier(admin, company, "standard", date(2026, 12, 14), NOW)
        assert refused.value.code == "change_counted"
        companies.change_tier(admin, company, "serenite", date(2026, 12, 14), NOW, "note revue")  # same tier again
        with pytest.raises(Conflict):  # planned again, it still counts the session accepted under it
            companies.change_tier(admin, company, "standard", date(2026, 12, 14), NOW)
        assert (
            "Le rendez-vous du 15 décembre 2026, confirmé depuis que ce changement est prévu" in refused.value.message
        )
        auth.login(admin.email)
        address = f"/admin/societes/{company.id}/formule/annuler"
        asked = client.post(address, data={"period_id": other}).get_data(as_text=True)
        assert "Le passage en formule Standard prévu le 1er mars 2027 est retiré" in html.unescape(asked)
        assert db.session.get(ContractPeriod, other) is not None  # the question withdraws nothing
        client.post(address, data={"period_id": other, "confirmed": "1"})
        page = client.post(address, data={"period_id": period}, follow_redirects=True).get_data(as_text=True)
        assert "aux conditions de la formule Sérénité" in html.unescape(page)
        client.post(address, data={"period_id": period, "confirmed": "1"})
        f.reread()
        assert db.session.get(ContractPeriod, other) is None
        assert db.session.get(ContractPeriod, period) is not None
        assert periods.tier_on(db.session.get(Company, company.id), date(2026, 12, 15)) == "serenite"
        bookings.cancel(contact, db.session.get(type(session), session_id), NOW)
        db.session.commit()
        client.post(address, data={"period_id": period, "confirmed": "1"})
        f.reread()
        assert db.session.get(ContractPeriod, period) is None  # nothing accepted under it any more


def test_a_session_counted_by_the_bank_before_a_downgrade_planned_since_still_says_so(app):
    """Booked under Sérénité (45 included minutes), then Confort planned from before its day: it keeps what it was
    counted, and its cost says so (it read « billable » with 45 included minutes at 0.00 €)."""
    from booking.services import costs

    with time_machine.travel(NOW, tick=False):
        admin, company, contact = f.client_with_consultant("serenite")
        session = bookings.book(contact, "erplib", datetime(2026, 12, 15, 10, tzinfo=PARIS), NOW)
        companies.change_tier(admin, company, "confort", date(2026, 12, 14), NOW)
        db.session.commit()
        cost = costs.for_booking(session)
    assert (cost.basis, cost.included_minutes, cost.billable_minutes) == ("hour_bank", 45, 0)
