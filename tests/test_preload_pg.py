"""gunicorn builds the app in its master and forks the workers from it (booking/gunicorn_conf.py, preload_app):
building the app must open no connection, or every worker would share the master's socket."""

from __future__ import annotations

import threading

import psycopg
import redis

from booking import create_app
from booking.extensions import db

from .conftest import _pg_url
from .servers import redis_server


def test_building_the_app_opens_no_connection_to_postgresql_nor_redis(pg_cluster, pg_template, tmp_path):
    url = _pg_url(pg_cluster, pg_template)
    process, store = redis_server(tmp_path)
    try:
        before = set(threading.enumerate())  # the other tests' servers, in this process
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": store, "SECRET_KEY": "x"})
        with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
            database = url.rsplit("/", 1)[1]
            opened = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()[0]
        clients = [c for c in redis.Redis.from_url(store).client_list() if c.get("cmd") != "client|list"]
        threads = [t.name for t in set(threading.enumerate()) - before]
        assert (opened, clients, threads) == (0, [], [])  # a thread would not cross the fork
        assert app.test_client().get("/healthz").status_code == 200  # the same app then connects when asked
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
    finally:
        process.terminate()
        process.wait()
