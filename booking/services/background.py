"""Long work (a solver run) in a thread of this process, after the request's commit; it takes ids only."""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app

log = logging.getLogger(__name__)
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reshuffle")


def submit(function, *ids) -> Future:
    """Run function(*ids) in an app context of its own; failures are logged, never lost silently."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as the app it stands for

    def run():
        with app.app_context():
            try:
                return function(*ids)
            except Exception:  # the plan row records the failure; the log keeps the traceback
                log.exception("background %s%r failed", function.__name__, ids)
                raise

    return _executor.submit(run)
