"""Small HTTP servers on loopback for the fetch tests: each request handled by a plain function."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A threading HTTP server on 127.0.0.1; `requests` lists (path, Host header) as they arrive."""

    def __init__(self, handle: Handler):
        self.requests: list[tuple[str, str]] = []
        self.started = threading.Event()  # set when the first request arrives
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Host")))
                server.started.set()
                try:
                    handle(self)
                except OSError:  # the client hung up (a deadline, a cap): nothing to do
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(handle: Handler) -> Iterator[Server]:
    server = Server(handle)
    try:
        yield server
    finally:
        server.close()


def send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", reason: str | None = None, **headers: str
) -> None:
    """A complete answer with a Content-Length (header names with _ for -)."""
    handler.send_response(status, reason)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def drip(handler: BaseHTTPRequestHandler, every: float = 1.0, limit: int = 120, headers: bool = True) -> None:
    """A server that sends one byte per `every` seconds (after the headers, or instead of them)."""
    if headers:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/calendar")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.flush()
    for _ in range(limit):
        handler.wfile.write(b"H" if not headers else b"B")
        handler.wfile.flush()
        time.sleep(every)
