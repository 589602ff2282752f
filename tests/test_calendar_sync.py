"""External calendars: files and URLs (served on loopback), conditional GET, isolation of failures,
busy time that availability respects, conflicts for planners, the command line."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from sqlalchemy import delete, func, select, update

from booking.extensions import db
from booking.models import ExternalBusy, ExternalCalendar
from booking.models.types import utcnow
from booking.services import availability, calendar_sync
from booking.services.errors import Invalid
from calendars.importer import CalendarImportError
from calendars.worktime import PARIS

from . import factories as f
from .dates import working_days
from .loopback import drip, serving

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def ics(*spans: tuple[str, str]) -> bytes:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=Europe/Paris:{a}\r\n"
        f"DTEND;TZID=Europe/Paris:{b}\r\nSUMMARY:Dentiste\r\nEND:VEVENT\r\n"
        for n, (a, b) in enumerate(spans)
    )
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
def loopback_allowed(request):
    """The test servers listen on loopback, which production refuses."""
    app = request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")
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
    starts = {
        s.start.astimezone(PARIS).strftime("%H:%M") for s in availability.slots("erplib", company, start, end, NOW)
    }
    assert "09:00" in starts and "09:30" not in starts and "10:00" not in starts and "11:00" in starts
    assert [(b.id, busy.calendar.label) for b, busy in calendar_sync.conflicts(NOW)] == [(booking.id, "Perso")]


def test_a_broken_file_changes_nothing(app):
    consultant = f.consultant()
    db.session.commit()
    calendar, _ = calendar_sync.add(None, consultant, "Perso", NOW, data=DENTIST)
    with pytest.raises(CalendarImportError, match="incomplet"):
        calendar_sync.reimport(calendar, NOW, b"BEGIN:VCALENDAR\r\nBROKEN LINE\r\n")
    assert busy_count() == 1
    assert "Fichier incomplet" in db.session.get(ExternalCalendar, calendar.id).error
    with pytest.raises(Invalid, match="pas un calendrier iCalendar"):
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
    assert (
        db.session.scalar(select(func.count()).select_from(ExternalBusy).where(ExternalBusy.calendar_id == bad.id)) == 1
    )
    assert (
        db.session.scalar(select(func.count()).select_from(ExternalBusy).where(ExternalBusy.calendar_id == good.id))
        == 2
    )
    gone.server.shutdown()


def test_command_line_import_and_feed_url(app, runner, tmp_path, served):
    consultant = f.consultant()
    db.session.commit()
    path = tmp_path / "perso.ics"
    first, second = (f"{day:%Y%m%d}" for day in working_days(2))  # the command line reads the real clock
    path.write_bytes(ics((f"{first}T100000", f"{first}T110000"), (f"{second}T100000", f"{second}T110000")))
    result = runner.invoke(args=["calendars", "import", consultant.user.email, str(path)])
    assert result.exit_code == 0 and "2 plages occupées" in result.output
    path.write_bytes(b"not a calendar")
    result = runner.invoke(args=["calendars", "import", consultant.user.email, str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "pas un calendrier" in result.output
    assert len(result.output.strip().splitlines()) == 1 and busy_count() == 2
    served.body = ics((f"{first}T140000", f"{first}T150000"))
    result = runner.invoke(args=["calendars", "import", consultant.user.email, served.url])
    assert result.exit_code == 0 and "3 plages occupées" in result.output
    result = runner.invoke(args=["calendars", "import", "nobody@x.example", str(path)])
    assert result.exit_code == 1 and "Aucun utilisateur" in result.output
    url = runner.invoke(args=["calendars", "feed-url", consultant.user.email]).output.strip()
    assert url.startswith("http://127.0.0.1:5000/calendars/cal_") and url.endswith(".ics")


def test_consultant_uploads_from_the_page_and_sees_a_clear_refusal(app, client, auth):
    consultant = f.consultant()
    db.session.commit()
    with time_machine.travel(NOW, tick=False):  # the page imports around its own now: the dentist's 3 December
        auth.login(consultant.user.email)
        page = client.post(
            "/agenda/calendriers",
            data={"label": "Perso", "file": (io.BytesIO(DENTIST), "perso.ics")},
            content_type="multipart/form-data",
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Calendrier importé : 1 plage occupée" in page
        page = client.post(
            "/agenda/calendriers",
            data={"label": "Cassé", "file": (io.BytesIO(b"nope"), "x.ics")},
            content_type="multipart/form-data",
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "pas un calendrier iCalendar" in page and busy_count() == 1
        shown = client.post("/agenda/flux", follow_redirects=True)
        assert "/calendars/cal_" in shown.get_data(as_text=True) and shown.headers["Cache-Control"] == "no-store"


def test_no_corpus_file_causes_a_500_when_uploaded(app, client, auth):
    """Every real-world file either imports or is refused with a message; the page never fails."""
    from pathlib import Path

    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    corpus = Path(__file__).resolve().parent / "data" / "ical-corpus"
    for path in sorted(corpus.rglob("*.ics")):
        response = client.post(
            "/agenda/calendriers",
            data={"label": path.name, "file": (io.BytesIO(path.read_bytes()), path.name)},
            content_type="multipart/form-data",
        )
        assert response.status_code in (302, 422), path.name
        if response.status_code == 302:
            assert "Calendrier importé" in client.get("/agenda").get_data(as_text=True), path.name
        else:  # refused: the page again, with the reason
            assert 'class="flash flash-error"' in response.get_data(as_text=True), path.name


def calendar_row(label: str) -> ExternalCalendar:
    db.session.rollback()  # see what the requests and the job committed
    return db.session.scalar(select(ExternalCalendar).where(ExternalCalendar.label == label))


def test_the_page_queues_a_url_and_answers_at_once_while_a_slow_server_is_read(app, client, auth):
    """Four dripping imports once held every gunicorn worker: now the page only records the URL."""
    app.config["CALENDAR_FETCH_SECONDS"] = 3
    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    with serving(lambda h: drip(h, every=1.0)) as slow:
        started = time.monotonic()
        response = client.post("/agenda/calendriers", data={"label": "Lent", "url": f"{slow.url}/cal.ics"})
        assert response.status_code == 302 and time.monotonic() - started < 2  # the server drips for 2 minutes
        assert slow.requests == []  # the request did not touch the URL
        assert calendar_row("Lent").status == "pending"
        page = client.get("/agenda")
        assert 'data-status="pending"' in page.get_data(as_text=True) and "import en attente" in page.get_data(
            as_text=True
        )
        assert page.headers["Refresh"] == "5"

        def job():
            with app.app_context():
                calendar_sync.import_queued(utcnow())

        worker = threading.Thread(target=job)
        worker.start()
        assert slow.started.wait(5)  # the job is reading the dripping server now
        started = time.monotonic()
        page = client.get("/agenda")
        assert time.monotonic() - started < 2 and "Import en cours" in page.get_data(as_text=True)
        worker.join(10)
        assert not worker.is_alive()
    calendar = calendar_row("Lent")
    assert calendar.status == "error" and calendar.error.startswith("Délai dépassé") and "3 s" in calendar.error
    page = client.get("/agenda")
    assert "Délai dépassé" in page.get_data(as_text=True) and "Refresh" not in page.headers


def test_the_job_imports_what_the_page_queued_and_the_page_shows_the_count(app, client, auth, served):
    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    page = client.post("/agenda/calendriers", data={"label": "Perso", "url": served.url}, follow_redirects=True)
    assert "import en attente" in page.get_data(as_text=True)
    assert calendar_sync.import_queued(NOW) == 1
    calendar = calendar_row("Perso")
    assert (calendar.status, calendar.busy_count, calendar.error, calendar.etag) == ("done", 1, "", calendar.etag)
    assert calendar.etag and busy_count() == 1
    row = client.get("/agenda").get_data(as_text=True)
    assert 'data-status="done"' in row and "Importé" in row
    # "Relire" queues it again (once); the job then asks with the validator and gets a 304
    assert "Nouvelle lecture demandée" in client.post(
        f"/agenda/calendriers/{calendar.id}/relire", follow_redirects=True
    ).get_data(as_text=True)
    assert "déjà en attente" in client.post(
        f"/agenda/calendriers/{calendar.id}/relire", follow_redirects=True
    ).get_data(as_text=True)
    assert calendar_sync.import_queued(NOW) == 1 and served.hits[-1] == calendar.etag
    assert calendar_row("Perso").status == "done" and busy_count() == 1


def test_the_import_job_claims_each_calendar_before_reading_it(any_app, served):
    consultant = f.consultant()
    db.session.commit()
    calendar = calendar_sync.queue(None, consultant, "Perso", served.url, NOW)
    assert calendar_sync.import_queued(NOW) == 1 and calendar_sync.import_queued(NOW) == 0
    assert len(served.hits) == 1 and busy_count() == 1
    # another scheduler is reading it (claimed a minute ago): left alone
    db.session.execute(update(ExternalCalendar).values(status="importing", started_at=NOW - timedelta(minutes=1)))
    db.session.commit()
    assert calendar_sync.import_queued(NOW) == 0 and len(served.hits) == 1
    # a scheduler died mid-import long ago: its claim is stale, the next run takes it over
    db.session.execute(update(ExternalCalendar).values(started_at=NOW - timedelta(minutes=10)))
    db.session.commit()
    assert calendar_sync.import_queued(NOW) == 1 and len(served.hits) == 2
    assert db.session.get(ExternalCalendar, calendar.id).status == "done"


def test_a_claim_lost_to_another_scheduler_or_a_removed_calendar_writes_nothing(any_app, served):
    consultant = f.consultant()
    db.session.commit()
    calendar = calendar_sync.queue(None, consultant, "Perso", served.url, NOW)
    assert calendar_sync._claim(calendar.id, NOW)
    db.session.execute(update(ExternalCalendar).values(started_at=NOW + timedelta(minutes=6)))  # taken over
    db.session.commit()
    assert not calendar_sync._import(calendar.id, NOW, NOW) and busy_count() == 0
    db.session.execute(delete(ExternalCalendar))
    db.session.commit()
    assert not calendar_sync._import(calendar.id, NOW, NOW) and busy_count() == 0


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.0.0.1/cal.ics", "réseau privé"),
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "métadonnées"),
        ("http://[::1]:8080/admin", "boucle locale"),
        ("file:///etc/passwd", "http:// ou https://"),
    ],
)
def test_the_page_refuses_an_internal_literal_address_at_once(app, client, auth, url, reason):
    app.config["CALENDAR_FETCH_ALLOW_LOOPBACK"] = False
    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    response = client.post("/agenda/calendriers", data={"label": "Interne", "url": url})
    assert response.status_code == 422 and reason in response.get_data(as_text=True)
    assert calendar_row("Interne") is None


def test_a_host_name_of_this_machine_is_refused_by_the_job_without_a_request(app, served):
    """localhost resolves to loopback: refused after resolution, the test server never hears of it."""
    app.config["CALENDAR_FETCH_ALLOW_LOOPBACK"] = False
    consultant = f.consultant()
    db.session.commit()
    calendar = calendar_sync.queue(None, consultant, "Local", served.url.replace("127.0.0.1", "localhost"), NOW)
    assert calendar.status == "pending"  # a name is resolved by the job, not in the request
    assert calendar_sync.import_queued(NOW) == 0
    stored = db.session.get(ExternalCalendar, calendar.id)
    assert stored.status == "error" and "boucle locale" in stored.error and served.hits == []


def test_the_page_takes_a_webcal_address_and_says_so(app, client, auth):
    consultant = f.consultant()
    db.session.commit()
    auth.login(consultant.user.email)
    assert "webcal://" in client.get("/agenda").get_data(as_text=True)  # the form's hint
    url = "webcal://p42-caldav.icloud.example.com/published/2/secret"
    response = client.post("/agenda/calendriers", data={"label": "iCloud", "url": url})
    assert response.status_code == 302 and calendar_row("iCloud").status == "pending"
    response = client.post("/agenda/calendriers", data={"label": "Interne", "url": "webcal://10.0.0.1/cal.ics"})
    assert response.status_code == 422 and "réseau privé" in response.get_data(as_text=True)


def test_removing_a_calendar_asks_once_more_and_says_its_hours_become_bookable(app, client, auth):
    consultant = f.consultant()
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(consultant.user.email)
        client.post(
            "/agenda/calendriers",
            data={"label": "Perso", "file": (io.BytesIO(DENTIST), "perso.ics")},
            content_type="multipart/form-data",
        )
        calendar = calendar_row("Perso")
        asked = client.post(f"/agenda/calendriers/{calendar.id}/supprimer")
        text = asked.get_data(as_text=True)
        assert asked.status_code == 200 and "ne bloquera plus" in text and 'name="confirmed" value="1"' in text
        assert calendar_row("Perso") is not None and busy_count() == 1  # nothing removed yet
        done = client.post(f"/agenda/calendriers/{calendar.id}/supprimer", data={"confirmed": "1"})
        assert done.status_code == 302 and calendar_row("Perso") is None and busy_count() == 0
