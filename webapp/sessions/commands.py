"""Operator commands of live sessions: credits, the consistency check and the timers loop."""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp import clock, database
from webapp.accounts import services as accounts
from webapp.billing import ledger
from webapp.billing.invoicing import actor_label
from webapp.billing.models import Invoice
from webapp.domain import pricing, timeline
from webapp.domain.lifecycle import State
from webapp.domain.money import format_amount, parse_amount
from webapp.extensions import db
from webapp.sessions.models import LiveSession, SessionEvent
from webapp.sessions.transitions import credit_changed

logger = logging.getLogger(__name__)

# The state each event kind leaves a live session in; other kinds leave it as it was.
_STATE_AFTER = {
    "created": State.OPEN,
    "start_requested": State.START_REQUESTED,
    "started": State.RUNNING,
    "resumed": State.RUNNING,
    "paused": State.PAUSED,
    "ended": State.ENDED,
}


def add_credits(mentee_id: int, amount_cents: int, *, memo: str = "top-up") -> None:
    """Top up a mentee's credit from `external` in one write transaction, and re-check their
    running or paused paid session (its due rules first, under the old credit)."""
    database.begin_write()
    try:
        ledger.lock_users(mentee_id)
        credit_changed(mentee_id)
        ledger.top_up(mentee_id, amount_cents, memo=memo)
        credit_changed(mentee_id)
        database.commit()
    except BaseException:
        database.rollback()
        raise


@click.command("add-credits")
@with_appcontext
@click.argument("email")
@click.argument("amount")
def add_credits_command(email: str, amount: str) -> None:
    """Add credits (major units, like 20.00) to a mentee's balance."""
    try:
        cents = parse_amount(amount)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if cents <= 0:
        raise click.ClickException("The amount must be more than 0.00.")
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email address {email!r}.")
    add_credits(user.id, cents, memo="top-up by the operator")
    currency = current_app.config["CURRENCY"]
    available = ledger.available_credit_cents(user.id)
    click.echo(
        f"Added {format_amount(cents, currency)} to {user.email}; "
        f"available credit: {format_amount(available, currency)}."
    )


@dataclass(frozen=True)
class Difference:
    """One inconsistency that `check-sessions` found in a live session."""

    live_session_id: int
    message: str


def check_live_session(live_session: LiveSession, now: datetime) -> list[str]:
    """Compare a live session's stored figures with what its events say; list differences."""
    problems: list[str] = []
    events = list(
        db.session.scalars(
            select(SessionEvent)
            .where(SessionEvent.live_session_id == live_session.id)
            .order_by(SessionEvent.seq)
        )
    )
    sequence = [event.seq for event in events]
    if sequence != list(range(1, len(events) + 1)):
        problems.append(f"event sequence is {sequence}, not 1..{len(events)}")
    if live_session.version != len(events):
        problems.append(f"version {live_session.version} but {len(events)} events")
    for earlier, later in itertools.pairwise(events):
        if later.at < earlier.at:
            problems.append(f"event {later.seq} ({later.kind}) is earlier than event {earlier.seq}")

    state = None
    for event in events:
        state = _STATE_AFTER.get(event.kind, state)
    if state != live_session.state:
        problems.append(f"state {live_session.state} but the events say {state}")

    views = [_View(event.kind, event.at, actor_label(live_session, event)) for event in events]
    try:
        intervals = timeline.intervals_from_events(views)
    except ValueError as error:
        problems.append(str(error))
        return problems
    from_events = timeline.billed_ms_from_intervals(intervals, now)
    stored = timeline.billed_ms(live_session.billed_ms_closed, live_session.running_since, now)
    if from_events != stored:
        problems.append(f"billed {stored} ms stored but {from_events} ms from the events")
    running = bool(intervals) and intervals[-1].ended_at is None
    if running and intervals[-1].started_at != live_session.running_since:
        problems.append("running_since differs from the open interval's start")

    invoice = db.session.scalar(select(Invoice).where(Invoice.live_session_id == live_session.id))
    if invoice is not None:
        if invoice.billed_seconds != from_events // 1000:
            problems.append(
                f"invoice {invoice.id} bills {invoice.billed_seconds} s, the events "
                f"{from_events // 1000} s"
            )
        lines = pricing.charge(
            invoice.billed_seconds,
            invoice.rate_15_cents,
            invoice.fee_bp,
            first_free=bool(live_session.first_free),
            grace_seconds=int(current_app.config["START_GRACE_SECONDS"]),
        )
        if lines.total_cents != invoice.total_cents:
            problems.append(
                f"invoice {invoice.id} totals {invoice.total_cents}, its billed time "
                f"{lines.total_cents}"
            )
    return problems


@dataclass(frozen=True)
class _View:
    kind: str
    at: datetime
    actor: str


def check_sessions() -> list[Difference]:
    """Recompute every live session's billed time from its events; list the differences."""
    now = clock.now()
    differences = []
    ids = list(db.session.scalars(select(LiveSession.id).order_by(LiveSession.id)))
    for live_session_id in ids:
        live_session = db.session.get(LiveSession, live_session_id)
        for message in check_live_session(live_session, now):
            differences.append(Difference(live_session_id, message))
    return differences


@click.command("check-sessions")
@with_appcontext
def check_sessions_command() -> None:
    """Recompute billed time from the events of every session; exit 1 on any difference."""
    differences = check_sessions()
    count = db.session.scalar(select(db.func.count(LiveSession.id)))
    for difference in differences:
        click.echo(f"session {difference.live_session_id}: {difference.message}")
    if differences:
        raise click.ClickException(f"{len(differences)} differences found in {count} sessions.")
    click.echo(f"Checked {count} sessions: billed time matches the events.")


@click.command("run-timers")
@with_appcontext
@click.option("--once", is_flag=True, help="Apply what is due now, then exit.")
def run_timers_command(once: bool) -> None:
    """Apply due timed rules: a loop every TIMERS_TICK_SECONDS, or once."""
    from webapp import timers

    if once:
        touched = timers.run_due()
        click.echo(f"Applied due rules to {touched} sessions.")
        return
    app = current_app._get_current_object()
    stop_event = threading.Event()
    click.echo("Running the timers loop (Ctrl-C stops it).")
    try:
        timers.run_forever(app, stop_event)
    except KeyboardInterrupt:
        stop_event.set()


COMMANDS = [add_credits_command, check_sessions_command, run_timers_command]
