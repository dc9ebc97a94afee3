"""Operator commands for money: disputes, refunds, freelance questions, payouts and exports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import click
from flask.cli import with_appcontext

from webapp import database
from webapp.accounts.services import find_by_email
from webapp.billing import history, invoices, jobs, payments
from webapp.billing.common import money, now
from webapp.billing.services import apply_due_money
from webapp.domain.money import parse_amount
from webapp.exceptions import NotFound, ServiceError

logger = logging.getLogger(__name__)


def _cents(text: str) -> int:
    """Parse an amount typed in major units, failing the command with the parser's message."""
    try:
        return parse_amount(text)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


def _run(action: Callable[[], object]):
    """Run a service call in one write transaction and commit, or fail the command."""
    database.begin_write()
    try:
        result = action()
    except ServiceError as error:
        database.rollback()
        raise click.ClickException(error.message) from error
    database.commit()
    return result


@click.command("resolve-dispute")
@with_appcontext
@click.argument("invoice_id", metavar="INVOICE", type=int)
@click.option("--minutes", type=click.IntRange(min=0), help="Charge this many minutes instead.")
@click.option("--refund", "refund_all", is_flag=True, help="Refund everything still charged.")
@click.option("--keep", is_flag=True, help="Keep the invoice as it is.")
def resolve_dispute(invoice_id: int, minutes: int | None, refund_all: bool, keep: bool) -> None:
    """Decide a disputed invoice and settle it."""
    invoices.apply_due(invoice_id)
    invoice = _run(
        lambda: invoices.resolve_dispute(
            invoice_id, minutes=minutes, refund_all=refund_all, keep=keep
        )
    )
    click.echo(
        f"Invoice {invoice.id} settled at {money(invoice.charged_total_cents)} "
        f"(refunded {money(invoice.refunded_subtotal_cents + invoice.refunded_fee_cents)})."
    )


@click.command("refund-invoice")
@with_appcontext
@click.argument("invoice_id", metavar="INVOICE", type=int)
@click.argument("amount")
def refund_invoice(invoice_id: int, amount: str) -> None:
    """Refund AMOUNT of an invoice; the platform covers what the mentor's earnings lack."""
    amount_cents = _cents(amount)
    invoices.apply_due(invoice_id)
    change = _run(lambda: invoices.operator_refund(invoice_id, amount_cents))
    click.echo(
        f"Refunded {money(change.subtotal_refund_cents + change.fee_refund_cents)} of invoice "
        f"{invoice_id} ({money(change.fee_refund_cents)} of it from the fee)."
    )


@click.command("resolve-job")
@with_appcontext
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--release", is_flag=True, help="Pay the whole price to the mentor.")
@click.option("--refund", is_flag=True, help="Return the whole price to the mentee.")
@click.option(
    "--split",
    "mentor_amount",
    metavar="MENTOR_AMOUNT",
    help="Pay this amount (major units, like 20.00) to the mentor and the rest to the mentee.",
)
def resolve_job(job_id: int, release: bool, refund: bool, mentor_amount: str | None) -> None:
    """Decide a questioned freelance job."""
    mentor_cents = _cents(mentor_amount) if mentor_amount is not None else None
    jobs.apply_due(job_id)
    job = _run(
        lambda: jobs.resolve(job_id, release=release, refund=refund, mentor_cents=mentor_cents)
    )
    click.echo(
        f"Job {job.id} {job.state}: {money(job.mentor_share_cents)} to the mentor, "
        f"{money(job.price_cents - job.mentor_share_cents)} to the mentee."
    )


@click.command("payout")
@with_appcontext
@click.argument("email")
@click.argument("amount")
def payout(email: str, amount: str) -> None:
    """Record a payout of AMOUNT from a mentor's earnings to the outside world."""
    amount_cents = _cents(amount)

    def pay_out():
        mentor = find_by_email(email)
        if mentor is None:
            raise NotFound(f"No user has the email address {email!r}.")
        return payments.payout(mentor.id, amount_cents)

    _run(pay_out)
    click.echo(f"Paid out {money(amount_cents)} to {email}.")


@click.command("export-invoices")
@with_appcontext
@click.option(
    "--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC)."
)
@click.option(
    "--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC)."
)
def export_invoices(first_day, last_day) -> None:
    """Print the invoices created from --from to --to (inclusive) as CSV."""
    start: date = first_day.date()
    end: date = last_day.date()
    if end < start:
        raise click.ClickException("--to must not be before --from.")
    # Settlements that fell due are applied first, so the export shows each invoice's state.
    apply_due_money(now())
    click.echo(history.invoices_csv(start, end), nl=False)


COMMANDS = [resolve_dispute, refund_invoice, resolve_job, payout, export_invoices]
