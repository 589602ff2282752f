"""The neighbourhood search's window steps on a cascade instance: the region is every day a displaced
booking may go to, each plan found is valid and cheaper, and the bound is never the neighbourhood's."""

from solver import model
from solver.check import violations
from solver.generate import generate
from solver.instance import read_instance


def _a_search_and_its_plan(monkeypatch):
    """A search stopped at its first neighbourhood step, and the plan that step started from."""
    seen: list = []

    def recorded(self, plan, seconds):
        seen.append((self, plan))
        return None

    monkeypatch.setattr(model._Search, "improve", recorded)
    instance = read_instance(generate(10, 4, 4, jobs=2, cascade=True))
    model.solve(instance, time_limit=5, max_exact=0)
    monkeypatch.undo()
    assert seen
    return instance, *seen[0]


def test_a_window_frees_every_day_a_displaced_booking_may_start_on_and_reaches_all_on_them(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    jobs, where, moved, _, on_day, _ = search._read(plan)
    displaced = {b for b in moved if search._covered(b, jobs)}
    assert displaced  # the jobs push bookings out on this instance
    tried = set()
    for _ in displaced:
        days, reached = search._window(plan)
        (value, item), *_ = search._windows_tried - tried
        tried.add((value, item))
        assert item in displaced and value == plan.objective["value"]
        starts = {cd for cd in search._window_days(search.bookings[item]) if cd[1] >= search._first_day}
        assert starts <= days and set(search._days(where[item])) <= days
        assert reached == {b for cd in days for b in on_day.get(cd, ()) if b in search.bookings}
    assert search._window(plan) is None  # each displaced booking once per plan


def test_a_window_step_returns_a_valid_cheaper_plan_or_nothing(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    search._improving = 1.0  # a window step is due (they take up to a share of the search's time)
    monkeypatch.setattr(model, "LNS_WINDOW_SECONDS", 5.0)
    found = search.improve(plan, 5.0)
    assert search._windowing > 0
    if found is not None:
        assert violations(instance, found) == [] and found.objective["value"] < plan.objective["value"]
