"""What changes a locked live session: events, state changes, timed rules and deadlines.

Everything here runs inside the one transition path of `webapp.sessions.transitions`, on a
live session whose row (and, for a paid one, whose mentee's row) the transaction has locked.
Nothing here begins, commits or rolls back a transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from werkzeug.routing import BuildError

from webapp.billing import ledger
from webapp.billing.invoicing import create_invoice
from webapp.billing.models import Invoice
from webapp.domain import pricing, timeline
from webapp.domain.lifecycle import Action, State
from webapp.domain.money import format_amount
from webapp.domain.timeline import RULE_ACTIONS, RULE_ORDER, Due, Limits, Rule, Snapshot
from webapp.extensions import db
from webapp.notifications.services import notify
from webapp.sessions import presence
from webapp.sessions.models import LiveSession, SessionEvent

logger = logging.getLogger(__name__)

NOTIFICATION_KIND = "session"

# The idle rule is not in RULE_ORDER (next_due never returns it). At a tie it comes after the
# credit and cap pauses, which make it moot, and after every end.
_RANK = {rule: rank for rank, rule in enumerate(RULE_ORDER)}
_RANK[Rule.IDLE] = _RANK[Rule.CAP] + 0.5

# Event kinds written by the reminder and warning rules (the others pause or end).
_RULE_EVENT_KINDS = {
    Rule.START_REMINDER: "start_reminded",
    Rule.PAUSE_REMINDER: "pause_reminded",
    Rule.FREE_CAP_WARNING: "free_cap_warned",
    Rule.LIMIT_WARNING: "limit_warned",
}

_RULE_TEXTS = {
    Rule.START_REMINDER: "Reminder: the mentor asked to start the session; the mentee has not "
    "started it yet.",
    Rule.PAUSE_REMINDER: "The session has been paused for a while: resume it or end it.",
    Rule.FREE_CAP_WARNING: "The free session ends by itself in {minutes} minutes.",
    Rule.LIMIT_WARNING: "The session pauses by itself in {minutes} minutes, when the {limit} "
    "runs out.",
    Rule.CREDIT: "The session paused by itself: the mentee's credit ran out.",
    Rule.CAP: "The session paused by itself: the spending cap was reached.",
    Rule.IDLE: "The session paused by itself: nobody had the room open for {minutes} minutes.",
    Rule.UNSTARTED: "The session ended by itself: it was never started.",
    Rule.PAUSED_TOO_LONG: "The session ended by itself: it stayed paused too long.",
    Rule.FREE_CAP: "The free session ended by itself at its time limit.",
    Rule.MAX_LENGTH: "The session ended by itself at the maximum session length.",
}


def limits() -> Limits:
    """Return the durations of the timed rules from the app's configuration."""
    return Limits.from_config(current_app.config)


@dataclass
class Terms:
    """What one transaction knows about a live session's money: read once, when first needed.

    The mentee's row is locked, so the available credit cannot change under us except
    through this transaction (which calls `forget_credit` when it moves money).
    """

    live_session: LiveSession
    limits: Limits = field(default_factory=limits)
    _credit_cents: int | None = None

    def credit_cents(self) -> int:
        if self._credit_cents is None:
            self._credit_cents = ledger.available_credit_cents(self.live_session.mentee_id)
        return self._credit_cents

    def forget_credit(self) -> None:
        self._credit_cents = None

    def affordable_seconds(self) -> int | None:
        """Return the billed seconds the credit and cap allow; None for a free session."""
        live_session = self.live_session
        if not live_session.is_paid:
            return None
        return pricing.affordable_seconds(
            self.credit_cents(),
            live_session.rate_15_cents,
            live_session.fee_bp,
            first_free=bool(live_session.first_free),
            cap_minutes=live_session.cap_minutes,
            grace_seconds=self.limits.start_grace_seconds,
        )

    def limit_rule(self) -> str:
        live_session = self.live_session
        return pricing.binding_limit_rule(
            self.credit_cents(),
            live_session.rate_15_cents,
            live_session.fee_bp,
            first_free=bool(live_session.first_free),
            cap_minutes=live_session.cap_minutes,
            grace_seconds=self.limits.start_grace_seconds,
        )

    def snapshot(self) -> Snapshot:
        live_session = self.live_session
        money_matters = live_session.is_paid and live_session.state in (
            State.RUNNING,
            State.PAUSED,
        )
        return Snapshot(
            kind=live_session.kind,
            state=live_session.state,
            created_at=live_session.created_at,
            start_requested_at=live_session.start_requested_at,
            start_reminders_sent=live_session.start_reminders_sent,
            running_since=live_session.running_since,
            billed_ms_closed=live_session.billed_ms_closed,
            paused_at=live_session.paused_at,
            pause_reminded=live_session.pause_reminded,
            free_cap_warned=live_session.free_cap_warned,
            limit_warned=live_session.limit_warned,
            affordable_seconds=self.affordable_seconds() if money_matters else None,
            limit_rule=self.limit_rule() if money_matters else Rule.CREDIT,
        )


