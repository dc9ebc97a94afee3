"""Builders shared by the billing tests: requests, chats, ended paid sessions and balances.

Ended paid sessions are inserted directly and invoiced by `billing.invoicing.create_invoice`,
the function the session services call on a paid end, so the invoice lines are the real ones.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from webapp import clock, database
from webapp.billing import ledger
from webapp.billing.invoicing import create_invoice
from webapp.billing.models import (
    LedgerEntry,
)
from webapp.chat.models import Conversation
from webapp.extensions import db
from webapp.requests.models import HelpRequest
from webapp.sessions.models import KIND_PAID, LiveSession


def top_up(app, mentee_id: int, cents: int) -> None:
    """Put money into a mentee's balance from outside, as the operator's top-up does."""
    with app.app_context():
        database.begin_write()
        ledger.lock_users(mentee_id)
        ledger.top_up(mentee_id, cents)
        database.commit()


def make_conversation(
    app, mentor_id: int, mentee_id: int, *, graded: bool = False, closed: bool = False
) -> int:
    """Create a help request of the mentee and the mentor's chat about it; return the chat id."""
    with app.app_context():
        database.begin_write()
        help_request = HelpRequest(
            mentee_id=mentee_id,
            title="Flask app crashes on start",
            description="It raises an ImportError.",
            kind="live",
            graded=graded,
            state="closed" if closed else "open",
            created_at=clock.now(),
        )
        db.session.add(help_request)
        db.session.flush()
        conversation = Conversation(
            help_request_id=help_request.id,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            created_at=clock.now(),
        )
        db.session.add(conversation)
        database.commit()
        return conversation.id


def make_invoice(
    app,
    mentor_id: int,
    mentee_id: int,
    *,
    billed_seconds: int,
    rate_15_cents: int = 2000,
    fee_bp: int = 0,
    first_free: bool = False,
) -> int:
    """Insert a paid session that just ended after `billed_seconds`, invoice it, return its id."""
    with app.app_context():
        database.begin_write()
        now = clock.now()
        live_session = LiveSession(
            token=secrets.token_urlsafe(16),
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            kind=KIND_PAID,
            rate_15_cents=rate_15_cents,
            fee_bp=fee_bp,
            first_free=first_free,
            state="ended",
            billed_ms_closed=billed_seconds * 1000,
            created_at=now - timedelta(seconds=billed_seconds + 60),
            started_at=now - timedelta(seconds=billed_seconds),
            ended_at=now,
        )
        db.session.add(live_session)
        db.session.flush()
        invoice = create_invoice(live_session, now)
        database.commit()
        return invoice.id


def balances(app) -> dict[str, int]:
    """Return the balance in cents of every account that has entries, by account name."""
    with app.app_context():
        rows = db.session.execute(select(LedgerEntry.account, LedgerEntry.amount_cents)).all()
        db.session.rollback()
    totals: dict[str, int] = {}
    for account, amount in rows:
        totals[account] = totals.get(account, 0) + amount
    return totals
