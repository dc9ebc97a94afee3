"""Invoice, job, chat-panel and history pages: who sees what, and bad input moving nothing."""

import pytest
from sqlalchemy import func, select

from tests.web.test_billing_support import balances, make_conversation, make_invoice, top_up
from webapp.billing.models import DirectPayment, Dispute, FreelanceJob, Invoice, Review
from webapp.extensions import db


@pytest.fixture
def people(create_user):
    """A mentor, their mentee and a stranger (also a mentor and a mentee)."""
    mentor = create_user("mentor@example.com", name="Maya", mentor=True, mentee=False)
    mentee = create_user("mentee@example.com", name="Milo")
    stranger = create_user("stranger@example.com", name="Sam", mentor=True, mentee=True)
    return mentor, mentee, stranger


def login_as(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 303
    return client


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def make_job(app, mentor, conversation_id) -> int:
    response = login_as(app, mentor).post(
        f"/conversations/{conversation_id}/freelance",
        data={
            "title": "Port to 3.12",
            "scope": "All modules.",
            "price": "40.00",
            "due_on": "2026-03-01",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        return db.session.scalar(select(func.max(FreelanceJob.id)))


def test_invoice_page_shows_lines_to_both(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1260, fee_bp=250)
    for user in (mentor, mentee):
        page = login_as(app, user).get(f"/invoices/{invoice_id}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert "00:21:00" in body
        assert "28.00 USD" in body
        assert "0.70 USD" in body
        assert "28.70 USD" in body
        assert "left to dispute" in body
        assert 'id="invoice-room-link" href="/sessions/' in body
        assert "novalidate" in body


def test_invoice_dispute_form_only_for_mentee(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    assert "Dispute invoice" in login_as(app, mentee).get(f"/invoices/{invoice_id}").get_data(
        as_text=True
    )
    mentor_page = login_as(app, mentor).get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Dispute invoice" not in mentor_page
    assert "Adjust invoice" in mentor_page


@pytest.mark.parametrize(
    "path",
    ["/invoices/{id}", "/invoices/999", "/invoices/{id}/dispute", "/invoices/{id}/refund"],
)
def test_invoice_of_someone_else_is_404(app, people, path):
    mentor, mentee, stranger = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, stranger)
    url = path.format(id=invoice_id)
    if url.endswith(("dispute", "refund")):
        response = client.post(url, data={"reason": "x", "minutes": "1", "amount": "1.00"})
    else:
        response = client.get(url)
    assert response.status_code == 404
    assert "No invoice has this number, or it is not yours." in response.get_data(as_text=True)
    assert count(app, Dispute) == 0
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_mentor_cannot_dispute_and_mentee_cannot_refund(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentor).post(
        f"/invoices/{invoice_id}/dispute", data={"reason": "x", "minutes": "1"}
    )
    assert response.status_code == 403
    response = login_as(app, mentee).post(f"/invoices/{invoice_id}/refund", data={"amount": "1.00"})
    assert response.status_code == 403
    assert "Only the mentor" in response.get_data(as_text=True)
    assert count(app, Dispute) == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5.00", "The amount must not be negative."),
        ("0", "Enter at least 0.01 USD."),
        ("0.00", "Enter at least 0.01 USD."),
        ("1.005", "has more than two decimals"),
        ("abc", "is not a number"),
        ("", "Enter an amount, such as 20.00."),
    ],
)
def test_refund_bad_amount_is_422_and_moves_nothing(app, people, amount, message):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/refund", data={"amount": amount})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).refunded_subtotal_cents == 0


def test_refund_over_what_is_charged_is_422(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentor).post(
        f"/invoices/{invoice_id}/refund", data={"amount": "20.01"}
    )
    assert response.status_code == 422
    assert "at most the 20.00 USD this invoice still charges" in response.get_data(as_text=True)


def test_adjust_not_below_charge_is_409(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/adjust", data={"minutes": "15"})
    assert response.status_code == 409
    assert "not below the 20.00 USD this invoice still charges" in response.get_data(as_text=True)
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/adjust", data={"minutes": "-1"})
    assert response.status_code == 422


def test_adjust_on_open_invoice_keeps_it_open_without_minimum(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900, fee_bp=1000)
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/adjust", data={"minutes": "5"})
    assert response.status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.state == "open"
        assert invoice.charged_subtotal_cents == 667
        assert invoice.charged_fee_cents == 67
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_refund_split_rounds_fee_half_up(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900, fee_bp=1000)
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/refund", data={"amount": "0.11"})
    assert response.status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        # 11 * 200 / 2200 = 1 cent of fee exactly; the mentor's part is the other 10 cents.
        assert invoice.refunded_fee_cents == 1
        assert invoice.refunded_subtotal_cents == 10


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "", "minutes": "10"}, "Say what is wrong with this invoice."),
        ({"reason": "x", "minutes": ""}, "Enter a whole number of minutes"),
        ({"reason": "x", "minutes": "-3"}, "Enter a whole number of minutes"),
        ({"reason": "x", "minutes": "16"}, "from 0 to 15"),
        ({"reason": "x", "minutes": "ten"}, "Enter a whole number of minutes"),
        ({"reason": "x" * 2001, "minutes": "10"}, "Shorten the reason to at most 2000 characters."),
    ],
)
def test_dispute_bad_input_is_422(app, people, data, message):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentee).post(f"/invoices/{invoice_id}/dispute", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Dispute) == 0


