"""Stored notifications."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant


class Notification(db.Model):
    """Something a person should see: a session link, a reminder, an invoice."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[CreatedAt]
    read_at: Mapped[UTCInstant | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"
