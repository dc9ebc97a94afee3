"""Conversations, messages, read markers and special rates."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant
from webapp.requests.models import HelpRequest

MESSAGE_TEXT = "text"
MESSAGE_SYSTEM = "system"


class Conversation(db.Model):
    """The chat of one mentor about one help request (with that request's mentee)."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("help_request_id", "mentor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    help_request_id: Mapped[int] = mapped_column(ForeignKey("help_request.id"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[CreatedAt]
    last_message_at: Mapped[UTCInstant | None]

    help_request: Mapped[HelpRequest] = relationship()
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])

    def __repr__(self) -> str:
        return f"<Conversation {self.id} request={self.help_request_id} mentor={self.mentor_id}>"

    @property
    def url(self) -> str:
        return url_for("chat.show", conversation_id=self.id)

    def other_party(self, user_id: int) -> User:
        return self.mentee if user_id == self.mentor_id else self.mentor


class Message(db.Model):
    """One chat message, or a system message such as a room link."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        # The one-time token of the form that sent it: a retried POST stores nothing twice.
        UniqueConstraint("conversation_id", "form_token"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16), default=MESSAGE_TEXT)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    form_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]

    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Message {self.id} conversation={self.conversation_id} {self.kind}>"


class ReadMarker(db.Model):
    """The newest message of a conversation that a participant has seen."""

    __tablename__ = "read_marker"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ReadMarker {self.conversation_id} user={self.user_id}>"


class SpecialRate(db.Model):
    """A rate per 15 minutes that a mentor set for one mentee."""

    __tablename__ = "special_rate"
    __table_args__ = (UniqueConstraint("mentor_id", "mentee_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    rate_15_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]

    def __repr__(self) -> str:
        return f"<SpecialRate mentor={self.mentor_id} mentee={self.mentee_id}>"
