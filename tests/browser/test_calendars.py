"""A consultant uploads a calendar with a broken event and a zone nobody knows: the page says how
many events were imported, which one was skipped and why, at desktop and phone widths."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from .test_login import SHOTS, login

CONSULTANT = "thomas.roux@erplib.example"


def calendar_file() -> bytes:
    day = date.today() + timedelta(days=3)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Outlook//EN"]
    for n, hour in enumerate((9, 14)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:ok{n}",
            "DTSTAMP:20261201T000000Z",
            f"DTSTART;TZID=Europe/Paris:{day:%Y%m%d}T{hour:02}0000",
            f"DTEND;TZID=Europe/Paris:{day:%Y%m%d}T{hour + 1:02}0000",
            "SUMMARY:Rendez-vous",
            "END:VEVENT",
        ]
    lines += [
        "BEGIN:VEVENT",
        "UID:broken",
        "DTSTAMP:20261201T000000Z",
        "SUMMARY:Sans début",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:zone",
        "DTSTAMP:20261201T000000Z",
        f"DTSTART;TZID=Pacific/Atlantis:{day:%Y%m%d}T170000",
        f"DTEND;TZID=Pacific/Atlantis:{day:%Y%m%d}T180000",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_partial_import_is_explained_on_the_page(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, CONSULTANT)
    page.goto(f"{live_server}/agenda")
    page.get_by_label("Nom").fill(f"Agenda Outlook {width}")
    page.get_by_label("ou fichier .ics").set_input_files(
        files=[{"name": "outlook.ics", "mimeType": "text/calendar", "buffer": calendar_file()}]
    )
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("status").first).to_contain_text("Calendrier importé")
    row = page.locator("tr", has_text=f"Agenda Outlook {width}")
    report = row.locator(".import-report")
    expect(report).to_contain_text("3 événements importés, 1 ignoré :")
    expect(report).to_contain_text("VEVENT ligne 18 ignoré : il n'a pas de date de début (DTSTART).")
    expect(report).to_contain_text(
        "Fuseau horaire inconnu « Pacific/Atlantis » (ligne 23) : heures lues à l'heure de Paris."
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off a phone's screen
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"agenda-import-report-{width}.png", full_page=True)
