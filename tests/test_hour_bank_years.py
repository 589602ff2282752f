"""A session booked past the contract's next anniversary counts in the next year: the hour-bank page and the API
show that year too (they showed only the current one, so its balance and lines were nowhere to be read)."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import time_machine

from booking.extensions import db
from booking.services import bookings, tokens
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday; the contract's year turns on 11 December


def test_the_next_contract_year_s_balance_and_lines_are_shown(app, client, auth):
    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("serenite", contract_start=date(2025, 12, 11))
        bookings.book(contact, "erplib", datetime(2026, 12, 14, 10, tzinfo=PARIS), NOW)
        raw = tokens.create(contact)
        db.session.commit()
        auth.login(contact.email)
        current = html.unescape(client.get("/portail/banque-heures").get_data(as_text=True))
        following = html.unescape(client.get("/portail/banque-heures?annee=2027-01-05").get_data(as_text=True))
        api = client.get("/api/v1/hour-bank?year=2026-12-11", headers={"Authorization": f"Bearer {raw}"}).json
        bad = client.get("/api/v1/hour-bank?year=1-1-1", headers={"Authorization": f"Bearer {raw}"})
    assert 'data-testid="balance">10 h<' in current and "?annee=2026-12-11" in current
    assert "Année contractuelle commencée le 11 décembre 2026" in following
    assert 'data-testid="balance">9 h 15<' in following and ">lun. 14 déc. 10:00</a>" in following
    assert api["contract_year_start"] == "2026-12-11" and api["balance_minutes"] == 555
    assert api["years"] == ["2025-12-11", "2026-12-11"] and [e["minutes"] for e in api["entries"]][-1] == -45
    assert bad.status_code == 422
