"""Random sequences of money operations keep the ledger's invariants.

Each example starts from an empty database with two mentors and two mentees with some credit,
then runs a
random list of sessions, settlements, disputes, adjustments, refunds, freelance jobs, tips and
payouts through the billing services. Refusals (4xx) are allowed outcomes; after every step
the invariants are checked.
"""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import CLOCK_START, reset_database
from tests.web.test_billing_support import make_conversation, make_invoice, top_up
from webapp import database
from webapp.billing import invoices, jobs, ledger, payments
from webapp.billing.models import (
    ACCOUNT_EXTERNAL,
    ACCOUNT_PLATFORM,
    FreelanceJob,
    Invoice,
    LedgerEntry,
    Transfer,
)
from webapp.billing.services import apply_due_money
from webapp.domain.pricing import charge
from webapp.exceptions import ServiceError
from webapp.extensions import db

PAIR = st.tuples(st.integers(0, 1), st.integers(0, 1))
INDEX = st.integers(0, 30)
CENTS = st.integers(1, 12000)

OPERATIONS = st.one_of(
    st.tuples(st.just("top_up"), st.integers(0, 1), st.integers(1, 20000)),
    st.tuples(st.just("session"), PAIR, st.integers(60, 5400), st.sampled_from([0, 250, 1000])),
    st.tuples(st.just("advance"), st.integers(1, 900)),
    st.tuples(st.just("dispute"), INDEX, st.integers(0, 90)),
    st.tuples(st.just("adjust"), INDEX, st.integers(0, 90)),
    st.tuples(st.just("refund"), INDEX, CENTS),
    st.tuples(st.just("operator_refund"), INDEX, CENTS),
    st.tuples(st.just("resolve"), INDEX, st.sampled_from(["keep", "refund", "minutes"])),
    st.tuples(st.just("offer"), PAIR, CENTS),
    st.tuples(st.just("job"), INDEX, st.integers(0, 100)),
    st.tuples(st.just("resolve_job"), INDEX, st.integers(-2, 12000)),
    st.tuples(st.just("tip"), PAIR, CENTS),
    st.tuples(st.just("payout"), st.integers(0, 1), CENTS),
)

NEXT_ACTIONS = {
    "offered": ("accept", "decline", "withdraw"),
    "accepted": ("deliver", "cancel"),
    "delivered": ("approve", "question"),
    "questioned": ("approve",),
}


def ids_of(app, model) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(model.id).order_by(model.id)))


def pick(items: list[int], index: int) -> int | None:
    return items[index % len(items)] if items else None


def in_transaction(app, action) -> None:
    """Run one service call in a write transaction; a refusal rolls back and is allowed."""
    with app.app_context():
        database.begin_write()
        try:
            action()
        except ServiceError:
            database.rollback()
        else:
            database.commit()


def check_invariants(app) -> None:
    with app.app_context():
        assert ledger.total_of_all_entries() == 0
        for account, total in db.session.execute(
            select(LedgerEntry.account, func.sum(LedgerEntry.amount_cents)).group_by(
                LedgerEntry.account
            )
        ):
            if account not in (ACCOUNT_EXTERNAL, ACCOUNT_PLATFORM):
                assert total >= 0, account
        for invoice in db.session.scalars(select(Invoice)):
            assert invoice.subtotal_cents + invoice.fee_cents == invoice.total_cents
            assert 0 <= invoice.refunded_subtotal_cents <= invoice.subtotal_cents
            assert 0 <= invoice.refunded_fee_cents <= invoice.fee_cents
            assert invoice.charged_total_cents >= 0
            settlements = db.session.scalar(
                select(func.count(Transfer.id)).where(
                    Transfer.invoice_id == invoice.id, Transfer.kind == "settlement"
                )
            )
            assert settlements == (1 if invoice.state == "settled" else 0)
        for job in db.session.scalars(select(FreelanceJob)):
            escrow = ledger.balance_cents(jobs.escrow_account(job.id))
            held = job.state in ("accepted", "delivered", "questioned")
            assert escrow == (job.price_cents if held else 0), job


