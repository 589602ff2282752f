"""Consultants as the planner keeps them: skills, holiday region, weekly working pattern, daily cap,
active or not; and their absences, edited and deleted under the locks of the days they cover."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from calendars.worktime import PARIS, parse_week

from .. import labels
from ..extensions import db
from ..models import Absence, Booking, Consultant, User, overlapping
from ..text_order import by_name
from . import audit, locking
from .errors import Conflict, Invalid, NotFound

REGIONS = ("57", "67", "68")  # Alsace-Moselle (holidays' subdivisions); None: national holidays only
MAX_ABSENCE_DAYS = 366  # one lock per covered day: a longer absence is entered as several


def check_pattern(pattern: dict) -> dict:
    """The pattern if the calendar accepts it (blocks in order, inside a day, not overlapping), else Invalid."""
    try:
        week = parse_week(pattern)
    except (ValueError, TypeError) as exc:
        raise Invalid(_("Horaires invalides : %(error)s", error=str(exc))) from None
    for blocks in week:
        for (_a, b), (c, _d) in zip(blocks, blocks[1:], strict=False):
            if c < b:
                raise Invalid(_("Horaires invalides : deux plages se chevauchent le même jour."))
    if not any(week):
        raise Invalid(_("Un consultant actif travaille au moins une plage par semaine."))
    return {
        str(day): [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in blocks]
        for day, blocks in enumerate(week)
        if blocks
    }


def check_skills(skills: list[str]) -> list[str]:
    """The skills sorted, each one of the known codes (labels.SKILLS, which the contract's services name); an
    unknown word is refused, not stored: no service would find the consultant by it."""
    cleaned = sorted({s.strip().lower() for s in skills if s.strip()})
    for skill in cleaned:
        if skill not in labels.SKILLS:
            raise Invalid(
                _l(
                    "Compétence inconnue « %(skill)s » : choisissez parmi %(known)s.",
                    skill=skill[:40],
                    known=", ".join(sorted(labels.SKILLS)),
                ),
                code="unknown_skill",
                field="skills",
            )
    return cleaned


def _region(region: str | None) -> str | None:
    if region and region not in REGIONS:
        raise Invalid(_("Région de jours fériés inconnue : %(region)s.", region=region))
    return region or None


def create(
    actor: User,
    *,
    name: str,
    email: str,
    skills: list[str],
    holiday_region: str | None,
    working_pattern: dict,
    daily_cap: int,
) -> Consultant:
    """A consultant and their staff account (a random password: they set theirs through a reset)."""
    pattern, skills = check_pattern(working_pattern), check_skills(skills)
    email = email.strip().lower()
    with locking.locked([]):
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            raise Conflict(_("Un compte utilise déjà l'adresse %(email)s.", email=email))
        user = User(email=email, name=name.strip(), role="consultant")
        user.set_password(secrets.token_urlsafe(32))
        consultant = Consultant(
            user=user,
            skills=skills,
            holiday_region=_region(holiday_region),
            working_pattern=pattern,
            daily_cap=daily_cap,
        )
        db.session.add(consultant)
        db.session.flush()
        audit.record(
            actor,
            "consultant.create",
            consultant,
            email=email,
            skills=consultant.skills,
            pattern=pattern,
            daily_cap=daily_cap,
            region=consultant.holiday_region,
        )
    return consultant


def update(
    actor: User,
    consultant_id: int,
    *,
    name: str,
    skills: list[str],
    holiday_region: str | None,
    working_pattern: dict,
    daily_cap: int,
    active: bool,
) -> Consultant:
    """Change a consultant; bookings already made stay where they are (the week page shows them)."""
    pattern, skills = check_pattern(working_pattern), check_skills(skills)
    with locking.locked([]):
        consultant = db.session.get(Consultant, consultant_id, with_for_update=True)
        if consultant is None:
            raise NotFound(_("Ce consultant n'existe plus."))
        before = {
            "skills": consultant.skills,
            "pattern": consultant.working_pattern,
            "daily_cap": consultant.daily_cap,
            "region": consultant.holiday_region,
            "active": consultant.user.active,
            "name": consultant.user.name,
        }
        consultant.user.name = name.strip()
        consultant.skills = skills
        consultant.holiday_region = _region(holiday_region)
        consultant.working_pattern = pattern
        consultant.daily_cap = daily_cap
        consultant.user.active = active
        after = {
            "skills": consultant.skills,
            "pattern": pattern,
            "daily_cap": daily_cap,
            "region": consultant.holiday_region,
            "active": active,
            "name": consultant.user.name,
        }
        audit.record(
            actor,
            "consultant.update",
            consultant,
            **{k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]},
        )
    return consultant


def conflicts(consultant_id: int, start: datetime, end: datetime, now: datetime) -> list[Booking]:
    """Confirmed bookings still ahead that [start, end) takes the consultant away from."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.consultant_id == consultant_id,
                Booking.status == "confirmed",
                overlapping(start, end),
                Booking.end_at > now,
            )
            .order_by(Booking.start_at)
        )
    )


