"""A dispute and the timers' settlement racing for one invoice: one wins, nothing happens twice."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from tests.web.test_billing_support import balances, make_invoice, top_up
from webapp import database
from webapp.billing import invoices
from webapp.billing.models import Dispute, Invoice, Transfer
from webapp.billing.services import apply_due_money
from webapp.exceptions import Conflict
from webapp.extensions import db

ROUNDS = 50


def race_once(app, clock, mentee_id: int, invoice_id: int) -> list[str]:
    """Run a dispute and a settlement in two threads released by one barrier; return outcomes."""
    with app.app_context():
        settles_at = db.session.get(Invoice, invoice_id).settles_at
    # The mentee clicks one millisecond before the deadline, when the timers apply it.
    clock.set(settles_at - timedelta(milliseconds=1))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def dispute() -> None:
        with app.app_context():
            barrier.wait()
            database.begin_write()
            try:
                invoices.dispute(invoice_id, mentee_id, reason="Too long.", minutes_claimed=10)
            except Conflict:
                database.rollback()
                outcomes.append("dispute refused")
            else:
                database.commit()
                outcomes.append("disputed")

    def settle() -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(f"settled {apply_due_money(settles_at)}")

    threads = [threading.Thread(target=dispute), threading.Thread(target=settle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_dispute_and_settlement_race(app, clock, create_user):
    mentor = create_user(mentor=True, mentee=False)
    mentee = create_user()
    top_up(app, mentee.id, ROUNDS * 2000)
    seen = set()
    for round_number in range(ROUNDS):
        invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
        outcomes = race_once(app, clock, mentee.id, invoice_id)
        seen.add(tuple(outcomes))
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            disputes = db.session.scalar(
                select(func.count(Dispute.id)).where(Dispute.invoice_id == invoice_id)
            )
            settlements = db.session.scalar(
                select(func.count(Transfer.id)).where(
                    Transfer.invoice_id == invoice_id, Transfer.kind == "settlement"
                )
            )
            assert invoice.state in ("settled", "disputed"), round_number
            assert disputes == (1 if invoice.state == "disputed" else 0), round_number
            assert settlements == (1 if invoice.state == "settled" else 0), round_number
        assert outcomes in (["dispute refused", "settled 1"], ["disputed", "settled 0"])
    with app.app_context():
        settled = db.session.scalar(
            select(func.count(Invoice.id)).where(Invoice.state == "settled")
        )
    assert balances(app)[f"balance:{mentee.id}"] == ROUNDS * 2000 - settled * 2000
    assert balances(app).get(f"earnings:{mentor.id}", 0) == settled * 2000
    # Printed with -s: which orders the threads actually took.
    print(f"outcomes seen: {sorted(seen)}")
