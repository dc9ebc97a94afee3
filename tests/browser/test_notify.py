"""notify.js in Chromium: the badge, one browser notification for three tabs, the permission
button, and reconnecting to a restarted server."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

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
        page = new_context().new_page()
        log_in(page, first.url, "restart@example.com")
        expect(page.locator("#notification-badge")).to_have_text("0")
        first.process.terminate()
        first.process.wait(10)
    finally:
        first.stop()

    second = Gunicorn(migrated_database, tmp_path / "second.log", port=first.port)
    try:
        started = time.monotonic()
        create_notifications(app, user_id, 2)
        # The page was not reloaded: only its reconnected socket can update the badge.
        expect(page.locator("#notification-badge")).to_have_text("2", timeout=15_000)
        assert time.monotonic() - started < 15
    finally:
        second.stop()
