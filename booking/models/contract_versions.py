"""The contract as an admin applied it from the page: every version kept, the newest in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class ContractVersion(db.Model):
    __tablename__ = "contract_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)  # the whole TOML, as the file would hold it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    actor: Mapped[User | None] = relationship()  # noqa: F821
