"""The one transition path: every change of a live session goes through `_change`.

`_change` owns its transaction (ARCHITECTURE.md "Transitions, one path"): it ends the
request's read transaction, begins a write transaction, locks the mentee's row of a paid
session and then the session's row, applies every timed rule that fell due (each at its own
deadline), makes the change, applies what the change itself made due, stores the next
deadline and commits. A refused change still commits the timed rules it applied first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from webapp import clock, database
from webapp.billing import ledger
from webapp.billing.models import Invoice
from webapp.domain import timeline
from webapp.domain.lifecycle import Action, Kind, Outcome, State, decide
from webapp.domain.money import format_amount
from webapp.domain.pricing import minimum_credit_cents
from webapp.exceptions import (
    AlreadyDone,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooMany,
)
from webapp.extensions import db
from webapp.sessions import presence, rules
from webapp.sessions.models import LiveSession, Presence
from webapp.sessions.rules import Terms

logger = logging.getLogger(__name__)

Change = Callable[[LiveSession, Terms, datetime], None]

MAX_CAP_MINUTES = 100_000
MAX_MEETING_URL_CHARS = 500


def _lock(live_session_id: int) -> LiveSession:
    """Begin a write transaction and lock the mentee's row (paid sessions), then the session."""
    database.begin_write()
    row = db.session.execute(
        select(LiveSession.kind, LiveSession.mentee_id).where(LiveSession.id == live_session_id)
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such session.")
    if row.kind == Kind.PAID:
        ledger.lock_users(row.mentee_id)
    statement = (
        select(LiveSession)
        .where(LiveSession.id == live_session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(statement).one()


def _now_for(live_session: LiveSession, now: datetime | None = None) -> datetime:
    """Return the instant of this change: the clock, read after the lock, never before the
    newest event (another process's clock may lag a little behind the one that wrote it)."""
    now = now or clock.now()
    newest = rules.last_event_at(live_session.id)
    return max(now, newest) if newest is not None else now


def _change(
    live_session_id: int, change: Change | None = None, *, now: datetime | None = None
) -> tuple[LiveSession, int]:
    """Run one change through the locked path and commit; return the session and the number
    of timed rules applied. A ServiceError from `change` is raised after the commit."""
    failure: ServiceError | None = None
    try:
        live_session = _lock(live_session_id)
        now = _now_for(live_session, now)
        terms = Terms(live_session)
        applied = rules.apply_due_rules(live_session, terms, now)
        if change is not None:
            try:
                change(live_session, terms, now)
            except ServiceError as error:
                failure = error
            else:
                applied += rules.apply_due_rules(live_session, terms, now, floor=now)
        rules.recompute_deadline(live_session, terms)
        database.commit()
    except BaseException:
        database.rollback()
        raise
    if failure is not None:
        raise failure
    return live_session, applied


def _peek_by_token(token: str) -> LiveSession:
    live_session = db.session.scalars(
        select(LiveSession).where(LiveSession.token == token)
    ).one_or_none()
    if live_session is None:
        raise NotFound("There is no such session, or you cannot see it.")
    return live_session


def _participant_session_id(token: str, user_id: int) -> int:
    live_session = _peek_by_token(token)
    if live_session.role_of(user_id) is None:
        raise NotFound("There is no such session, or you cannot see it.")
    return live_session.id


# Clicks.


def perform(token: str, user_id: int, action: str) -> LiveSession:
    """Apply a participant's click (request_start, start, pause, resume, end, nudge).

    Raises NotFound for an outsider, Forbidden for the wrong role, AlreadyDone when the
    action is already in effect, Conflict when the state, presence or credit do not allow it,
    and TooMany for a nudge within NUDGE_INTERVAL_SECONDS. Timed rules that fell due are
    applied and committed first, even when the click is refused.
    """
    try:
        action = Action(action)
    except ValueError as error:
        raise Invalid(f"Unknown action {action!r}.") from error
    live_session_id = _participant_session_id(token, user_id)

    def change(live_session: LiveSession, terms: Terms, now: datetime) -> None:
        _decide_and_apply(live_session, terms, now, user_id, action)

    live_session, _ = _change(live_session_id, change)
    return live_session


def _decide_and_apply(
    live_session: LiveSession, terms: Terms, now: datetime, user_id: int, action: Action
) -> None:
    role = live_session.role_of(user_id)
    other_id = live_session.mentee_id if role == "mentor" else live_session.mentor_id
    other_present = False
    if action in (Action.REQUEST_START, Action.START):
        other_present = other_id in presence.people_in_room_at(live_session.id, now)
    budget = None
    if action is Action.RESUME and live_session.state == State.PAUSED:
        budget = timeline.resume_budget_seconds(
            live_session.kind,
            live_session.billed_ms_closed // 1000,
            terms.affordable_seconds(),
            terms.limits,
        )
    decision = decide(
        action,
        state=live_session.state,
        kind=live_session.kind,
        role=role,
        other_present=other_present,
        resume_budget_seconds=budget,
    )
    if decision.outcome is Outcome.FORBIDDEN:
        raise Forbidden(decision.reason)
    if decision.outcome is Outcome.ALREADY:
        raise AlreadyDone(decision.reason)
    if decision.outcome is Outcome.CONFLICT:
        raise Conflict(decision.reason)

    if action is Action.REQUEST_START:
        live_session.state = State.START_REQUESTED
        live_session.start_requested_at = now
        live_session.start_reminders_sent = 0
        rules.add_event(live_session, "start_requested", now, actor_id=user_id)
        rules.notify_other(
            live_session,
            user_id,
            "The mentor asked you to start the session: Start Session starts billing.",
        )
    elif action is Action.START:
        data = {}
        if live_session.is_paid:
            data["first_free"] = _check_paid_start(live_session, terms)
        rules.start_running(live_session, now, user_id, **data)
        live_session.limit_warned = False
        rules.notify_other(live_session, user_id, "The session started.")
    elif action is Action.PAUSE:
        rules.pause(live_session, now, user_id)
        rules.notify_other(live_session, user_id, "The session was paused.")
    elif action is Action.RESUME:
        rules.start_running(live_session, now, user_id)
        rules.notify_other(live_session, user_id, "The session was resumed.")
    elif action is Action.END:
        rules.end(live_session, now, user_id, now)
        text = "The session ended."
        if live_session.is_paid and live_session.started_at is not None:
            text += rules.invoice_note(live_session)
        rules.notify_other(live_session, user_id, text)
    elif action is Action.NUDGE:
        _check_nudge_interval(live_session, now)
        live_session.last_nudge_at = now
        rules.add_event(live_session, "nudged", now, actor_id=user_id)
        rules.notify_other(
            live_session, user_id, "The mentor is waiting for you to start the session."
        )
    logger.info(
        "live session %s: %s by user %s -> %s", live_session.id, action, user_id, live_session.state
    )


def _check_paid_start(live_session: LiveSession, terms: Terms) -> bool:
    """Refuse a paid start without the minimum credit or beside another paid session, and
    decide once whether the first 15 minutes are free."""
    need = minimum_credit_cents(
        live_session.rate_15_cents, live_session.fee_bp, terms.limits.min_credit_seconds
    )
    available = terms.credit_cents()
    if available < need:
        raise Conflict(missing_credit_reason(need, available, terms.limits.min_credit_seconds))
    other_active = db.session.scalar(
        select(LiveSession.id).where(
            LiveSession.mentee_id == live_session.mentee_id,
            LiveSession.kind == Kind.PAID,
            LiveSession.state.in_([State.RUNNING, State.PAUSED]),
            LiveSession.id != live_session.id,
        )
    )
    if other_active is not None:
        raise Conflict(
            "The mentee already has a paid session running or paused. End it before starting "
            "this one."
        )
    mentor_opted_in = bool(live_session.mentor.first_15_free)
    had_invoice = (
        db.session.scalar(
            select(Invoice.id).where(Invoice.mentee_id == live_session.mentee_id).limit(1)
        )
        is not None
    )
    live_session.first_free = mentor_opted_in and not had_invoice
    return live_session.first_free


def missing_credit_reason(need: int, available: int, seconds: int) -> str:
    """Explain how much credit is missing to create or start a paid session."""
    from flask import current_app

    currency = current_app.config["CURRENCY"]
    minutes = -(-seconds // 60)
    return (
        f"A paid session needs {format_amount(need, currency)} of available credit "
        f"({minutes} minutes at this rate); the mentee has {format_amount(available, currency)}. "
        f"Add {format_amount(need - available, currency)} to go on."
    )


def _check_nudge_interval(live_session: LiveSession, now: datetime) -> None:
    from flask import current_app

    interval = timedelta(seconds=int(current_app.config["NUDGE_INTERVAL_SECONDS"]))
    if live_session.last_nudge_at is not None and now < live_session.last_nudge_at + interval:
        wait = live_session.last_nudge_at + interval - now
        seconds = max(1, -(-wait // timedelta(seconds=1)))
        raise TooMany(f"You nudged a moment ago. You can nudge again in {seconds} seconds.")


# Settings.


def set_cap(token: str, user_id: int, cap_minutes: int | None) -> LiveSession:
    """Set, change or remove the mentee's spending cap (billed minutes) of a paid session.

    The cap is never below max(15, ceil(billed seconds / 60)) (Invalid otherwise). It moves
    the limit, and re-arms the limit warning when the limit left the warning window.
    """
    live_session_id = _participant_session_id(token, user_id)
    if cap_minutes is not None and (
        isinstance(cap_minutes, bool) or not isinstance(cap_minutes, int)
    ):
        raise Invalid("The spending cap must be a whole number of minutes.")

    def change(live_session: LiveSession, terms: Terms, now: datetime) -> None:
        if live_session.role_of(user_id) != "mentee":
            raise Forbidden("Only the mentee can set the spending cap.")
        if cap_minutes is not None:
            billed_s = timeline.billed_seconds(
                live_session.billed_ms_closed, live_session.running_since, now
            )
            lowest = max(15, -(-billed_s // 60))
            if cap_minutes < lowest:
                raise Invalid(f"The spending cap cannot be below {lowest} minutes.")
            if cap_minutes > MAX_CAP_MINUTES:
                raise Invalid(f"The spending cap cannot be above {MAX_CAP_MINUTES} minutes.")
        if live_session.cap_minutes == cap_minutes:
            raise AlreadyDone("The spending cap is already set to that.")
        if not live_session.is_paid:
            raise Conflict("A free session has no spending cap.")
        if live_session.state == State.ENDED:
            raise Conflict("The session has ended.")
        live_session.cap_minutes = cap_minutes
        rules.add_event(
            live_session, "cap_set", now, actor_id=user_id, data={"cap_minutes": cap_minutes}
        )
        rules.rearm_limit_warning(live_session, terms, now)
        logger.info(
            "live session %s: cap set to %s by user %s", live_session_id, cap_minutes, user_id
        )

    live_session, _ = _change(live_session_id, change)
    return live_session


def set_meeting_link(token: str, user_id: int, url: str) -> LiveSession:
    """Set the meeting link of the room (either participant); only https URLs (Invalid)."""
    live_session_id = _participant_session_id(token, user_id)
    url = (url or "").strip()
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or len(url) > MAX_MEETING_URL_CHARS
        or any(character.isspace() for character in url)
    ):
        raise Invalid("Enter a meeting link that starts with https://.")

    def change(live_session: LiveSession, terms: Terms, now: datetime) -> None:
        if live_session.meeting_url == url:
            raise AlreadyDone("The meeting link is already set to that.")
        if live_session.state == State.ENDED:
            raise Conflict("The session has ended.")
        live_session.meeting_url = url
        rules.add_event(live_session, "meeting_link_set", now, actor_id=user_id, data={"url": url})
        rules.notify_other(live_session, user_id, "The meeting link of the session was set.")

    live_session, _ = _change(live_session_id, change)
    return live_session


# Reads that may apply due rules, presence, credit.


def apply_due(live_session_id: int, *, now: datetime | None = None) -> LiveSession:
    """Apply the timed rules that fell due, for page views and polls.

    A cheap read comes first; the row is locked only when something is due.
    """
    live_session = db.session.scalars(
        select(LiveSession)
        .where(LiveSession.id == live_session_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if live_session is None:
        raise NotFound("There is no such session.")
    if not rules.is_due(live_session, now or clock.now()):
        return live_session
    live_session, _ = _change(live_session_id, now=now)
    return live_session


def apply_due_counting(live_session_id: int, now: datetime) -> int:
    """Apply what fell due on one live session through the locked path; count the rules."""
    _, applied = _change(live_session_id, now=now)
    return applied


def join(live_session_id: int, user_id: int) -> None:
    """Record a participant's first entry: the presence row, the `joined` event, and for the
    mentee a notification to the mentor."""

    def change(live_session: LiveSession, terms: Terms, now: datetime) -> None:
        if live_session.state == State.ENDED:
            return
        row = presence.presence_of(live_session.id, user_id)
        if row is not None:
            row.last_seen_at = max(row.last_seen_at, now)
            return
        db.session.add(
            Presence(
                live_session_id=live_session.id, user_id=user_id, joined_at=now, last_seen_at=now
            )
        )
        role = live_session.role_of(user_id)
        rules.add_event(live_session, "joined", now, actor_id=user_id, data={"role": role})
        if role == "mentee":
            # Named, because a mentor may have sessions with several mentees at once.
            text = f"{live_session.mentee.name} entered the session room. Join them there."
            rules.notify_other(live_session, user_id, text)

    _change(live_session_id, change)


def credit_changed(mentee_id: int) -> None:
    """Re-check the running or paused paid session of a mentee whose credit just moved.

    Call it inside the write transaction that moved the credit, after locking the mentee's
    row. It applies the rules that fell due, at their deadlines, then recomputes the limit
    and the next deadline, and re-arms the limit warning when the limit left the warning
    window. It is idempotent, so a caller may also call it before moving money, which applies
    the rules that fell due under the old credit.
    """
    statement = (
        select(LiveSession)
        .where(
            LiveSession.mentee_id == mentee_id,
            LiveSession.kind == Kind.PAID,
            LiveSession.state.in_([State.RUNNING, State.PAUSED]),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    live_session = db.session.scalars(statement).one_or_none()
    if live_session is None:
        return
    now = _now_for(live_session)
    terms = Terms(live_session)
    rules.apply_due_rules(live_session, terms, now)
    if live_session.state != State.ENDED:
        rules.rearm_limit_warning(live_session, terms, now)
        rules.apply_due_rules(live_session, terms, now, floor=now)
    rules.recompute_deadline(live_session, terms)
    db.session.flush()
