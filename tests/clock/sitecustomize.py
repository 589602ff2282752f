"""`pytest --clock=…` shifts the clock of the processes the tests start (gunicorn, flask, the scheduler)
by the same offset as the tests' own: imported at every Python start-up through PYTHONPATH."""

import os

if os.environ.get("PLANNER_CLOCK_OFFSET"):
    import time

    import time_machine

    time_machine.travel(time.time() + float(os.environ["PLANNER_CLOCK_OFFSET"]), tick=True).start()
