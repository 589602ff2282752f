"""The schedule's version: triggers bump it on every change that availability or a feed shows (migrations 0006, 0019)."""

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ScheduleVersion(db.Model):
    __tablename__ = "schedule_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
