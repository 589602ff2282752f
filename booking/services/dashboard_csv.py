"""The dashboard's charts as CSV, one file per chart: the numbers the page's tables show, for a spreadsheet
(semicolons and decimal commas, as French spreadsheets read them; names written so that none runs as a formula)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from babel.numbers import format_decimal

from calendars.worktime import PARIS

from .. import csvsafe
from . import dashboard

CHARTS = ("charge", "rappels", "banques-heures", "compensations", "conseil-prioritaire")


def _number(value) -> str:
    return "" if value is None else format_decimal(Decimal(str(value)), format="0.##", locale="fr_FR")


def _hours(minutes: int) -> str:
    return _number(Decimal(minutes) / 60)


def _local(instant: datetime | None) -> str:
    return instant.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if instant else ""


def _yes(value: bool | None) -> str:
    return "" if value is None else ("oui" if value else "non")


def load(first_monday: date, weeks: int) -> str:
    lines: list[list] = [["semaine", "consultant", "heures_disponibles", "heures_reservees", "taux_pct"]]
    for row in dashboard.load(first_monday, weeks):
        for week in range(weeks):
            ratio = row.ratio(week)
            lines.append(
                [
                    (first_monday + timedelta(weeks=week)).isoformat(),
                    row.name,
                    _hours(row.available[week]),
                    _hours(row.booked[week]),
                    "" if ratio is None else _number(round(100 * ratio, 1)),
                ]
            )
    return csvsafe.write(lines)


def callbacks(first_month: date, months: int) -> str:
    lines: list[list] = [["mois", "formule", "dans_engagement", "hors_engagement", "sans_engagement"]]
    for counts in dashboard.callbacks(first_month, months):
        for n in range(months):
            lines.append(
                [
                    f"{dashboard.add_months(first_month, n):%Y-%m}",
                    counts.tier,
                    counts.within[n],
                    counts.after[n],
                    counts.without[n],
                ]
            )
    return csvsafe.write(lines)


def hour_banks(today: date) -> str:
    lines: list[list] = [
        [
            "client",
            "debut_annee",
            "fin_annee",
            "minutes_incluses",
            "minutes_utilisees",
            "minutes_restantes",
            "annee_ecoulee_pct",
            "epuisement_prevu",
            "a_risque",
        ]
    ]
    for bank in dashboard.hour_banks(today):
        burn = bank.burn
        lines.append(
            [
                bank.name,
                burn.year_start.isoformat(),
                (burn.year_end - timedelta(days=1)).isoformat(),
                burn.included,
                burn.used,
                burn.left,
                burn.elapsed_percent,
                bank.runs_out.isoformat() if bank.runs_out else "",
                _yes(bank.at_risk),
            ]
        )
    return csvsafe.write(lines)


def compensations(first_month: date, months: int) -> str:
    lines: list[list] = [["mois", "montant_eur", "rendez_vous_deplaces", "clients_payeurs"]]
    for month in dashboard.compensations(first_month, months):
        lines.append(
            [
                f"{month.month:%Y-%m}",
                format_decimal(month.amount, format="0.00", locale="fr_FR"),
                month.moved,
                len(month.payers),
            ]
        )
    return csvsafe.write(lines)


def priority(first_month: date, months: int) -> str:
    lines: list[list] = [
        [
            "demande",
            "client",
            "statut",
            "demandee_le",
            "acceptee_le",
            "heures_ouvrees_avant_acceptation",
            "appliquee_le",
            "debut",
            "jours_entre_acceptation_et_debut",
            "dans_les_7_jours",
        ]
    ]
    for p in dashboard.priority(first_month, months):
        hours, days = p.business_hours_to_accept, p.days_to_start
        lines.append(
            [
                p.request_id,
                p.company,
                p.status,
                _local(p.requested_at),
                _local(p.accepted_at),
                "" if hours is None else _number(round(hours, 1)),
                _local(p.applied_at),
                _local(p.starts_at),
                "" if days is None else _number(round(days, 1)),
                _yes(p.within_promise),
            ]
        )
    return csvsafe.write(lines)
