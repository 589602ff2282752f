"""Users, their API tokens and login failures, consultants and their absences."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, utcnow

ROLES = ("client", "consultant", "planner", "admin")
DEFAULT_PATTERN = {str(d): [["09:00", "12:30"], ["14:00", "18:00"]] for d in range(5)}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="ck_users_role"),
        # A client contact always belongs to a company; staff never do.
        CheckConstraint("(role = 'client') = (company_id IS NOT NULL)", name="ck_users_company"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    active: Mapped[bool] = mapped_column(default=True)
    # A client's main contact manages the company's other contacts (within the tier's cap).
    main_contact: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id kept in sessions and remember-me cookies: bumping it ends them all.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    company: Mapped[Company | None] = relationship(back_populates="contacts")  # noqa: F821
    consultant: Mapped[Consultant | None] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's alternative id: a session names the user and the generation it was opened in."""
        return f"{self.id}:{self.session_generation}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is kept. `label` is the name its owner gave it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def state(self, now: datetime) -> str:
        """active, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= now else "active"


class PasswordLink(db.Model):
    """A set-password link sent by mail (an invitation or a reset): only its SHA-256 is kept; it works once,
    until `expires_at`, and a newer link for the same user replaces it."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))  # invite | reset
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """Failed logins of one e-mail address, whether an account has it or not (so that a lock-out never
    tells which addresses exist); the row goes at the next successful login or a day after the last failure."""

    __tablename__ = "login_failures"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the normalised e-mail
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Consultant(db.Model):
    __tablename__ = "consultants"
    __table_args__ = (CheckConstraint("daily_cap >= 0", name="ck_consultants_daily_cap"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    working_pattern: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_PATTERN))
    holiday_region: Mapped[str | None] = mapped_column(String(10))
    daily_cap: Mapped[int] = mapped_column(default=6)

    user: Mapped[User] = relationship(back_populates="consultant")
    absences: Mapped[list[Absence]] = relationship(
        back_populates="consultant", cascade="all, delete-orphan", order_by="Absence.start_at"
    )

    @property
    def name(self) -> str:
        return self.user.name


class Absence(db.Model):
    __tablename__ = "absences"
    __table_args__ = (CheckConstraint("end_at > start_at", name="ck_absences_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(120), default="")

    consultant: Mapped[Consultant] = relationship(back_populates="absences")
