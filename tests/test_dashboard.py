"""The planners' dashboard: each chart's figures against data computed by hand (fixed days chosen on the business
calendar: the week after the March 2026 clock change with Alsace-Moselle's Good Friday, a weekend inside a
commitment, a month boundary at Paris midnight), its CSV, its period bounds and who may see it."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from booking.extensions import db
from booking.models import Absence, Compensation, ContractPeriod, LedgerEntry, PriorityRequest, ReshufflePlan, Ticket
from booking.services import dashboard, dashboard_csv
from booking.web import dashboard_charts as charts
from calendars.worktime import PARIS

from . import factories as f

DST_MONDAY = date(2026, 3, 30)  # summer time began on Sunday 29 March; Friday 3 April is Good Friday in "57"


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def _text(response) -> str:
    """The page as read: entities decoded, Babel's (narrow) no-break spaces as plain spaces."""
    return html.unescape(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")


# --- load ------------------------------------------------------------------------------------------------------


def _load_world():
    national = f.consultant()
    alsace = f.consultant(holiday_region="57")
    gone = f.consultant()
    gone.user.active = False
    db.session.add(Absence(consultant_id=national.id, start_at=paris(2026, 3, 24, 14), end_at=paris(2026, 3, 24, 18)))
    company = f.company()
    f.booking(national, paris(2026, 3, 23, 9), 45, company=company)  # week 1: 45 min
    f.booking(national, paris(2026, 3, 24, 14), 60, company=company)  # over the absence: booked, not available
    f.booking(national, paris(2026, 3, 30, 9), 210, company=company, status="completed")  # summer time: 09:00–12:30
    f.booking(national, paris(2026, 3, 31, 10), 45, company=company, status="cancelled")  # frees the time
    f.booking(national, paris(2026, 3, 31, 14), 45, company=company, status="held")  # lapses within minutes
    # a two-day install, Wednesday 09:00 to Thursday 18:00: the working hours only (no night, no lunch)
    f.booking(national, paris(2026, 4, 1, 9), 33 * 60, company=company, kind="major_install_test")
    f.booking(alsace, paris(2026, 3, 30, 12), 150, company=company, status="no_show")  # 12:00–14:30: 1 h of work
    f.booking(gone, paris(2026, 3, 30, 9), 45, company=company)
    db.session.commit()
    return national, alsace


def test_load_counts_working_hours_booked_and_available_per_week_across_the_clock_change(any_app):
    national, alsace = _load_world()
    rows = {row.consultant_id: row for row in dashboard.load(date(2026, 3, 23), 2)}
    assert set(rows) == {national.id, alsace.id}  # an inactive consultant is not shown
    # 37.5 h a week; the national consultant's Tuesday afternoon off: 33.5 h; Good Friday off in Alsace-Moselle: 30 h
    assert rows[national.id].available == [2010, 2250] and rows[alsace.id].available == [2250, 1800]
    assert rows[national.id].booked == [45 + 60, 210 + 15 * 60] and rows[alsace.id].booked == [0, 60]
    assert round(rows[national.id].ratio(1), 4) == round(1110 / 2250, 4)
    assert rows[alsace.id].ratio(0) == 0


def test_a_week_without_working_time_has_no_ratio(app):
    consultant = f.consultant()
    db.session.add(Absence(consultant_id=consultant.id, start_at=paris(2026, 3, 30, 0), end_at=paris(2026, 4, 4, 0)))
    db.session.commit()
    (row,) = dashboard.load(DST_MONDAY, 1)
    assert row.available == [0] and row.ratio(0) is None


def test_load_csv(app):
    national, alsace = _load_world()
    lines = dashboard_csv.load(date(2026, 3, 23), 2).splitlines()
    assert lines[0] == "semaine;consultant;heures_disponibles;heures_reservees;taux_pct"
    assert f"2026-03-23;{national.name};33,5;1,75;5,2" in lines
    assert f"2026-03-30;{national.name};37,5;18,5;49,3" in lines
    assert f"2026-04-06;{national.name};" not in "\n".join(lines)  # two weeks only
    assert f"2026-03-30;{alsace.name};30;1;3,3" in lines


# --- callbacks ------------------------------------------------------------------------------------------------------


def _callback(consultant, company, priority, opened, start, status="confirmed"):
    ticket = Ticket(
        company_id=company.id, reference=f"T-{opened:%m%d%H%M}-{start:%d%H%M}", priority=priority, opened_at=opened
    )
    db.session.add(ticket)
    db.session.flush()
    return f.booking(consultant, start, 30, company=company, kind="callback", ticket_id=ticket.id, status=status)


def _callbacks_world():
    consultant = f.consultant()
    serenite, confort = f.company("serenite"), f.company("confort")
    # Confort until 1 February 2026, Sérénité since: a ticket keeps the tier it was opened under
    upgraded = f.company("serenite")
    db.session.add_all(
        [
            ContractPeriod(company_id=upgraded.id, starts_on=date(2025, 1, 1), tier="confort"),
            ContractPeriod(company_id=upgraded.id, starts_on=date(2026, 2, 1), tier="serenite"),
        ]
    )
    # Sérénité, blocking: take charge within 2 business hours of 10:00 → 12:00
    _callback(consultant, serenite, "bloquante", paris(2026, 1, 12, 10), paris(2026, 1, 12, 11))  # within
    _callback(consultant, serenite, "bloquante", paris(2026, 1, 12, 10, 5), paris(2026, 1, 12, 12, 5))  # at it: after
    # Sérénité, major, Friday 17:00 + 4 business hours = Monday 12:00 (the weekend does not count)
    _callback(consultant, serenite, "majeure", paris(2026, 1, 16, 17), paris(2026, 1, 19, 11, 30))  # within
    # Confort: low priority has no take-charge commitment; minor, 5 business days from Monday 09:00 = next Monday
    _callback(consultant, confort, "basse", paris(2026, 2, 2, 9), paris(2026, 2, 3, 9))  # without
    _callback(consultant, confort, "mineure", paris(2026, 2, 2, 9, 1), paris(2026, 2, 10, 10))  # after
    # opened Friday 30 January under Confort (major: 1 business day → Monday 15:00); Sérénité would say 10:00
    _callback(consultant, upgraded, "majeure", paris(2026, 1, 30, 15), paris(2026, 2, 2, 14, 30))  # within, Confort
    # Sérénité, blocking, Friday 17:00 + 2 h = Monday 30 March 10:00, summer time
    _callback(consultant, serenite, "bloquante", paris(2026, 3, 27, 17), paris(2026, 3, 30, 9, 30))  # within
    # not counted: cancelled, still held, after the period
    _callback(consultant, serenite, "bloquante", paris(2026, 1, 12, 10), paris(2026, 1, 14, 9), status="cancelled")
    _callback(consultant, serenite, "bloquante", paris(2026, 1, 12, 10), paris(2026, 1, 14, 10), status="held")
    _callback(consultant, serenite, "bloquante", paris(2026, 3, 31, 10), paris(2026, 4, 1, 9))
    db.session.commit()


def test_callbacks_within_and_after_their_commitment_per_tier_and_month(any_app):
    _callbacks_world()
    counts = {c.tier: c for c in dashboard.callbacks(date(2026, 1, 1), 3)}
    assert list(counts) == ["standard", "confort", "serenite"]
    assert (counts["serenite"].within, counts["serenite"].after, counts["serenite"].without) == (
        [2, 0, 1],
        [1, 0, 0],
        [0, 0, 0],
    )
    assert (counts["confort"].within, counts["confort"].after, counts["confort"].without) == (
        [0, 1, 0],
        [0, 1, 0],
        [0, 1, 0],
    )
    assert counts["standard"].within == counts["standard"].after == counts["standard"].without == [0, 0, 0]


def test_callbacks_csv(app):
    _callbacks_world()
    lines = dashboard_csv.callbacks(date(2026, 1, 1), 3).splitlines()
    assert lines[0] == "mois;formule;dans_engagement;hors_engagement;sans_engagement"
    assert {
        "2026-01;serenite;2;1;0",
        "2026-02;confort;1;1;1",
        "2026-03;serenite;1;0;0",
        "2026-02;standard;0;0;0",
    } <= set(lines)
    assert len(lines) == 1 + 3 * 3


# --- hour banks -------------------------------------------------------------------------------------------------------

TODAY = date(2026, 9, 1)  # contract years from 1 March 2026: 184 of 365 days gone, today the 185th


def _bank(name, used, **kw):
    company = f.company("serenite", name=name, contract_start=date(2026, 3, 1), **kw)
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
                minutes=-used,
                created_at=datetime(2026, 6, 1, 9, tzinfo=UTC),
            ),
        ]
    )
    return company