def test_dispute_at_settles_at_is_too_late(app, clock, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    clock.advance(seconds=600)
    response = login_as(app, mentee).post(
        f"/invoices/{invoice_id}/dispute", data={"reason": "late", "minutes": "10"}
    )
    assert response.status_code == 409
    assert "can no longer be disputed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).state == "settled"
    assert count(app, Dispute) == 0
    assert balances(app) == {
        f"balance:{mentee.id}": 3000,
        f"earnings:{mentor.id}": 2000,
        "external": -5000,
    }


def test_second_dispute_changes_nothing(app, clock, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, mentee)
    data = {"reason": "too long", "minutes": "10"}
    assert client.post(f"/invoices/{invoice_id}/dispute", data=data).status_code == 303
    clock.advance(seconds=1)
    second = client.post(
        f"/invoices/{invoice_id}/dispute", data=data, headers={"HX-Request": "true"}
    )
    assert second.status_code == 200
    assert "You have already disputed this invoice." in second.get_data(as_text=True)
    assert count(app, Dispute) == 1


def test_htmx_refusal_swaps_invoice_fragment(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    response = login_as(app, mentor).post(
        f"/invoices/{invoice_id}/adjust", data={"minutes": "20"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="invoice"')
    assert "<html" not in body


def test_offer_on_graded_request_is_403(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id, graded=True)
    response = login_as(app, mentor).post(
        f"/conversations/{conversation_id}/freelance",
        data={
            "title": "Do my exam",
            "scope": "All of it.",
            "price": "50.00",
            "due_on": "2026-02-01",
        },
    )
    assert response.status_code == 403
    assert "graded work or an assessment" in response.get_data(as_text=True)
    assert count(app, FreelanceJob) == 0


def test_offer_on_closed_request_is_409(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id, closed=True)
    response = login_as(app, mentor).post(
        f"/conversations/{conversation_id}/freelance",
        data={"title": "Late offer", "scope": "Stuff.", "price": "50.00", "due_on": "2026-02-01"},
    )
    assert response.status_code == 409
    assert count(app, FreelanceJob) == 0


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-1.00", "must not be negative"),
        ("0.00", "Enter at least 0.01 USD."),
        ("10000.01", "Enter at most 10,000.00 USD."),
        ("12.345", "more than two decimals"),
    ],
)
def test_offer_bad_price_is_422(app, people, price, message):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    response = login_as(app, mentor).post(
        f"/conversations/{conversation_id}/freelance",
        data={"title": "Job", "scope": "Scope.", "price": price, "due_on": "2026-02-01"},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, FreelanceJob) == 0


def test_offer_by_mentee_is_403_and_in_strangers_chat_404(app, people):
    mentor, mentee, stranger = people
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    data = {"title": "Job", "scope": "Scope.", "price": "5.00", "due_on": "2026-02-01"}
    assert (
        login_as(app, mentee)
        .post(f"/conversations/{conversation_id}/freelance", data=data)
        .status_code
        == 403
    )
    assert (
        login_as(app, stranger)
        .post(f"/conversations/{conversation_id}/freelance", data=data)
        .status_code
        == 404
    )
    assert count(app, FreelanceJob) == 0


def test_accept_without_credit_names_missing_amount(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 1500)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = make_job(app, mentor, conversation_id)
    response = login_as(app, mentee).post(f"/jobs/{job_id}/accept")
    assert response.status_code == 409
    assert "25.00 USD more is needed" in response.get_data(as_text=True)
    assert balances(app) == {f"balance:{mentee.id}": 1500, "external": -1500}


def test_accept_counts_unsettled_invoices(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = make_job(app, mentor, conversation_id)
    response = login_as(app, mentee).post(f"/jobs/{job_id}/accept")
    assert response.status_code == 409
    assert "available credit is 30.00 USD: 10.00 USD more" in response.get_data(as_text=True)


def test_job_of_someone_else_is_404(app, people):
    mentor, mentee, stranger = people
    top_up(app, mentee.id, 5000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = make_job(app, mentor, conversation_id)
    client = login_as(app, stranger)
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.post(f"/jobs/{job_id}/accept").status_code == 404
    assert client.post("/jobs/9999/accept").status_code == 404
    assert login_as(app, mentee).post(f"/jobs/{job_id}/explode").status_code == 404
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_job_wrong_role_and_state(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = make_job(app, mentor, conversation_id)
    assert login_as(app, mentor).post(f"/jobs/{job_id}/accept").status_code == 403
    response = login_as(app, mentor).post(f"/jobs/{job_id}/deliver")
    assert response.status_code == 409
    assert "This job is offered" in response.get_data(as_text=True)
    assert login_as(app, mentee).post(f"/jobs/{job_id}/decline").status_code == 303
    assert login_as(app, mentee).post(f"/jobs/{job_id}/accept").status_code == 409
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


@pytest.mark.parametrize(
    ("amount", "status", "message"),
    [
        ("0", 422, "Enter at least 0.01 USD."),
        ("-2", 422, "must not be negative"),
        ("1500.01", 422, "Enter at most 1,500.00 USD."),
        ("3.999", 422, "more than two decimals"),
        ("60.00", 409, "10.00 USD more is needed"),
    ],
)
def test_direct_payment_bad_amount_moves_nothing(app, people, amount, status, message):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    response = login_as(app, mentee).post(
        f"/conversations/{conversation_id}/direct-payment",
        data={"amount": amount, "note": "", "form_token": "abc"},
    )
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count(app, DirectPayment) == 0
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_direct_payment_by_mentor_is_403(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    response = login_as(app, mentor).post(
        f"/conversations/{conversation_id}/direct-payment",
        data={"amount": "5.00", "note": "", "form_token": "abc"},
    )
    assert response.status_code == 403
    assert count(app, DirectPayment) == 0


def test_review_bad_input_is_422(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, mentee)
    assert client.post(f"/invoices/{invoice_id}/review", data={"rating": "6"}).status_code == 422
    assert (
        client.post(f"/invoices/{invoice_id}/review", data={"text": "no stars"}).status_code == 422
    )
    response = client.post(
        f"/invoices/{invoice_id}/review", data={"rating": "4", "text": "y" * 2001}
    )
    assert response.status_code == 422
    assert (
        login_as(app, mentor)
        .post(f"/invoices/{invoice_id}/review", data={"rating": "5"})
        .status_code
        == 403
    )
    assert count(app, Review) == 0


def test_freelance_panel_shows_forms_by_role(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    mentor_page = login_as(app, mentor).get(f"/conversations/{conversation_id}/freelance")
    assert "Offer a freelance job" in mentor_page.get_data(as_text=True)
    mentee_page = login_as(app, mentee).get(f"/conversations/{conversation_id}/freelance")
    body = mentee_page.get_data(as_text=True)
    assert "Pay Maya directly" in body
    assert 'name="form_token"' in body


def test_history_balance_and_earnings_pages(app, clock, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 10000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1830)
    clock.advance(seconds=600)
    mentee_client = login_as(app, mentee)
    history = mentee_client.get("/history").get_data(as_text=True)
    assert "00:30:30" in history
    assert "41.33 USD" in history
    assert f"/invoices/{invoice_id}" in history
    balance = mentee_client.get("/balance").get_data(as_text=True)
    assert "58.67 USD" in balance
    assert "settlement" in balance
    assert "To add credit, ask the operator of this OpenMentor site" in balance
    assert f'settlement: <a href="/invoices/{invoice_id}">' in balance
    assert "(invoice " not in balance
    mentor_client = login_as(app, mentor)
    earnings = mentor_client.get("/earnings").get_data(as_text=True)
    assert "41.33 USD" in earnings
    assert "<svg" in earnings
    assert "style=" not in earnings
    assert "<script>" not in earnings
    csv_response = mentor_client.get("/earnings.csv")
    assert csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).splitlines()
    assert lines[0] == "date,kind,memo,amount,balance,invoice,job"
    assert lines[1].endswith(f",settlement,Invoice {invoice_id},41.33,41.33,{invoice_id},")
    assert len(lines) == 2


def test_export_invoices_csv(app, clock, runner, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 10000)
    first = make_invoice(app, mentor.id, mentee.id, billed_seconds=900, fee_bp=500)
    clock.advance(days=2)
    second = make_invoice(app, mentor.id, mentee.id, billed_seconds=1200)
    result = runner.invoke(args=["export-invoices", "--from", "2026-01-05", "--to", "2026-01-06"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("invoice,created_at,state,settled_at,mentor_email")
    assert len(lines) == 2
    assert lines[1].startswith(f"{first},2026-01-05T09:00:00.000+00:00,settled,")
    assert lines[1].endswith(",900,15,0,20.00,500,20.00,1.00,21.00,0.00,0.00,21.00")
    both = runner.invoke(args=["export-invoices", "--from", "2026-01-01", "--to", "2026-01-31"])
    assert [line.split(",")[0] for line in both.output.splitlines()[1:]] == [
        str(first),
        str(second),
    ]
    bad = runner.invoke(args=["export-invoices", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert bad.exit_code == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["refund-invoice", "{id}", "--", "-1"], "must not be negative"),
        (["refund-invoice", "{id}", "1.234"], "more than two decimals"),
        (["refund-invoice", "{id}", "0"], "above zero"),
        (["refund-invoice", "{id}", "20.01"], "at most the 20.00 USD"),
        (["refund-invoice", "999", "1.00"], "No invoice has this number"),
        (["resolve-dispute", "{id}", "--keep"], "is open, not disputed"),
        (["resolve-dispute", "{id}", "--keep", "--refund"], "exactly one"),
        (["resolve-job", "999", "--release"], "No freelance job has this number"),
        (["payout", "nobody@example.com", "1.00"], "No user has the email address"),
        (["payout", "mentor@example.com", "0.00"], "above zero"),
    ],
)
def test_operator_commands_reject_bad_input(app, runner, people, arguments, message):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    result = runner.invoke(args=[part.format(id=invoice_id) for part in arguments])
    assert result.exit_code == 1
    assert message in result.output
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_chat_page_shows_money_panel_by_role(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    make_job(app, mentor, conversation_id)
    mentee_page = login_as(app, mentee).get(f"/chats/{conversation_id}").get_data(as_text=True)
    assert "Pay Maya directly" in mentee_page
    assert "Accept and pay 40.00 USD into escrow" in mentee_page
    assert "Offer a freelance job" not in mentee_page.split('id="freelance-money"')[1]
    mentor_page = login_as(app, mentor).get(f"/chats/{conversation_id}").get_data(as_text=True)
    assert 'hx-post="/conversations/' in mentor_page
    assert "Withdraw offer" in mentor_page
    assert "Pay Maya directly" not in mentor_page


def test_chat_page_of_graded_request_has_no_offer_form(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id, graded=True)
    page = login_as(app, mentor).get(f"/chats/{conversation_id}").get_data(as_text=True)
    assert f'action="/conversations/{conversation_id}/freelance"' not in page
    assert "cannot receive a freelance offer" in page


def test_adjust_keeps_free_minutes_free(app, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=1800, first_free=True)
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.free_minutes == 15
        assert invoice.minutes_charged == 15
    response = login_as(app, mentor).post(f"/invoices/{invoice_id}/adjust", data={"minutes": "10"})
    assert response.status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.free_minutes == 15
        assert invoice.adjusted_minutes == 10
        assert invoice.charged_total_cents == 1333
    assert balances(app) == {f"balance:{mentee.id}": 5000, "external": -5000}


def test_invoice_prefetch_writes_nothing(app, clock, people):
    mentor, mentee, _ = people
    top_up(app, mentee.id, 5000)
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    clock.advance(seconds=600)
    client = login_as(app, mentee)
    prefetch = client.get(f"/invoices/{invoice_id}", headers={"Sec-Purpose": "prefetch"})
    assert prefetch.status_code == 200
    assert client.get("/balance", headers={"Sec-Purpose": "prefetch"}).status_code == 200
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).state == "open"
    assert client.get(f"/invoices/{invoice_id}").status_code == 200
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).state == "settled"


def test_dispute_reason_wraps_long_words(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    client = login_as(app, mentee)
    reason = "x" * 300
    response = client.post(
        f"/invoices/{invoice_id}/dispute", data={"reason": reason, "minutes": "5"}
    )
    assert response.status_code == 303
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert f'<p class="dispute-summary">Dispute: “{reason}”' in page
    with client.get("/static/css/app.css") as stylesheet:
        css = stylesheet.get_data(as_text=True)
    assert ".invoice-history, .dispute-summary { overflow-wrap: anywhere; }" in css


@pytest.mark.parametrize("path", ["dispute", "adjust"])
def test_minutes_not_a_number_has_one_message(app, people, path):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900)
    user = mentee if path == "dispute" else mentor
    response = login_as(app, user).post(
        f"/invoices/{invoice_id}/{path}", data={"reason": "x", "minutes": "ten"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid integer value." not in page
    assert page.count("Enter a whole number of minutes, such as 15.") == 1


def test_job_page_links_back_to_chat(app, people):
    mentor, mentee, _ = people
    conversation_id = make_conversation(app, mentor.id, mentee.id)
    job_id = make_job(app, mentor, conversation_id)
    for user in (mentor, mentee):
        page = login_as(app, user).get(f"/jobs/{job_id}").get_data(as_text=True)
        assert (
            f'<a id="job-chat-link" href="/chats/{conversation_id}">'
            "Back to the chat about this job</a>"
        ) in page


def test_invoice_fee_rate_written_like_the_room(app, people):
    mentor, mentee, _ = people
    invoice_id = make_invoice(app, mentor.id, mentee.id, billed_seconds=900, fee_bp=0)
    body = login_as(app, mentee).get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Service fee (0 %)" in body
    assert "0.0 %" not in body
