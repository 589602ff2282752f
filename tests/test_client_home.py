"""The client's home page: the Sérénité hour bank's burn-down (numbers and chart), upcoming interventions
with their consultant, and the privileged consultant named."""

import html
from datetime import UTC, date, datetime

import time_machine

from booking.extensions import db
from booking.models import LedgerEntry
from booking.services import burn_down

from . import factories as f

# A contract year from 1 March 2026 to 1 March 2027: on 1 September 2026 half of it (184 of 365 days) is gone.
TODAY = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def _world(tier="serenite"):
    consultant = f.consultant()
    company = f.company(tier, contract_start=date(2026, 3, 1), privileged_consultant_id=consultant.id)
    client = f.user("client", company)
    db.session.add_all(
        [
            LedgerEntry(
                company_id=company.id,
                contract_year=date(2026, 3, 1),
                kind="grant",
                minutes=600,
                created_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
            ),
            LedgerEntry(
                company_id=company.id,
                contract_year=date(2026, 3, 1),
                kind="reserve",
                minutes=-90,
                created_at=datetime(2026, 5, 4, 9, tzinfo=UTC),
            ),
            LedgerEntry(
                company_id=company.id,
                contract_year=date(2026, 3, 1),
                kind="reserve",
                minutes=-60,
                created_at=datetime(2026, 7, 6, 9, tzinfo=UTC),
            ),
        ]
    )
    booking = f.booking(consultant, datetime(2026, 9, 8, 8, 0, tzinfo=UTC), company=company)
    db.session.commit()
    return company, client, consultant, booking


def test_the_burn_down_counts_the_ledger_against_the_year(app):
    company, *_ = _world()
    burn = burn_down.burn_down(company, date(2026, 9, 1))
    assert (burn.included, burn.used, burn.left) == (600, 150, 450)
    assert burn.used_percent == 25 and burn.elapsed_percent == round(100 * 184 / 365)
    assert burn.year_end == date(2027, 3, 1)
    # steps down on each day the ledger moved, and ends today at a quarter used
    assert burn.points.split() == ["0.0,0.0", "52.6,0.0", "52.6,18.0", "104.4,18.0", "104.4,30.0", "151.2,30.0"]


def test_a_tier_without_hour_bank_has_no_burn_down(app):
    company, *_ = _world("standard")
    assert burn_down.burn_down(company, date(2026, 9, 1)) is None


def test_the_home_page_shows_the_bank_the_interventions_and_the_privileged_consultant(app, client, auth):
    company, user, consultant, _ = _world()
    with time_machine.travel(TODAY, tick=False):
        auth.login(user.email)
        page = html.unescape(client.get("/portail/").get_data(as_text=True))
    assert "<svg" in page and "<polyline" in page and "<script" not in page
    assert "Utilisées</th><td>2 h 30 (25 %)" in page and "Restantes</th><td>7 h 30" in page
    assert "Votre consultant privilégié" in page and page.count(consultant.name) >= 2  # card and upcoming row


def test_a_standard_client_sees_no_privileged_consultant(app, client, auth):
    company, user, consultant, _ = _world("standard")
    with time_machine.travel(TODAY, tick=False):
        auth.login(user.email)
        page = html.unescape(client.get("/portail/").get_data(as_text=True))
    assert "Votre consultant privilégié" not in page and "<polyline" not in page
    assert consultant.name in page  # the upcoming intervention names its consultant
