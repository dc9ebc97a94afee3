"""Live sessions, their events and the participants' presence."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant

KIND_FREE = "free"
KIND_PAID = "paid"


class LiveSession(db.Model):
    """A mentoring session between one mentor and one mentee, with its billing timer."""

    __tablename__ = "live_session"
    __table_args__ = (
        # At most one session that has not ended per mentor and mentee.
        Index(
            "uq_live_session_pair_not_ended",
            "mentor_id",
            "mentee_id",
            unique=True,
            sqlite_where=text("state != 'ended'"),
            postgresql_where=text("state != 'ended'"),
        ),
        # At most one paid session running or paused per mentee.
        Index(
            "uq_live_session_mentee_paid_active",
            "mentee_id",
            unique=True,
            sqlite_where=text("kind = 'paid' AND state IN ('running', 'paused')"),
            postgresql_where=text("kind = 'paid' AND state IN ('running', 'paused')"),
        ),
        Index("ix_live_session_next_deadline_at", "next_deadline_at"),
        Index("ix_live_session_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_request.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    rate_15_cents: Mapped[int] = mapped_column(Integer, default=0)
    fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    # Decided once, when the mentee clicks Start Session on a paid session.
    first_free: Mapped[bool | None] = mapped_column(Boolean)
    meeting_url: Mapped[str] = mapped_column(String(500), default="")
    cap_minutes: Mapped[int | None] = mapped_column(Integer)

    state: Mapped[str] = mapped_column(String(16), default="open")
    billed_ms_closed: Mapped[int] = mapped_column(BigInteger, default=0)
    running_since: Mapped[UTCInstant | None]
    next_deadline_at: Mapped[UTCInstant | None]
    version: Mapped[int] = mapped_column(Integer, default=0)

    start_requested_at: Mapped[UTCInstant | None]
    start_reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_nudge_at: Mapped[UTCInstant | None]
    paused_at: Mapped[UTCInstant | None]
    pause_reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    free_cap_warned: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_warned: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[CreatedAt]
    started_at: Mapped[UTCInstant | None]
    ended_at: Mapped[UTCInstant | None]

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
    events: Mapped[list[SessionEvent]] = relationship(
        back_populates="live_session", order_by="SessionEvent.seq", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<LiveSession {self.id} {self.kind} {self.state} v{self.version}>"

    @property
    def url(self) -> str:
        return url_for("sessions.room", token=self.token)

    @property
    def is_paid(self) -> bool:
        return self.kind == KIND_PAID

    def role_of(self, user_id: int) -> str | None:
        """Return "mentor", "mentee" or None for someone outside this session."""
        if user_id == self.mentor_id:
            return "mentor"
        if user_id == self.mentee_id:
            return "mentee"
        return None


class SessionEvent(db.Model):
    """One change of a live session, with its server time and its actor (a person or a rule)."""

    __tablename__ = "session_event"
    __table_args__ = (UniqueConstraint("live_session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    live_session_id: Mapped[int] = mapped_column(ForeignKey("live_session.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The rule that acted (idle, credit, cap, free_cap, ...) when no person did.
    rule: Mapped[str | None] = mapped_column(String(24))
    at: Mapped[UTCInstant]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    live_session: Mapped[LiveSession] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SessionEvent {self.live_session_id}#{self.seq} {self.kind}>"


class Presence(db.Model):
    """When a participant last had the room open (the room's polls are the heartbeat)."""

    __tablename__ = "presence"

    live_session_id: Mapped[int] = mapped_column(
        ForeignKey("live_session.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    joined_at: Mapped[UTCInstant]
    last_seen_at: Mapped[UTCInstant]

    def __repr__(self) -> str:
        return f"<Presence {self.live_session_id} user={self.user_id}>"
