"""The room's polls in Chromium: one in flight, none after the end, catching up after being
offline, a forged billing start, and the timed rules that act with no browser open."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import run_axe
from tests.browser.test_room_flow import (
    FLOW_CONFIG,
    POLL_WAIT_MS,
    REQUEST_START,
    START,
    log_in,
    request_start_by_checklist,
    screenshot,
    seed_chat,
)
from tests.web.sessions_support import events, row
from webapp import database, timers
from webapp.accounts.models import User
from webapp.billing.models import Invoice
from webapp.chat import services as chat
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.sessions import services
from webapp.sessions.models import LiveSession, Presence

FRAGMENT_URL = re.compile(r".*/sessions/[^/]+/(timer|controls)(\?.*)?$")
COUNT_POLLS_SCRIPT = """
window.roomPolls = { now: 0, most: 0 };
const isPoll = (event) => /\\/(timer|controls)\\?/.test(event.detail.requestConfig.path);
document.addEventListener("htmx:beforeSend", (event) => {
  if (isPoll(event)) {
    window.roomPolls.now += 1;
    window.roomPolls.most = Math.max(window.roomPolls.most, window.roomPolls.now);
  }
});
document.addEventListener("htmx:afterRequest", (event) => {
  if (isPoll(event)) {
    window.roomPolls.now -= 1;
  }
});
"""
# The timed rules run in a timers loop of the test's own, so the durations are seconds.
RULES_CONFIG = {
    **FLOW_CONFIG,
    "FREE_SESSION_WARNING_SECONDS": 3,
    "FREE_SESSION_LIMIT_SECONDS": 5,
    "IDLE_PAUSE_SECONDS": 3,
    "TIMERS_TICK_SECONDS": 0.2,
}


def open_session(server, seed, kind: str) -> str:
    """Start a session from the chat as its mentor would, and return the room token."""
    with server.app.test_request_context():
        database.begin_write()
        mentor = db.session.get(User, seed.mentor_id)
        live_session, _ = chat.start_live_session(mentor, seed.conversation_id, kind)
        token = live_session.token
        database.commit()
    return token


def perform(server, token: str, user_id: int, action: str) -> None:
    with server.app.test_request_context():
        services.perform(token, user_id, action)


def room_pages(server, seed, new_context, token: str):
    """Log both people in, in contexts of their own, and open the room for each."""
    mentor = new_context().new_page()
    mentee = new_context().new_page()
    log_in(mentor, server.url, seed.mentor_email)
    log_in(mentee, server.url, seed.mentee_email)
    for page in (mentor, mentee):
        page.goto(f"{server.url}/sessions/{token}")
    expect(mentor.locator("#room-people li[data-role=mentee]")).to_have_attribute(
        "data-present", "yes", timeout=POLL_WAIT_MS
    )
    return mentor, mentee


def start_billing(server, seed, token: str, mentee) -> None:
    """Request the start as the mentor (by the service) and start it as the mentee (a click)."""
    perform(server, token, seed.mentor_id, "request_start")
    expect(mentee.locator(START)).to_have_count(1, timeout=POLL_WAIT_MS)
    mentee.locator(START).click()


def wait_for_state(server, token: str, state: str, timeout: float = 10.0) -> LiveSession:
    """Read the session until it reaches `state` (the timers loop changes it, not a page)."""
    deadline = time.monotonic() + timeout
    while True:
        live_session = row(server.app, token)
        if live_session.state == state or time.monotonic() > deadline:
            assert live_session.state == state
            return live_session
        time.sleep(0.1)


def notification_count(server, user_id: int, text: str) -> int:
    with server.app.app_context():
        return db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.text.contains(text)
            )
        )


class TimersLoop:
    """The production timers loop (`timers.run_forever`) in a thread, for one live server."""

    def __init__(self, app):
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=timers.run_forever, args=(app, self.stop_event), daemon=True
        )

    def __enter__(self) -> TimersLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)


@pytest.mark.browser
def test_room_mentor_cannot_submit_billing_start(serve, new_context, problems):
    server = serve(**FLOW_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "paid")
    mentor, mentee = room_pages(server, seed, new_context, token)
    expect(mentor.locator(START)).to_have_count(0)
    expect(mentor.locator("form button[value=start]")).to_have_count(0)
    mentor.goto(f"{server.url}/sessions/{token}/checklist")
    expect(mentor.locator(REQUEST_START)).to_have_count(1)
    assert run_axe(mentor) == []
    mentor.goto(f"{server.url}/sessions/{token}")

    request_start_by_checklist(mentor)
    expect(mentor.locator("#waiting-for-mentee")).to_be_visible()
    expect(mentor.locator(START)).to_have_count(0)
    expect(mentee.locator(START)).to_have_count(1, timeout=POLL_WAIT_MS)

    csrf_token = mentor.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = mentor.request.post(
        f"{server.url}/sessions/{token}/actions",
        form={"action": "start", "csrf_token": csrf_token},
    )
    assert forged.status == 403
    assert "Only the mentee can start billing." in forged.text()
    assert row(server.app, token).state == "start_requested"
    assert problems.csp_violations == []


@pytest.mark.browser
def test_room_no_poll_after_end(serve, new_context, problems):
    server = serve(**FLOW_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "paid")
    mentor, mentee = room_pages(server, seed, new_context, token)
    start_billing(server, seed, token, mentee)
    expect(mentor.locator("#room-state")).to_have_text("Running — billed", timeout=POLL_WAIT_MS)

    mentee.locator("button[name=action][value=end]").click()
    for page in (mentor, mentee):
        expect(page.locator("#final-time")).to_be_visible(timeout=POLL_WAIT_MS)
    polls = []
    for page in (mentor, mentee):
        page.on("request", lambda request: polls.append(request.url))
    mentee.wait_for_timeout(10_000)  # the test is about time passing
    assert [url for url in polls if FRAGMENT_URL.match(url)] == []
    assert problems.messages == []


@pytest.mark.browser
def test_room_slow_polls_one_in_flight(serve, new_context, problems):
    server = serve(**FLOW_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "paid")
    _, mentee = room_pages(server, seed, new_context, token)
    start_billing(server, seed, token, mentee)
    expect(mentee.locator("#room-state")).to_have_text("Running — billed")

    # Each poll gets its response 3 s late: the route holds it, and the loop below releases it.
    held = []
    most_held = 0
    released = 0

    def hold(route) -> None:
        nonlocal most_held
        held.append((time.monotonic(), route))
        most_held = max(most_held, len(held))

    # The page counts its own requests between htmx:beforeSend and htmx:afterRequest, from
    # a fresh load (a click that lands before htmx processed a swapped-in form posts it
    # without htmx, which loads a new page).
    mentee.add_init_script(COUNT_POLLS_SCRIPT)
    mentee.reload()
    expect(mentee.locator("#room-state")).to_have_text("Running — billed")
    mentee.route(FRAGMENT_URL, hold)
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        mentee.wait_for_timeout(100)
        for item in [item for item in held if time.monotonic() - item[0] >= 3]:
            held.remove(item)
            item[1].continue_()
            released += 1
    for _, route in held:
        route.continue_()
    mentee.unroute(FRAGMENT_URL)

    assert most_held == 1
    assert released >= 3
    assert mentee.evaluate("window.roomPolls.most") == 1
    expect(mentee.locator("#room-state")).to_have_text("Running — billed")
    assert problems.messages == []


@pytest.mark.browser
def test_room_offline_mentee_catches_up(serve, new_context, problems):
    server = serve(**FLOW_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "paid")
    mentor, mentee = room_pages(server, seed, new_context, token)
    expect(mentee.locator(START)).to_have_count(0)

    mentee.context.set_offline(True)
    request_start_by_checklist(mentor)
    expect(mentor.locator("#waiting-for-mentee")).to_be_visible()
    mentee.wait_for_timeout(20_000)  # the test is about time passing
    expect(mentee.locator(START)).to_have_count(0)

    mentee.context.set_offline(False)
    # Polls come every second, so 5 s is a few polls, not a refresh of the whole page.
    expect(mentee.locator(START)).to_have_count(1, timeout=5_000)
    expect(mentee.locator("#room-state")).to_have_text("Preview — not billed")
    assert notification_count(server, seed.mentee_id, "The mentor asked you to start") == 1
    mentee.goto(f"{server.url}/notifications/")
    expect(mentee.get_by_text("The mentor asked you to start the session")).to_have_count(1)
    assert problems.csp_violations == []


@pytest.mark.browser
def test_room_free_session_ends_with_no_browser(serve, new_context, problems):
    server = serve(**RULES_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "free")
    mentor, mentee = room_pages(server, seed, new_context, token)
    expect(mentee.locator("#idle-note")).to_have_count(0)
    mentee.locator(START).click()
    expect(mentee.locator("#room-state")).to_have_text("Running — free, not billed")
    expect(mentee.locator("#idle-note")).to_contain_text("The free session ends by itself")
    mentor.close()
    mentee.close()

    with TimersLoop(server.app):
        ended = wait_for_state(server, token, "ended")
    recorded = events(server.app, token)
    warned = [at for kind, _, at in recorded if kind == "free_cap_warned"]
    ends = [(rule, at) for kind, rule, at in recorded if kind == "ended"]
    assert warned == [ended.started_at + timedelta(seconds=3)]
    assert ends == [("free_cap", ended.started_at + timedelta(seconds=5))]
    assert ended.billed_ms_closed == 5000
    with server.app.app_context():
        assert db.session.scalar(select(func.count(Invoice.id))) == 0
    for user_id in (seed.mentor_id, seed.mentee_id):
        assert notification_count(server, user_id, "The free session ends by itself in") == 1
        assert notification_count(server, user_id, "ended by itself at its time limit") == 1

    page = new_context().new_page()
    log_in(page, server.url, seed.mentee_email)
    page.goto(f"{server.url}/sessions/{token}")
    expect(page.locator("#final-time")).to_have_text("00:00:05")
    expect(page.locator(".room-banner")).to_have_text(
        ["The session ended by itself: the free session reached its time limit."]
    )
    assert problems.csp_violations == []


@pytest.mark.browser
def test_room_idle_paid_session_pauses(serve, new_context, problems):
    server = serve(**RULES_CONFIG)
    seed = seed_chat(server)
    token = open_session(server, seed, "paid")
    mentor, mentee = room_pages(server, seed, new_context, token)
    start_billing(server, seed, token, mentee)
    expect(mentee.locator("#idle-note")).to_have_text(
        "The timer pauses by itself when nobody has this page open for 3 seconds: "
        "keep it open beside your call."
    )
    mentor.close()
    mentee.close()

    with TimersLoop(server.app):
        paused = wait_for_state(server, token, "paused")
    with server.app.app_context():
        last_seen = db.session.scalar(
            select(func.max(Presence.last_seen_at)).where(Presence.live_session_id == paused.id)
        )
    pauses = [(rule, at) for kind, rule, at in events(server.app, token) if kind == "paused"]
    assert pauses == [("idle", last_seen + timedelta(seconds=3))]
    text = "The session paused by itself: nobody had the room open for 3 seconds."
    for user_id in (seed.mentor_id, seed.mentee_id):
        assert notification_count(server, user_id, "nobody had the room open") == 1

    for email in (seed.mentor_email, seed.mentee_email):
        page = new_context().new_page()
        log_in(page, server.url, email)
        page.goto(f"{server.url}/sessions/{token}")
        expect(page.locator("#room-state")).to_have_text("Paused — not billed")
        expect(page.locator(".room-banner")).to_have_text([text])
    screenshot(page, "room-paused-idle", True)
    assert problems.csp_violations == []
