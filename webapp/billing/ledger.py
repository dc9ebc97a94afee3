"""The double-entry ledger: transfers between accounts, balances and available credit.

Money moves only as ledger entries that sum to zero within one transfer. A balance is a sum of
entries, never a stored number. Callers hold the locks ARCHITECTURE.md prescribes (the mentee's
user row before any movement of a mentee's credit) and run inside a write transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from webapp import clock
from webapp.accounts.models import User
from webapp.billing.models import (
    ACCOUNT_BALANCE,
    ACCOUNT_EARNINGS,
    ACCOUNT_EXTERNAL,
    ACCOUNT_PLATFORM,
    Invoice,
    LedgerEntry,
    Transfer,
    account_name,
)
from webapp.extensions import db

logger = logging.getLogger(__name__)

# Accounts that may go below zero: money enters from outside, and the platform may refund fees.
MAY_BE_NEGATIVE = {ACCOUNT_EXTERNAL, ACCOUNT_PLATFORM}


class InsufficientFunds(ValueError):
    """A transfer would take an account below zero."""


def balance_cents(account: str) -> int:
    """Return the sum of an account's entries."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.account == account
        )
    )
    return int(total or 0)


def mentee_balance_cents(user_id: int) -> int:
    """Return a mentee's credit balance (escrowed money has already left it)."""
    return balance_cents(account_name(ACCOUNT_BALANCE, user_id))


def mentor_earnings_cents(user_id: int) -> int:
    """Return a mentor's earnings not yet paid out."""
    return balance_cents(account_name(ACCOUNT_EARNINGS, user_id))


def unsettled_invoices_cents(mentee_id: int) -> int:
    """Return what the mentee's invoices that are not settled still charge."""
    statement = select(
        func.coalesce(
            func.sum(
                Invoice.subtotal_cents
                + Invoice.fee_cents
                - Invoice.refunded_subtotal_cents
                - Invoice.refunded_fee_cents
            ),
            0,
        )
    ).where(Invoice.mentee_id == mentee_id, Invoice.state != "settled")
    return int(db.session.scalar(statement) or 0)


def available_credit_cents(mentee_id: int) -> int:
    """Return the balance minus the totals of invoices not yet settled."""
    return mentee_balance_cents(mentee_id) - unsettled_invoices_cents(mentee_id)


def lock_users(*user_ids: int) -> None:
    """Lock user rows for this transaction, always in ascending id order.

    The design orders locks mentee first, then mentor. One account may be both, so two sessions
    with swapped roles would lock the same two rows in opposite orders and deadlock. Ascending
    ids give every transaction the same order. On SQLite the transaction already holds the
    database's write lock (BEGIN IMMEDIATE), and SQLAlchemy leaves FOR UPDATE out there.
    """
    for user_id in sorted(set(user_ids)):
        db.session.execute(
            select(User.id).where(User.id == user_id).with_for_update()
        ).scalar_one_or_none()


def transfer(
    kind: str,
    entries: list[tuple[str, int]],
    *,
    memo: str = "",
    actor_id: int | None = None,
    invoice_id: int | None = None,
    job_id: int | None = None,
    payment_id: int | None = None,
) -> Transfer:
    """Write one transfer: entries (account, cents) that sum to zero, skipping zero amounts.

    Raises InsufficientFunds when an account other than external or platform would go below
    zero, and ValueError when the entries do not sum to zero.
    """
    entries = [(account, amount) for account, amount in entries if amount != 0]
    if sum(amount for _, amount in entries) != 0:
        raise ValueError(f"transfer {kind!r} does not sum to zero: {entries}")
    for account, amount in entries:
        kind_of_account = account.split(":", 1)[0]
        if amount < 0 and kind_of_account not in MAY_BE_NEGATIVE:
            available = balance_cents(account)
            if available + amount < 0:
                raise InsufficientFunds(
                    f"insufficient funds in {account}: {available} cents, {-amount} needed"
                )
    record = Transfer(
        kind=kind,
        memo=memo[:300],
        actor_id=actor_id,
        invoice_id=invoice_id,
        job_id=job_id,
        payment_id=payment_id,
        created_at=clock.now(),
    )
    record.entries = [
        LedgerEntry(account=account, amount_cents=amount) for account, amount in entries
    ]
    db.session.add(record)
    db.session.flush()
    logger.info("transfer %s (%s): %s by actor %s", record.id, kind, entries, actor_id)
    return record


def top_up(mentee_id: int, amount_cents: int, *, memo: str = "top-up") -> Transfer:
    """Move money from outside into a mentee's balance (the caller locked the mentee's row)."""
    if amount_cents <= 0:
        raise ValueError("a top-up must be positive")
    return transfer(
        "top_up",
        [
            (ACCOUNT_EXTERNAL, -amount_cents),
            (account_name(ACCOUNT_BALANCE, mentee_id), amount_cents),
        ],
        memo=memo,
    )


def entries_for(account: str, limit: int | None = 500) -> list[LedgerEntry]:
    """Return an account's newest entries, newest first, with their transfers (all for None)."""
    statement = (
        select(LedgerEntry)
        .join(Transfer)
        .where(LedgerEntry.account == account)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(statement))


def total_of_all_entries() -> int:
    """Return the sum of every ledger entry, which is zero in a consistent ledger."""
    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))))
