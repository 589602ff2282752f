"""Real servers for the tests and benchmarks: gunicorn on a given database, Redis, on free loopback ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis

from booking.pgcluster import free_port

REDIS_SERVER = "/usr/bin/redis-server"


def gunicorn(url: str, log: Path, workers: int = 4, **env) -> tuple[subprocess.Popen, str]:
    """gunicorn with `workers` workers on the database `url`; returns the process and its base URL."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-server", **env}
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "-c",
            "python:booking.gunicorn_conf",
            "booking:create_app()",
        ],
        env=environment,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", process, log)
    return process, base


def redis_server(directory: Path) -> tuple[subprocess.Popen, str]:
    """A throwaway redis-server on a free loopback port, nothing saved: the process and its URL."""
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    client, deadline = redis.Redis(port=port), time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.05)


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()}")


def children(pid: int) -> list[int]:
    """Direct child processes, from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def app_process(url: str, log: Path, **env) -> tuple[subprocess.Popen, str]:
    """The app alone in one process, as `flask run` serves it (tests.crashing_app, which can be told to
    die mid-request), on the database `url`; returns the process and its base URL."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-server", "PORT": str(port), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.crashing_app"],
        env=environment,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", process, log)
    return process, base
