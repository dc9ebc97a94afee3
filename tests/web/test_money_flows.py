"""Money after the session, end to end through the pages and the operator commands.

Every test asserts every ledger balance in cents. The mentor's rate is 20.00 per 15 minutes.
"""

import pytest
from sqlalchemy import func, select

from tests.web.test_billing_support import (
    balances,
    make_conversation,
    make_invoice,
    top_up,
)
from webapp import clock
from webapp.billing.models import DirectPayment, FreelanceJob, Invoice, Review, Transfer
from webapp.billing.services import apply_due_money
from webapp.extensions import db


@pytest.fixture
def pair(create_user):
    """A mentor at 20.00 per 15 minutes and a mentee."""
    mentor = create_user("mentor@example.com", name="Maya", mentor=True, mentee=False)
    mentee = create_user("mentee@example.com", name="Milo")
    return mentor, mentee


def login_as(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 303
    return client


def invoice_row(app, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        db.session.expunge(invoice)
        return invoice


def run_due(app):
    with app.app_context():
        return apply_due_money(clock.now())


def test_invoice_settles_after_window(app, clock, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1200, fee_bp=500)
    invoice = invoice_row(app, invoice_id)
    assert invoice.subtotal_cents == 2667
    assert invoice.fee_cents == 133
    assert invoice.total_cents == 2800

    clock.advance(seconds=599)
    assert run_due(app) == 0
    assert invoice_row(app, invoice_id).state == "open"
    assert balances(app) == {f"balance:{mentee.id}": 10000, "external": -10000}

    clock.advance(seconds=1)
    assert run_due(app) == 1
    assert run_due(app) == 0
    settled = invoice_row(app, invoice_id)
    assert settled.state == "settled"
    assert settled.settled_at == settled.settles_at
    assert balances(app) == {
        f"balance:{mentee.id}": 7200,
        f"earnings:{mentor.id}": 2667,
        "platform": 133,
        "external": -10000,
    }


def test_invoice_page_settles_due_invoice(app, clock, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, mentee)
    page = client.get(f"/invoices/{invoice_id}")
    assert page.status_code == 200
    assert "00:10:00" in page.get_data(as_text=True)
    clock.advance(seconds=600)
    page = client.get(f"/invoices/{invoice_id}")
    assert page.status_code == 200
    assert invoice_row(app, invoice_id).state == "settled"
    assert balances(app) == {
        f"balance:{mentee.id}": 8000,
        f"earnings:{mentor.id}": 2000,
        "external": -10000,
    }


def test_dispute_then_mentor_adjust(app, clock, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1800)
    mentee_client = login_as(app, mentee)
    response = mentee_client.post(
        f"/invoices/{invoice_id}/dispute",
        data={"reason": "We stopped after 20 minutes.", "minutes": "20"},
    )
    assert response.status_code == 303
    assert invoice_row(app, invoice_id).state == "disputed"

    clock.advance(seconds=3600)
    assert run_due(app) == 0
    assert invoice_row(app, invoice_id).state == "disputed"

    mentor_client = login_as(app, mentor)
    response = mentor_client.post(f"/invoices/{invoice_id}/adjust", data={"minutes": "20"})
    assert response.status_code == 303
    invoice = invoice_row(app, invoice_id)
    assert invoice.state == "settled"
    assert invoice.adjusted_minutes == 20
    assert invoice.charged_total_cents == 2667
    assert invoice.refunded_subtotal_cents == 1333
    assert balances(app) == {
        f"balance:{mentee.id}": 7333,
        f"earnings:{mentor.id}": 2667,
        "external": -10000,
    }
    page = mentee_client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "adjusted to 20 minutes" in page
    assert "We stopped after 20 minutes." in page


@pytest.mark.parametrize(
    ("arguments", "balance", "earnings"),
    [
        (["--minutes", "15"], 8000, 2000),
        (["--keep"], 6000, 4000),
        (["--refund"], 10000, 0),
    ],
)
def test_dispute_then_operator_resolves(app, runner, pair, arguments, balance, earnings):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1800)
    client = login_as(app, mentee)
    client.post(f"/invoices/{invoice_id}/dispute", data={"reason": "Too long.", "minutes": "15"})
    result = runner.invoke(args=["resolve-dispute", str(invoice_id), *arguments])
    assert result.exit_code == 0, result.output
    assert invoice_row(app, invoice_id).state == "settled"
    expected = {f"balance:{mentee.id}": balance, "external": -10000}
    if earnings:
        expected[f"earnings:{mentor.id}"] = earnings
    assert balances(app) == expected
    again = runner.invoke(args=["resolve-dispute", str(invoice_id), "--keep"])
    assert again.exit_code == 1
    assert "not disputed" in again.output


def test_refund_after_settlement_moves_money_back(app, clock, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1800, fee_bp=1000)
    clock.advance(seconds=600)
    run_due(app)
    assert balances(app) == {
        f"balance:{mentee.id}": 5600,
        f"earnings:{mentor.id}": 4000,
        "platform": 400,
        "external": -10000,
    }
    client = login_as(app, mentor)
    response = client.post(f"/invoices/{invoice_id}/refund", data={"amount": "11.00"})
    assert response.status_code == 303
    invoice = invoice_row(app, invoice_id)
    assert invoice.refunded_subtotal_cents == 1000
    assert invoice.refunded_fee_cents == 100
    assert invoice.state == "settled"
    assert balances(app) == {
        f"balance:{mentee.id}": 6700,
        f"earnings:{mentor.id}": 3000,
        "platform": 300,
        "external": -10000,
    }


def test_refund_beyond_mentor_earnings_is_409_then_operator_covers(app, clock, runner, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1800)
    clock.advance(seconds=600)
    run_due(app)
    assert runner.invoke(args=["payout", mentor.email, "35.00"]).exit_code == 0
    client = login_as(app, mentor)
    response = client.post(f"/invoices/{invoice_id}/refund", data={"amount": "10.00"})
    assert response.status_code == 409
    assert "more than the 5.00 USD of earnings" in response.get_data(as_text=True)
    before = {
        f"balance:{mentee.id}": 6000,
        f"earnings:{mentor.id}": 500,
        "external": -6500,
    }
    assert balances(app) == before

    result = runner.invoke(args=["refund-invoice", str(invoice_id), "10.00"])
    assert result.exit_code == 0, result.output
    assert balances(app) == {
        f"balance:{mentee.id}": 7000,
        f"earnings:{mentor.id}": 0,
        "platform": -500,
        "external": -6500,
    }
    assert invoice_row(app, invoice_id).charged_total_cents == 3000


def offer_job(app, mentor, conversation_id, price="50.00"):
    client = login_as(app, mentor)
    response = client.post(
        f"/conversations/{conversation_id}/freelance",
        data={
            "title": "Fix the tests",
            "scope": "Make CI green.",
            "price": price,
            "due_on": "2026-02-01",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        return db.session.scalar(select(func.max(FreelanceJob.id)))


def job_state(app, job_id):
    with app.app_context():
        return db.session.get(FreelanceJob, job_id).state


def test_freelance_accept_deliver_approve(app, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = offer_job(app, mentor, conversation_id)
    mentee_client = login_as(app, mentee)
    mentor_client = login_as(app, mentor)

    assert mentee_client.post(f"/jobs/{job_id}/accept").status_code == 303
    assert balances(app) == {
        f"balance:{mentee.id}": 5000,
        f"escrow:{job_id}": 5000,
        "external": -10000,
    }
    assert mentee_client.post(f"/jobs/{job_id}/accept").status_code == 303
    assert mentor_client.post(f"/jobs/{job_id}/deliver").status_code == 303
    assert mentee_client.post(f"/jobs/{job_id}/approve").status_code == 303
    assert job_state(app, job_id) == "approved"
    assert balances(app) == {
        f"balance:{mentee.id}": 5000,
        f"escrow:{job_id}": 0,
        f"earnings:{mentor.id}": 5000,
        "external": -10000,
    }


def test_freelance_question_then_operator_split(app, runner, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = offer_job(app, mentor, conversation_id)
    mentee_client = login_as(app, mentee)
    mentee_client.post(f"/jobs/{job_id}/accept")
    login_as(app, mentor).post(f"/jobs/{job_id}/deliver")
    response = mentee_client.post(
        f"/jobs/{job_id}/question", data={"question": "Two tests still fail."}
    )
    assert response.status_code == 303
    assert job_state(app, job_id) == "questioned"

    result = runner.invoke(args=["resolve-job", str(job_id), "--split", "30.00"])
    assert result.exit_code == 0, result.output
    assert job_state(app, job_id) == "split"
    assert balances(app) == {
        f"balance:{mentee.id}": 7000,
        f"escrow:{job_id}": 0,
        f"earnings:{mentor.id}": 3000,
        "external": -10000,
    }


@pytest.mark.app_config(ESCROW_RELEASE_SECONDS=3600)
def test_freelance_delivered_job_released_by_itself(app, clock, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = offer_job(app, mentor, conversation_id, price="25.50")
    login_as(app, mentee).post(f"/jobs/{job_id}/accept")
    login_as(app, mentor).post(f"/jobs/{job_id}/deliver")
    clock.advance(seconds=3599)
    assert run_due(app) == 0
    clock.advance(seconds=1)
    assert run_due(app) == 1
    assert run_due(app) == 0
    assert job_state(app, job_id) == "released"
    assert balances(app) == {
        f"balance:{mentee.id}": 7450,
        f"escrow:{job_id}": 0,
        f"earnings:{mentor.id}": 2550,
        "external": -10000,
    }


def test_freelance_cancel_before_delivery_returns_escrow(app, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = offer_job(app, mentor, conversation_id)
    login_as(app, mentee).post(f"/jobs/{job_id}/accept")
    assert login_as(app, mentor).post(f"/jobs/{job_id}/cancel").status_code == 303
    assert job_state(app, job_id) == "cancelled"
    assert balances(app) == {
        f"balance:{mentee.id}": 10000,
        f"escrow:{job_id}": 0,
        "external": -10000,
    }


def test_tip_pays_mentor_once_per_form(app, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    client = login_as(app, mentee)
    data = {"amount": "15.00", "note": "Thanks!", "form_token": "token-1"}
    first = client.post(f"/conversations/{conversation_id}/direct-payment", data=data)
    assert first.status_code == 303
    second = client.post(f"/conversations/{conversation_id}/direct-payment", data=data)
    assert second.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(DirectPayment.id))) == 1
    assert balances(app) == {
        f"balance:{mentee.id}": 8500,
        f"earnings:{mentor.id}": 1500,
        "external": -10000,
    }


def test_payout_moves_earnings_out(app, runner, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    login_as(app, mentee).post(
        f"/conversations/{conversation_id}/direct-payment",
        data={"amount": "40.00", "note": "", "form_token": "t"},
    )
    result = runner.invoke(args=["payout", mentor.email, "25.00"])
    assert result.exit_code == 0, result.output
    assert balances(app) == {
        f"balance:{mentee.id}": 6000,
        f"earnings:{mentor.id}": 1500,
        "external": -7500,
    }
    too_much = runner.invoke(args=["payout", mentor.email, "15.01"])
    assert too_much.exit_code == 1
    assert "less than the 15.01 USD requested" in too_much.output
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Transfer.id)).where(Transfer.kind == "payout")) == 1
        )


def test_second_review_changes_nothing(app, pair):
    mentor, mentee = pair
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, mentee)
    first = client.post(f"/invoices/{invoice_id}/review", data={"rating": "5", "text": "Great."})
    assert first.status_code == 303
    second = client.post(f"/invoices/{invoice_id}/review", data={"rating": "1", "text": "Bad."})
    assert second.status_code == 303
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "You have already reviewed this session." in page
    with app.app_context():
        reviews = db.session.scalars(select(Review)).all()
        assert [(review.rating, review.text) for review in reviews] == [(5, "Great.")]
    profile = app.test_client().get(f"/mentors/{mentor.id}").get_data(as_text=True)
    assert "5.0" in profile
    assert "1 review" in profile
    assert "Great." in profile
    assert balances(app) == {f"balance:{mentee.id}": 10000, "external": -10000}


def test_settlement_short_of_funds_skips_only_that_invoice(app, clock, pair, create_user):
    mentor, mentee = pair
    other = create_user("other@example.com", name="Olga")
    top_up(app, other.id, 5000)
    # Inserted directly: the session services would never bill beyond the mentee's credit.
    broken_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    fine_id = make_invoice(app, mentor.id, other.id, billed_seconds=900)
    clock.advance(seconds=600)
    assert run_due(app) == 1
    assert invoice_row(app, broken_id).state == "open"
    assert invoice_row(app, fine_id).state == "settled"
    assert balances(app) == {
        f"balance:{other.id}": 3000,
        f"earnings:{mentor.id}": 2000,
        "external": -5000,
    }