def room_url(live_session: LiveSession) -> str:
    """Return the path of the room, also outside a request (the timers have none)."""
    adapter = current_app.url_map.bind("localhost")
    try:
        return adapter.build("sessions.room", {"token": live_session.token})
    except BuildError:
        # An app built without the room's blueprint (some tests and tools): the same path.
        return f"/sessions/{live_session.token}"


def last_event_at(live_session_id: int) -> datetime | None:
    """Return the instant of the newest event of a live session."""
    statement = (
        select(SessionEvent.at)
        .where(SessionEvent.live_session_id == live_session_id)
        .order_by(SessionEvent.seq.desc())
        .limit(1)
    )
    return db.session.scalar(statement)


def add_event(
    live_session: LiveSession,
    kind: str,
    at: datetime,
    *,
    actor_id: int | None = None,
    rule: str | None = None,
    data: dict | None = None,
) -> SessionEvent:
    """Append an event; `version` counts the events, so it is also the event's sequence."""
    live_session.version = (live_session.version or 0) + 1
    event = SessionEvent(
        live_session_id=live_session.id,
        seq=live_session.version,
        kind=kind,
        actor_id=actor_id,
        rule=rule,
        at=at,
        data=data or {},
    )
    db.session.add(event)
    return event


def notify_both(live_session: LiveSession, text: str) -> None:
    """Notify the mentor and the mentee about their live session."""
    url = room_url(live_session)
    for user_id in (live_session.mentor_id, live_session.mentee_id):
        notify(user_id, NOTIFICATION_KIND, text, url)


def notify_other(live_session: LiveSession, actor_id: int, text: str) -> None:
    """Notify the participant who did not act."""
    other = live_session.mentee_id if actor_id == live_session.mentor_id else live_session.mentor_id
    notify(other, NOTIFICATION_KIND, text, room_url(live_session))


# State changes. Each writes its event at `at`; `actor` is a user id or a rule.


def _actor(actor: int | str) -> dict:
    return {"rule": str(actor)} if isinstance(actor, str) else {"actor_id": actor}


def start_running(live_session: LiveSession, at: datetime, actor: int | str, **data) -> None:
    """Start (or resume) the billing timer at `at`."""
    kind = "resumed" if live_session.state == State.PAUSED else "started"
    if kind == "started":
        live_session.started_at = at
    live_session.state = State.RUNNING
    live_session.running_since = at
    live_session.paused_at = None
    add_event(live_session, kind, at, **_actor(actor), data=data)


def pause(live_session: LiveSession, at: datetime, actor: int | str) -> None:
    """Stop the billing timer at `at`, closing the running interval."""
    live_session.billed_ms_closed = timeline.billed_ms(
        live_session.billed_ms_closed, live_session.running_since, at
    )
    live_session.state = State.PAUSED
    live_session.running_since = None
    live_session.paused_at = at
    live_session.pause_reminded = False
    add_event(
        live_session,
        "paused",
        at,
        **_actor(actor),
        data={"billed_ms": live_session.billed_ms_closed},
    )


def end(live_session: LiveSession, at: datetime, actor: int | str, now: datetime) -> None:
    """End the live session at `at`, and invoice a paid one (created at the clock time `now`)."""
    live_session.billed_ms_closed = timeline.billed_ms(
        live_session.billed_ms_closed, live_session.running_since, at
    )
    live_session.state = State.ENDED
    live_session.running_since = None
    live_session.paused_at = None
    live_session.ended_at = at
    live_session.next_deadline_at = None
    add_event(
        live_session,
        "ended",
        at,
        **_actor(actor),
        data={"billed_ms": live_session.billed_ms_closed},
    )
    if not live_session.is_paid:
        return
    db.session.flush()
    invoice = create_invoice(live_session, now)
    if invoice is not None:
        add_event(
            live_session,
            "invoiced",
            now,
            data={"invoice_id": invoice.id, "total_cents": invoice.total_cents},
        )


# Timed rules.


def pending_rules(live_session: LiveSession, terms: Terms) -> list[Due]:
    """List the timed rules pending on this live session, earliest first, the idle rule too."""
    if live_session.state == State.ENDED:
        return []
    pending = timeline.due_rules(terms.snapshot(), terms.limits)
    if live_session.is_paid and live_session.state == State.RUNNING:
        idle_at = timeline.idle_deadline(
            live_session.running_since,
            presence.newest_heartbeat_at(live_session.id),
            terms.limits,
        )
        pending.append(Due(Rule.IDLE, idle_at))
    return sorted(pending, key=lambda due: (due.at, _RANK[due.rule]))


