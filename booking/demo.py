"""Demo data: six client companies, twelve consultants, four weeks of bookings (idempotent)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from calendars.worktime import PARIS, WorkCalendar, parse_week

from . import contract
from .extensions import db
from .models import Absence, Booking, Company, Consultant, ContractPeriod, PriorityRequest, Ticket, User
from .models.types import utcnow
from .services import hour_bank

DEMO_PASSWORD = "demo-erplib"
SKILLS = ("comptabilite", "production", "logistique", "achats", "installation", "migration")
COMPANIES = [  # name, tier, contract start, environments, ERP version, e-mail domain
    ("Boulangeries Martin", "standard", date(2024, 9, 1), ["production"], "11.2", "boulangeries-martin.example"),
    ("Menuiserie Dupont", "standard", date(2025, 2, 1), ["production"], "11.1", "menuiserie-dupont.example"),
    ("Transports Leroy", "confort", date(2023, 6, 15), ["test", "production"], "12.0", "transports-leroy.example"),
    ("Plasturgie du Rhône", "confort", date(2025, 1, 1), ["test", "production"], "11.2", "plasturgie-rhone.example"),
    ("Aciéries de Lorraine", "serenite", date(2022, 4, 1), ["test", "production"], "12.1", "acieries-lorraine.example"),
    ("Laboratoires Bernard", "serenite", date(2024, 10, 1), ["test", "production"], "12.1", "labo-bernard.example"),
]
CONSULTANTS = [  # name, skills, holiday region
    ("Camille Laurent", ("comptabilite", "achats"), None),
    ("Julien Moreau", ("production", "installation"), None),
    ("Sophie Garnier", ("logistique", "achats"), None),
    ("Thomas Roux", ("installation", "migration"), "57"),
    ("Léa Fontaine", ("comptabilite", "migration"), None),
    ("Nicolas Girard", ("production", "logistique"), None),
    ("Emma Chevalier", ("comptabilite", "production"), "57"),
    ("Hugo Lambert", ("installation", "logistique"), None),
    ("Chloé Mercier", ("achats", "comptabilite"), None),
    ("Antoine Blanc", ("migration", "installation"), None),
    ("Manon Faure", ("production", "achats"), None),
    ("Lucas Rousseau", ("logistique", "comptabilite"), None),
]
FIRST_NAMES = ("Claire", "Marc", "Isabelle", "Olivier", "Nathalie")


def _slug(name: str) -> str:
    return name.lower().replace(" ", ".").replace("é", "e").replace("è", "e").replace("ï", "i")


@lru_cache(maxsize=1)
def _password_hash() -> str:
    """Hashed once: every demo account shares the printed demo password."""
    return generate_password_hash(DEMO_PASSWORD)


def _user(email: str, name: str, role: str, company: Company | None = None) -> User:
    user = User(email=email, name=name, role=role, company=company, password_hash=_password_hash())
    db.session.add(user)
    return user


def _people(terms) -> tuple[list[Company], list[Consultant]]:
    _user("admin@erplib.example", "Alice Admin", "admin")
    _user("planification@erplib.example", "Paul Planning", "planner")
    consultants = []
    for name, skills, region in CONSULTANTS:
        user = _user(f"{_slug(name)}@erplib.example", name, "consultant")
        consultants.append(Consultant(user=user, skills=list(skills), holiday_region=region, daily_cap=6))
    db.session.add_all(consultants)
    companies = []
    for index, (name, tier, start, envs, version, domain) in enumerate(COMPANIES):
        company = Company(name=name, tier=tier, contract_start=start, environments=envs, erp_version=version)
        if terms.tier(tier).privileged_consultant:
            company.privileged_consultant = consultants[index]
        for n in range(terms.tier(tier).contacts):
            first = FIRST_NAMES[n]
            _user(f"{_slug(first)}@{domain}", f"{first} ({name})", "client", company)
        companies.append(company)
    db.session.add_all(companies)
    db.session.flush()
    # each contract's history starts with its first period (the back office shows it)
    db.session.add_all(ContractPeriod(company_id=c.id, starts_on=c.contract_start, tier=c.tier) for c in companies)
    return companies, consultants


def _absences(consultants: list[Consultant], monday: date) -> None:
    """A week of leave, a training day and a half-day, at fixed places in the four weeks."""

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), PARIS)

    consultants[2].absences.append(
        Absence(start_at=at(monday + timedelta(days=14), 0), end_at=at(monday + timedelta(days=19), 0), reason="Congés")
    )
    consultants[5].absences.append(
        Absence(
            start_at=at(monday + timedelta(days=8), 0), end_at=at(monday + timedelta(days=9), 0), reason="Formation"
        )
    )
    consultants[9].absences.append(
        Absence(
            start_at=at(monday + timedelta(days=3), 14), end_at=at(monday + timedelta(days=3), 18), reason="Rendez-vous"
        )
    )


def _calendar(consultant: Consultant) -> WorkCalendar:
    return WorkCalendar(
        week=parse_week(consultant.working_pattern),
        holiday_region=consultant.holiday_region,
        absences=tuple((a.start_at, a.end_at) for a in consultant.absences),
    )


class _Mix:
    """Picks realistic clients and kinds; keeps each Sérénité bank partly unused, one major install each."""

    SERENITE_SESSIONS = 9

    def __init__(self, companies, terms, rng: random.Random):
        self.companies, self.terms, self.rng = companies, terms, rng
        self.sessions = {c.name: 0 for c in companies}
        self.major_done: set[str] = set()

    def company(self) -> Company:
        """Bigger contracts book more: weight by the tier's number of contacts."""
        weights = [self.terms.tier(c.tier).contacts for c in self.companies]
        return self.rng.choices(self.companies, weights)[0]

    def kind(self, company: Company, consultant: Consultant, day_start: bool) -> str:
        tier = self.terms.tier(company.tier)
        kinds = ["erplib"] * 6 + ["callback"] * 3
        if day_start and "installation" in consultant.skills:
            kinds += [k for k in ("minor_update", "major_install_test", "major_install") if tier.may_book(k)] * 2
        kind = self.rng.choice(kinds)
        if kind == "major_install" and company.name in self.major_done:
            kind = "major_install_test"
        if kind == "erplib" and tier.hour_bank_minutes:
            if self.sessions[company.name] >= self.SERENITE_SESSIONS:
                kind = "callback"
            self.sessions[company.name] += kind == "erplib"
        if kind == "major_install":
            self.major_done.add(company.name)
        return kind


