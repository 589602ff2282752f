"""The calendar fetcher (calendars/fetch.py): internal addresses refused at the address check, before
any connection; a total deadline; a size cap; errors that never repeat the server's words.
Traffic goes to loopback test servers only; other addresses are refused before connecting."""

from __future__ import annotations

import socket
import time

import pytest

from calendars import fetch
from calendars.fetch import FetchError, Policy

from .loopback import drip, send, serving

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n"
FRENCH_REFUSAL = "seuls les serveurs publics d'Internet sont acceptés"


class Connections:
    """A connector that records every address connected to (and connects only to loopback)."""

    def __init__(self):
        self.made: list[tuple[str, int]] = []

    def __call__(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.made.append(address)
        assert address[0] in ("127.0.0.1", "::1"), f"connection attempted to {address}"
        return fetch.direct_connect(address, timeout)


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should not have been resolved")


def stub(**answers: list[str]):
    """A resolver that answers from a table (host names with _ for . and -)."""
    table = {name.replace("_", "."): addresses for name, addresses in answers.items()}
    calls = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    resolve.calls = calls
    return resolve


def test_a_literal_loopback_address_is_refused_when_loopback_is_not_allowed():
    connections = Connections()
    with serving(lambda h: send(h, 200, ICS)) as server:
        with pytest.raises(FetchError, match="boucle locale") as refused:
            fetch.fetch(f"{server.url}/cal.ics", policy=Policy(resolve=no_resolver, connect=connections))
        assert server.requests == [] and connections.made == []
    assert FRENCH_REFUSAL in str(refused.value)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.0.0.1/cal.ics", "réseau privé"),
        ("http://192.168.1.1/cal.ics", "réseau privé"),
        ("http://172.16.5.4:8080/cal.ics", "réseau privé"),
        ("http://169.254.169.254/latest/meta-data/", "métadonnées"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "métadonnées"),
        ("http://100.100.100.200/latest/meta-data/", "métadonnées"),
        ("http://169.254.10.1/", "lien-local"),
        ("http://[::1]/cal.ics", "boucle locale"),
        ("http://[::ffff:127.0.0.1]/cal.ics", "boucle locale"),
        ("http://[fe80::1]/cal.ics", "lien-local"),
        ("http://[fd12:3456::1]/cal.ics", "locale unique"),
        ("http://100.64.0.1/cal.ics", "CGNAT"),
        ("http://224.0.0.1/cal.ics", "multidiffusion"),
        ("http://0.0.0.0/cal.ics", "réservée"),
        ("http://240.0.0.1/cal.ics", "réservée"),
    ],
)
def test_internal_literal_addresses_are_refused_before_any_connection(url, reason):
    connections = Connections()
    with pytest.raises(FetchError, match=reason) as refused:
        fetch.fetch(url, policy=Policy(allow_loopback=False, resolve=no_resolver, connect=connections))
    assert connections.made == [] and str(refused.value).startswith("Adresse refusée")
    with pytest.raises(FetchError, match=reason):  # the page's instant check says the same
        fetch.check_url(url)


@pytest.mark.parametrize(
    "addresses, reason",
    [
        (["10.1.2.3"], "réseau privé"),
        (["169.254.169.254"], "métadonnées"),
        (["93.184.216.34", "192.168.0.10"], "réseau privé"),  # one internal answer is enough
        (["fe80::1"], "lien-local"),
        (["127.0.0.1"], "boucle locale"),
    ],
)
def test_a_host_name_resolving_to_an_internal_address_is_refused(addresses, reason):
    connections, resolve = Connections(), stub(intranet_example_com=addresses)
    with pytest.raises(FetchError, match=reason) as refused:
        fetch.fetch("https://intranet.example.com/cal.ics", policy=Policy(resolve=resolve, connect=connections))
    assert connections.made == [] and resolve.calls == ["intranet.example.com"]
    assert "« intranet.example.com »" in str(refused.value) and FRENCH_REFUSAL in str(refused.value)


