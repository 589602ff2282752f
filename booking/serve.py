"""`make serve`: the production layout on one machine. PostgreSQL, migrations, the scheduler as its
own process, gunicorn with 4 workers; Ctrl-C stops them all.

DATABASE_URL names the database. Without it, a local cluster is started from the system binaries and
kept between runs (LOCAL_PG_DIR; as root under /var/lib, since the server runs as `postgres`).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .pgcluster import Cluster

BIN = Path(sys.executable).parent


def _local_cluster(env: dict) -> Cluster:
    default = "/var/lib/erplib-planner/postgresql" if os.geteuid() == 0 else "instance/postgresql"
    cluster = Cluster(root=Path(env.get("LOCAL_PG_DIR", default)), port=int(env.get("LOCAL_PG_PORT", "5433")))
    try:
        cluster.start()
    except subprocess.CalledProcessError as error:
        sys.exit(f"PostgreSQL local n'a pas démarré : {error.stderr or error}")
    cluster.create_database("erplib")
    return cluster


def main() -> None:
    env = dict(os.environ)
    cluster = None
    if not env.get("DATABASE_URL"):
        cluster = _local_cluster(env)
        env["DATABASE_URL"] = cluster.url("erplib")
    bind = env.get("BIND", "127.0.0.1:8000")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True)
    if env.get("SEED_DEMO") == "1":
        subprocess.run([*flask, "demo"], env=env, check=True)
    processes = [
        subprocess.Popen([*flask, "scheduler"], env=env),
        subprocess.Popen([str(BIN / "gunicorn"), "-w", env.get("WEB_CONCURRENCY", "4"), "-b", bind,
                          "--access-logfile", "-", "--timeout", "60", "-c", "python:booking.gunicorn_conf", "wsgi:app"], env=env),
    ]
    print(f"ERP-Lib Planner (gunicorn {env.get('WEB_CONCURRENCY', '4')} workers + planificateur) : "
          f"http://{bind}/  — base : {env['DATABASE_URL'].split('@')[-1]}", flush=True)
    stop = lambda *_: [p.terminate() for p in processes if p.poll() is None]  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    try:
        os.wait()  # the first one to end ends the service: never run without the scheduler
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            process.wait(30)
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