def _banks_world():
    _bank("Posée", 150)  # 450 left at 150 per 185 days: 555 days more, after the year's end
    _bank("Pressée", 420)  # 180 left at 420 per 185 days: ceil(79.3) = 80 days, 20 November 2026
    _bank("Vide", 600)
    _bank("Fermée", 600, active=False)
    f.company("standard", name="Sans banque", contract_start=date(2026, 3, 1))
    db.session.commit()


def test_hour_banks_flag_those_that_will_run_out_before_the_year_ends(app):
    _banks_world()
    banks = {bank.name: bank for bank in dashboard.hour_banks(TODAY)}
    assert list(banks) == ["Posée", "Pressée", "Vide"]  # active companies with an hour bank, by name
    assert (banks["Posée"].burn.used, banks["Posée"].runs_out, banks["Posée"].at_risk) == (150, None, False)
    assert (banks["Pressée"].burn.left, banks["Pressée"].runs_out) == (180, date(2026, 11, 20))
    assert banks["Pressée"].at_risk and banks["Pressée"].burn.elapsed_percent == 50
    assert (banks["Vide"].burn.left, banks["Vide"].runs_out, banks["Vide"].at_risk) == (0, TODAY, True)


def test_a_bank_nobody_used_never_runs_out():
    burn = dashboard.burn_down.BurnDown(date(2026, 3, 1), date(2027, 3, 1), 600, 600, 50, 0, "", 0)
    assert dashboard.runs_out(burn, TODAY) is None


