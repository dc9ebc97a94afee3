"""Invoices after a paid session: settlement, disputes, adjustments and refunds.

Every function that changes an invoice locks the mentee's user row, then the mentor's, then
the invoice row, and first applies the invoice's due settlement. Callers run inside a write
transaction and commit once; `settle_due_invoices` owns one transaction per invoice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from webapp.billing import ledger
from webapp.billing.common import (
    count_committed,
    credit_changed,
    lock_with_people,
    money,
    now,
    participant_row,
    path_for,
    run_committed,
)
from webapp.billing.models import (
    ACCOUNT_BALANCE,
    ACCOUNT_EARNINGS,
    ACCOUNT_PLATFORM,
    Dispute,
    Invoice,
    InvoiceChange,
    Transfer,
    account_name,
)
from webapp.domain.money import round_half_up_div
from webapp.domain.pricing import price_of_minutes
from webapp.exceptions import AlreadyDone, Conflict, Forbidden, Invalid
from webapp.extensions import db
from webapp.notifications.services import notify

logger = logging.getLogger(__name__)

STATE_OPEN = "open"
STATE_DISPUTED = "disputed"
STATE_SETTLED = "settled"

REASON_MAX_CHARS = 2000
NOT_FOUND_MESSAGE = "No invoice has this number, or it is not yours."


@dataclass(frozen=True)
class Reduction:
    """The cents that one adjustment or refund takes off an invoice's two lines."""

    subtotal_cents: int
    fee_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.fee_cents


def invoice_url(invoice_id: int) -> str:
    """Return the invoice page's path."""
    return path_for("billing.invoice", invoice_id=invoice_id)


def invoice_for(user_id: int, invoice_id: int) -> Invoice:
    """Return an invoice its mentor or mentee may see; raises NotFound for anyone else."""
    return participant_row(Invoice, invoice_id, user_id, NOT_FOUND_MESSAGE)


def lock_invoice(invoice_id: int) -> Invoice:
    """Lock the invoice's mentee, its mentor and the invoice, in that order; return it fresh."""
    return lock_with_people(Invoice, invoice_id, NOT_FOUND_MESSAGE)


def _locked_for(user_id: int, invoice_id: int) -> Invoice:
    """Check visibility, lock the invoice and apply its due settlement."""
    invoice_for(user_id, invoice_id)
    invoice = lock_invoice(invoice_id)
    settle_if_due(invoice, now())
    return invoice


def _notify_both(invoice: Invoice, kind: str, text: str) -> None:
    url = invoice_url(invoice.id)
    notify(invoice.mentee_id, kind, text, url)
    notify(invoice.mentor_id, kind, text, url)


def _settle(invoice: Invoice, settled_at: datetime, actor_id: int | None) -> None:
    """Move what the invoice still charges out of the mentee's balance and mark it settled.

    The subtotal reaches the mentor's earnings and the fee the platform. The caller holds the
    locks, and the state check makes a second settlement impossible.
    """
    if invoice.state == STATE_SETTLED:
        raise RuntimeError(f"invoice {invoice.id} is already settled")
    ledger.transfer(
        "settlement",
        [
            (account_name(ACCOUNT_BALANCE, invoice.mentee_id), -invoice.charged_total_cents),
            (account_name(ACCOUNT_EARNINGS, invoice.mentor_id), invoice.charged_subtotal_cents),
            (ACCOUNT_PLATFORM, invoice.charged_fee_cents),
        ],
        memo=f"Invoice {invoice.id}",
        actor_id=actor_id,
        invoice_id=invoice.id,
    )
    invoice.state = STATE_SETTLED
    invoice.settled_at = settled_at
    db.session.flush()
    logger.info(
        "invoice %s settled at %s for %s cents (actor %s)",
        invoice.id,
        settled_at.isoformat(),
        invoice.charged_total_cents,
        actor_id,
    )
    _notify_both(
        invoice,
        "invoice_settled",
        f"Invoice {invoice.id} settled: {money(invoice.charged_total_cents)}.",
    )
    credit_changed(invoice.mentee_id)


def settle_if_due(invoice: Invoice, at: datetime) -> bool:
    """Settle a locked open invoice whose window has passed, recorded at its `settles_at`."""
    if invoice.state != STATE_OPEN or invoice.settles_at > at:
        return False
    _settle(invoice, invoice.settles_at, actor_id=None)
    return True


