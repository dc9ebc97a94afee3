"""The invoice of a paid live session, created in the transaction that ends it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from webapp.billing.models import Invoice
from webapp.domain import pricing, timeline
from webapp.extensions import db
from webapp.sessions.models import LiveSession, SessionEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _EventView:
    """A stored event as `domain.timeline` reads it: kind, instant and an actor label."""

    kind: str
    at: datetime
    actor: str


def actor_label(live_session: LiveSession, event: SessionEvent) -> str:
    """Name who acted: "mentor" or "mentee" for a click, the rule's name for a timed rule."""
    if event.rule:
        return event.rule
    return live_session.role_of(event.actor_id) or "system"


def intervals_of(live_session: LiveSession) -> list[timeline.Interval]:
    """Rebuild a live session's running intervals from its stored events."""
    statement = (
        select(SessionEvent)
        .where(SessionEvent.live_session_id == live_session.id)
        .order_by(SessionEvent.seq)
    )
    views = [
        _EventView(event.kind, event.at, actor_label(live_session, event))
        for event in db.session.scalars(statement)
    ]
    return timeline.intervals_from_events(views)


def create_invoice(live_session: LiveSession, now: datetime) -> Invoice | None:
    """Create the invoice of an ended paid live session, or return None when nothing is due.

    Nothing is due for a session never started or billed less than the grace minute. The
    lines come from `domain.pricing.charge`, the intervals from the events, and the invoice
    settles DISPUTE_WINDOW_SECONDS after `now`, the clock time of the transaction (not the
    recorded end, which a timed rule may have placed earlier).
    """
    if not live_session.is_paid or live_session.started_at is None:
        return None
    config = current_app.config
    billed_seconds = live_session.billed_ms_closed // 1000
    lines = pricing.charge(
        billed_seconds,
        live_session.rate_15_cents,
        live_session.fee_bp,
        first_free=bool(live_session.first_free),
        grace_seconds=int(config["START_GRACE_SECONDS"]),
    )
    if not lines.invoiced:
        return None
    intervals = [
        {
            "started_at": interval.started_at.isoformat(),
            "ended_at": interval.ended_at.isoformat() if interval.ended_at else None,
            "started_by": interval.started_by,
            "stopped_by": interval.stopped_by,
            "billed_ms": timeline.billed_ms_from_intervals([interval], now),
        }
        for interval in intervals_of(live_session)
    ]
    invoice = Invoice(
        live_session_id=live_session.id,
        mentor_id=live_session.mentor_id,
        mentee_id=live_session.mentee_id,
        state="open",
        billed_seconds=billed_seconds,
        minutes_charged=lines.minutes_charged,
        free_minutes=lines.free_minutes,
        rate_15_cents=lines.rate_15_cents,
        fee_bp=lines.fee_bp,
        subtotal_cents=lines.subtotal_cents,
        fee_cents=lines.fee_cents,
        total_cents=lines.total_cents,
        refunded_subtotal_cents=0,
        refunded_fee_cents=0,
        intervals=intervals,
        created_at=now,
        settles_at=now + timedelta(seconds=int(config["DISPUTE_WINDOW_SECONDS"])),
    )
    db.session.add(invoice)
    db.session.flush()
    logger.info(
        "invoice %s for live session %s: %s s billed, %s cents",
        invoice.id,
        live_session.id,
        billed_seconds,
        invoice.total_cents,
    )
    return invoice
