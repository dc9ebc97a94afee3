"""Register, log in, edit the profile and log out in Chromium, with JavaScript on and off."""

import pytest

from tests.browser.conftest import run_axe, save_screenshot


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_account_flow(live_server, new_context, problems, javascript):
    context = new_context(javascript=javascript)
    page = context.new_page()
    base = live_server.url

    page.goto(f"{base}/register")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("compilers are fun")
    page.get_by_label("I want to mentor").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/profile/mentor")

    page.get_by_label("Headline").fill("COBOL and compilers")
    page.get_by_label("Rate per 15 minutes").fill("25.00")
    page.get_by_label("Expertise tags").fill("cobol, compilers")
    page.get_by_role("button", name="Save mentor profile").click()
    page.get_by_text("Mentor profile saved.").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are signed out.").wait_for()

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("compilers are fun")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Hello, Grace Hopper").wait_for()

    page.goto(f"{base}/profile")
    page.get_by_label("Name").fill("Rear Admiral Hopper")
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Profile saved.").wait_for()
    assert "times in America/New_York" in page.content()

    page.goto(f"{base}/profile/mentor")
    page.get_by_label("Rate per 15 minutes").fill("0.50")
    page.get_by_role("button", name="Save mentor profile").click()
    page.get_by_text("Enter at least 1.00 USD.").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/profile")
    page.wait_for_url(f"{base}/login?next=/profile")
    assert problems.messages == []


@pytest.mark.browser
def test_pages_have_no_csp_violation_or_serious_axe_issue(live_server, new_context, problems):
    context = new_context()
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/register")
    page.get_by_label("Name").fill("Alan Turing")
    page.get_by_label("Email").fill("alan@example.com")
    page.get_by_label("Password").fill("enigma machine")
    page.get_by_label("I want help").check()
    page.get_by_label("I want to mentor").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/profile/mentor")
    # Every page without an id in its address; pages of one request, chat, room or invoice
    # are checked by the browser tests of their features.
    pages = [
        "/",
        "/profile",
        "/profile/mentor",
        "/notifications/",
        "/mentors/1",
        "/requests/",
        "/requests/new",
        "/requests/mine",
        "/chats/",
        "/history",
        "/balance",
        "/earnings",
        "/nope",
    ]
    for path in pages:
        page.goto(f"{base}{path}")
        assert run_axe(page) == [], path
    save_screenshot(page, "accounts-404")
    page.goto(f"{base}/profile")
    save_screenshot(page, "accounts-profile")
    page.get_by_role("button", name="Log out").click()
    for path in ["/login", "/register"]:
        page.goto(f"{base}{path}")
        assert run_axe(page) == [], path
    assert problems.csp_violations == []
    assert problems.messages == []
