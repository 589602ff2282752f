"""The priority-consulting quote a client can judge: dates, consultant, consulting price, compensation lines,
total and validity; a mail with its link; acceptance in two steps; a planner's recorded agreement; billing."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, Booking, Compensation, OutboxMessage, PriorityRequest, ReshufflePlan
from booking.services import billing, bookings, plan_view, priority, quotes
from booking.services.errors import Conflict, Invalid
from calendars.worktime import PARIS

from . import factories as f
from .test_priority import wait

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris
NBSP = ("\u00a0", "\u202f")


def plain(text: str) -> str:
    """French money uses (narrow) no-break spaces: compare with plain ones."""
    for space in NBSP:
        text = text.replace(space, " ")
    return text


def fr(amount: Decimal) -> str:
    """An amount as French readers write it, with plain spaces: 1 234,50 €."""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " €"


def make_world(tier: str, booked_days_ago: int = 30) -> dict:
    requester_company = f.company(tier, contract_start=date(2026, 1, 1), name="Pressé SA")
    other = f.company("confort", name="Patient SARL")
    requester, patient = f.user("client", requester_company), f.user("client", other)
    expert = f.consultant(skills=("migration",))
    planner = f.user("planner")
    for day in range(1, 19):  # the expert is booked every morning of the next weeks, long in advance
        start = datetime(2026, 12, day, 9, tzinfo=PARIS)
        if start.weekday() < 5:
            f.booking(expert, start, company=other, contact=patient, booked_at=NOW - timedelta(days=booked_days_ago))
    db.session.commit()
    return {"requester": requester, "patient": patient, "expert": expert, "planner": planner}


def planned(app, tier: str = "serenite", amount: int = 1, unit: str = "days", booked_days_ago: int = 30):
    """A request accepted by the planner whose plan (and so quote) is ready."""
    app.config["RESHUFFLE_SECONDS"] = 2
    world = make_world(tier, booked_days_ago)
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", amount, unit, "Migration paie", NOW)
        plan = wait(priority.decide(world["planner"], request, True, NOW).id)
    assert plan.status == "ready", plan.error
    return world, db.session.get(PriorityRequest, request.id), plan


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


@pytest.fixture
def serenite(any_app):
    return planned(any_app)


def test_a_serenite_quote_shows_dates_consultant_included_consulting_lines_and_total(serenite):
    world, request, plan = serenite
    quote = quotes.build(request, plan)
    assert [p.consultant for p in quote.placements] == [world["expert"].name]
    assert quote.placements[0].start == datetime.fromisoformat(plan.plan["placements"][0]["start"])
    assert quote.included and quote.consulting == Decimal("0.00")
    assert quote.compensations and all(c.company == "Patient SARL" and c.amount > 0 for c in quote.compensations)
    assert quote.total == sum(c.amount for c in quote.compensations)
    assert float(quote.total) == pytest.approx(request.quote_eur)
    assert quote.valid_until == plan.created_at + timedelta(hours=24) == request.quote_valid_until


@pytest.mark.parametrize("amount, unit, price", [(2, "days", Decimal("1900.00")), (3, "hours", Decimal("420.00"))])
def test_confort_consulting_is_priced_from_the_contracts_rate(any_app, amount, unit, price):
    contact = f.user("client", f.company("confort"))
    request = PriorityRequest(
        company_id=contact.company_id, requester_id=contact.id, skill="x", amount=amount, unit=unit, requested_at=NOW
    )
    db.session.add(request)
    db.session.flush()
    included, rate, consulting = quotes.consulting_price(request)
    assert not included and rate * amount == consulting == price


def test_the_requester_is_mailed_a_link_to_the_quote(serenite):
    world, request, plan = serenite
    sent = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient == world["requester"].email, OutboxMessage.subject.contains("Devis")
        )
    ).all()
    assert len(sent) == 1
    body = plain(sent[0].body)
    assert f"/portail/priorite/{request.id}/devis" in body
    assert fr(quotes.build(request, plan).total) in body


def test_the_client_reads_the_quote_and_accepts_in_a_second_step(serenite, client, auth):
    world, request, plan = serenite
    total = quotes.build(request, plan).total
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        auth.login(world["requester"].email)
        listing = plain(client.get("/portail/priorite").get_data(as_text=True))
        assert "Voir le devis" in listing and "Accepter le devis" not in listing
        page = plain(client.get(f"/portail/priorite/{request.id}/devis").get_data(as_text=True))
        assert world["expert"].name in page and "inclus dans votre formule" in page and "Patient" not in page
        assert fr(total) in page and "Valable jusqu'au" in page
        one_click = client.post(f"/portail/priorite/{request.id}/accepter")  # the old one-click form
        asked = plain(one_click.get_data(as_text=True))
        # the amount agreed to says its tax basis, as every amount of the quote does
        assert one_click.status_code == 200 and f"vous acceptez de payer {fr(total)} HT." in asked
        assert f"Confirmer et accepter ({fr(total)} HT)" in asked
        f.reread()
        assert db.session.get(PriorityRequest, request.id).status == "planned"
        done = client.post(f"/portail/priorite/{request.id}/accepter", data={"plan_id": plan.id}, follow_redirects=True)
        later = client.get(f"/portail/priorite/{request.id}/devis")
    assert done.get_data(as_text=True).count("Devis accepté") == 1  # the flash, with the total, and only it
    assert fr(total) in plain(done.get_data(as_text=True)).split("Devis accepté")[1][:40]
    assert later.get_data(as_text=True).count("Devis accepté") == 1  # a later visit: the request's state
    f.reread()
    request = db.session.get(PriorityRequest, request.id)
    assert request.status == "applied" and request.client_accepted_at is not None


def test_a_quote_that_changed_since_it_was_read_is_refused(serenite):
    world, request, plan = serenite
    with pytest.raises(Conflict, match="a changé"):
        priority.accept_quote(world["requester"], request, NOW, plan.id + 1000)
    assert db.session.get(PriorityRequest, request.id).status == "planned"


def test_an_expired_quote_is_refused_and_computed_afresh(serenite):
    world, request, plan = serenite
    later = request.quote_valid_until
    with time_machine.travel(later, tick=True):
        with pytest.raises(Conflict, match="expiré"):
            priority.accept_quote(world["requester"], request, later, plan.id)
        f.reread()
        assert db.session.get(ReshufflePlan, plan.id).status == "stale"
        fresh = priority.latest(db.session.get(PriorityRequest, request.id))
        assert fresh.id != plan.id
        wait(fresh.id)
    assert (
        db.session.scalar(select(func.count()).select_from(Booking).where(Booking.kind == "priority_consulting")) == 0
    )


def test_a_planner_applies_before_the_client_only_with_a_note_of_their_agreement(serenite):
    world, request, plan = serenite
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        with pytest.raises(Invalid, match="notez son accord"):
            priority.apply_as_planner(world["planner"], plan, NOW, "   ")
        assert db.session.get(PriorityRequest, request.id).status == "planned"
        priority.apply_as_planner(world["planner"], plan, NOW, "Accord de M. Dupont par téléphone à 9 h 10")
    f.reread()
    request = db.session.get(PriorityRequest, request.id)
    assert request.status == "applied" and request.agreement_note.startswith("Accord de M. Dupont")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "priority.quote_agreed_by_phone"))
    assert entry.actor_id == world["planner"].id and entry.details["note"].startswith("Accord de M. Dupont")


def test_the_planner_page_asks_for_the_agreement_and_refuses_without_it(serenite, client, auth):
    world, request, plan = serenite
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        auth.login(world["planner"].email)
        page = plain(client.get(f"/planification/priorite/{request.id}").get_data(as_text=True))
        assert "Accord du client" in page and world["expert"].name in page and "Total" in page
        refused = client.post(
            f"/planification/plans/{plan.id}/appliquer", data={"agreement": ""}, follow_redirects=True
        )
        assert "notez son accord" in refused.get_data(as_text=True)
        f.reread()
        assert db.session.get(ReshufflePlan, plan.id).status == "ready"
        client.post(f"/planification/plans/{plan.id}/appliquer", data={"agreement": "Oui au téléphone (Mme Roy)"})
    f.reread()
    assert db.session.get(ReshufflePlan, plan.id).status == "applied"


def test_compensations_appear_on_the_billing_page_and_csv(serenite, client, auth):
    world, request, plan = serenite
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        priority.accept_quote(world["requester"], request, NOW, plan.id)
        f.reread()
        paid = db.session.scalar(select(func.sum(Compensation.amount_eur)))
        auth.login(world["planner"].email)
        page = plain(client.get("/planification/facturation?mois=2026-11").get_data(as_text=True))
        text = client.get(f"/planification/facturation/{world['requester'].company_id}/2026-11.csv").get_data(
            as_text=True
        )
    assert paid > 0 and fr(paid) in page
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    lines = [r for r in rows if r and r[0] == "compensation"]
    assert len(lines) == len(quotes.build(request, plan).compensations) and lines[0][4] == "Patient SARL"
    assert rows[-1][0] == "total_compensations" and rows[-1][-1] == f"{paid:.2f}".replace(".", ",")
    other = billing.monthly_compensations(world["patient"].company, date(2026, 11, 1))
    assert other == []  # the moved client is not charged


def test_the_quote_lists_every_move_even_those_without_compensation(any_app, client, auth):
    """Bookings made less than 14 days ago move without compensation: the requester still sees each move."""
    world, request, plan = planned(any_app, booked_days_ago=2)
    quote = quotes.build(request, plan)
    assert plan.plan["moves"] and len(quote.moves) == len(plan.plan["moves"])
    assert quote.compensations == [] and quote.total == Decimal("0.00")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        auth.login(world["requester"].email)
        page = client.get(f"/portail/priorite/{request.id}/devis").get_data(as_text=True)
    assert page.count('data-testid="quote-move"') == len(quote.moves) and "déplacé sans compensation" in page
    assert "Montant HT" in page and "Patient" not in page


def test_confort_consulting_accepted_is_billed_in_the_month_it_is_applied(any_app, client, auth):
    world, request, plan = planned(any_app, "confort", amount=2)
    price = quotes.build(request, plan).consulting
    assert price == Decimal("1900.00")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        priority.accept_quote(world["requester"], request, NOW, plan.id)
        f.reread()
        assert db.session.get(PriorityRequest, request.id).consulting_eur == price
        auth.login(world["planner"].email)
        page = plain(client.get("/planification/facturation?mois=2026-11").get_data(as_text=True))
        text = client.get(f"/planification/facturation/{world['requester'].company_id}/2026-11.csv").get_data(
            as_text=True
        )
    assert fr(price) in page and "Confort" in page
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    consulting = [r for r in rows if r and r[0] == "conseil_prioritaire"]
    assert consulting == [["conseil_prioritaire", "2026-11-30", str(request.id), "2", "jours", "1900,00"]]
    assert ["total_conseil_prioritaire", "", "", "", "", "1900,00"] in rows
    assert billing.monthly_consulting(world["requester"].company, date(2026, 12, 1)) == []


def test_serenite_consulting_is_included_and_not_billed(serenite):
    world, request, plan = serenite
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        priority.accept_quote(world["requester"], request, NOW, plan.id)
    f.reread()
    assert db.session.get(PriorityRequest, request.id).consulting_eur == Decimal("0.00")
    assert billing.monthly_consulting(world["requester"].company, date(2026, 11, 1)) == []


def test_a_consulting_cancelled_by_a_planner_is_no_longer_billed(any_app):
    world, request, plan = planned(any_app, "confort")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        priority.accept_quote(world["requester"], request, NOW, plan.id)
        f.reread()
        placed = db.session.scalars(select(Booking).where(Booking.kind == "priority_consulting")).all()
        assert len(placed) == 1
        with pytest.raises(Conflict, match="n'est plus facturé une fois tous ses jours annulés"):
            bookings.cancel(world["planner"], placed[0], NOW)  # first the consequences, to acknowledge
        bookings.cancel(world["planner"], placed[0], NOW, acknowledged=True)
    f.reread()
    assert db.session.get(PriorityRequest, request.id).consulting_eur == Decimal("0.00")
    assert billing.monthly_consulting(world["requester"].company, date(2026, 11, 1)) == []
    assert db.session.scalar(select(func.count()).select_from(Compensation)) > 0  # compensations stay due


def test_an_applied_plan_cannot_be_recomputed(serenite, client, auth):
    """Recomputing an applied plan replaced it on the pages by a new (failed) one: the quote accepted was lost."""
    world, request, plan = serenite
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        priority.accept_quote(world["requester"], request, NOW, plan.id)
        auth.login(world["planner"].email)
        page = client.get(f"/planification/priorite/{request.id}").get_data(as_text=True)
        assert "Recalculer" not in page
        done = client.post(f"/planification/plans/{plan.id}/recalculer", follow_redirects=True)
        assert "déjà appliqué" in done.get_data(as_text=True)
        with pytest.raises(Conflict, match="déjà appliquée ou refusée"):
            priority.start(world["planner"], "priority", NOW, request=db.session.get(PriorityRequest, request.id))
    f.reread()
    assert priority.latest(db.session.get(PriorityRequest, request.id)).id == plan.id


@pytest.mark.parametrize(
    "reason, french, english",
    [
        ("a booking that no longer fits its consultant's working time has nowhere to go", "n'a nulle part", "nowhere"),
        ("job-1: no consultant with skill 'paie' has working time for it in its window", "« paie »", "“paie”"),
        ("2 joint placements opened; no plan places every priority job", "relancez le calcul", "compute again"),
        ("le calcul a échoué (ValueError : x). Relancez-le", "le calcul a échoué", "le calcul a échoué"),
    ],
)
def test_a_failed_plan_says_why_in_the_readers_language(app, reason, french, english):
    """The solver explains in English; a planner reading French got that English sentence on the plan page."""
    with app.test_request_context(), force_locale("fr"):
        assert french in plan_view.why_failed(reason)
    with app.test_request_context(), force_locale("en"):
        assert english in plan_view.why_failed(reason)


def test_a_quote_that_moves_nothing_says_so_and_is_no_longer_valid_until_once_accepted(any_app, client, auth):
    any_app.config["RESHUFFLE_SECONDS"] = 2
    requester, planner = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1))), f.user("planner")
    f.consultant(skills=("migration",))  # free: the consulting moves nobody
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(requester, "migration", 1, "days", "Migration paie", NOW)
        plan = wait(priority.decide(planner, request, True, NOW).id)
    assert plan.status == "ready" and not quotes.build(request, plan).moves
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        auth.login(requester.email)
        asked = html.unescape(client.post(f"/portail/priorite/{request.id}/accepter").get_data(as_text=True))
        done = client.post(f"/portail/priorite/{request.id}/accepter", data={"plan_id": plan.id}, follow_redirects=True)
    assert "sans déplacer aucun rendez-vous" in asked and "ci-dessous sont déplacés" not in asked
    page = html.unescape(done.get_data(as_text=True))
    assert "votre conseil prioritaire est planifié." in page and "Valable jusqu" not in page