def _due_invoice_ids(at: datetime, user_id: int | None = None) -> list[int]:
    """Return the open invoices due at `at`, of one person (mentee or mentor) if given."""
    statement = (
        select(Invoice.id)
        .where(Invoice.state == STATE_OPEN, Invoice.settles_at <= at)
        .order_by(Invoice.settles_at, Invoice.id)
    )
    if user_id is not None:
        statement = statement.where((Invoice.mentee_id == user_id) | (Invoice.mentor_id == user_id))
    return list(db.session.scalars(statement))


def settle_due_invoices(at: datetime) -> int:
    """Settle every open invoice due at `at`, each in its own transaction; return how many."""
    return count_committed(
        _due_invoice_ids(at), lambda invoice_id: settle_if_due(lock_invoice(invoice_id), at)
    )


def apply_due(invoice_id: int) -> bool:
    """Settle the invoice in a committed transaction of its own if its window has passed.

    Pages and actions call it first, so a settlement that fell due stays applied even when the
    action that found it is then refused. A caller's write transaction begins again after it.
    """
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.state != STATE_OPEN or invoice.settles_at > now():
        return False
    return run_committed(lambda: settle_if_due(lock_invoice(invoice_id), now()))


def apply_due_for_user(user_id: int) -> int:
    """Settle the due invoices of a person, as mentee or mentor, before a page shows money."""
    at = now()
    return count_committed(
        _due_invoice_ids(at, user_id),
        lambda invoice_id: settle_if_due(lock_invoice(invoice_id), at),
    )


def dispute(invoice_id: int, user_id: int, *, reason: str, minutes_claimed: int) -> Dispute:
    """Open the mentee's one dispute of an open invoice, before its settlement instant."""
    invoice = _locked_for(user_id, invoice_id)
    check_role(invoice, user_id, "dispute")
    reason = reason.strip()
    if not reason:
        raise Invalid("Say what is wrong with this invoice.")
    if len(reason) > REASON_MAX_CHARS:
        raise Invalid(f"Keep the reason to {REASON_MAX_CHARS} characters.")
    if not 0 <= minutes_claimed <= invoice.minutes_charged:
        raise Invalid(
            f"Enter the minutes you believe are right, from 0 to {invoice.minutes_charged}."
        )
    existing = db.session.scalar(select(Dispute).where(Dispute.invoice_id == invoice.id))
    if existing is not None:
        raise AlreadyDone("You have already disputed this invoice.")
    at = now()
    if invoice.state != STATE_OPEN or at >= invoice.settles_at:
        raise Conflict(
            "This invoice can no longer be disputed: the dispute window closed when it settled."
        )
    record = Dispute(
        invoice_id=invoice.id, reason=reason, minutes_claimed=minutes_claimed, created_at=at
    )
    db.session.add(record)
    invoice.state = STATE_DISPUTED
    db.session.add(
        InvoiceChange(
            invoice_id=invoice.id,
            kind="disputed",
            actor_id=user_id,
            minutes=minutes_claimed,
            note=reason[:500],
            created_at=at,
        )
    )
    db.session.flush()
    logger.info(
        "invoice %s disputed by user %s claiming %s minutes", invoice.id, user_id, minutes_claimed
    )
    _notify_both(
        invoice,
        "invoice_disputed",
        f"Invoice {invoice.id} is disputed: the mentee believes {minutes_claimed} minutes "
        "are right.",
    )
    return record


def adjustment_for(invoice: Invoice, minutes: int) -> Reduction:
    """Return what lowering the charged minutes to `minutes` takes off each line.

    Raises Invalid for a negative count and Conflict when the new price is not below what the
    invoice still charges, or would raise one of its lines.
    """
    if minutes < 0:
        raise Invalid("Enter a number of minutes of 0 or more.")
    subtotal_cents, fee_cents = price_of_minutes(minutes, invoice.rate_15_cents, invoice.fee_bp)
    reduction = Reduction(
        subtotal_cents=invoice.charged_subtotal_cents - subtotal_cents,
        fee_cents=invoice.charged_fee_cents - fee_cents,
    )
    if reduction.total_cents <= 0 or reduction.subtotal_cents < 0 or reduction.fee_cents < 0:
        raise Conflict(
            f"{minutes} minutes cost {money(subtotal_cents + fee_cents)}, which is not below "
            f"the {money(invoice.charged_total_cents)} this invoice still charges."
        )
    return reduction


def refund_split(invoice: Invoice, amount_cents: int) -> Reduction:
    """Split a refund on what the invoice still charges: the fee part is proportional.

    Raises Invalid unless 0 < amount <= what the invoice still charges.
    """
    charged = invoice.charged_total_cents
    if amount_cents <= 0:
        raise Invalid("Enter a refund above zero.")
    if amount_cents > charged:
        raise Invalid(f"A refund can be at most the {money(charged)} this invoice still charges.")
    fee_cents = round_half_up_div(amount_cents * invoice.charged_fee_cents, charged)
    return Reduction(subtotal_cents=amount_cents - fee_cents, fee_cents=fee_cents)


