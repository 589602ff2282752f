"""`make serve` under supervisord (booking/serve.py, booking/supervisord.conf), on a real PostgreSQL:
a scheduler or a gunicorn master killed with kill -9 is restarted, and the restart logged, while the
rest keeps serving; the rate limits count in the Redis it runs; SIGTERM or Ctrl-C stops every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from booking.pgcluster import free_port

from .servers import children, wait_for


def _command(pid: int) -> str:
    """Its command line; empty once it has ended (a process just killed may end between two reads of /proc)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:  # FileNotFoundError, or ProcessLookupError while it is being reaped
        return ""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _program(runner: subprocess.Popen, word: str, seconds: float = 60) -> int:
    """The pid of the supervised program whose command line holds `word`, once it runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [pid for pid in children(runner.pid) if _alive(pid) and word in _command(pid)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {word} under {runner.pid}")


@pytest.fixture
def serve(pg_cluster, tmp_path, request):
    """`python -m booking.serve` on a database of its own, in a session of its own like a terminal's;
    yields (runner, base URL, log, stop): SIGTERM to the runner unless the test sets `stop` otherwise."""
    name = f"serve_{request.node.name[-20:]}_{os.getpid()}"
    pg_cluster.create_database(name)
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": pg_cluster.url(name),
        "BIND": f"127.0.0.1:{port}",
        "SECRET_KEY": "serve-test",
        "WEB_CONCURRENCY": "2",
        "ERPLIB_RUN_DIR": str(tmp_path / "run"),
    }
    env.pop("RATELIMIT_STORAGE_URI", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "booking.serve"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base, stop = f"http://127.0.0.1:{port}", {"signal": signal.SIGTERM, "whole_group": False}
    try:
        wait_for(f"{base}/healthz", runner, log, seconds=60)
        yield runner, base, log, stop
    finally:
        processes = children(runner.pid)
        if stop["whole_group"]:
            os.killpg(runner.pid, stop["signal"])
        else:
            runner.send_signal(stop["signal"])
        runner.wait(90)
    assert runner.returncode == 0, log.read_text()
    assert not [pid for pid in processes if _alive(pid)], "a supervised process outlived make serve"


def _log_shows(log: Path, *texts: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(text in log.read_text() for text in texts):
            return True
        time.sleep(0.2)
    return False


def test_a_killed_scheduler_is_restarted_and_logged_while_gunicorn_keeps_answering(serve):
    runner, base, log, _stop = serve
    scheduler = _program(runner, "scheduler")
    answers, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                answers.append(response.status)
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        os.kill(scheduler, signal.SIGKILL)
        restarted = _program(runner, "scheduler")
        while restarted == scheduler:
            restarted = _program(runner, "scheduler")
        assert _log_shows(
            log,
            "exited: scheduler (terminated by SIGKILL",
            "spawned: 'scheduler'",
            "success: scheduler entered RUNNING state",
        )
    finally:
        stop.set()
        prober.join(10)
    assert answers and set(answers) == {200}  # the web tier never went down with it
    assert _alive(restarted) and not _alive(scheduler)


def test_a_killed_gunicorn_master_is_restarted_and_serves_again(serve):
    runner, base, log, _stop = serve
    master = _program(runner, "gunicorn")
    os.kill(master, signal.SIGKILL)
    assert _log_shows(log, "exited: web (terminated by SIGKILL")
    restarted = _program(runner, "gunicorn")
    while restarted == master:
        restarted = _program(runner, "gunicorn")
    wait_for(f"{base}/healthz", runner, log, seconds=60)
    assert _alive(_program(runner, "scheduler"))  # the scheduler did not go down with it


def test_the_rate_limits_count_in_the_redis_that_serve_runs_and_ctrl_c_stops_all(serve):
    runner, _base, _log, stop = serve
    stop.update(signal=signal.SIGINT, whole_group=True)  # Ctrl-C in the terminal: the whole foreground group
    master = _program(runner, "gunicorn")
    environment = dict(
        item.split("=", 1) for item in Path(f"/proc/{master}/environ").read_text().split("\0") if "=" in item
    )
    uri = environment["RATELIMIT_STORAGE_URI"]
    assert uri.startswith("redis://127.0.0.1:")
    assert redis.Redis.from_url(uri).ping()
    assert "redis-server" in _command(_program(runner, "redis-server"))