def _bookings(companies, consultants, terms, monday: date, now: datetime, rng: random.Random) -> list[Booking]:
    bookings = _priority_consulting(companies, consultants, monday, now, rng)
    taken = {(b.consultant, b.start_at.astimezone(PARIS).date()) for b in bookings}
    mix = _Mix(companies, terms, rng)
    for consultant in consultants:
        calendar = _calendar(consultant)
        for offset in range(28):
            day = monday + timedelta(days=offset)
            blocks = calendar.day_intervals(day)
            if len(blocks) < 2 or (consultant, day) in taken or rng.random() < 0.4:
                continue
            company = mix.company()
            kind = mix.kind(company, consultant, day_start=True)
            if terms.service(kind).span == "days":
                bookings.append(_booking(kind, company, consultant, blocks[0][0], blocks[-1][1], now, rng))
                continue
            bookings += _fill_day(blocks, kind, company, mix, consultant, now)
    for number, booking in enumerate(b for b in bookings if b.ticket):
        booking.ticket.reference = f"TCK-{monday:%y%m}-{number:04d}"
    return bookings


def _fill_day(blocks, kind, company, mix: _Mix, consultant, now) -> list[Booking]:
    """About half of a day's grid (the rest is ticket work), at most the consultant's daily cap."""
    day, rng = [], mix.rng
    for start, end in blocks:
        cursor = start + timedelta(minutes=15 * rng.randint(0, 4))
        while len(day) < consultant.daily_cap:
            duration = timedelta(minutes=mix.terms.service(kind).duration_minutes)
            if cursor + duration > end:
                break
            if rng.random() < 0.5:
                day.append(_booking(kind, company, consultant, cursor, cursor + duration, now, rng))
            cursor += duration + timedelta(minutes=15 * rng.randint(0, 2))
            company = mix.company()
            kind = mix.kind(company, consultant, day_start=False)
    return day


def _priority_consulting(companies, consultants, monday, now, rng) -> list[Booking]:
    """One day of priority consulting already placed for a Sérénité client, in the third week."""
    consultant = next(c for c in consultants if "migration" in c.skills)
    calendar = _calendar(consultant)
    day = next(d for d in (monday + timedelta(days=n) for n in range(15, 28)) if calendar.is_working_day(d))
    blocks = calendar.day_intervals(day)
    company = next(c for c in companies if c.tier == "serenite")
    return [_booking("priority_consulting", company, consultant, blocks[0][0], blocks[-1][1], now, rng)]


def _booking(kind, company, consultant, start, end, now, rng) -> Booking:
    booked_at = min(now, start) - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
    status = ("no_show" if rng.random() < 0.05 else "completed") if end <= now else "confirmed"
    contact = rng.choice(company.contacts)
    booking = Booking(
        kind=kind,
        status=status,
        start_at=start,
        end_at=end,
        consultant=consultant,
        company=company,
        contact=contact,
        booked_at=booked_at,
    )
    if kind == "callback":
        booking.ticket = Ticket(
            company=company,
            priority=rng.choice(("bloquante", "majeure", "mineure", "basse")),
            title="Question sur la clôture mensuelle",
            opened_at=booked_at,
        )
    if kind in ("minor_update", "major_install"):
        booking.environment = "production"
    if kind == "major_install":
        booking.target_version = company.erp_version
    elif kind == "major_install_test":
        booking.environment = "test"
    return booking


def _ledger(bookings) -> None:
    """Each active session's ledger line, in booking order, by the same rule as a live booking."""
    for booking in sorted(bookings, key=lambda b: b.booked_at):
        if booking.kind == "erplib":
            hour_bank.reserve(booking)
            db.session.flush()


def ensure_demo(now: datetime | None = None, seed: int = 2026) -> list[tuple[str, str]]:
    """Create the demo data unless present; return (role, e-mail) of every demo login."""
    if db.session.scalar(select(Company).where(Company.name == COMPANIES[0][0])) is None:
        _create(now or utcnow(), seed)
    users = db.session.scalars(select(User).where(User.email.like("%.example")).order_by(User.role, User.email))
    return [(user.role, user.email) for user in users]


def _create(now: datetime, seed: int) -> None:
    rng = random.Random(seed)
    terms = contract.current()
    today = now.astimezone(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    companies, consultants = _people(terms)
    _absences(consultants, monday)
    db.session.flush()
    bookings = _bookings(companies, consultants, terms, monday, now, rng)
    db.session.add_all(bookings)
    db.session.flush()
    _ledger(bookings)
    serenite = next(c for c in companies if c.tier == "serenite")
    db.session.add(
        PriorityRequest(
            company=serenite,
            requester=serenite.contacts[0],
            skill="migration",
            amount=2,
            unit="days",
            description="Migration du module de paie avant la clôture annuelle : besoin d'un consultant sous 7 jours.",
            requested_at=now - timedelta(hours=3),
        )
    )
    db.session.commit()