def _apply_reduction(
    invoice: Invoice,
    reduction: Reduction,
    *,
    kind: str,
    actor_id: int | None,
    minutes: int | None = None,
    note: str = "",
    platform_covers_shortfall: bool = False,
) -> InvoiceChange:
    """Take a reduction off a locked invoice and move money back if it has settled.

    On a settled invoice the mentor's part comes out of their earnings. When the earnings are
    short, a mentor's refund raises Conflict, and the operator's takes the rest from the
    platform. On a disputed invoice the reduction decides the dispute, so it settles at once.
    """
    if invoice.state == STATE_SETTLED:
        earnings_account = account_name(ACCOUNT_EARNINGS, invoice.mentor_id)
        earnings = ledger.balance_cents(earnings_account)
        from_mentor = reduction.subtotal_cents
        if from_mentor > earnings:
            if not platform_covers_shortfall:
                raise Conflict(
                    f"The mentor's part of this refund is {money(from_mentor)}, more than the "
                    f"{money(earnings)} of earnings they hold now. The operator can refund it "
                    "with refund-invoice."
                )
            from_mentor = earnings
        from_platform = reduction.total_cents - from_mentor
        ledger.transfer(
            kind,
            [
                (earnings_account, -from_mentor),
                (ACCOUNT_PLATFORM, -from_platform),
                (account_name(ACCOUNT_BALANCE, invoice.mentee_id), reduction.total_cents),
            ],
            memo=f"Invoice {invoice.id}",
            actor_id=actor_id,
            invoice_id=invoice.id,
        )
    invoice.refunded_subtotal_cents += reduction.subtotal_cents
    invoice.refunded_fee_cents += reduction.fee_cents
    if minutes is not None:
        invoice.adjusted_minutes = minutes
    at = now()
    change = InvoiceChange(
        invoice_id=invoice.id,
        kind=kind,
        actor_id=actor_id,
        minutes=minutes,
        subtotal_refund_cents=reduction.subtotal_cents,
        fee_refund_cents=reduction.fee_cents,
        note=note[:500],
        created_at=at,
    )
    db.session.add(change)
    db.session.flush()
    logger.info(
        "invoice %s %s by actor %s: subtotal -%s, fee -%s cents (state %s)",
        invoice.id,
        kind,
        actor_id,
        reduction.subtotal_cents,
        reduction.fee_cents,
        invoice.state,
    )
    _notify_both(
        invoice,
        f"invoice_{kind}",
        f"Invoice {invoice.id}: {money(reduction.total_cents)} refunded"
        + (f" ({minutes} minutes charged now)." if minutes is not None else "."),
    )
    credit_changed(invoice.mentee_id)
    if invoice.state == STATE_DISPUTED:
        _resolve_dispute(invoice, f"{kind} by the mentor" if actor_id else kind, actor_id)
    return change


def _resolve_dispute(invoice: Invoice, resolution: str, actor_id: int | None) -> None:
    """Close the invoice's dispute with a resolution and settle the invoice now."""
    record = db.session.scalar(select(Dispute).where(Dispute.invoice_id == invoice.id))
    at = now()
    if record is not None:
        record.resolved_at = at
        record.resolution = resolution[:300]
    _settle(invoice, at, actor_id)


# The role each invoice action needs, and the reason shown to anyone else.
ROLE_OF_ACTION = {
    "dispute": ("mentee", "Only the mentee of this session can dispute its invoice."),
    "review": ("mentee", "Only the mentee of this session can review the mentor."),
    "adjust": ("mentor", "Only the mentor of this session can adjust or refund its invoice."),
    "refund": ("mentor", "Only the mentor of this session can adjust or refund its invoice."),
}


def check_role(invoice: Invoice, user_id: int, action: str) -> None:
    """Raise Forbidden unless the user has the role an invoice action needs."""
    role, message = ROLE_OF_ACTION[action]
    owner_id = invoice.mentee_id if role == "mentee" else invoice.mentor_id
    if user_id != owner_id:
        raise Forbidden(message)


def adjust(invoice_id: int, user_id: int, *, minutes: int) -> InvoiceChange:
    """Lower an invoice's charged minutes to `minutes` (its mentor, in any state)."""
    invoice = _locked_for(user_id, invoice_id)
    check_role(invoice, user_id, "adjust")
    reduction = adjustment_for(invoice, minutes)
    return _apply_reduction(invoice, reduction, kind="adjusted", actor_id=user_id, minutes=minutes)


