"""Small fixed reshuffle instances shared by the solver tests."""


def tiny(bookings: list[tuple[str, str, str, int, str]], job_minutes: int = 210) -> dict:
    """One Tuesday, consultants a (skill x) and b; bookings (id, consultant, start, minutes, booked)."""
    return {
        "format": "erplib-reshuffle/1",
        "now": "2027-03-05T09:00:00+01:00",
        "calendar": {
            "timezone": "Europe/Paris",
            "weekdays": [0, 1, 2, 3, 4],
            "hours": [["09:00", "12:30"], ["14:00", "18:00"]],
            "holidays": [],
            "grid_minutes": 15,
        },
        "horizon": {"start": "2027-03-09T00:00:00+01:00", "end": "2027-03-10T00:00:00+01:00"},
        "consultants": [{"id": "a", "skills": ["x"], "unavailable": []}, {"id": "b", "skills": [], "unavailable": []}],
        "bookings": [
            {
                "id": i,
                "client": "k",
                "kind": "erplib",
                "duration_minutes": m,
                "span": "block",
                "consultant": c,
                "start": f"2027-03-09T{s}:00+01:00",
                "eligible": ["a", "b"] if i != "b3" else [c],
                "window": {"start": "2027-03-09T00:00:00+01:00", "end": "2027-03-10T00:00:00+01:00"},
                "pinned": False,
                "booked_at": booked,
            }
            for i, c, s, m, booked in bookings
        ],
        "priority_jobs": [
            {
                "id": "p1",
                "client": "u",
                "kind": "priority_consulting",
                "duration_minutes": job_minutes,
                "span": "block",
                "skill": "x",
                "window": {"start": "2027-03-09T09:00:00+01:00", "end": "2027-03-09T18:00:00+01:00"},
            }
        ],
        "policy": {
            "freeze_hours": 48,
            "compensated_if_booked_days_before": 14,
            "compensation_eur": {"erplib": 60},
            "short_notice_factor": [[2, 3.0], [5, 2.0], [10, 1.5]],
            "weights": {"moved": 100, "consultant_change": 20, "displacement_hour": 1},
        },
    }


OLD, NEW = "2027-01-01T09:00:00+01:00", "2027-03-01T09:00:00+01:00"
TINY = tiny(
    [
        ("b1", "a", "09:00", 45, OLD),
        ("b2", "a", "10:00", 45, NEW),
        ("b3", "a", "14:30", 45, OLD),
        ("b4", "b", "09:00", 45, NEW),
        ("b5", "b", "15:00", 45, OLD),
    ]
)
