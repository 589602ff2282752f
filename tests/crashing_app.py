"""The app in one process (werkzeug, as `flask run` serves it on SQLite) that dies by SIGKILL — as under
the OOM killer or a power cut: nothing cleans up — at a chosen point of a request:
CRASH_AT: at the first SQL statement matching this regular expression;
CRASH_AFTER_ANSWER: once the answer to a request for this path is ready, before it is sent.
Run by tests.servers.app_process: `python -m tests.crashing_app` with PORT and DATABASE_URL."""

from __future__ import annotations

import os
import re
import signal

from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from booking import create_app


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    app = create_app()
    if os.environ.get("CRASH_AT"):
        pattern = re.compile(os.environ["CRASH_AT"])

        @event.listens_for(Engine, "before_cursor_execute")
        def _crash_at(_conn, _cursor, statement, *_args):
            if pattern.search(statement):
                _die()

    if os.environ.get("CRASH_AFTER_ANSWER"):

        @app.after_request
        def _crash_after(response):
            if request.path == os.environ["CRASH_AFTER_ANSWER"]:
                _die()
            return response

    make_server("127.0.0.1", int(os.environ["PORT"]), app, threaded=False).serve_forever()


if __name__ == "__main__":
    main()
