"""notify.js in Chromium: the badge, one browser notification for three tabs, the permission
button, a start request pushed into the mentee's room, and reconnecting to a restarted server."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.test_room_flow import CHECKLIST_LABELS, REQUEST_START, START, seed_chat
from tests.browser.test_room_flow import log_in as log_in_by_label
from tests.web.test_multiprocess import Gunicorn
from tests.web.test_websocket import create_notifications
from webapp import database
from webapp.accounts import services as accounts

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"

# Counts constructor calls of Notification and requestPermission in each page.
COUNT_NOTIFICATIONS = """
(() => {
  window.__notifications = [];
  window.__permissionRequests = 0;
  if (!("Notification" in window)) { return; }
  const Original = window.Notification;
  window.Notification = new Proxy(Original, {
    construct(target, args) {
      window.__notifications.push(args[1] && args[1].tag);
      return Reflect.construct(target, args);
    },
  });
  const request = Original.requestPermission.bind(Original);
  Original.requestPermission = (...args) => {
    window.__permissionRequests += 1;
    return request(...args);
  };
})();
"""
DENY_NOTIFICATIONS = """
Object.defineProperty(Notification, "permission", { get: () => "denied" });
"""


def create_account(app, email: str) -> int:
    with app.app_context():
        database.begin_write()
        user = accounts.create_user(
            email=email, name="Milo Mentee", password=PASSWORD, is_mentor=False, is_mentee=True
        )
        database.commit()
        return user.id


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_notify_three_tabs_show_one_notification(serve, new_context, problems):
    # A distinct poll interval gives this test its own server, so its hub starts fresh.
    server = serve(HUB_POLL_SECONDS=0.05)
    user_id = create_account(server.app, "tabs@example.com")
    context = new_context()
    context.grant_permissions(["notifications"], origin=server.url)
    context.add_init_script(COUNT_NOTIFICATIONS)
    pages = [context.new_page() for _ in range(3)]
    log_in(pages[0], server.url, "tabs@example.com")
    for page in pages[1:]:
        page.goto(server.url + "/")

    [notification_id] = create_notifications(server.app, user_id, 1)

    for page in pages:
        expect(page.locator("#notification-badge")).to_have_text("1")
    tags = [tag for page in pages for tag in page.evaluate("window.__notifications")]
    assert tags == [f"openmentor-{notification_id}"]
    assert problems.messages == []


def test_notify_permission_asked_only_on_click(serve, new_context, problems):
    server = serve(HUB_POLL_SECONDS=0.06)
    create_account(server.app, "ask@example.com")
    context = new_context()
    context.add_init_script(COUNT_NOTIFICATIONS)
    page = context.new_page()
    log_in(page, server.url, "ask@example.com")

    button = page.get_by_role("button", name="Enable browser notifications")
    expect(button).to_be_visible()
    expect(page.locator("#notify-denied")).to_be_hidden()
    assert page.evaluate("window.__permissionRequests") == 0

    button.click()
    page.wait_for_function("window.__permissionRequests === 1")
    assert problems.csp_violations == []


def test_notify_denied_says_how_to_allow(serve, new_context):
    server = serve(HUB_POLL_SECONDS=0.07)
    create_account(server.app, "denied@example.com")
    context = new_context()
    context.add_init_script(DENY_NOTIFICATIONS)
    page = context.new_page()
    log_in(page, server.url, "denied@example.com")

    expect(page.locator("#notify-denied")).to_have_text(
        re.compile("allow them for this site in your browser's site settings")
    )
    expect(page.get_by_role("button", name="Enable browser notifications")).to_be_hidden()


def test_notify_reconnects_to_restarted_server(app, migrated_database, tmp_path, new_context):
    user_id = create_account(app, "restart@example.com")
    first = Gunicorn(migrated_database, tmp_path / "first.log")
    try:
        context = new_context()
        context.grant_permissions(["notifications"], origin=first.url)
        context.add_init_script(COUNT_NOTIFICATIONS)
        page = context.new_page()
        log_in(page, first.url, "restart@example.com")
        expect(page.locator("#notification-badge")).to_have_text("0")
        first.process.terminate()
        first.process.wait(10)
    finally:
        first.stop()
    # Created while no server runs: only the replay after reconnecting can deliver them.
    missed_ids = create_notifications(app, user_id, 5)

    second = Gunicorn(migrated_database, tmp_path / "second.log", port=first.port)
    try:
        started = time.monotonic()
        # The page was not reloaded: only its reconnected socket can update the badge.
        expect(page.locator("#notification-badge")).to_have_text("5", timeout=15_000)
        assert time.monotonic() - started < 15
        # A long disconnection pops up only the newest three of what it missed.
        page.wait_for_function("window.__notifications.length >= 3")
        tags = page.evaluate("window.__notifications")
        assert tags == [f"openmentor-{notification_id}" for notification_id in missed_ids[-3:]]
    finally:
        second.stop()


def test_notify_start_request_reaches_room_without_polling(serve, new_context, problems):
    # Fragments poll every 30 s here, so only the websocket doorbell can refresh them in time.
    server = serve(POLL_INTERVAL_SECONDS=30, PRESENCE_WRITE_SECONDS=0)
    seed = seed_chat(server)
    mentor = new_context().new_page()
    mentee = new_context().new_page()
    log_in_by_label(mentor, server.url, seed.mentor_email)
    log_in_by_label(mentee, server.url, seed.mentee_email)
    mentor.goto(f"{server.url}/chats/{seed.conversation_id}")
    mentor.get_by_role("button", name="Start a paid session").click()
    mentor.get_by_role("link", name="Go to the session room").click()
    mentor.wait_for_url(re.compile(r".*/sessions/[A-Za-z0-9_-]+$"))
    mentee.goto(mentor.url)
    expect(mentee.locator("#room-state")).to_have_text("Preview — not billed")
    mentor.reload()
    mentor.locator("#start-checklist summary").click()
    for label in CHECKLIST_LABELS:
        mentor.get_by_label(label).check()

    clicked = time.monotonic()
    mentor.locator(REQUEST_START).click()
    expect(mentee.locator(START)).to_have_count(1, timeout=2000)

    assert time.monotonic() - clicked < 2
    expect(mentee.get_by_text("asked you to start the session")).to_have_count(1)
    assert problems.messages == []