def test_hour_banks_csv(app):
    _banks_world()
    lines = dashboard_csv.hour_banks(TODAY).splitlines()
    assert lines[0].startswith("client;debut_annee;fin_annee;minutes_incluses;minutes_utilisees")
    assert "Pressée;2026-03-01;2027-02-28;600;420;180;50;2026-11-20;oui" in lines
    assert "Posée;2026-03-01;2027-02-28;600;150;450;50;;non" in lines
    assert "Vide;2026-03-01;2027-02-28;600;600;0;50;2026-09-01;oui" in lines


# --- compensations ------------------------------------------------------------------------------------------------


def _compensations_world():
    consultant = f.consultant()
    payer, other_payer, moved = f.company(), f.company(), f.company()
    booking = f.booking(consultant, paris(2026, 2, 9, 9), company=moved)
    plan = ReshufflePlan(kind="priority", status="applied")
    db.session.add(plan)
    db.session.flush()
    for payer_company, amount, when in (
        (payer, "60.00", datetime(2026, 1, 31, 22, 30, tzinfo=UTC)),  # 23:30 in Paris: January
        (payer, "900.00", datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),  # 00:30 in Paris: February
        (other_payer, "250.50", datetime(2026, 2, 20, 10, tzinfo=UTC)),
        (payer, "999.00", datetime(2026, 4, 1, 10, tzinfo=UTC)),
    ):  # after the period
        db.session.add(
            Compensation(
                plan_id=plan.id,
                payer_company_id=payer_company.id,
                beneficiary_company_id=moved.id,
                booking_id=booking.id,
                amount_eur=Decimal(amount),
                created_at=when,
            )
        )
    db.session.commit()


