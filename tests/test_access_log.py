"""Feed secrets never reach a log: gunicorn's access log (any format) and the development server's
request lines show /calendars/***.ics instead of the token."""

from __future__ import annotations

import logging
import signal
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

from booking.extensions import db
from booking.logmask import mask
from booking.services import feeds

from . import factories as f
from .servers import gunicorn

TOKEN = "cal_q3Zk9xV-2b_Lw8RtYp0sNcUe4HjMfA7d"


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET /calendars/{TOKEN}.ics HTTP/1.1" 200 812 "-" "Outlook"',
        f'"GET /calendars/{TOKEN}.ics?x=1 HTTP/1.1" 304 0',
        f'"GET /calendars/{TOKEN} HTTP/1.1" 404 0',  # without its suffix, still a secret
        f'"GET /calendars/{TOKEN.replace("_", "%5F")}.ics HTTP/1.1" 200 1',
        f'"GET /%63alendars/{TOKEN}.ics HTTP/1.1" 200 1',
        f'"GET /planning HTTP/1.1" 200 1 "https://planner.example/calendars/{TOKEN}.ics"',
        f'"GET /x?feed={TOKEN} HTTP/1.1" 404 1',
        f'"GET /CALENDARS/{TOKEN}.ICS HTTP/1.1" 404 1',
    ],
)
def test_a_feed_token_is_masked_in_any_log_line(line):
    masked = mask(line)
    assert TOKEN not in masked and TOKEN[4:] not in masked and "***" in masked


def test_other_lines_are_left_as_they_are():
    line = '127.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET /agenda?semaine=2026-W49 HTTP/1.1" 200 5120 "-" "Firefox"'
    assert mask(line) == line
    assert mask('"GET /calendars/x.ics HTTP/1.1" 404') == '"GET /calendars/***.ics HTTP/1.1" 404'


def _feed(app) -> str:
    consultant = f.consultant()
    db.session.commit()
    return feeds.issue(None, consultant)


def _get(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _requests(base: str, raw: str) -> list[int]:
    """The feed as pollers ask for it: plain, conditional, percent-encoded, mistyped, as a Referer."""
    return [
        _get(f"{base}/calendars/{raw}.ics"),
        _get(f"{base}/calendars/{raw}.ics", {"If-None-Match": "*"}),
        _get(f"{base}/calendars/{urllib.parse.quote(raw, safe='')}.ics".replace("_", "%5F")),
        _get(f"{base}/calendars/{raw}x.ics"),
        _get(f"{base}/healthz", {"Referer": f"{base}/calendars/{raw}.ics"}),
    ]


@pytest.mark.parametrize(
    "log_format",
    [
        None,  # gunicorn's default (combined) format
        '%(h)s "%(r)s" %(s)s U=%(U)s q=%(q)s referer="%(f)s" %({referer}i)s',
    ],
    ids=["default-format", "custom-format"],
)
def test_gunicorn_access_log_never_contains_a_feed_token(app, tmp_path, log_format):
    raw = _feed(app)
    access, output = tmp_path / "access.log", tmp_path / "gunicorn.log"
    args = f"--access-logfile {access}" + (f" --access-logformat '{log_format}'" if log_format else "")
    process, base = gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], output, workers=1, GUNICORN_CMD_ARGS=args)
    try:
        assert _requests(base, raw) == [200, 304, 200, 404, 200]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    logged = access.read_text()
    lines = logged.splitlines()[-5:]  # those before are the start-up's health checks
    assert all("/calendars/***.ics" in line for line in lines), logged  # masked, not dropped
    assert raw[4:] not in logged and raw[4:] not in output.read_text()


def test_the_development_server_log_never_contains_a_feed_token(app, caplog):
    raw = _feed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            assert _requests(f"http://127.0.0.1:{server.server_port}", raw) == [200, 304, 200, 404, 200]
    finally:
        server.shutdown()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert sum("/calendars/***.ics" in line for line in lines) == 4, lines  # the Referer is not in its line
    assert not any(raw[4:] in line for line in lines)


def test_a_child_logger_is_masked_by_its_parent_handlers():
    """booking.inputs and other booking.* loggers propagate to the app's handlers: the filter is there too
    (a logger's own filters never see its children's records)."""
    import io

    from booking import logmask

    parent, stream = logging.getLogger("masked-parent"), io.StringIO()
    parent.addHandler(logging.StreamHandler(stream))
    logmask.install(parent)
    logging.getLogger("masked-parent.inputs").warning("refused %s", "/calendars/cal_SECRETSECRETSECRET42.ics")
    assert "SECRETSECRET" not in stream.getvalue() and "/calendars/***.ics" in stream.getvalue()
