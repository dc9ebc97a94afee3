"""Direct payments from a mentee to a mentor (tips, agreed work) and payouts of earnings."""

from __future__ import annotations

import logging

from sqlalchemy import select

from webapp.billing import ledger
from webapp.billing.common import (
    config,
    credit_changed,
    lock_pair,
    money,
    now,
    path_for,
    refuse_while_paid_session_active,
)
from webapp.billing.jobs import conversation_for
from webapp.billing.models import (
    ACCOUNT_BALANCE,
    ACCOUNT_EARNINGS,
    ACCOUNT_EXTERNAL,
    DirectPayment,
    Transfer,
    account_name,
)
from webapp.exceptions import AlreadyDone, Conflict, Forbidden, Invalid
from webapp.extensions import db
from webapp.notifications.services import notify

logger = logging.getLogger(__name__)

NOTE_MAX_CHARS = 500
FORM_TOKEN_MAX_CHARS = 64


def pay_directly(
    conversation_id: int,
    user_id: int,
    *,
    amount_cents: int,
    note: str,
    form_token: str,
) -> DirectPayment:
    """Pay the mentor of a chat from the mentee's credit, once per form token, with no fee."""
    conversation = conversation_for(user_id, conversation_id)
    if user_id != conversation.mentee_id:
        raise Forbidden("Only the mentee of this chat can pay its mentor directly.")
    note = note.strip()
    maximum = config("DIRECT_PAYMENT_MAX_CENTS")
    if not 0 < amount_cents <= maximum:
        raise Invalid(f"Enter an amount above zero and at most {money(maximum)}.")
    if len(note) > NOTE_MAX_CHARS:
        raise Invalid(f"Keep the note to {NOTE_MAX_CHARS} characters.")
    if not form_token or len(form_token) > FORM_TOKEN_MAX_CHARS:
        raise Invalid("This form has expired. Reload the page and try again.")

    lock_pair(conversation.mentee_id, conversation.mentor_id)
    existing = db.session.scalar(
        select(DirectPayment).where(
            DirectPayment.mentee_id == user_id, DirectPayment.form_token == form_token
        )
    )
    if existing is not None:
        raise AlreadyDone(f"This payment of {money(existing.amount_cents)} was already made.")
    refuse_while_paid_session_active(user_id, "A direct payment")
    available = ledger.available_credit_cents(user_id)
    if amount_cents > available:
        raise Conflict(
            f"Your available credit is {money(available)}: "
            f"{money(amount_cents - available)} more is needed for this payment."
        )
    payment = DirectPayment(
        conversation_id=conversation.id,
        mentor_id=conversation.mentor_id,
        mentee_id=user_id,
        amount_cents=amount_cents,
        note=note,
        form_token=form_token,
        created_at=now(),
    )
    db.session.add(payment)
    db.session.flush()
    ledger.transfer(
        "direct_payment",
        [
            (account_name(ACCOUNT_BALANCE, user_id), -amount_cents),
            (account_name(ACCOUNT_EARNINGS, conversation.mentor_id), amount_cents),
        ],
        memo=note or "Direct payment",
        actor_id=user_id,
        payment_id=payment.id,
    )
    logger.info(
        "direct payment %s of %s cents from mentee %s to mentor %s",
        payment.id,
        amount_cents,
        user_id,
        conversation.mentor_id,
    )
    notify(
        conversation.mentor_id,
        "direct_payment",
        f"{conversation.mentee.name} paid you {money(amount_cents)}"
        + (f": {note}" if note else "."),
        path_for("billing.earnings"),
    )
    credit_changed(user_id)
    return payment


def payout(mentor_id: int, amount_cents: int) -> Transfer:
    """Pay a mentor's earnings out to the outside world (the operator's payout)."""
    if amount_cents <= 0:
        raise Invalid("Enter a payout above zero.")
    ledger.lock_users(mentor_id)
    earnings = ledger.mentor_earnings_cents(mentor_id)
    if amount_cents > earnings:
        raise Conflict(
            f"The mentor holds {money(earnings)} of earnings, less than the "
            f"{money(amount_cents)} requested."
        )
    record = ledger.transfer(
        "payout",
        [
            (account_name(ACCOUNT_EARNINGS, mentor_id), -amount_cents),
            (ACCOUNT_EXTERNAL, amount_cents),
        ],
        memo="Payout",
    )
    logger.info("payout of %s cents to mentor %s (transfer %s)", amount_cents, mentor_id, record.id)
    notify(mentor_id, "payout", f"{money(amount_cents)} of your earnings were paid out.")
    return record
