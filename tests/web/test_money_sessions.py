"""Money of real paid sessions: the session services invoice, the timers loop settles.

These tests drive `webapp.sessions.services` and `webapp.timers.run_due`, so they cover the
invoice created on a paid end, the settlement by the timers and the running-session refusals.
"""

import pytest

from tests.web.sessions_support import act, create, credit, enter, invoice_of, make_pair, stay
from tests.web.test_billing_support import balances, make_conversation
from webapp import timers
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.sessions.models import LiveSession


@pytest.fixture
def pair(create_user):
    return make_pair(create_user)


def login_as(app, user_id):
    with app.app_context():
        email = db.session.get(User, user_id).email
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": "correct horse battery"})
    assert response.status_code == 303
    return client


def run_paid_session(app, pair, clock, seconds: int) -> str:
    """Create, start and end a paid session billed `seconds`; return its token."""
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    assert act(app, token, pair.mentor, "request_start") == "start_requested"
    enter(app, token, pair.mentor)
    assert act(app, token, pair.mentee, "start") == "running"
    stay(app, token, pair.mentee, clock, seconds)
    assert act(app, token, pair.mentor, "end") == "ended"
    return token


def test_paid_session_invoice_settled_by_timers(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = run_paid_session(app, pair, clock, 16 * 60)
    invoice = invoice_of(app, token)
    assert invoice.total_cents == 2133
    assert invoice.state == "open"

    clock.advance(seconds=599)
    with app.app_context():
        timers.run_due(clock.current)
    assert invoice_of(app, token).state == "open"
    clock.advance(seconds=1)
    with app.app_context():
        timers.run_due(clock.current)
        timers.run_due(clock.current)
    settled = invoice_of(app, token)
    assert settled.state == "settled"
    assert settled.settled_at == settled.settles_at
    assert balances(app) == {
        f"balance:{pair.mentee}": 7867,
        f"earnings:{pair.mentor}": 2133,
        "external": -10000,
    }


def test_dispute_and_adjust_of_real_session(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = run_paid_session(app, pair, clock, 31 * 60)
    invoice_id = invoice_of(app, token).id
    mentee = login_as(app, pair.mentee)
    response = mentee.post(
        f"/invoices/{invoice_id}/dispute", data={"reason": "We were idle.", "minutes": "20"}
    )
    assert response.status_code == 303
    clock.advance(seconds=900)
    with app.app_context():
        timers.run_due(clock.current)
    assert invoice_of(app, token).state == "disputed"
    mentor = login_as(app, pair.mentor)
    assert mentor.post(f"/invoices/{invoice_id}/adjust", data={"minutes": "20"}).status_code == 303
    assert invoice_of(app, token).state == "settled"
    assert balances(app) == {
        f"balance:{pair.mentee}": 7333,
        f"earnings:{pair.mentor}": 2667,
        "external": -10000,
    }


def test_tip_and_job_accept_refused_while_paid_session_runs(app, pair, clock):
    credit(app, pair.mentee, 10000)
    conversation_id = make_conversation(app, pair.mentor, pair.mentee)
    mentor = login_as(app, pair.mentor)
    response = mentor.post(
        f"/conversations/{conversation_id}/freelance",
        data={"title": "Refactor", "scope": "Models.", "price": "10.00", "due_on": "2026-02-01"},
    )
    assert response.status_code == 303
    job_path = response.headers["Location"]

    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    act(app, token, pair.mentor, "request_start")
    enter(app, token, pair.mentor)
    assert act(app, token, pair.mentee, "start") == "running"

    mentee = login_as(app, pair.mentee)
    tip = mentee.post(
        f"/conversations/{conversation_id}/direct-payment",
        data={"amount": "5.00", "note": "thanks", "form_token": "one"},
    )
    assert tip.status_code == 409
    assert "waits until your paid session has ended" in tip.get_data(as_text=True)
    accept = mentee.post(f"{job_path}/accept")
    assert accept.status_code == 409
    assert "waits until your paid session has ended" in accept.get_data(as_text=True)
    assert act(app, token, pair.mentee, "pause") == "paused"
    assert mentee.post(f"{job_path}/accept").status_code == 409
    assert balances(app) == {f"balance:{pair.mentee}": 10000, "external": -10000}

    assert act(app, token, pair.mentee, "end") == "ended"
    assert mentee.post(f"{job_path}/accept").status_code == 303
    assert balances(app) == {
        f"balance:{pair.mentee}": 9000,
        f"escrow:{job_path.rsplit('/', 1)[1]}": 1000,
        "external": -10000,
    }


def test_refund_of_open_invoice_raises_running_sessions_limit(app, pair, clock):
    credit(app, pair.mentee, 8000)
    first = run_paid_session(app, pair, clock, 30 * 60)
    invoice_id = invoice_of(app, first).id
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    act(app, token, pair.mentor, "request_start")
    enter(app, token, pair.mentor)
    assert act(app, token, pair.mentee, "start") == "running"
    with app.app_context():
        before = db.session.query(LiveSession).filter_by(token=token).one().next_deadline_at
    mentor = login_as(app, pair.mentor)
    refund = mentor.post(f"/invoices/{invoice_id}/refund", data={"amount": "20.00"})
    assert refund.status_code == 303
    with app.app_context():
        after = db.session.query(LiveSession).filter_by(token=token).one().next_deadline_at
    # 20.00 more credit buys 15 more minutes at 20.00 per 15, so the limit moves 900 s later.
    assert (after - before).total_seconds() == 900
