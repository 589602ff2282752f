"""Python's cycle collector paused while the greedy runs.

The greedy allocates millions of small tuples, lists and dicts (positions, occupancy) that form no reference cycles;
each time enough had been allocated, the collector walked every live object (the instance's tens of thousands of
bookings, the positions listed so far) and found nothing: a third of the greedy's time on 200 consultants. Reference
counting frees its objects as usual; only the search for cycles waits until it returns. Not for the CP-SAT model:
ortools' CpModel is a reference cycle (it keeps bound methods of itself), so each model built would wait for the
collector (a review measured 270 instead of 214 MiB on 200 consultants), and CP-SAT's own time is in C++. A caller
that had paused the collector keeps it paused.
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
