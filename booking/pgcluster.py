"""A PostgreSQL cluster from the system binaries, run as the `postgres` user when we are root: a
throwaway one for the tests, or a kept one under the instance folder for `make serve` on one machine."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def bin_dir() -> Path:
    """The newest Debian PostgreSQL server binaries (make test installs them when absent)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make test`, which installs them")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start on a loopback port. Without `root`: a temporary directory, tuned for
    tests (no fsync), removed on stop. With `root`: kept there, durable, reused on the next start."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.bin = bin_dir()
        self.durable = root is not None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="erplib-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.port = port or free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> Cluster:
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                *(() if self.durable else ("--no-sync",)),
            )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", self._options(), "-w", "start")
        return self

    def _options(self) -> str:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return options

    def restart(self) -> None:
        """Stop fast (sessions are cut) and start again on the same port: for the fault tests."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            self._options(),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast" if self.durable else "immediate", "stop")
        finally:
            if not self.durable:  # a throwaway's files (a gigabyte after a test session) go in the background
                subprocess.Popen(
                    ["nice", "-n", "19", "rm", "-rf", "--", str(self.root)],  # beside tests still running
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def version(self) -> str:
        return self.bin.parts[-2]
