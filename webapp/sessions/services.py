"""Live sessions: create them, load them for a participant, act on them, record presence.

Every change goes through the one locked transition path in `webapp.sessions.transitions`
(re-exported here); the timed rules and state changes are in `webapp.sessions.rules`, the
heartbeat queries in `webapp.sessions.presence`.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from webapp import clock
from webapp.accounts.models import User
from webapp.billing import ledger
from webapp.domain import pricing, timeline
from webapp.domain.lifecycle import Kind, State
from webapp.exceptions import Conflict, Forbidden, Invalid, NotFound
from webapp.extensions import db
from webapp.sessions import presence, rules
from webapp.sessions.models import LiveSession
from webapp.sessions.presence import people_in_room
from webapp.sessions.transitions import (
    apply_due,
    credit_changed,
    missing_credit_reason,
    perform,
    set_cap,
    set_meeting_link,
)

logger = logging.getLogger(__name__)

__all__ = [
    "affordable_seconds_for",
    "apply_due",
    "billed_ms_now",
    "create_live_session",
    "credit_changed",
    "live_session_for",
    "people_in_room",
    "perform",
    "record_presence",
    "set_cap",
    "set_meeting_link",
]


def live_session_for(user_id: int, token: str) -> LiveSession:
    """Return the live session with this room token; NotFound (404) unless the user is a
    participant, so an unknown token and someone else's room look the same."""
    live_session = db.session.scalars(
        select(LiveSession).where(LiveSession.token == token)
    ).one_or_none()
    if live_session is None or live_session.role_of(user_id) is None:
        raise NotFound("There is no such session, or you cannot see it.")
    return live_session


def create_live_session(
    *,
    mentor_id: int,
    mentee_id: int,
    kind: str,
    actor_id: int,
    conversation_id: int | None = None,
    help_request_id: int | None = None,
    rate_15_cents: int | None = None,
) -> tuple[LiveSession, bool]:
    """Create a free or paid live session in the caller's write transaction (it flushes).

    Returns the session and True, or the pair's session that has not ended and False (and
    changes nothing). A paid session keeps `rate_15_cents` (a special rate) or the mentor's
    profile rate, and the configured fee; it is refused (Conflict) while the mentee's
    available credit is below 20 minutes' worth. Nobody is both sides (Forbidden).
    """
    try:
        kind = Kind(kind)
    except ValueError as error:
        raise Invalid(f"Unknown kind of session {kind!r}.") from error
    if mentor_id == mentee_id:
        raise Forbidden("You cannot have a session with yourself.")
    # Lock order: the mentee's row, then the mentor's.
    ledger.lock_users(mentee_id, mentor_id)
    existing = db.session.scalars(
        select(LiveSession).where(
            LiveSession.mentor_id == mentor_id,
            LiveSession.mentee_id == mentee_id,
            LiveSession.state != State.ENDED,
        )
    ).one_or_none()
    if existing is not None:
        return existing, False

    mentor = db.session.get(User, mentor_id)
    mentee = db.session.get(User, mentee_id)
    if mentor is None or mentee is None:
        raise NotFound("There is no such user.")
    config = current_app.config
    limits = rules.limits()
    rate = 0
    fee_bp = 0
    if kind is Kind.PAID:
        rate = rate_15_cents if rate_15_cents is not None else mentor.rate_15_cents
        if not rate:
            raise Conflict("The mentor has not set a rate yet, so a paid session cannot start.")
        fee_bp = int(config["SERVICE_FEE_BP"])
        need = pricing.minimum_credit_cents(rate, fee_bp, limits.min_credit_seconds)
        available = ledger.available_credit_cents(mentee_id)
        if available < need:
            raise Conflict(missing_credit_reason(need, available, limits.min_credit_seconds))

    now = clock.now()
    live_session = LiveSession(
        token=secrets.token_urlsafe(32),
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        conversation_id=conversation_id,
        help_request_id=help_request_id,
        kind=kind,
        rate_15_cents=rate,
        fee_bp=fee_bp,
        meeting_url="",
        state=State.OPEN,
        billed_ms_closed=0,
        version=0,
        start_reminders_sent=0,
        pause_reminded=False,
        free_cap_warned=False,
        limit_warned=False,
        created_at=now,
        next_deadline_at=now + timedelta(seconds=limits.unstarted_expiry_seconds),
    )
    db.session.add(live_session)
    db.session.flush()
    rules.add_event(
        live_session,
        "created",
        now,
        actor_id=actor_id,
        data={"kind": str(kind), "rate_15_cents": rate, "fee_bp": fee_bp},
    )
    db.session.flush()
    logger.info(
        "live session %s created (%s) for mentor %s and mentee %s by user %s",
        live_session.id,
        kind,
        mentor_id,
        mentee_id,
        actor_id,
    )
    return live_session, True


def record_presence(live_session: LiveSession, user_id: int) -> None:
    """Record a participant's heartbeat (safe in a GET; a prefetch must not call it).

    Applies due timed rules first, the idle pause included, but only when something is due.
    Then writes `last_seen_at` at most every PRESENCE_WRITE_SECONDS in its own short write
    transaction. The first entry writes the `joined` event, and the mentee's first entry
    notifies the mentor.
    """
    from webapp.sessions import transitions

    if live_session.role_of(user_id) is None:
        raise NotFound("There is no such session, or you cannot see it.")
    live_session_id = live_session.id
    now = clock.now()
    if live_session.state == State.ENDED:
        return
    if rules.is_due(live_session, now):
        live_session = transitions.apply_due(live_session_id, now=now)
        if live_session.state == State.ENDED:
            return
    row = presence.presence_of(live_session_id, user_id)
    if row is None:
        transitions.join(live_session_id, user_id)
    elif now - row.last_seen_at >= timedelta(seconds=presence.write_interval_seconds()):
        presence.touch(live_session_id, user_id, now)


def billed_ms_now(live_session: LiveSession, now: datetime | None = None) -> int:
    """Return the billed milliseconds of a live session now (running time included)."""
    return timeline.billed_ms(
        live_session.billed_ms_closed, live_session.running_since, now or clock.now()
    )


def affordable_seconds_for(live_session: LiveSession) -> int | None:
    """Return the billed seconds the mentee's credit and cap allow; None for a free session."""
    if not live_session.is_paid:
        return None
    return rules.Terms(live_session).affordable_seconds()
