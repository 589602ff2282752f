"""The scheduler's reshuffle workers: a few processes of their own (RESHUFFLE_WORKERS, default 2), so that
CP-SAT never runs in a web worker nor holds up the scheduler's other jobs, and two plans run at once.

A dispatcher thread in the scheduler process claims queued plans (services/plan_queue.py) for idle workers,
each a long-lived process started with `spawn` (a clean interpreter: forking a process with threads and
database connections is unsafe) that builds the app once and computes the plans it is sent. A worker that
dies (kill -9, out of memory) or overruns its time is replaced, and its plan queued again; a worker beats
on its plan's row while computing, so that another scheduler reclaims the plan if this whole process dies."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from .models.types import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how soon a queued plan is claimed, at worst
RECLAIM_SECONDS = 10.0  # how often the queue is searched for plans whose worker went silent
OVERRUN_SECONDS = 120  # beyond its time limit: building the instance and writing the plan take far less
RESTART_SECONDS = 10.0  # a worker that dies before it is ready (bad settings) is not restarted in a tight loop


def _config(app) -> dict:
    """What the workers need to build the same app: its settings that survive pickling as plain values."""
    plain = (str, int, float, bool, type(None))
    return {key: value for key, value in app.config.items() if isinstance(value, plain)}


class _Worker:
    """One worker process and the plan it is computing, if any."""

    def __init__(self, context, factory, config: dict):
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(factory, config, theirs), name="reshuffle-worker", daemon=True
        )
        self.process.start()
        theirs.close()
        self.ready, self.plan, self.since = False, None, 0.0  # plan: (id, attempt) being computed
        self.started = time.monotonic()

    @property
    def name(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"

    def read(self) -> None:
        """Take in what the worker said: ready after starting, done after each plan."""
        try:
            messages = []
            while self.connection.poll():
                messages.append(self.connection.recv())
        except (EOFError, OSError):  # it died: what it said before still counts
            pass
        for message in messages:
            if message[0] == "ready":
                self.ready = True
            elif message[0] == "done":
                self.plan = None

    def send(self, plan: tuple[int, int]) -> None:
        self.plan, self.since = plan, time.monotonic()
        self.connection.send(plan)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.connection.close()


class PlanWorkers:
    """The worker processes and the thread that hands them queued plans."""

    def __init__(self, app, size: int):
        self.app, self.size = app, size
        self.context = multiprocessing.get_context("spawn")
        self.config = _config(app)
        self.workers: list[_Worker] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="reshuffle-dispatcher", daemon=True)
        self.last_reclaim = 0.0

    def start(self) -> PlanWorkers:
        self.workers = [_Worker(self.context, self.app.extensions["factory"], self.config) for _ in range(self.size)]
        self.thread.start()
        log.info("reshuffle workers started: %d processes", self.size)
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        for worker in self.workers:
            worker.stop()

    def _loop(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            try:
                with self.app.app_context():
                    self.tick()
            except SQLAlchemyError:  # the database restarts: try again at the next tick
                log.warning("reshuffle dispatcher: database unavailable", exc_info=True)
            except Exception:
                log.exception("reshuffle dispatcher tick failed")

    def tick(self) -> None:
        """Replace dead or overrunning workers (their plans queued again), reclaim silent plans, hand out
        queued plans to idle workers."""
        from .services import plan_queue

        overrun = self.app.config["RESHUFFLE_SECONDS"] + OVERRUN_SECONDS
        for index, worker in enumerate(self.workers):
            worker.read()
            if worker.plan and worker.process.is_alive() and time.monotonic() - worker.since > overrun:
                log.error("reshuffle worker %s overran plan %s: stopped", worker.name, worker.plan[0])
                worker.process.kill()
                worker.process.join(5)
            if not worker.process.is_alive():
                if worker.plan:
                    why = f"processus de calcul arrêté (code {worker.process.exitcode})"
                    plan_queue.give_back(*worker.plan, utcnow(), why)
                    worker.plan = None
                if not worker.ready and time.monotonic() - worker.started < RESTART_SECONDS:
                    continue
                log.warning("reshuffle worker %s ended (code %s): replaced", worker.name, worker.process.exitcode)
                worker.stop()
                self.workers[index] = _Worker(self.context, self.app.extensions["factory"], self.config)
        if time.monotonic() - self.last_reclaim > RECLAIM_SECONDS:
            self.last_reclaim = time.monotonic()
            plan_queue.reclaim(utcnow())
        for worker in self.workers:
            if worker.ready and worker.plan is None:
                claimed = plan_queue.claim(worker.name, utcnow())
                if claimed is None:
                    break
                try:
                    worker.send(claimed)
                except OSError:  # it died just now: the next tick replaces it
                    plan_queue.give_back(*claimed, utcnow(), "processus de calcul arrêté avant le calcul")
                    worker.plan = None


def start(app) -> PlanWorkers | None:
    """The workers of this process (the scheduler, or the dev server that runs it); none when RESHUFFLE_WORKERS=0."""
    if app.extensions.get("plan_workers"):
        return app.extensions["plan_workers"]
    size = app.config.get("RESHUFFLE_WORKERS", 2)
    if size <= 0:
        return None
    workers = app.extensions["plan_workers"] = PlanWorkers(app, size).start()
    return workers


# --- in the worker process -----------------------------------------------------------------------------
def _serve(factory, config: dict, connection) -> None:
    """A worker's life: build the app once (`factory`: create_app, passed to avoid importing the package that
    imports this module), then compute each plan sent until the scheduler goes away."""
    # CP-SAT is loaded here, before "ready", and not by the web's processes (services/plan_compute.py): a worker
    # that cannot solve fails at its start, and its first plan does not wait for the import.
    import solver.model  # noqa: F401

    from .extensions import db
    from .services import plan_compute

    app = factory(config)
    connection.send(("ready", os.getpid()))
    while True:
        try:
            plan_id, attempt = connection.recv()
        except (EOFError, OSError):  # the scheduler is gone: nothing more will come
            return
        with app.app_context():
            try:
                with _beating(app, plan_id, attempt):
                    plan_compute.compute(plan_id, attempt)
            except Exception:  # even recording the failure failed (database away): back to the queue, worker kept
                log.exception("reshuffle plan %s: computation could not be recorded", plan_id)
                db.session.rollback()
                _give_back(plan_id, attempt)
            db.session.remove()
        try:
            connection.send(("done", plan_id))
        except OSError:
            return


def _give_back(plan_id: int, attempt: int) -> None:
    from .services import plan_queue

    try:
        plan_queue.give_back(plan_id, attempt, utcnow(), "erreur d'accès à la base pendant le calcul")
    except Exception:  # still away: the plan's heartbeat stops, and a scheduler reclaims it
        log.exception("reshuffle plan %s left to be reclaimed", plan_id)


@contextmanager
def _beating(app, plan_id: int, attempt: int):
    """A thread that tells the plan's row this worker is alive while the block computes it: the solver
    reports progress only when it improves, and building a large instance takes seconds."""
    from .extensions import db
    from .services import plan_queue

    done = threading.Event()

    def beat() -> None:
        with app.app_context():
            while not done.wait(plan_queue.HEARTBEAT_SECONDS):
                try:
                    if not plan_queue.beat(plan_id, attempt, utcnow()):
                        return  # claim lost (reclaimed, or finished): the computation's own writes are fenced
                except SQLAlchemyError:
                    db.session.rollback()  # the database is away for a moment: the next beat tries again
            db.session.remove()

    thread = threading.Thread(target=beat, name=f"heartbeat-{plan_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(10)
