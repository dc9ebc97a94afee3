"""Helpers shared by the billing services: row locks, configuration and the credit hook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import current_app
from sqlalchemy import select

from webapp import clock, database
from webapp.billing.ledger import InsufficientFunds, lock_users
from webapp.domain.money import format_amount
from webapp.exceptions import Conflict, NotFound
from webapp.extensions import db
from webapp.sessions import services as sessions
from webapp.sessions.models import KIND_PAID, LiveSession

logger = logging.getLogger(__name__)

# States of a paid session during which tips and freelance acceptances wait.
ACTIVE_PAID_STATES = ("running", "paused")


def lock_row(model, row_id: int):
    """Lock one row for this transaction and return it freshly read, or None if it is missing.

    `populate_existing` replaces what the identity map held, so checks see the locked state.
    On SQLite the transaction already holds the write lock and SQLAlchemy omits FOR UPDATE.
    """
    statement = (
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(statement)


def lock_pair(mentee_id: int, mentor_id: int) -> None:
    """Lock the mentee's user row, then the mentor's, the order every money transaction uses."""
    lock_users(mentee_id, mentor_id)


def participant_row(model, row_id: int, user_id: int, not_found: str):
    """Return a row with `mentor_id` and `mentee_id` that this user is one of; else NotFound."""
    row = db.session.get(model, row_id)
    if row is None or user_id not in (row.mentor_id, row.mentee_id):
        raise NotFound(not_found)
    return row


def lock_with_people(model, row_id: int, not_found: str):
    """Lock a row's mentee, its mentor and the row, in that order; return the row fresh."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(not_found)
    lock_pair(row.mentee_id, row.mentor_id)
    return lock_row(model, row_id)


def path_for(endpoint: str, **values) -> str:
    """Build an app path also outside a request, since the timers and the CLI notify too.

    NOTE: the path ignores a deployment under a URL prefix (SCRIPT_NAME), which no request
    tells the timers process about.
    """
    return current_app.url_map.bind("localhost").build(endpoint, values)


def config(key: str):
    """Return one configuration value of the running app."""
    return current_app.config[key]


def money(cents: int) -> str:
    """Format cents in the deployment's currency, for messages."""
    return format_amount(cents, config("CURRENCY"))


def now() -> datetime:
    """Return the current instant from the one clock."""
    return clock.now()


def refuse_while_paid_session_active(mentee_id: int, what: str) -> None:
    """Raise Conflict when the mentee has a paid session running or paused.

    The session's due rules apply first, since one of them may have ended it.
    """
    credit_changed(mentee_id)
    active = db.session.scalar(
        select(LiveSession.id).where(
            LiveSession.mentee_id == mentee_id,
            LiveSession.kind == KIND_PAID,
            LiveSession.state.in_(ACTIVE_PAID_STATES),
        )
    )
    if active is not None:
        raise Conflict(f"{what} waits until your paid session has ended: end it in its room first.")


def credit_changed(mentee_id: int) -> None:
    """Let the mentee's running or paused paid session move its credit limit.

    The caller has locked the mentee's row. The session services apply the session's due rules
    first, so the call is also right before money moves.
    """
    sessions.credit_changed(mentee_id)


def run_committed(apply: Callable[[], bool]) -> bool:
    """Run `apply` in a write transaction and commit it; a caller's write transaction restarts.

    Due settlements and releases use it, so they stay applied when the request that found
    them is then refused and rolled back.
    """
    was_writing = bool(db.session.info.get("writing"))
    if not was_writing:
        database.begin_write()
    applied = apply()
    database.commit()
    if was_writing:
        database.begin_write()
    return applied


def count_committed(row_ids: list[int], apply_one: Callable[[int], bool]) -> int:
    """Apply a due rule to each row in a transaction of its own; return how many it changed."""
    applied = 0
    was_writing = bool(db.session.info.get("writing"))
    for row_id in row_ids:
        try:
            if run_committed(partial(apply_one, row_id)):
                applied += 1
        except InsufficientFunds:
            # One row whose money is short must not hold back the others. Available-credit
            # checks keep this from happening, so it signals a bug worth the error log.
            # NOTE: the timers retry such a row every tick and log it again each time.
            database.rollback()
            logger.exception("due money rule of row %s failed: funds are short", row_id)
            if was_writing:
                database.begin_write()
    return applied
