"""A real webhook receiver for the tests: an HTTP server on a fixed loopback port that verifies each
delivery's signature as the API documentation tells receivers to (its own HMAC code, not the
service's), answers 200 to a valid one and 401 otherwise, and can be stopped and started again."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from booking.pgcluster import free_port


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The documented check: t= recent, and one v1= equal to HMAC-SHA256(secret, "<t>." + body)."""
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in pairs if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(expected, value) for key, value in pairs)


class Receiver:
    """`events` lists the verified bodies as received (parsed); `refused` counts bad signatures."""

    def __init__(self, secret: str = "", status: int = 200, delay: float = 0):
        self.secret, self.status, self.delay, self.port = secret, status, delay, free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.events: list[dict] = []
        self.raw: list[tuple[dict, bytes]] = []  # headers and body of each verified delivery
        self.refused = 0
        self.httpd = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)  # a slow receiver: the sender's deadline must cut it
                ok = verify(receiver.secret, self.headers.get("ERPLib-Signature", ""), body)
                if ok:
                    receiver.events.append(json.loads(body))
                    receiver.raw.append((dict(self.headers), body))
                else:
                    receiver.refused += 1
                status = receiver.status if ok else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Gone: the port refuses connections until `start`."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def ids(self) -> list[str]:
        return [event["id"] for event in self.events]
