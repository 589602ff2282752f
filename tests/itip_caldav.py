"""What a calendar client does with the invitations it receives, against a real CalDAV server (Radicale):
REQUEST puts the event under its UID (unless the calendar already holds a later SEQUENCE), CANCEL deletes
it (RFC 5546 iTIP, RFC 4791 CalDAV; a stored calendar object carries no METHOD). Plain HTTP, one calendar
per mailbox."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

from icalendar import Calendar

from booking.pgcluster import free_port

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
QUERY = (
    b'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b'<D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    b'<C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>'
)


def radicale(directory: Path) -> tuple[subprocess.Popen, str]:
    """A throwaway Radicale on a free loopback port, no authentication, storage in `directory`."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--storage-filesystem-folder",
            str(directory / "collections"),
        ],
        stdout=open(directory / "radicale.log", "w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError((directory / "radicale.log").read_text()) from None
            time.sleep(0.1)


def _http(method: str, url: str, body: bytes | None = None, **headers) -> tuple[int, bytes]:
    # Radicale lets a user write only under /<user>/ (its default rights): each request speaks as the owner
    owner = url.split("/")[3]
    headers["Authorization"] = "Basic " + base64.b64encode(f"{owner}:x".encode()).decode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Calendars:
    """Each mailbox's calendar on the CalDAV server: /<mailbox>/calendar/."""

    def __init__(self, base: str):
        self.base = base

    def url(self, mailbox: str) -> str:
        return f"{self.base}/{mailbox.replace('@', '_at_')}/calendar/"

    def _ensure(self, mailbox: str) -> str:
        url = self.url(mailbox)
        if _http("PROPFIND", url, Depth="0")[0] == 404:
            _http("MKCOL", url.rsplit("/", 2)[0] + "/")  # the principal's home (Radicale may have made it)
            status, text = _http("MKCALENDAR", url)
            assert status == 201, text
        return url

    def receive(self, mailbox: str, ics: bytes | str) -> None:
        """Process one iTIP message as a calendar client would."""
        calendar = Calendar.from_ical(ics)
        method = str(calendar.pop("METHOD"))
        event = next(iter(calendar.walk("VEVENT")))
        uid, sequence = str(event["UID"]), int(event.get("SEQUENCE", 0))
        url = self._ensure(mailbox) + f"{uid}.ics"
        status, stored = _http("GET", url)
        if status == 200 and int(next(iter(Calendar.from_ical(stored).walk("VEVENT"))).get("SEQUENCE", 0)) > sequence:
            return  # an older message arriving late changes nothing
        if method == "CANCEL":
            assert _http("DELETE", url)[0] in (200, 204, 404)
        else:
            assert method == "REQUEST", method
            status, text = _http("PUT", url, calendar.to_ical(), **{"Content-Type": "text/calendar"})
            assert status in (201, 204), text

    def uids(self, mailbox: str) -> set[str]:
        """The UIDs of the events this mailbox's calendar holds, found by a CalDAV calendar-query REPORT."""
        url = self._ensure(mailbox)
        status, text = _http("REPORT", url, QUERY, Depth="1", **{"Content-Type": "application/xml"})
        assert status == 207, text
        found = set()
        for data in ElementTree.fromstring(text).iter(f"{{{CALDAV}}}calendar-data"):
            found |= {str(e["UID"]) for e in Calendar.from_ical(data.text).walk("VEVENT")}
        return found
