"""gunicorn settings shared by `make serve`, the tests' servers and the load benchmark
(`gunicorn -c python:booking.gunicorn_conf`)."""

import gc

from gunicorn.glogging import Logger

from booking.logmask import install


class MaskingLogger(Logger):
    """gunicorn's logger, with feed tokens masked in every access and error line, whatever the
    access_log_format (the request line, the path, the query, the Referer)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        install(self.access_log, self.error_log)


logger_class = MaskingLogger


def pre_fork(server, worker) -> None:
    """The master built the app (preload_app below): freeze it before forking, so that no worker's collector
    touches, and so copies, the pages the workers share."""
    gc.freeze()


def post_worker_init(worker) -> None:
    """The app is loaded now (modules, models, mappers, compiled statements) and lives as long as the
    worker: move it out of the cyclic collector's sight, which would otherwise walk it again on every
    full pass (measured: about 0.8 ms of CPU per booking under load)."""
    gc.freeze()


# gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), which every
# gunicorn on the machine would share (the tests run several); nothing here uses it.
control_socket_disable = True

# The master builds the app once and forks its workers from it: a worker starts (or is replaced after a crash) in
# milliseconds instead of importing and building everything again, and the workers share the loaded code's pages.
# Building the app opens no connection (the engines' pools, Redis's, fill on first use in each worker).
preload_app = True