def test_compensations_paid_per_paris_month(any_app):
    _compensations_world()
    paid = dashboard.compensations(date(2026, 1, 1), 3)
    assert [(m.month, m.amount, m.moved, len(m.payers)) for m in paid] == [
        (date(2026, 1, 1), Decimal("60.00"), 1, 1),
        (date(2026, 2, 1), Decimal("1150.50"), 2, 2),
        (date(2026, 3, 1), Decimal("0"), 0, 0),
    ]
    assert dashboard_csv.compensations(date(2026, 1, 1), 3).splitlines() == [
        "mois;montant_eur;rendez_vous_deplaces;clients_payeurs",
        "2026-01;60,00;1;1",
        "2026-02;1150,50;2;2",
        "2026-03;0,00;0;0",
    ]


def _axis(drawing) -> list[str]:
    """The value axis' labels, bottom to top."""
    return [text for x, _y, anchor, text in drawing.labels if anchor == "end" and x == charts.AXIS_WIDTH - 6]


@pytest.mark.parametrize(
    "amounts, axis",
    [
        ((0, 0, 0), ["0 €", "1 €", "2 €"]),  # nothing paid: was 0 €, 0 €, 1 €
        (("0.80", "0", "1"), ["0 €", "1 €", "2 €"]),
        (("4.50", "3", "0"), ["0 €", "1 €", "2 €", "3 €", "4 €", "5 €"]),  # a top of 5: was 0 €, 2 €, 5 €
        (("60", "1150.50", "0"), ["0 €", "1 000 €", "2 000 €"]),
    ],
)
def test_the_compensations_axis_reads_distinct_exact_amounts(app, amounts, axis):
    paid = [dashboard.MonthPaid(date(2026, n + 1, 1), Decimal(a)) for n, a in enumerate(amounts)]
    with app.test_request_context():
        labels = [label.replace("\u202f", " ").replace("\xa0", " ") for label in _axis(charts.compensation_bars(paid))]
    assert labels == axis


@pytest.mark.parametrize("top, axis", [(0, ["0", "1", "2", "3", "4", "5"]), (7, ["0", "5", "10"])])
def test_the_callbacks_axis_reads_distinct_exact_counts(app, top, axis):
    counts = [dashboard.CallbackCounts("serenite", "Sérénité", [top, 0], [0, 0], [0, 0])]
    period = dashboard.Period(date(2026, 1, 5), 1, date(2026, 1, 1), 2)
    with app.test_request_context():
        [(_label, drawing)] = charts.callback_bars(counts, period)
    assert _axis(drawing) == axis


# --- priority consulting ----------------------------------------------------------------------------------------


def _priority_world():
    company = f.company("serenite", name="Urgences SA")
    requester = f.user("client", company)

    def request(requested, accepted=None, status="requested", **kw):
        obj = PriorityRequest(
            company_id=company.id,
            requester_id=requester.id,
            skill="comptabilite",
            amount=1,
            unit="days",
            status=status,
            requested_at=requested,
            accepted_at=accepted,
            **kw,
        )
        db.session.add(obj)
        db.session.flush()
        return obj

    def plan(obj, status, start):
        db.session.add(
            ReshufflePlan(
                kind="priority",
                status=status,
                request_id=obj.id,
                plan={"placements": [{"consultant": "c1", "start": start, "end": start}], "moves": []},
            )
        )

    # Friday 17:00 → Monday 10:00: two business hours; placed Friday 16 January 09:00, 3 days 23 hours after
    fast = request(paris(2026, 1, 9, 17), paris(2026, 1, 12, 10), "applied", client_accepted_at=paris(2026, 1, 12, 14))
    plan(fast, "applied", "2026-01-16T09:00:00+01:00")
    # accepted 2.5 business hours later, placed 7 days 21.5 hours after: beyond the promise; a stale plan ignored
    late = request(paris(2026, 2, 2, 9), paris(2026, 2, 2, 11, 30), "applied", client_accepted_at=paris(2026, 2, 3, 9))
    plan(late, "stale", "2026-02-04T09:00:00+01:00")
    plan(late, "applied", "2026-02-10T09:00:00+01:00")
    request(paris(2026, 2, 20, 9))  # waiting for a planner
    request(paris(2025, 12, 31, 9))  # before the period
    db.session.commit()


