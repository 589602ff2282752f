"""External calendars: files and URLs (served on loopback), conditional GET, isolation of failures,
busy time that availability respects, conflicts for planners, the command line."""
from __future__ import annotations

import hashlib
import io
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import ExternalBusy, ExternalCalendar
from booking.services import availability, calendar_sync
from booking.services.errors import Invalid
from calendars.importer import CalendarImportError
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def ics(*spans: tuple[str, str]) -> bytes:
    events = "".join(f"BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=Europe/Paris:{a}\r\n"
                     f"DTEND;TZID=Europe/Paris:{b}\r\nSUMMARY:Dentiste\r\nEND:VEVENT\r\n" for n, (a, b) in enumerate(spans))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{events}END:VCALENDAR\r\n".encode()


DENTIST = ics(("20261203T100000", "20261203T110000"))


class Served:
    """A calendar on loopback that honours If-None-Match, like real calendar servers."""

    def __init__(self):
        self.body, self.status, self.hits = DENTIST, 200, []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                tag = '"' + hashlib.sha1(served.body).hexdigest() + '"'
                served.hits.append(self.headers.get("If-None-Match"))
                if served.status != 200:
                    self.send_response(served.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", tag)
                self.send_header("Content-Type", "text/calendar")
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/cal.ics"


@pytest.fixture(autouse=True)
def loopback_allowed(app):
    """The test servers listen on loopback, which production refuses."""
    app.config["CALENDAR_FETCH_ALLOW_LOOPBACK"] = True


@pytest.fixture
def served():
    server = Served()
    yield server
    server.server.shutdown()


def busy_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ExternalBusy))


def test_a_url_is_read_with_conditional_get(app, served):
    consultant = f.consultant()
    db.session.commit()
    calendar, count = calendar_sync.add(None, consultant, "Perso", NOW, url=served.url)
    assert count == 1 and calendar.etag
    assert calendar_sync.reimport(calendar, NOW) is None  # 304
    assert served.hits[-1] == calendar.etag
    served.body = ics(("20261203T100000", "20261203T110000"), ("20261204T140000", "20261204T160000"))
    assert calendar_sync.refresh_all(NOW) == 1 and busy_count() == 1  # queued, not read
    assert calendar_sync.import_queued(NOW) == 1 and busy_count() == 2
    assert db.session.get(ExternalCalendar, calendar.id).busy_count == 2


def test_imported_busy_time_blocks_slots_and_shows_conflicts(app):
    consultant, company = f.consultant(), f.company()
    booking = f.booking(consultant, datetime(2026, 12, 3, 10, 15, tzinfo=PARIS), company=company)
    db.session.commit()
    calendar_sync.add(None, consultant, "Perso", NOW, data=DENTIST)
    start, end = availability.local_range(datetime(2026, 12, 3).date(), datetime(2026, 12, 3).date())
    starts = {s.start.astimezone(PARIS).strftime("%H:%M") for s in availability.slots("erplib", company, start, end, NOW)}
    assert "09:00" in starts and "09:30" not in starts and "10:00" not in starts and "11:00" in starts
    assert [(b.id, busy.calendar.label) for b, busy in calendar_sync.conflicts(NOW)] == [(booking.id, "Perso")]


def test_a_broken_file_changes_nothing(app):
    consultant = f.consultant()
    db.session.commit()
    calendar, _ = calendar_sync.add(None, consultant, "Perso", NOW, data=DENTIST)
    with pytest.raises(CalendarImportError, match="illisible"):
        calendar_sync.reimport(calendar, NOW, b"BEGIN:VCALENDAR\r\nBROKEN LINE\r\n")
    assert busy_count() == 1
    assert "illisible" in db.session.get(ExternalCalendar, calendar.id).error
    with pytest.raises(Invalid, match="illisible"):
        calendar_sync.add(None, consultant, "Autre", NOW, data=b"garbage")
    assert db.session.scalar(select(func.count()).select_from(ExternalCalendar)) == 1


def test_one_failing_calendar_never_stops_the_others(app, served):
    consultant = f.consultant()
    db.session.commit()
    good, _ = calendar_sync.add(None, consultant, "Bon", NOW, url=served.url)
    gone = Served()
    bad, _ = calendar_sync.add(None, consultant, "Mauvais", NOW, url=gone.url)
    gone.status = 500
    served.body = ics(("20261203T100000", "20261203T110000"), ("20261207T090000", "20261207T100000"))
    assert calendar_sync.refresh_all(NOW) == 2
    assert calendar_sync.import_queued(NOW) == 1
    assert "500" in db.session.get(ExternalCalendar, bad.id).error
    assert db.session.get(ExternalCalendar, bad.id).status == "error"
    assert db.session.scalar(select(func.count()).select_from(ExternalBusy).where(ExternalBusy.calendar_id == bad.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(ExternalBusy).where(ExternalBusy.calendar_id == good.id)) == 2
    gone.server.shutdown()


def test_command_line_import_and_feed_url(app, runner, tmp_path, served):
    consultant = f.consultant()
    db.session.commit()
    path = tmp_path / "perso.ics"
    path.write_bytes(ics(("20261203T100000", "20261203T110000"), ("20261204T100000", "20261204T110000")))
    result = runner.invoke(args=["calendars", "import", consultant.user.email, str(path)])
    assert result.exit_code == 0 and "2 plages occupées" in result.output
    path.write_bytes(b"not a calendar")
    result = runner.invoke(args=["calendars", "import", consultant.user.email, str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "illisible" in result.output
    assert len(result.output.strip().splitlines()) == 1 and busy_count() == 2
    result = runner.invoke(args=["calendars", "import", consultant.user.email, served.url])
    assert result.exit_code == 0 and "3 plages occupées" in result.output
    result = runner.invoke(args=["calendars", "import", "nobody@x.example", str(path)])
    assert result.exit_code == 1 and "Aucun utilisateur" in result.output
    url = runner.invoke(args=["calendars", "feed-url", consultant.user.email]).output.strip()
    assert url.startswith("http://127.0.0.1:5000/calendars/cal_") and url.endswith(".ics")


def test_consultant_uploads_from_the_page_and_sees_a_clear_refusal(app, client, auth):
    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    page = client.post("/agenda/calendriers", data={"label": "Perso", "file": (io.BytesIO(DENTIST), "perso.ics")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "Calendrier importé : 1 plages occupées" in page
    page = client.post("/agenda/calendriers", data={"label": "Cassé", "file": (io.BytesIO(b"nope"), "x.ics")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "illisible" in page and busy_count() == 1
    shown = client.post("/agenda/flux", follow_redirects=True).get_data(as_text=True)
    assert "/calendars/cal_" in shown


def test_no_corpus_file_causes_a_500_when_uploaded(app, client, auth):
    """Every real-world file either imports or is refused with a message; the page never fails."""
    from pathlib import Path

    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    corpus = Path(__file__).resolve().parent / "data" / "ical-corpus"
    for path in sorted(corpus.rglob("*.ics")):
        response = client.post("/agenda/calendriers", data={"label": path.name, "file": (io.BytesIO(path.read_bytes()), path.name)},
                               content_type="multipart/form-data")
        assert response.status_code in (302, 422), path.name
        if response.status_code == 302:
            assert "Calendrier importé" in client.get("/agenda").get_data(as_text=True), path.name
        else:  # refused: the page again, with the reason
            assert 'class="flash flash-error"' in response.get_data(as_text=True), path.name
