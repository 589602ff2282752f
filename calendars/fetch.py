"""Fetch a calendar URL (and POST a webhook, `post`) safely: public addresses only, one total deadline, a size cap.

The host is resolved once, every address is checked (no loopback, private, link-local, CGNAT,
multicast, reserved or cloud-metadata address), and the connection goes to the address that was
checked, so a second DNS answer cannot slip an internal address in (DNS rebinding). Each redirect
is checked the same way. Every failure is a `Note`: a stable code and its parameters (the host, the HTTP
status, the limit in bytes, seconds or redirects), never what the server sent; the booking layer says it in the
reader's language (importer.MESSAGES), and its French `str` serves logs and the command line.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

from .importer import MAX_BYTES, CalendarImportError, Note

USER_AGENT = "ERP-Lib-Planner/1 (calendar import)"
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
Connector = Callable[[tuple[str, int], float], socket.socket]

# Named first so that the refusal says which kind of address it is.
METADATA = {
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.253",  # AWS, GCP, Azure, OpenStack; ECS tasks; AWS DNS
        "fd00:ec2::254",
        "fd00:ec2::253",
        "100.100.100.200",
        "192.0.0.192",
    )
}  # AWS IPv6, Alibaba, Oracle
CGNAT = ipaddress.ip_network("100.64.0.0/10")
ULA = ipaddress.ip_network("fc00::/7")
# Python's is_private / is_global miss some special-purpose ranges in 3.11: listed here as well.
SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fec0::/10",
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(CalendarImportError):
    """The URL was not fetched; the message says why, without the server's words."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for host (IPv4 and IPv6)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def direct_connect(address: tuple[str, int], timeout: float) -> socket.socket:
    """A TCP connection to a numeric address, with no name lookup on the way."""
    family = socket.AF_INET6 if ipaddress.ip_address(address[0]).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class Policy:
    """What a fetch may do; the defaults are production's, tests loosen them explicitly."""

    allow_loopback: bool = False  # only for test servers on this machine
    deadline: float = 15.0  # seconds for everything: connections, redirects, headers and body
    max_bytes: int = MAX_BYTES
    max_redirects: int = 3
    resolve: Resolver = system_resolver
    connect: Connector = direct_connect


@dataclass(frozen=True)
class Fetched:
    """A 200 with its body and validators, or a 304 (body None)."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4): it is the one reached."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour:
            return ip.sixtofour
    return ip


def refusal(address: str, allow_loopback: bool = False) -> str | None:
    """Why an address may not be fetched from (a kind of importer.ADDRESS_KINDS), or None for a public address."""
    ip = _embedded_ipv4(ipaddress.ip_address(address.split("%", 1)[0]))
    if ip in METADATA:
        return "metadata"
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip in CGNAT:
        return "cgnat"
    if ip in ULA:
        return "ula"
    if any(ip in network for network in SPECIAL):
        return "reserved"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


@dataclass(frozen=True)
class _Target:
    tls: bool
    host: str
    port: int
    path: str


def _target(url: str) -> _Target:
    """The parts of an http(s) URL, or a FetchError saying what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchError(Note("url_malformed")) from None
    scheme = {"webcal": "https"}.get(parts.scheme, parts.scheme)  # calendar apps' links to the same https URL
    if scheme not in ("http", "https"):
        raise FetchError(Note("url_scheme"))
    if not parts.hostname:
        raise FetchError(Note("url_no_host"))
    if parts.username is not None:
        raise FetchError(Note("url_credentials"))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme == "https", parts.hostname, port or (443 if scheme == "https" else 80), path)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def check_url(url: str, allow_loopback: bool = False) -> None:
    """The checks that need no network: scheme, host, and a literal address (refused at once)."""
    target = _target(url)
    if _literal(target.host) and (reason := refusal(target.host, allow_loopback)):
        raise FetchError(Note("address_refused", detail=target.host, component=reason))


# Name resolution has no timeout of its own: it runs here, and the fetch waits for it only as long as its
# deadline allows (a slow authoritative server cannot hold an import past it).
_RESOLVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="resolve")


def _addresses(target: _Target, policy: Policy, redirected: bool, clock: _Clock) -> list[str]:
    """The checked addresses of the host: all must be public, or the URL is refused."""
    if _literal(target.host):
        found = [target.host]
    else:
        try:
            found = _RESOLVERS.submit(policy.resolve, target.host, target.port).result(timeout=clock.remaining())
        except FutureTimeout:
            raise TimeoutError from None
        except (OSError, UnicodeError):
            raise FetchError(Note("dns_unknown", detail=target.host)) from None
    if not found:
        raise FetchError(Note("dns_empty", detail=target.host))
    for address in found:
        # One private answer is enough: a name that mixes them is either misconfigured or an attack.
        if reason := refusal(address, policy.allow_loopback):
            code = "redirect_refused" if redirected else "host_refused"
            raise FetchError(Note(code, detail=target.host, component=reason))
    return found


class _Clock:
    """One deadline for the whole fetch; every blocking socket call gets the time that remains."""

    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _Reader(io.RawIOBase):
    """The socket as a file for http.client, each read bounded by the deadline (a server that
    drips one byte a second cannot stretch the fetch past it)."""

    def __init__(self, owner: _BoundedSocket):
        self.owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.owner.sock.settimeout(self.owner.clock.remaining())
        return self.owner.sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self.owner.release()
        super().close()


class _BoundedSocket:
    """What http.client needs of a socket (sendall, makefile, close), under the deadline; like a
    real socket, it stays open until its response's file is closed too."""

    def __init__(self, sock: socket.socket, clock: _Clock):
        self.sock, self.clock, self.users = sock, clock, 1

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.clock.remaining())
        self.sock.sendall(data)

    def makefile(self, mode: str, *args, **kwargs):
        self.users += 1
        return io.BufferedReader(_Reader(self))

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.sock.close()

    def close(self) -> None:
        self.release()


