"""The mentor guide's flow in Chromium, from the chat to the invoice, with JavaScript on and off.

Two browser contexts (mentor and mentee) use one live server on the real clock, with
durations shrunk through configuration.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from webapp import database
from webapp.accounts import services as accounts
from webapp.chat import services as chat
from webapp.requests import services as help_requests
from webapp.sessions.commands import add_credits

PASSWORD = "correct horse battery"
RATE_15_CENTS = 2000
# Every poll writes a heartbeat, polls come every second, and 2 s of billed time is enough
# for an invoice, so the whole flow takes seconds.
FLOW_CONFIG = {"PRESENCE_WRITE_SECONDS": 0, "POLL_INTERVAL_SECONDS": 1, "START_GRACE_SECONDS": 2}
CHECKLIST_LABELS = (
    "I am clear on the request and the mentee's expectations.",
    "I can help the mentee in a significant way.",
    "The mentee confirmed that their call tool is set up.",
    "The mentee confirmed that the environment is right for a session.",
)
START = "button[name=action][value=start]"
# How long a page may take to show the other person's change: a few polls, even on a busy
# machine running other test suites at once.
POLL_WAIT_MS = 10_000
REQUEST_START = "button[name=action][value=request_start]"


@dataclass
class Seed:
    """The ids of a mentor and a mentee who already chat about one help request."""

    mentor_id: int
    mentee_id: int
    conversation_id: int
    mentor_email: str = "maya@example.com"
    mentee_email: str = "milo@example.com"


def seed_chat(server, *, credit_cents: int = 50_000) -> Seed:
    """Create a mentor, a mentee with credit, a help request and the chat about it."""
    # A request context, because notifications about the new request link to its page.
    with server.app.test_request_context():
        database.begin_write()
        mentor = accounts.create_user(
            email="maya@example.com", name="Maya Mentor", password=PASSWORD, is_mentor=True
        )
        accounts.update_mentor_profile(
            mentor,
            headline="Flask and htmx",
            rate_15_cents=RATE_15_CENTS,
            tags=["python"],
            away=False,
            first_15_free=False,
        )
        mentee = accounts.create_user(
            email="milo@example.com", name="Milo Mentee", password=PASSWORD, is_mentee=True
        )
        help_request = help_requests.create_request(
            mentee,
            title="My Flask tests hang",
            description="The test client never returns.",
            tags=["python"],
            kind="live",
            graded=False,
        )
        conversation, _ = chat.open_conversation(mentor, help_request.id)
        seed = Seed(mentor.id, mentee.id, conversation.id)
        database.commit()
        add_credits(seed.mentee_id, credit_cents)
    return seed


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def request_start_by_checklist(mentor, *, javascript: bool = True) -> None:
    """Tick every item of the mentor's checklist and submit it: in the room's <details>
    with JavaScript, on the checklist page without it (the room reloads every 10 s)."""
    room_url = mentor.url
    if javascript:
        mentor.locator("#start-checklist > summary").click()
    else:
        mentor.locator("#start-session").click()
        mentor.wait_for_url(f"{room_url}/checklist")
    for label in CHECKLIST_LABELS:
        mentor.get_by_label(label).check()
    mentor.locator(REQUEST_START).click()
    if not javascript:
        mentor.wait_for_url(room_url)


def badge_count(page) -> int:
    return int(page.locator("#notification-badge").inner_text())


def seconds_of(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.strip().split(":"))
    return hours * 3600 + minutes * 60 + seconds


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def timer_seconds(page) -> int:
    return seconds_of(page.locator("#timer-value").inner_text())


def refresh_unless_js(page, javascript: bool) -> None:
    """Reload the room without JavaScript (its meta refresh would, within 10 s)."""
    if not javascript:
        page.reload()


def expect_state(page, words: str, javascript: bool) -> None:
    refresh_unless_js(page, javascript)
    expect(page.locator("#room-state")).to_have_text(words, timeout=POLL_WAIT_MS)


def hand_computed_total(billed_seconds: int) -> str:
    """Price billed time by hand: max(15, ceil(s / 60)) minutes at the rate, half up."""
    minutes = max(15, math.ceil(billed_seconds / 60))
    cents = (minutes * RATE_15_CENTS * 2 + 15) // (15 * 2)
    return f"{cents // 100}.{cents % 100:02d} USD"


def invoice_line(page, heading: str):
    """Return the amount cell of the invoice line whose heading is exactly `heading`."""
    heading_cell = page.locator("th", has_text=re.compile(f"^{heading}$"))
    return page.locator("table.invoice-lines tr").filter(has=heading_cell).locator("td")


def screenshot(page, name: str, javascript: bool) -> None:
    """Save a screenshot of the room (see save_screenshot for the style attributes)."""
    save_screenshot(page, name, javascript=javascript)


def check_axe(page, state: str, javascript: bool) -> None:
    """Run axe-core on the page; only with JavaScript, because the no-script meta refresh
    could reload the page while axe runs."""
    if javascript:
        assert run_axe(page) == [], state


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_room_guide_flow(serve, new_context, problems, javascript):
    server = serve(**FLOW_CONFIG)
    base = server.url
    seed = seed_chat(server)
    suffix = "js" if javascript else "nojs"
    mentor = new_context(javascript=javascript).new_page()
    mentee = new_context(javascript=javascript).new_page()
    log_in(mentor, base, seed.mentor_email)
    log_in(mentee, base, seed.mentee_email)

    # The mentor starts a paid session in the chat; both see the room link.
    chat_url = f"{base}/chats/{seed.conversation_id}"
    mentor.goto(chat_url)
    mentor.get_by_role("button", name="Start a paid session").click()
    mentor.get_by_role("link", name="Go to the session room").wait_for()
    mentor.goto(chat_url)
    expect(mentor.get_by_role("link", name="Open the session room")).to_have_count(1)
    badge_before_entry = badge_count(mentor)
    mentee.goto(chat_url)
    room_link = mentee.get_by_role("link", name="Open the session room")
    expect(room_link).to_have_count(1)

    # The mentee enters first; the mentor's badge counts it at the next page load.
    room_link.click()
    mentee.wait_for_url(re.compile(r".*/sessions/[A-Za-z0-9_-]+$"))
    room_url = mentee.url
    expect(mentee.locator("#room-state")).to_have_text("Preview — not billed")
    expect(mentee.locator(START)).to_have_count(0)
    mentor.goto(chat_url)
    assert badge_count(mentor) == badge_before_entry + 1
    mentor.goto(f"{base}/notifications/")
    expect(mentor.get_by_text("entered the session room. Join them there.")).to_have_count(1)

    # The mentor enters: preview, both in the room, no billing start for the mentor.
    mentor.goto(chat_url)
    mentor.get_by_role("link", name="Open the session room").click()
    mentor.wait_for_url(room_url)
    expect(mentor.locator("#room-state")).to_have_text("Preview — not billed")
    expect(mentor.locator("#room-people li[data-role=mentee]")).to_have_attribute(
        "data-present", "yes"
    )
    refresh_unless_js(mentee, javascript)
    expect(mentee.locator("#room-people li[data-role=mentor]")).to_have_attribute(
        "data-present", "yes", timeout=POLL_WAIT_MS
    )
    expect(mentor.locator(START)).to_have_count(0)
    expect(mentor.locator("#timer-value")).to_have_text("00:00:00")
    screenshot(mentor, f"room-preview-{suffix}", javascript)
    check_axe(mentor, "preview", javascript)

    # The checklist: every item ticked, then Request to Start Session.
    request_start_by_checklist(mentor, javascript=javascript)
    expect(mentor.locator("#waiting-for-mentee")).to_contain_text(
        "The billing timer is not running."
    )
    expect(mentor.locator(START)).to_have_count(0)
    screenshot(mentor, f"room-start-requested-{suffix}", javascript)
    check_axe(mentor, "start requested", javascript)

    # The mentee starts billing beside the price table.
    refresh_unless_js(mentee, javascript)
    expect(mentee.locator(START)).to_have_count(1, timeout=POLL_WAIT_MS)
    expect(mentee.locator("#price-table tbody tr")).to_have_count(3)
    expect(mentee.locator("#price-table tbody tr").nth(0)).to_contain_text("15 minutes")
    check_axe(mentee, "start requested, mentee", javascript)
    mentee.locator(START).click()
    expect(mentee.locator("#room-state")).to_have_text("Running — billed")
    expect_state(mentor, "Running — billed", javascript)
    expect(mentee.locator("#idle-note")).to_contain_text("The timer pauses by itself")

    # The timer runs: two readings, the second later than the first.
    refresh_unless_js(mentee, javascript)
    if javascript:
        expect(mentee.locator("#timer-value")).not_to_have_text("00:00:00", timeout=POLL_WAIT_MS)
    first = timer_seconds(mentee)
    time.sleep(1.5)  # the test is about time passing
    refresh_unless_js(mentee, javascript)
    expect(mentee.locator("#timer-value")).not_to_have_text(hms(first), timeout=POLL_WAIT_MS)
    second = timer_seconds(mentee)
    assert second > first
    screenshot(mentee, f"room-running-{suffix}", javascript)
    check_axe(mentee, "running", javascript)

    # Pause: frozen for 3 s, for both.
    mentee.locator("button[name=action][value=pause]").click()
    expect(mentee.locator("#room-state")).to_have_text("Paused — not billed")
    expect_state(mentor, "Paused — not billed", javascript)
    frozen = mentee.locator("#timer-value").inner_text()
    time.sleep(3)  # the test is about time passing
    refresh_unless_js(mentee, javascript)
    expect(mentee.locator("#timer-value")).to_have_text(frozen)
    mentor.reload()
    expect(mentor.locator("#timer-value")).to_have_text(frozen)
    screenshot(mentee, f"room-paused-{suffix}", javascript)
    check_axe(mentee, "paused", javascript)

    # Resume (the mentor), then End Session (the mentor).
    mentor.locator("button[name=action][value=resume]").click()
    expect(mentor.locator("#room-state")).to_have_text("Running — billed")
    expect_state(mentee, "Running — billed", javascript)
    mentor.locator("button[name=action][value=end]").click()
    expect(mentor.locator("#room-state")).to_have_text("Ended")
    expect_state(mentee, "Ended", javascript)
    final = mentor.locator("#final-time").inner_text()
    expect(mentee.locator("#final-time")).to_have_text(final)
    assert seconds_of(final) >= seconds_of(frozen)
    screenshot(mentee, f"room-ended-{suffix}", javascript)
    check_axe(mentee, "ended", javascript)

    # The invoice total equals the price computed by hand from the billed time shown.
    expected_total = hand_computed_total(seconds_of(final))
    mentee.locator("#invoice-link").click()
    mentee.wait_for_url(re.compile(r".*/invoices/\d+$"))
    expect(invoice_line(mentee, "Total")).to_have_text(expected_total)
    expect(invoice_line(mentee, "Billed time")).to_have_text(final)
    check_axe(mentee, "invoice", javascript)
    assert problems.csp_violations == []
    assert problems.messages == []
