"""gunicorn settings shared by `make serve`, the tests' servers and the load benchmark
(`gunicorn -c python:booking.gunicorn_conf`)."""
import gc


def post_worker_init(worker) -> None:
    """The app is loaded now (modules, models, mappers, compiled statements) and lives as long as the
    worker: move it out of the cyclic collector's sight, which would otherwise walk it again on every
    full pass (measured: about 0.8 ms of CPU per booking under load)."""
    gc.freeze()