def refund(invoice_id: int, user_id: int, *, amount_cents: int) -> InvoiceChange:
    """Refund part or all of what an invoice still charges (its mentor, in any state)."""
    invoice = _locked_for(user_id, invoice_id)
    check_role(invoice, user_id, "refund")
    reduction = refund_split(invoice, amount_cents)
    return _apply_reduction(invoice, reduction, kind="refunded", actor_id=user_id)


def _operator_lock(invoice_id: int) -> Invoice:
    invoice = lock_invoice(invoice_id)
    settle_if_due(invoice, now())
    return invoice


def resolve_dispute(
    invoice_id: int, *, minutes: int | None = None, refund_all: bool = False, keep: bool = False
) -> Invoice:
    """Decide a disputed invoice as the operator: charge `minutes`, refund all, or keep it."""
    if [minutes is not None, refund_all, keep].count(True) != 1:
        raise Invalid("Give exactly one of --minutes N, --refund or --keep.")
    invoice = _operator_lock(invoice_id)
    if invoice.state != STATE_DISPUTED:
        raise Conflict(f"Invoice {invoice.id} is {invoice.state}, not disputed.")
    if keep:
        db.session.add(
            InvoiceChange(invoice_id=invoice.id, kind="kept", note="operator", created_at=now())
        )
        logger.info("operator kept disputed invoice %s", invoice.id)
        _resolve_dispute(invoice, "kept by the operator", None)
        return invoice
    if refund_all:
        if invoice.charged_total_cents == 0:
            _resolve_dispute(invoice, "nothing left to refund", None)
            return invoice
        reduction = refund_split(invoice, invoice.charged_total_cents)
        _apply_reduction(invoice, reduction, kind="refunded", actor_id=None, note="operator")
    else:
        reduction = adjustment_for(invoice, minutes)
        _apply_reduction(
            invoice, reduction, kind="adjusted", actor_id=None, minutes=minutes, note="operator"
        )
    return invoice


def operator_refund(invoice_id: int, amount_cents: int) -> InvoiceChange:
    """Refund an invoice as the operator; the platform covers what the mentor's earnings lack."""
    invoice = _operator_lock(invoice_id)
    reduction = refund_split(invoice, amount_cents)
    return _apply_reduction(
        invoice,
        reduction,
        kind="refunded",
        actor_id=None,
        note="operator",
        platform_covers_shortfall=True,
    )


def changes_of(invoice_id: int) -> list[InvoiceChange]:
    """Return an invoice's disputes, adjustments and refunds, oldest first."""
    return list(
        db.session.scalars(
            select(InvoiceChange)
            .where(InvoiceChange.invoice_id == invoice_id)
            .order_by(InvoiceChange.id)
        )
    )


def dispute_of(invoice_id: int) -> Dispute | None:
    """Return the invoice's dispute, if the mentee opened one."""
    return db.session.scalar(select(Dispute).where(Dispute.invoice_id == invoice_id))


def transfers_of(invoice_id: int) -> list[Transfer]:
    """Return the transfers that moved this invoice's money, oldest first."""
    return list(
        db.session.scalars(
            select(Transfer).where(Transfer.invoice_id == invoice_id).order_by(Transfer.id)
        )
    )


def seconds_left_to_dispute(invoice: Invoice) -> int:
    """Return the whole seconds until the invoice settles by itself, 0 once it cannot."""
    if invoice.state != STATE_OPEN:
        return 0
    return max(0, int((invoice.settles_at - now()).total_seconds()))


def intervals_of(invoice: Invoice) -> list[dict]:
    """Return the invoice's running intervals with parsed instants and readable actors."""
    names = {
        invoice.mentor_id: invoice.mentor.name,
        invoice.mentee_id: invoice.mentee.name,
        "mentor": invoice.mentor.name,
        "mentee": invoice.mentee.name,
    }
    rows = []
    for interval in invoice.intervals or []:
        rows.append(
            {
                "started_at": _instant(interval.get("started_at")),
                "ended_at": _instant(interval.get("ended_at")),
                "started_by": _actor(interval.get("started_by"), names),
                "stopped_by": _actor(interval.get("stopped_by"), names),
            }
        )
    return rows


def _instant(value) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _actor(value, names: dict) -> str:
    """Name a person by their role or user id, or show a rule's name as it is stored."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return names.get(value, str(value))
