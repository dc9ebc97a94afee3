"""A mentee disputes an invoice and the mentor adjusts it, in Chromium; then the earnings page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from tests.web.test_billing_support import balances, make_conversation, make_invoice, top_up
from webapp import database
from webapp.accounts import services as accounts

PASSWORD = "correct horse battery"


def create_people(app) -> tuple[int, int]:
    """Create the mentor Maya (20.00 per 15 minutes) and the mentee Milo; return their ids."""
    with app.app_context():
        database.begin_write()
        mentor = accounts.create_user(
            email="maya@example.com", name="Maya", password=PASSWORD, is_mentor=True
        )
        accounts.update_mentor_profile(
            mentor, headline="Flask", rate_15_cents=2000, tags=[], away=False, first_15_free=False
        )
        mentee = accounts.create_user(
            email="milo@example.com", name="Milo", password=PASSWORD, is_mentee=True
        )
        database.commit()
        return mentor.id, mentee.id


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_dispute_adjust_and_earnings(live_server, new_context, problems, javascript):
    app = live_server.app
    base = live_server.url
    mentor_id, mentee_id = create_people(app)
    top_up(app, mentee_id, 10000)
    invoice_id = make_invoice(app, mentor_id, mentee_id, billed_seconds=1800)

    mentee_page = new_context(javascript=javascript).new_page()
    log_in(mentee_page, base, "milo@example.com")
    mentee_page.goto(f"{base}/invoices/{invoice_id}")
    mentee_page.get_by_text("left to dispute").wait_for()
    reason = "We stopped after 20 minutes."
    mentee_page.get_by_label("What is wrong with this invoice?").fill(reason)
    mentee_page.get_by_label("Minutes you believe are right").fill("20")
    mentee_page.locator("button[value=dispute]").click()
    mentee_page.get_by_text("Your dispute was sent.").wait_for()
    mentee_page.get_by_text("Disputed: the invoice waits").wait_for()
    if javascript:
        # axe-core is injected as a script, which a context without JavaScript cannot run.
        assert run_axe(mentee_page) == []

    mentor_page = new_context(javascript=javascript).new_page()
    log_in(mentor_page, base, "maya@example.com")
    mentor_page.goto(f"{base}/invoices/{invoice_id}")
    mentor_page.get_by_text(reason).first.wait_for()
    mentor_page.get_by_label("Charge this many minutes").fill("20")
    mentor_page.locator("button[value=adjust]").click()
    mentor_page.get_by_text("The invoice was adjusted.").wait_for()
    mentor_page.get_by_text("adjusted to 20 minutes").wait_for()
    save_screenshot(
        mentor_page, f"billing-invoice-{'js' if javascript else 'nojs'}", javascript=javascript
    )
    assert balances(app) == {
        f"balance:{mentee_id}": 7333,
        f"earnings:{mentor_id}": 2667,
        "external": -10000,
    }

    mentor_page.goto(f"{base}/earnings")
    chart = mentor_page.locator("svg.earnings-chart")
    chart.wait_for()
    assert chart.locator("rect.chart-bar").count() == 12
    assert chart.bounding_box()["height"] > 100
    save_screenshot(
        mentor_page, f"billing-earnings-{'js' if javascript else 'nojs'}", javascript=javascript
    )
    if javascript:
        assert run_axe(mentor_page) == []
    download = mentor_page.request.get(f"{base}/earnings.csv")
    assert download.status == 200
    rows = download.text().splitlines()
    assert rows[0] == "date,kind,memo,amount,balance,invoice,job"
    assert rows[1].endswith(f",settlement,Invoice {invoice_id},26.67,26.67,{invoice_id},")
    assert len(rows) == 2

    mentee_page.goto(f"{base}/balance")
    mentee_page.get_by_text("73.33 USD").first.wait_for()
    assert problems.csp_violations == []
    assert problems.messages == []


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_freelance_job_and_tip_from_chat(live_server, new_context, problems, javascript):
    app = live_server.app
    base = live_server.url
    mentor_id, mentee_id = create_people(app)
    top_up(app, mentee_id, 10000)
    conversation_id = make_conversation(app, mentor_id, mentee_id)

    mentor_page = new_context(javascript=javascript).new_page()
    log_in(mentor_page, base, "maya@example.com")
    mentor_page.goto(f"{base}/chats/{conversation_id}")
    panel = mentor_page.locator("#freelance-money")
    panel.get_by_label("Title").fill("Fix the failing tests")
    panel.get_by_label("Scope").fill("Make the CI run green.")
    panel.get_by_label("Fixed price").fill("50.00")
    panel.get_by_label("Due date").fill("2027-01-15")
    panel.locator("button[value=offer]").click()
    mentor_page.get_by_text("Your freelance offer was sent.").wait_for()

    mentee_page = new_context(javascript=javascript).new_page()
    log_in(mentee_page, base, "milo@example.com")
    mentee_page.goto(f"{base}/chats/{conversation_id}")
    mentee_panel = mentee_page.locator("#freelance-money")
    mentee_panel.get_by_role("button", name="Accept and pay 50.00 USD into escrow").click()
    mentee_page.get_by_text("The job is accepted now.").wait_for()

    mentee_page.goto(f"{base}/chats/{conversation_id}")
    mentee_panel = mentee_page.locator("#freelance-money")
    mentee_panel.get_by_label("Amount").fill("5.00")
    mentee_panel.get_by_label("Note").fill("Thanks for the quick help")
    mentee_panel.locator("button[value=direct_payment]").click()
    mentee_page.get_by_text("You paid Maya.").wait_for()
    assert balances(app) == {
        f"balance:{mentee_id}": 4500,
        "escrow:1": 5000,
        f"earnings:{mentor_id}": 500,
        "external": -10000,
    }
    if javascript:
        assert run_axe(mentee_page) == []
    # The job's own page, and the request page behind the chat, for CSP and axe too.
    mentee_page.goto(f"{base}/jobs/1")
    expect(mentee_page.locator("main")).to_contain_text("Fix the failing tests")
    if javascript:
        assert run_axe(mentee_page) == []
    mentee_page.goto(f"{base}/requests/1")
    expect(mentee_page.locator("main")).to_contain_text("Flask app crashes on start")
    if javascript:
        assert run_axe(mentee_page) == []
    assert problems.csp_violations == []
    assert problems.messages == []