def apply_due_rules(
    live_session: LiveSession, terms: Terms, now: datetime, *, floor: datetime | None = None
) -> int:
    """Apply every timed rule due at or before `now`, each at its own deadline, and count them.

    A rule that is due only because of a change made at `floor` (a lower cap, a re-armed
    warning) is recorded at `floor`, never before the change that made it due.
    """
    applied = 0
    while True:
        pending = pending_rules(live_session, terms)
        if not pending or pending[0].at > now:
            break
        due = pending[0]
        at = due.at if floor is None else max(due.at, floor)
        apply_rule(live_session, due.rule, at, terms, now)
        applied += 1
    return applied


def apply_rule(
    live_session: LiveSession, rule: Rule, at: datetime, terms: Terms, now: datetime
) -> None:
    """Apply one timed rule at `at`: record its event, change the state, notify both."""
    action = RULE_ACTIONS[rule]
    text = _RULE_TEXTS[rule]
    limits_ = terms.limits
    if rule is Rule.START_REMINDER:
        live_session.start_reminders_sent += 1
        data = {"count": live_session.start_reminders_sent}
    elif rule is Rule.PAUSE_REMINDER:
        live_session.pause_reminded = True
        data = {}
    elif rule is Rule.FREE_CAP_WARNING:
        live_session.free_cap_warned = True
        remaining = limits_.free_session_limit_seconds - limits_.free_session_warning_seconds
        text = text.format(minutes=_minutes(remaining))
        data = {}
    elif rule is Rule.LIMIT_WARNING:
        live_session.limit_warned = True
        affordable = terms.affordable_seconds() or 0
        billed_s = timeline.billed_seconds(
            live_session.billed_ms_closed, live_session.running_since, at
        )
        limit_name = "spending cap" if terms.limit_rule() == Rule.CAP else "credit"
        text = text.format(minutes=_minutes(max(0, affordable - billed_s)), limit=limit_name)
        data = {"affordable_seconds": affordable, "limit": terms.limit_rule()}
    elif rule is Rule.IDLE:
        text = text.format(minutes=_minutes(limits_.idle_pause_seconds))
        data = {}
    else:
        data = {}

    if action is Action.PAUSE:
        pause(live_session, at, rule.value)
    elif action is Action.END:
        end(live_session, at, rule.value, now)
    else:
        add_event(live_session, _RULE_EVENT_KINDS[rule], at, rule=rule.value, data=data)

    if action is Action.END and live_session.is_paid and live_session.started_at is not None:
        text += invoice_note(live_session)
    notify_both(live_session, text)
    logger.info(
        "live session %s: rule %s applied at %s (%s)",
        live_session.id,
        rule.value,
        at.isoformat(),
        live_session.state,
    )


def _minutes(seconds: int) -> str:
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}" if rest == 0 else f"{minutes}:{rest:02d}"


def invoice_note(live_session: LiveSession) -> str:
    """Return a sentence about the charge of an ended paid session, for its notifications."""
    invoice = db.session.scalar(select(Invoice).where(Invoice.live_session_id == live_session.id))
    if invoice is None:
        return " Nothing is charged."
    total = format_amount(invoice.total_cents, current_app.config["CURRENCY"])
    return f" Invoice total: {total}."


def rearm_limit_warning(live_session: LiveSession, terms: Terms, now: datetime) -> None:
    """Re-arm the limit warning when the limit moved outside the warning window again.

    A limit still within LIMIT_WARNING_SECONDS of the billed time stays warned, so calling
    this twice (before and after a credit move) never warns twice.
    """
    affordable = terms.affordable_seconds()
    if affordable is None:
        return
    billed = timeline.billed_ms(live_session.billed_ms_closed, live_session.running_since, now)
    if billed < (affordable - terms.limits.limit_warning_seconds) * 1000:
        live_session.limit_warned = False


def recompute_deadline(live_session: LiveSession, terms: Terms) -> None:
    """Store the instant of the earliest pending timed rule (the idle rule is never stored)."""
    if live_session.state == State.ENDED:
        live_session.next_deadline_at = None
        return
    live_session.next_deadline_at = timeline.next_deadline_at(terms.snapshot(), terms.limits)


def idle_due_at(live_session: LiveSession, lim: Limits) -> datetime | None:
    """Return when a running paid live session pauses for idleness, or None for others."""
    if not (live_session.is_paid and live_session.state == State.RUNNING):
        return None
    return timeline.idle_deadline(
        live_session.running_since, presence.newest_heartbeat_at(live_session.id), lim
    )


def is_due(live_session: LiveSession, now: datetime) -> bool:
    """Tell cheaply whether a timed rule (or the idle rule) is due, without any lock."""
    if live_session.state == State.ENDED:
        return False
    if live_session.next_deadline_at is not None and live_session.next_deadline_at <= now:
        return True
    idle_at = idle_due_at(live_session, limits())
    return idle_at is not None and idle_at <= now