def test_priority_requests_and_how_fast_they_were_placed(app):
    _priority_world()
    placed = dashboard.priority(date(2026, 1, 1), 3)
    assert [p.status for p in placed] == ["applied", "applied", "requested"]
    fast, late, waiting = placed
    assert fast.business_hours_to_accept == 2 and round(fast.days_to_start, 3) == round(3 + 23 / 24, 3)
    assert fast.within_promise and fast.starts_at == paris(2026, 1, 16, 9)
    assert late.business_hours_to_accept == 2.5 and round(late.days_to_start, 3) == round(7 + 21.5 / 24, 3)
    assert late.within_promise is False and late.applied_at == paris(2026, 2, 3, 9)
    assert waiting.business_hours_to_accept is None and waiting.days_to_start is None and waiting.within_promise is None
    lines = dashboard_csv.priority(date(2026, 1, 1), 3).splitlines()
    assert lines[1].split(";")[1:] == [
        "Urgences SA",
        "applied",
        "2026-01-09 17:00",
        "2026-01-12 10:00",
        "2",
        "2026-01-12 14:00",
        "2026-01-16 09:00",
        "4",
        "oui",
    ]
    assert lines[2].split(";")[5:] == ["2,5", "2026-02-03 09:00", "2026-02-10 09:00", "7,9", "non"]
    assert lines[3].split(";")[2:] == ["requested", "2026-02-20 09:00", "", "", "", "", "", ""]


# --- the page, its CSV files, its period, who may see it -------------------------------------------------------------


def _planner(auth, locale="fr"):
    planner = f.user("planner", locale=locale)
    db.session.commit()
    auth.login(planner.email)
    return planner


def test_the_page_draws_each_chart_with_its_numbers(app, client, auth):
    national, _ = _load_world()
    _callbacks_world()
    _banks_world()
    _compensations_world()
    _priority_world()
    with time_machine.travel(datetime(2026, 9, 1, 8, tzinfo=UTC), tick=False):
        _planner(auth)  # signed in on the day shown: a session cannot start in the future
        response = client.get("/planification/tableau-de-bord/?semaine=2026-03-25&semaines=4&mois=2026-01&nb_mois=3")
    page = _text(response)
    assert response.status_code == 200 and "<script" not in page
    assert page.count('class="chart-svg"') == 2 + 3 + 1 + 1  # heat map (names, cells), a chart per tier, two more
    assert page.count('<figure class="bank') == 10  # every active Sérénité company built above has its burn-down
    # the heat map starts on the Monday of the week asked for; its cell and its table say the same
    assert "23 mars" in page and "S13" in page and "49 %" in page
    assert f"{national.name}, semaine du 30 mars : 18 h 30 réservées sur 37 h 30 disponibles" in page
    assert "18 h 30 / 37 h 30 <small>(49 %)</small>" in page
    assert "épuisée vers le 20 novembre 2026" in page and "épuisée</span>" in page
    assert "1 150,50 €" in page and "7,9" in page and "2 h ouvrées" in page
    for chart in dashboard_csv.CHARTS:
        assert (
            f"/planification/tableau-de-bord/{chart}.csv?semaine=2026-03-23&amp;semaines=4&amp;mois=2026-01"
            f"&amp;nb_mois=3" in response.get_data(as_text=True)
        )


