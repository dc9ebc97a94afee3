"""The chat in Chromium: two people see each other's messages without reloading, a third page
without JavaScript works by posting and reloading, and a hostile message stays text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from webapp import database
from webapp.accounts import services as accounts

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
# The chat polls every POLL_INTERVAL_SECONDS (2 by default), so 3 seconds must be enough.
ARRIVAL_TIMEOUT_MS = 3_000


def create_people(app) -> None:
    """Create a mentor with the tag python and a mentee."""
    with app.app_context():
        database.begin_write()
        mentor = accounts.create_user(
            email="maya@example.com", name="Maya Mentor", password=PASSWORD, is_mentor=True
        )
        accounts.update_mentor_profile(
            mentor,
            headline="Python mentor",
            rate_15_cents=2000,
            tags=["python"],
            away=False,
            first_15_free=False,
        )
        accounts.create_user(
            email="milo@example.com", name="Milo Mentee", password=PASSWORD, is_mentee=True
        )
        database.commit()


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def send(page, text: str) -> None:
    page.locator("#chat-form textarea[name=body]").fill(text)
    page.locator("#chat-form").get_by_role("button", name="Send").click()


def messages(page):
    return page.locator("#chat-messages .message-body")


def test_chat_live_and_without_javascript(live_server, new_context, problems):
    base = live_server.url
    create_people(live_server.app)
    dialogs: list[str] = []

    mentee = new_context().new_page()
    mentee.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(mentee, base, "milo@example.com")
    mentee.goto(f"{base}/requests/new")
    mentee.get_by_label("Title").fill("Pytest fixture runs twice")
    mentee.get_by_label("Description").fill("My fixture runs twice.\nWhy?")
    mentee.get_by_label("Tags").fill("python, pytest")
    mentee.get_by_role("button", name="Post request").click()
    mentee.get_by_text("Your request is posted.").wait_for()
    request_url = mentee.url

    mentor = new_context().new_page()
    mentor.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(mentor, base, "maya@example.com")
    mentor.goto(f"{base}/notifications/")
    mentor.get_by_role("link", name="New help request: Pytest fixture runs twice").click()
    mentor.wait_for_url(request_url)
    mentor.get_by_role("button", name="Reply in a chat").click()
    mentor.wait_for_url(re.compile(r".*/chats/\d+$"))
    chat_url = mentor.url

    mentee.goto(f"{base}/chats/")
    mentee.get_by_role("link", name="Pytest fixture runs twice").click()
    mentee.wait_for_url(chat_url)
    # A page that reloads loses this property, so it proves the messages came without reload.
    mentee.evaluate("window.__notReloaded = true")
    mentor.evaluate("window.__notReloaded = true")

    send(mentor, "Hello Milo, show me the fixture.")
    expect(messages(mentee)).to_have_text(
        ["Hello Milo, show me the fixture."], timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(mentor.locator("#chat-form textarea[name=body]")).to_have_value("")
    send(mentee, "Here it is:\n@pytest.fixture(scope='module')")
    expect(messages(mentor)).to_have_text(
        ["Hello Milo, show me the fixture.", "Here it is:\n@pytest.fixture(scope='module')"],
        timeout=ARRIVAL_TIMEOUT_MS,
    )
    expect(messages(mentee)).to_have_count(2)

    send(mentor, XSS)
    expect(messages(mentee).last).to_have_text(XSS, timeout=ARRIVAL_TIMEOUT_MS)
    expect(messages(mentor).last).to_have_text(XSS)
    for page in (mentee, mentor):
        assert page.locator("#chat-messages img").count() == 0
        assert page.locator("#chat-messages script").count() == 0
        assert page.evaluate("window.__notReloaded") is True
    mentee.reload()
    expect(messages(mentee).last).to_have_text(XSS)
    assert mentee.locator("#chat-messages img").count() == 0
    mentee.evaluate("window.__notReloaded = true")
    # axe-core can leave empty style attributes behind (seen on #chat-after), and htmx copies
    # them when it swaps that element, which the CSP reports. So axe runs on a page of its own.
    checked = mentee.context.new_page()
    checked.goto(chat_url)
    assert run_axe(checked) == []
    save_screenshot(checked, "chat-mentee")
    checked.close()

    # The same conversation with JavaScript off: post, then the reloaded page shows it.
    plain = new_context(javascript=False).new_page()
    log_in(plain, base, "milo@example.com")
    plain.goto(chat_url)
    expect(messages(plain)).to_have_count(3)
    send(plain, "Sent without JavaScript")
    plain.wait_for_url(chat_url)
    expect(messages(plain).last).to_have_text("Sent without JavaScript")
    expect(messages(mentor).last).to_have_text(
        "Sent without JavaScript", timeout=ARRIVAL_TIMEOUT_MS
    )
    send(mentor, "Seen it")
    expect(messages(mentor).last).to_have_text("Seen it", timeout=ARRIVAL_TIMEOUT_MS)
    plain.reload()
    expect(messages(plain).last).to_have_text("Seen it")
    expect(messages(plain)).to_have_count(5)
    assert plain.locator("#chat-messages img").count() == 0

    # A free session started with htmx: the room link reaches the mentee without a reload.
    mentor.get_by_role("button", name="Start a free session").click()
    expect(mentor.locator("#chat-actions")).to_contain_text("Go to the session room")
    expect(messages(mentee).last).to_have_text(
        "Maya Mentor started a free session. Both of you can open the room now.",
        timeout=ARRIVAL_TIMEOUT_MS,
    )
    expect(mentee.locator("#chat-actions")).to_contain_text("Go to the session room")
    room_url = mentee.locator("#chat-messages a", has_text="Open the session room").get_attribute(
        "href"
    )
    assert re.fullmatch(r"/sessions/[A-Za-z0-9_-]+", room_url)
    assert mentee.evaluate("window.__notReloaded") is True

    assert dialogs == []
    assert problems.csp_violations == []
    assert problems.messages == []


def test_request_pages_pass_axe(live_server, new_context, problems):
    base = live_server.url
    create_people(live_server.app)
    page = new_context().new_page()
    log_in(page, base, "milo@example.com")
    for path in ["/requests/new", "/requests/mine", "/chats/"]:
        page.goto(f"{base}{path}")
        assert run_axe(page) == [], path
    page.get_by_role("link", name="Post a request").first.click()
    page.get_by_role("button", name="Post request").click()
    page.get_by_text("Give your request a title.").wait_for()
    assert run_axe(page) == []

    mentor = new_context().new_page()
    log_in(mentor, base, "maya@example.com")
    mentor.goto(f"{base}/requests/")
    assert run_axe(mentor) == []
    assert problems.csp_violations == []
    assert problems.messages == []