def check_span(start: datetime, end: datetime) -> None:
    # as instants: two datetimes of one zone compare by their wall time, which a clock change makes disagree
    if end.astimezone(UTC) <= start.astimezone(UTC):
        raise Invalid(_("La fin de l'absence doit suivre son début."))
    if end - start > timedelta(days=MAX_ABSENCE_DAYS):
        raise Invalid(_("Une absence dure au plus %(days)d jours : saisissez-en plusieurs.", days=MAX_ABSENCE_DAYS))


def day_keys(consultant_id: int, *spans: tuple[datetime, datetime]) -> list:
    keys = set()
    for start, end in spans:
        day, last = start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
        while day <= last:
            keys.add(locking.consultant_day(consultant_id, day))
            day += timedelta(days=1)
    return sorted(keys)


def _absence(absence_id: int, consultant_id: int) -> Absence:
    found = db.session.get(Absence, absence_id, populate_existing=True)
    if found is None or found.consultant_id != consultant_id:
        raise NotFound(_("Cette absence n'existe plus (supprimée entre-temps ?)."))
    return found


def update_absence(
    actor: User,
    consultant_id: int,
    absence_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    seen: tuple[datetime, datetime],
) -> Absence:
    """Move an absence; the locks cover the days it left and the days it now takes, and the absence is
    read again under them: one changed by someone else since the page was read (`seen`) is refused."""
    check_span(start, end)
    with locking.locked(day_keys(consultant_id, seen, (start, end))):
        absence = _absence(absence_id, consultant_id)
        if (absence.start_at, absence.end_at) != seen:
            raise Conflict(_("Cette absence a été modifiée entre-temps : relisez-la avant de la changer."))
        audit.record(
            actor,
            "consultant.absence_update",
            absence.consultant,
            absence=absence.id,
            start={"from": absence.start_at.isoformat(), "to": start.isoformat()},
            end={"from": absence.end_at.isoformat(), "to": end.isoformat()},
        )
        absence.start_at, absence.end_at, absence.reason = start, end, reason[:120]
    return absence


def delete_absence(actor: User, consultant_id: int, absence_id: int) -> None:
    """Delete an absence (the consultant is available again in its span)."""
    with locking.locked([]):
        absence = _absence(absence_id, consultant_id)
        span = (absence.start_at, absence.end_at)
    with locking.locked(day_keys(consultant_id, span)):
        absence = _absence(absence_id, consultant_id)
        if (absence.start_at, absence.end_at) != span:  # moved meanwhile: these locks may not cover it
            raise Conflict(_("Cette absence a été modifiée entre-temps : relisez-la avant de la supprimer."))
        audit.record(
            actor,
            "consultant.absence_delete",
            absence.consultant,
            absence=absence.id,
            start=absence.start_at.isoformat(),
            end=absence.end_at.isoformat(),
            reason=absence.reason,
        )
        db.session.delete(absence)


def listing(active: bool | None = None) -> list[Consultant]:
    query = select(Consultant).join(User).options(contains_eager(Consultant.user))
    if active is not None:
        query = query.where(User.active.is_(active))
    return by_name(db.session.scalars(query))
