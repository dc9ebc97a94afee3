"""Users, their mentor profiles and tags, and one row per login."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant


class User(UserMixin, db.Model):
    """A person: a mentee, a mentor, or both."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_mentee: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    headline: Mapped[str] = mapped_column(String(140), default="")
    rate_15_cents: Mapped[int | None] = mapped_column(Integer)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    first_15_free: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[UTCInstant | None]
    created_at: Mapped[CreatedAt]

    tags: Mapped[list[MentorTag]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="MentorTag.tag"
    )

    # Set by the login loader: Flask-Login stores this login's id in both cookies.
    current_login_id = None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    def get_id(self) -> str | None:
        return self.current_login_id

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def tag_names(self) -> list[str]:
        return [tag.tag for tag in self.tags]

    @property
    def profile_url(self) -> str:
        return url_for("accounts.mentor_profile", user_id=self.id)


class MentorTag(db.Model):
    """One expertise tag of a mentor."""

    __tablename__ = "mentor_tag"
    __table_args__ = (UniqueConstraint("user_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(30), index=True)

    user: Mapped[User] = relationship(back_populates="tags")

    def __repr__(self) -> str:
        return f"<MentorTag {self.user_id} {self.tag}>"


class Login(db.Model):
    """One signed-in device: the cookies carry its random id, so it can be revoked."""

    __tablename__ = "login"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[CreatedAt]
    last_seen_at: Mapped[UTCInstant]
    revoked_at: Mapped[UTCInstant | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Login {self.id[:8]}… user={self.user_id}>"

    def is_valid(self, now: datetime, idle_seconds: int, max_age_seconds: int) -> bool:
        """Tell whether this login may still be used at `now`."""
        if self.revoked_at is not None:
            return False
        if (now - self.created_at).total_seconds() >= max_age_seconds:
            return False
        idle = (now - self.last_seen_at).total_seconds()
        return self.remember or idle < idle_seconds