def test_the_page_in_english_uses_english_number_formats(app, client, auth):
    _compensations_world()
    with time_machine.travel(datetime(2026, 9, 1, 8, tzinfo=UTC), tick=False):
        _planner(auth, "en")
        page = _text(client.get("/planification/tableau-de-bord/?mois=2026-01&nb_mois=3"))
    assert "Dashboard" in page and "€1,150.50" in page and "Compensation paid" in page


def test_each_chart_downloads_as_csv_for_the_period_shown(app, client, auth):
    _compensations_world()
    _planner(auth)
    response = client.get("/planification/tableau-de-bord/compensations.csv?mois=2026-02&nb_mois=3")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "tableau-de-bord-compensations-2026-02-01.csv" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).splitlines()[1:] == [
        "2026-02;1150,50;2;2",
        "2026-03;0,00;0;0",
        "2026-04;999,00;1;1",
    ]
    for chart in dashboard_csv.CHARTS:
        assert client.get(f"/planification/tableau-de-bord/{chart}.csv").status_code == 200
    assert client.get("/planification/tableau-de-bord/budget.csv").status_code == 404


def test_names_in_the_csv_cannot_run_as_formulas(app):
    f.company("serenite", name="=1+2", contract_start=date(2026, 3, 1))
    db.session.commit()
    assert dashboard_csv.hour_banks(TODAY).splitlines()[1].startswith("'=1+2;2026-03-01;")


def test_the_default_period_is_three_weeks_back_to_four_ahead_and_six_months(app, client, auth):
    with time_machine.travel(paris(2026, 12, 5, 10), tick=False):  # a Saturday
        _planner(auth)
        page = client.get("/planification/tableau-de-bord/").get_data(as_text=True)
    assert dashboard.default_period(date(2026, 12, 5)) == dashboard.Period(date(2026, 11, 9), 8, date(2026, 7, 1), 6)
    assert "charge.csv?semaine=2026-11-09&amp;semaines=8&amp;mois=2026-07&amp;nb_mois=6" in page
    assert "semaine=2026-09-14&amp;semaines=8&amp;mois=2026-01" in page  # the previous period
    assert "semaine=2027-01-04&amp;semaines=8&amp;mois=2027-01" in page  # the next one


def test_a_period_that_cannot_be_read_is_a_400_that_says_why(app, client, auth):
    _planner(auth)
    for query in (
        "semaines=9",
        "semaines=abc",
        "nb_mois=0",
        "nb_mois=25",
        "semaine=2026-02-30",
        "semaine=1999-12-27",
        "mois=2026-13",
        "mois=2100-01",
        "semaine=x&mois=y",
    ):
        response = client.get(f"/planification/tableau-de-bord/?{query}")
        assert response.status_code == 400, query
        assert 'class="error"' in response.get_data(as_text=True), query
        assert client.get(f"/planification/tableau-de-bord/charge.csv?{query}").status_code == 400, query


def test_only_planners_and_admins_see_the_dashboard(app, client, auth):
    company = f.company()
    users = {"client": f.user("client", company), "consultant": f.consultant().user, "admin": f.user("admin")}
    db.session.commit()
    for role, user in users.items():
        auth.login(user.email)
        expected = 200 if role == "admin" else 403
        assert client.get("/planification/tableau-de-bord/").status_code == expected, role
        assert client.get("/planification/tableau-de-bord/charge.csv").status_code == expected, role
        if role == "admin":
            assert 'href="/planification/tableau-de-bord/"' in client.get("/admin/").get_data(as_text=True)
        auth.logout()


def test_planners_find_the_dashboard_in_their_navigation(app, client, auth):
    _planner(auth)
    page = client.get("/planification/").get_data(as_text=True)
    assert 'href="/planification/tableau-de-bord/"' in page and "Tableau de bord" in page