def test_public_addresses_pass_the_check():
    assert fetch.refusal("93.184.216.34") is None and fetch.refusal("2606:4700::1111") is None
    assert fetch.refusal("127.0.0.1", allow_loopback=True) is None
    assert fetch.refusal("10.0.0.1", allow_loopback=True) == "private"


@pytest.mark.parametrize(
    "target, reason",
    [
        ("http://10.0.0.1/cal.ics", "réseau privé"),
        ("http://169.254.169.254/latest/meta-data/", "métadonnées"),
        ("http://[fe80::1]/", "lien-local"),
        ("http://internal.example/cal.ics", "réseau privé"),
    ],
)
def test_a_redirect_to_an_internal_address_is_refused(target, reason):
    connections = Connections()
    resolve = stub(internal_example=["192.168.1.1"])
    with serving(lambda h: send(h, 302, Location=target)) as server:
        with pytest.raises(FetchError, match=reason) as refused:
            fetch.fetch(
                f"{server.url}/cal.ics", policy=Policy(allow_loopback=True, resolve=resolve, connect=connections)
            )
    assert str(refused.value).startswith("Redirection refusée")
    assert connections.made == [("127.0.0.1", server.port)]  # the allowed server only


def test_redirects_are_followed_up_to_the_cap():
    def handle(h):
        hop = int(h.path.rsplit("/", 1)[-1])
        send(h, 200, ICS) if hop == 3 else send(h, 301, Location=f"/hop/{hop + 1}")

    with serving(handle) as server:
        assert fetch.fetch(f"{server.url}/hop/0", policy=Policy(allow_loopback=True)).body == ICS
        with pytest.raises(FetchError, match="Trop de redirections : plus de 2"):
            fetch.fetch(f"{server.url}/hop/0", policy=Policy(allow_loopback=True, max_redirects=2))
        assert [path for path, _ in server.requests] == [
            "/hop/0",
            "/hop/1",
            "/hop/2",
            "/hop/3",
            "/hop/0",
            "/hop/1",
            "/hop/2",
        ]


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """Resolved once, then connected to by address: no second lookup that could answer otherwise."""
    resolve = stub(calendar_example=["127.0.0.1"])
    with serving(lambda h: send(h, 200, ICS, ETag='"v1"')) as server:

        def second_lookup(*args, **kwargs):
            raise AssertionError("resolved a second time")

        monkeypatch.setattr(socket, "getaddrinfo", second_lookup)
        fetched = fetch.fetch(
            f"http://calendar.example:{server.port}/cal.ics", policy=Policy(allow_loopback=True, resolve=resolve)
        )
    assert fetched.body == ICS and fetched.etag == '"v1"'
    assert resolve.calls == ["calendar.example"] and server.requests == [
        ("/cal.ics", f"calendar.example:{server.port}")
    ]


@pytest.mark.parametrize("headers", [True, False], ids=["dripping-body", "dripping-status-line"])
def test_a_server_dripping_one_byte_per_second_is_cut_at_the_deadline(headers):
    with serving(lambda h: drip(h, every=1.0, headers=headers)) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="Délai dépassé") as cut:
            fetch.fetch(f"{server.url}/cal.ics", policy=Policy(allow_loopback=True, deadline=2.5))
        elapsed = time.monotonic() - started
    assert 2.4 < elapsed < 4, elapsed  # the whole answer, not each read, is bounded
    assert "2,5 s" in str(cut.value) and "127.0.0.1" in str(cut.value)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "close-delimited"])
def test_an_oversized_body_is_cut_at_the_cap(declared):
    sent = []

    def handle(h):
        h.send_response(200)
        h.send_header("Content-Length", "50000") if declared else h.send_header("Connection", "close")
        h.end_headers()
        for _ in range(50):
            h.wfile.write(b"x" * 1000)
            sent.append(1000)

    with serving(handle) as server:
        with pytest.raises(FetchError, match="trop volumineux : plus de 4 Kio"):
            fetch.fetch(f"{server.url}/big.ics", policy=Policy(allow_loopback=True, max_bytes=4096))
        assert (
            fetch.fetch(f"{server.url}/big.ics", policy=Policy(allow_loopback=True, max_bytes=50000)).body
            == b"x" * 50000
        )


