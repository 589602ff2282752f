"""Python's cycle collector paused while the solver runs.

A solve allocates millions of small tuples, lists and dicts (positions, occupancy, the model's terms) that form no
reference cycles; each time enough had been allocated, the collector walked every live object (the instance's tens of
thousands of bookings, the positions listed so far) and found nothing: a third of the greedy's time on 200
consultants. Reference counting still frees everything as usual; only the search for cycles waits until the solve
returns. A caller that had paused it already keeps it paused.
"""

from __future__ import annotations

import functools
import gc


def gc_paused(function):
    @functools.wraps(function)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused
