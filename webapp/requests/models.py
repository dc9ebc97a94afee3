"""Help requests and their tags."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant

KIND_LIVE = "live"
KIND_FREELANCE = "freelance"
STATE_OPEN = "open"
STATE_CLOSED = "closed"


class HelpRequest(db.Model):
    """A mentee's question: live help or a freelance job."""

    __tablename__ = "help_request"
    __table_args__ = (Index("ix_help_request_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default=KIND_LIVE)
    graded: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=STATE_OPEN)
    created_at: Mapped[CreatedAt]
    closed_at: Mapped[UTCInstant | None]

    mentee: Mapped[User] = relationship()
    tags: Mapped[list[HelpRequestTag]] = relationship(
        back_populates="help_request", cascade="all, delete-orphan", order_by="HelpRequestTag.tag"
    )

    def __repr__(self) -> str:
        return f"<HelpRequest {self.id} {self.state}>"

    @property
    def tag_names(self) -> list[str]:
        return [tag.tag for tag in self.tags]

    @property
    def is_open(self) -> bool:
        return self.state == STATE_OPEN

    @property
    def url(self) -> str:
        return url_for("requests.show", request_id=self.id)


class HelpRequestTag(db.Model):
    """One tag of a help request."""

    __tablename__ = "help_request_tag"
    __table_args__ = (UniqueConstraint("help_request_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    help_request_id: Mapped[int] = mapped_column(
        ForeignKey("help_request.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(30), index=True)

    help_request: Mapped[HelpRequest] = relationship(back_populates="tags")

    def __repr__(self) -> str:
        return f"<HelpRequestTag {self.help_request_id} {self.tag}>"