def apply(app, clock, people, chats, operation) -> None:
    """Carry out one random operation through the billing services."""
    mentors, mentees = people
    name = operation[0]
    invoice_ids = ids_of(app, Invoice)
    job_ids = ids_of(app, FreelanceJob)
    if name == "top_up":
        top_up(app, mentees[operation[1]], operation[2])
    elif name == "session":
        (mentor_index, mentee_index), seconds, fee_bp = operation[1:]
        mentee = mentees[mentee_index]
        with app.app_context():
            available = ledger.available_credit_cents(mentee)
        # The session services never bill beyond the available credit.
        if charge(seconds, 2000, fee_bp).total_cents <= available:
            make_invoice(app, mentors[mentor_index], mentee, billed_seconds=seconds, fee_bp=fee_bp)
    elif name == "advance":
        clock.advance(seconds=operation[1])
        with app.app_context():
            apply_due_money(clock.current)
    elif name in ("dispute", "adjust", "refund", "operator_refund", "resolve"):
        invoice_id = pick(invoice_ids, operation[1])
        if invoice_id is None:
            return
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            mentor_id, mentee_id = invoice.mentor_id, invoice.mentee_id
            minutes_charged, charged = invoice.minutes_charged, invoice.charged_total_cents
        value = operation[2]
        # Mostly values the invoice can take, so that changes happen; now and then the raw
        # draw, which may be out of range and must then be refused.
        if isinstance(value, int) and value % 7:
            if name in ("dispute", "adjust"):
                value %= minutes_charged + 1
            else:
                value = value % max(charged, 1) + 1
        actions = {
            "dispute": lambda: invoices.dispute(
                invoice_id, mentee_id, reason="wrong", minutes_claimed=value
            ),
            "adjust": lambda: invoices.adjust(invoice_id, mentor_id, minutes=value),
            "refund": lambda: invoices.refund(invoice_id, mentor_id, amount_cents=value),
            "operator_refund": lambda: invoices.operator_refund(invoice_id, value),
            "resolve": lambda: invoices.resolve_dispute(
                invoice_id,
                keep=value == "keep",
                refund_all=value == "refund",
                minutes=0 if value == "minutes" else None,
            ),
        }
        in_transaction(app, actions[name])
    elif name == "offer":
        (mentor_index, mentee_index), price = operation[1:]
        conversation_id, mentor_id = chats[(mentor_index, mentee_index)]
        in_transaction(
            app,
            lambda: jobs.offer(
                conversation_id,
                mentor_id,
                title="Job",
                scope="Scope",
                price_cents=price,
                due_on=date(2026, 12, 31),
            ),
        )
    elif name == "job":
        job_id = pick(job_ids, operation[1])
        if job_id is None:
            return
        with app.app_context():
            job = db.session.get(FreelanceJob, job_id)
            # Mostly an action the job's state allows; now and then any action at all.
            choices = NEXT_ACTIONS.get(job.state) or jobs.ACTIONS
            if operation[2] % 7 == 0:
                choices = jobs.ACTIONS
            action = choices[operation[2] % len(choices)]
            actor = job.mentor_id if action in ("deliver", "withdraw") else job.mentee_id
        in_transaction(app, lambda: jobs.act(job_id, actor, action, question="Why?"))
    elif name == "resolve_job":
        job_id = pick(job_ids, operation[1])
        if job_id is None:
            return
        value = operation[2]
        in_transaction(
            app,
            lambda: jobs.resolve(
                job_id,
                release=value == -1,
                refund=value == -2,
                mentor_cents=value if value >= 0 else None,
            ),
        )
    elif name == "tip":
        (mentor_index, mentee_index), cents = operation[1:]
        conversation_id, _ = chats[(mentor_index, mentee_index)]
        token = f"tip-{len(invoice_ids)}-{len(job_ids)}-{cents}"
        in_transaction(
            app,
            lambda: payments.pay_directly(
                conversation_id,
                mentees[mentee_index],
                amount_cents=cents,
                note="",
                form_token=token,
            ),
        )
    elif name == "payout":
        in_transaction(app, lambda: payments.payout(mentors[operation[1]], operation[2]))


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    credits=st.tuples(st.integers(5000, 30000), st.integers(5000, 30000)),
    operations=st.lists(OPERATIONS, min_size=5, max_size=30),
)
def test_money_operations_keep_ledger_invariants(app, clock, create_user, credits, operations):
    with app.app_context():
        reset_database()
    clock.set(CLOCK_START)
    mentors = [create_user(mentor=True, mentee=False).id for _ in range(2)]
    mentees = [create_user().id for _ in range(2)]
    chats = {
        (m, n): (make_conversation(app, mentors[m], mentees[n]), mentors[m])
        for m in range(2)
        for n in range(2)
    }
    for mentee_id, cents in zip(mentees, credits, strict=True):
        if cents:
            top_up(app, mentee_id, cents)
    for operation in operations:
        apply(app, clock, (mentors, mentees), chats, operation)
        check_invariants(app)