def test_an_error_names_the_status_without_echoing_the_server():
    def handle(h):
        send(h, 500, b"root:x:0:0:root:/root:/bin/bash\nadmin-panel secret", reason="Internal admin-panel v2")

    with serving(handle) as server:
        with pytest.raises(FetchError) as failed:
            fetch.fetch(f"{server.url}/cal.ics", policy=Policy(allow_loopback=True))
    message = str(failed.value)
    assert message == "Le serveur du calendrier a répondu 500 (Internal Server Error) : réessayez plus tard."
    assert "root" not in message and "admin" not in message


def test_conditional_get_answers_none_on_304():
    def handle(h):
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304)
        else:
            send(h, 200, ICS, ETag='"v1"', Last_Modified="Tue, 01 Dec 2026 08:00:00 GMT")

    with serving(handle) as server:
        first = fetch.fetch(f"{server.url}/cal.ics", policy=Policy(allow_loopback=True))
        assert (first.etag, first.last_modified) == ('"v1"', "Tue, 01 Dec 2026 08:00:00 GMT")
        assert fetch.fetch(f"{server.url}/cal.ics", etag='"v1"', policy=Policy(allow_loopback=True)).body is None


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "http:// ou https://"),
        ("ftp://example.com/cal.ics", "http:// ou https://"),
        ("gopher://example.com:70/", "http:// ou https://"),
        ("http:///cal.ics", "nom du serveur manque"),
        ("http://example.com:99999/", "port"),
        ("https://user:password@example.com/cal.ics", "identifiants"),
    ],
)
def test_only_http_and_https_urls_are_fetched(url, reason):
    with pytest.raises(FetchError, match=reason):
        fetch.fetch(url, policy=Policy(resolve=no_resolver, connect=Connections()))


def test_an_unknown_host_and_a_closed_port_are_named():
    def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError, match="Serveur introuvable : le nom « nowhere.example »"):
        fetch.fetch("http://nowhere.example/cal.ics", policy=Policy(resolve=unknown))
    with serving(lambda h: None) as server:
        port = server.port
    with pytest.raises(FetchError, match="refuse la connexion"):
        fetch.fetch(f"http://127.0.0.1:{port}/cal.ics", policy=Policy(allow_loopback=True))


def test_a_name_that_takes_long_to_resolve_is_cut_at_the_deadline():
    """The resolver has no timeout of its own: the fetch stops waiting for it at its deadline."""

    def slow(host: str, port: int) -> list[str]:
        time.sleep(5)
        return ["93.184.216.34"]

    started = time.monotonic()
    with pytest.raises(FetchError, match="Délai dépassé"):
        fetch.fetch("http://slow.example.com/cal.ics", policy=Policy(deadline=0.5, resolve=slow))
    assert time.monotonic() - started < 2


def test_a_webcal_address_is_fetched_as_https_with_the_same_checks():
    """Google, iCloud and Outlook give out webcal:// links: the same calendar over https."""
    made = []

    def refuse(address: tuple[str, int], timeout: float) -> socket.socket:
        made.append(address)
        raise ConnectionRefusedError

    public = stub(calendar_example_com=["93.184.216.34"])
    with pytest.raises(FetchError, match="refuse la connexion"):
        fetch.fetch("webcal://calendar.example.com/published/x.ics", policy=Policy(resolve=public, connect=refuse))
    assert made == [("93.184.216.34", 443)]
    fetch.check_url("WEBCAL://calendar.example.com/x.ics")
    with pytest.raises(FetchError, match=FRENCH_REFUSAL):
        fetch.check_url("webcal://10.0.0.1/x.ics")
    private = stub(intranet_example_com=["192.168.1.20"])
    with pytest.raises(FetchError, match=FRENCH_REFUSAL):
        fetch.fetch("webcal://intranet.example.com/x.ics", policy=Policy(resolve=private, connect=refuse))
    assert len(made) == 1
