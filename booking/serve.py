"""`make serve`: the production layout on one machine. PostgreSQL and migrations, then supervisord
(booking/supervisord.conf) runs the scheduler, gunicorn with 4 workers and a loopback Redis, and
restarts whichever dies, saying so in its log; Ctrl-C or SIGTERM stops them all, then PostgreSQL.

DATABASE_URL names the database. Without it, a local cluster is started from the system binaries and
kept between runs (LOCAL_PG_DIR; as root under /var/lib, since the server runs as `postgres`).
RATELIMIT_STORAGE_URI names the rate limits' shared store; without it, the Redis run here is used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from supervisor import supervisord

from .pgcluster import Cluster, free_port

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("supervisord.conf")
ROOT = Path(__file__).resolve().parent.parent


def _local_cluster(env: dict) -> Cluster:
    default = "/var/lib/erplib-planner/postgresql" if os.geteuid() == 0 else "instance/postgresql"
    cluster = Cluster(root=Path(env.get("LOCAL_PG_DIR", default)), port=int(env.get("LOCAL_PG_PORT", "5433")))
    try:
        cluster.start()
    except subprocess.CalledProcessError as error:
        sys.exit(f"PostgreSQL local n'a pas démarré : {error.stderr or error}")
    cluster.create_database("erplib")
    return cluster


def _supervised_environment(env) -> None:
    """What supervisord.conf reads, and what its programs inherit (it passes them its environment)."""
    env.setdefault("BIND", "127.0.0.1:8000")
    env.setdefault("WEB_CONCURRENCY", "4")
    env["ERPLIB_BIN"] = str(BIN)
    env["ERPLIB_USER"] = str(os.getuid())
    run_dir = Path(env.setdefault("ERPLIB_RUN_DIR", str(ROOT / "instance" / "serve")))
    run_dir.mkdir(parents=True, exist_ok=True)
    # Our Redis counts the rate limits of every worker, unless the operator names a store of theirs.
    env.setdefault("REDIS_PORT", str(free_port()))
    env["ERPLIB_REDIS"] = "false" if env.get("RATELIMIT_STORAGE_URI") else "true"
    env.setdefault("RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{env['REDIS_PORT']}/0")


def main() -> None:
    env = os.environ
    cluster = None
    if not env.get("DATABASE_URL"):
        cluster = _local_cluster(env)
        env["DATABASE_URL"] = cluster.url("erplib")
    _supervised_environment(env)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    try:
        subprocess.run([*flask, "db", "upgrade"], check=True, cwd=ROOT)
        if env.get("SEED_DEMO") == "1":
            subprocess.run([*flask, "demo"], check=True, cwd=ROOT)
        print(
            f"ERP-Lib Planner (gunicorn {env['WEB_CONCURRENCY']} workers + planificateur, sous supervisord) : "
            f"http://{env['BIND']}/  — base : {env['DATABASE_URL'].split('@')[-1]}"
            f"  — limites : {env['RATELIMIT_STORAGE_URI']}",
            flush=True,
        )
        # In this process, so that PostgreSQL is stopped after everything supervisord runs has stopped.
        supervisord.main(["-c", str(CONFIG)])
    finally:
        if cluster:  # a second Ctrl-C meanwhile is only recorded by supervisord's handlers: PostgreSQL stops cleanly
            cluster.stop()


if __name__ == "__main__":
    main()