class _Connection(http.client.HTTPConnection):
    """http.client speaking to the checked address (Host and TLS name stay the URL's host)."""

    def __init__(self, target: _Target, addresses: list[str], clock: _Clock, policy: Policy):
        super().__init__(target.host, target.port)
        self.target, self.addresses, self.clock, self.policy = target, addresses, clock, policy

    def connect(self) -> None:
        error: OSError | None = None
        for address in self.addresses:
            try:
                sock = self.policy.connect((address, self.port), self.clock.remaining())
                break
            except TimeoutError:
                raise
            except OSError as exc:
                error = exc
        else:
            raise error or OSError("no address")
        if self.target.tls:
            sock.settimeout(self.clock.remaining())  # the whole handshake is bounded by one timeout
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.target.host)
        self.sock = _BoundedSocket(sock, self.clock)


def _body(response: http.client.HTTPResponse, policy: Policy) -> bytes:
    """The body up to the cap: a longer one is cut and refused."""
    declared = response.getheader("Content-Length")
    too_big = FetchError(Note("download_too_big", count=policy.max_bytes))
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_big
    chunks, total = [], 0
    while chunk := response.read(min(CHUNK, policy.max_bytes + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > policy.max_bytes:
            raise too_big
    return b"".join(chunks)


# What a status asks of the person who gave the address (the code says it; the sentence is importer.MESSAGES').
STATUS_CODES = {401: "http_not_public", 403: "http_not_public", 410: "http_gone"}


def _status_error(status: int) -> FetchError:
    """The status in standard words (its standard phrase, never the server's own reason phrase)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    code = STATUS_CODES.get(status, "http_retry" if status >= 500 else "http_address")
    return FetchError(Note(code, detail=phrase, count=status))  # no phrase: importer.UNKNOWN_STATUS


def _headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _exchange(
    method: str,
    url: str,
    headers: dict[str, str],
    data: bytes | None,
    clock: _Clock,
    policy: Policy,
    redirected: bool,
    read: Callable[[http.client.HTTPResponse], object],
):
    """One request to the checked addresses of the URL's host; `read` turns the response into the result
    while the connection is open (and bounds what it reads)."""
    target = _target(url)
    connection = _Connection(target, _addresses(target, policy, redirected, clock), clock, policy)
    try:
        connection.request(method, target.path, body=data, headers=headers)
        with connection.getresponse() as response:
            return read(response)
    finally:
        connection.close()


# The codes of a network failure, for a calendar read and for a webhook's POST (whose sentences name a receiver).
FAILURES = {
    "fetch": {"timeout": "timeout", "refused": "connection_refused", "failed": "connection_failed"},
    "post": {"timeout": "receiver_timeout", "refused": "receiver_refused", "failed": "receiver_failed"},
}


@contextmanager
def _failures(host: Callable[[], str], deadline: float, kind: str) -> Iterator[None]:
    """Network failures as FetchError, with codes that name the host but never repeat what it sent."""
    codes = FAILURES[kind]
    try:
        yield
    except TimeoutError:
        raise FetchError(Note(codes["timeout"], detail=host(), count=_seconds(deadline))) from None
    except ssl.SSLError:
        raise FetchError(Note("tls_failed", detail=host())) from None
    except ConnectionRefusedError:
        raise FetchError(Note(codes["refused"], detail=host())) from None
    except (http.client.HTTPException, OSError):
        raise FetchError(Note(codes["failed"], detail=host())) from None


def _seconds(deadline: float) -> int | float:
    """A deadline as said: whole seconds as an integer (15, not 15.0)."""
    return int(deadline) if float(deadline).is_integer() else deadline


def _calendar(policy: Policy) -> Callable[[http.client.HTTPResponse], tuple[str | None, Fetched | None]]:
    def read(response: http.client.HTTPResponse) -> tuple[str | None, Fetched | None]:
        """(the Location, None) on a redirect, else (None, the result)."""
        if response.status in REDIRECTS and response.getheader("Location"):
            return response.getheader("Location"), None
        if response.status == 304:
            return None, Fetched(None)
        if response.status != 200:
            raise _status_error(response.status)
        body = _body(response, policy)
        return None, Fetched(body, response.getheader("ETag"), response.getheader("Last-Modified"))

    return read


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None, policy: Policy = Policy()) -> Fetched:
    """GET a calendar URL (conditionally when validators are given) under `policy`; raises FetchError."""
    clock, headers = _Clock(policy.deadline), _headers(etag, last_modified)
    current = [url]
    with _failures(lambda: _target(current[0]).host, policy.deadline, "fetch"):
        _target(url)
        for hop in range(policy.max_redirects + 1):
            location, result = _exchange("GET", current[0], headers, None, clock, policy, hop > 0, _calendar(policy))
            if result is not None:
                return result
            current[0] = urljoin(current[0], location)
            _target(current[0])
    raise FetchError(Note("too_many_redirects", count=policy.max_redirects))


def post(url: str, data: bytes, headers: dict[str, str], *, policy: Policy = Policy(), read_limit: int = 4096) -> int:
    """POST `data` once under `policy` (same address checks and deadline as `fetch`); returns the status.
    Redirects are not followed (a POST is not repeated elsewhere): the 3xx is returned. At most
    `read_limit` bytes of the answer are read, then the connection is closed."""
    clock = _Clock(policy.deadline)

    def read(response: http.client.HTTPResponse) -> int:
        response.read(read_limit)
        return response.status

    with _failures(lambda: _target(url).host, policy.deadline, "post"):
        return _exchange("POST", url, headers, data, clock, policy, False, read)
