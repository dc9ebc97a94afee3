"""The ledger and everything that moves money or rates a session."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.models import CreatedAt, UTCInstant
from webapp.sessions.models import LiveSession

# Ledger accounts are named "<kind>:<owner id>" or just "<kind>" for the two global ones.
ACCOUNT_BALANCE = "balance"  # a mentee's spendable credits
ACCOUNT_EARNINGS = "earnings"  # a mentor's earnings (not spendable credits)
ACCOUNT_ESCROW = "escrow"  # one per freelance job
ACCOUNT_PLATFORM = "platform"  # service fees
ACCOUNT_EXTERNAL = "external"  # the outside world: top-ups come from it, payouts go to it


def account_name(kind: str, owner_id: int | None = None) -> str:
    """Return a ledger account's name, like "balance:12" or "platform"."""
    return kind if owner_id is None else f"{kind}:{owner_id}"


class Transfer(db.Model):
    """One movement of money: ledger entries that sum to zero, written in one transaction."""

    __tablename__ = "transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    memo: Mapped[str] = mapped_column(String(300), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("freelance_job.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("direct_payment.id"))
    created_at: Mapped[CreatedAt]

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transfer", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Transfer {self.id} {self.kind}>"


class LedgerEntry(db.Model):
    """One side of a transfer: an amount in cents added to (or taken from) one account."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfer.id"), index=True)
    account: Mapped[str] = mapped_column(String(40), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    transfer: Mapped[Transfer] = relationship(back_populates="entries")

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.account} {self.amount_cents}>"


class Invoice(db.Model):
    """The charge of a paid session: its lines as created, and what refunds took back."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    live_session_id: Mapped[int] = mapped_column(ForeignKey("live_session.id"), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="open")
    billed_seconds: Mapped[int] = mapped_column(Integer)
    minutes_charged: Mapped[int] = mapped_column(Integer)
    free_minutes: Mapped[int] = mapped_column(Integer, default=0)
    rate_15_cents: Mapped[int] = mapped_column(Integer)
    fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    subtotal_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    # Sums of every refund and adjustment so far; what is still charged is the difference.
    refunded_subtotal_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    adjusted_minutes: Mapped[int | None] = mapped_column(Integer)
    # Running intervals as created: [{started_at, ended_at, started_by, stopped_by}], ISO times.
    intervals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[CreatedAt]
    settles_at: Mapped[UTCInstant]
    settled_at: Mapped[UTCInstant | None]

    live_session: Mapped[LiveSession] = relationship()
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])

    def __repr__(self) -> str:
        return f"<Invoice {self.id} {self.state} {self.total_cents}>"

    @property
    def charged_subtotal_cents(self) -> int:
        return self.subtotal_cents - self.refunded_subtotal_cents

    @property
    def charged_fee_cents(self) -> int:
        return self.fee_cents - self.refunded_fee_cents

    @property
    def charged_total_cents(self) -> int:
        return self.charged_subtotal_cents + self.charged_fee_cents


class InvoiceChange(db.Model):
    """An adjustment, refund or dispute decision on an invoice, for its history."""

    __tablename__ = "invoice_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    minutes: Mapped[int | None] = mapped_column(Integer)
    subtotal_refund_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_refund_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[CreatedAt]

    def __repr__(self) -> str:
        return f"<InvoiceChange {self.id} {self.kind} invoice={self.invoice_id}>"


class Dispute(db.Model):
    """A mentee's objection to an open invoice (at most one per invoice)."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    minutes_claimed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]
    resolved_at: Mapped[UTCInstant | None]
    resolution: Mapped[str] = mapped_column(String(300), default="")

    def __repr__(self) -> str:
        return f"<Dispute {self.id} invoice={self.invoice_id}>"


class FreelanceJob(db.Model):
    """A fixed-price job a mentor offers in a chat; its price waits in escrow once accepted."""

    __tablename__ = "freelance_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="offered")
    question: Mapped[str] = mapped_column(Text, default="")
    mentor_share_cents: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[CreatedAt]
    accepted_at: Mapped[UTCInstant | None]
    delivered_at: Mapped[UTCInstant | None]
    release_at: Mapped[UTCInstant | None]
    closed_at: Mapped[UTCInstant | None]

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])

    def __repr__(self) -> str:
        return f"<FreelanceJob {self.id} {self.state} {self.price_cents}>"


class DirectPayment(db.Model):
    """A tip or a payment for agreed work, from a mentee to a mentor, with no fee."""

    __tablename__ = "direct_payment"
    __table_args__ = (UniqueConstraint("mentee_id", "form_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(500), default="")
    form_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]

    def __repr__(self) -> str:
        return f"<DirectPayment {self.id} {self.amount_cents}>"


class Review(db.Model):
    """A mentee's rating of a mentor after an invoiced paid session (one per session)."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    live_session_id: Mapped[int] = mapped_column(ForeignKey("live_session.id"), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[CreatedAt]

    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])

    def __repr__(self) -> str:
        return f"<Review {self.id} session={self.live_session_id} {self.rating}>"
