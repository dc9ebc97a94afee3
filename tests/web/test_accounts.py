"""Registration, login, logout, profiles and the login rows behind the cookies."""

import re

import pytest
from sqlalchemy import func, select

from webapp.accounts.models import Login, User
from webapp.extensions import db


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def register_data(**changes) -> dict:
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "password": "analytical engine",
        "wants_help": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_register_creates_account_and_signs_in(client, app):
    response = client.post("/register", data=register_data())
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Ada Lovelace" in home.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ada@example.com"
        assert user.is_mentee is True
        assert user.is_mentor is False
        assert user.password_hash.startswith("$argon2id$")


def test_register_mentor_goes_to_mentor_profile(client):
    response = client.post("/register", data=register_data(wants_help=None, wants_to_mentor="y"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile/mentor"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter your name."),
        ({"name": "x" * 81}, "Field cannot be longer than 80 characters."),
        ({"email": ""}, "Enter your email address."),
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"email": "a" * 250 + "@example.com"}, "Field cannot be longer than 254 characters."),
        ({"password": ""}, "Choose a password."),
        ({"password": "short"}, "The password is too short: use at least 10 characters."),
        ({"password": "p" * 129}, "The password is too long: use at most 128 characters."),
        ({"wants_help": None}, "Choose at least one: mentor, get help, or both."),
    ],
)
def test_register_bad_input_is_422_and_saves_nothing(client, app, changes, message):
    response = client.post("/register", data=register_data(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_users(app) == 0


def test_register_page_states_password_minimum(client):
    page = client.get("/register").get_data(as_text=True)
    assert '<p class="hint">At least 10 characters.</p>' in page


def test_register_duplicate_email_says_so(client, app, create_user):
    create_user("ada@example.com")
    response = client.post("/register", data=register_data(email="ADA@example.com"))
    assert response.status_code == 422
    assert "An account with this email address already exists." in response.get_data(as_text=True)
    assert count_users(app) == 1


def test_login_wrong_password_is_422(client, create_user):
    user = create_user()
    response = client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert response.status_code == 422
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_missing_fields_is_422(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter your email address." in body
    assert "Enter your password." in body


def test_login_redirects_to_local_next_only(client, create_user):
    user = create_user()
    data = {"email": user.email, "password": user.password}
    response = client.post("/login?next=/profile", data=data)
    assert response.headers["Location"] == "/profile"
    client.post("/logout")
    response = client.post("/login?next=//evil.example/", data=data)
    assert response.headers["Location"] == "/"


def test_login_disabled_user_refused(client, app, create_user, runner):
    user = create_user()
    result = runner.invoke(args=["disable-user", user.email])
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 422


def test_anonymous_redirected_to_login(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/profile")


def test_anonymous_htmx_request_gets_hx_redirect(client):
    response = client.get("/profile", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=/profile")


def test_logout_revokes_login_and_replayed_cookies_fail(app, create_user):
    user = create_user()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": user.password, "remember": "y"})
    session_cookie = client.get_cookie("session")
    remember_cookie = client.get_cookie("remember_token")
    assert session_cookie is not None
    assert remember_cookie is not None
    assert client.get("/profile").status_code == 200

    assert client.post("/logout").status_code == 303
    with app.app_context():
        login = db.session.scalar(select(Login))
        assert login.revoked_at is not None

    replay = app.test_client()
    replay.set_cookie("session", session_cookie.value)
    replay.set_cookie("remember_token", remember_cookie.value)
    response = replay.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_remember_cookie_alone_restores_login(app, create_user):
    user = create_user()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": user.password, "remember": "y"})
    remember_cookie = client.get_cookie("remember_token")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember_cookie.value)
    assert fresh.get("/profile").status_code == 200


def test_login_expires_after_idle_hours_unless_remembered(app, clock, create_user):
    user = create_user()
    plain = app.test_client()
    plain.post("/login", data={"email": user.email, "password": user.password})
    remembered = app.test_client()
    remembered.post(
        "/login", data={"email": user.email, "password": user.password, "remember": "y"}
    )
    clock.advance(hours=11, minutes=59)
    assert plain.get("/profile").status_code == 200
    clock.advance(hours=12)
    assert plain.get("/profile").status_code == 302
    assert remembered.get("/profile").status_code == 200
    clock.advance(days=30)
    assert remembered.get("/profile").status_code == 302


def test_password_change_logs_out_other_devices(app, create_user):
    user = create_user()
    phone = app.test_client()
    laptop = app.test_client()
    for device in (phone, laptop):
        device.post("/login", data={"email": user.email, "password": user.password})
    response = laptop.post(
        "/profile/password",
        data={
            "password-current_password": user.password,
            "password-new_password": "a brand new password",
            "password-confirm": "a brand new password",
        },
    )
    assert response.status_code == 303
    assert laptop.get("/profile").status_code == 200
    assert phone.get("/profile").status_code == 302
    relogin = app.test_client().post(
        "/login", data={"email": user.email, "password": "a brand new password"}
    )
    assert relogin.status_code == 303


def test_password_change_wrong_current_is_422(client, auth, create_user):
    user = create_user()
    auth.login(user)
    response = client.post(
        "/profile/password",
        data={
            "password-current_password": "not my password",
            "password-new_password": "a brand new password",
            "password-confirm": "a brand new password",
        },
    )
    assert response.status_code == 422
    assert "The current password is wrong." in response.get_data(as_text=True)


def test_password_change_mismatch_is_422(client, auth, create_user):
    user = create_user()
    auth.login(user)
    response = client.post(
        "/profile/password",
        data={
            "password-current_password": user.password,
            "password-new_password": "a brand new password",
            "password-confirm": "another new password",
        },
    )
    assert response.status_code == 422
    assert "The two new passwords differ." in response.get_data(as_text=True)


def test_password_change_short_new_is_422(client, auth, create_user):
    user = create_user()
    auth.login(user)
    response = client.post(
        "/profile/password",
        data={
            "password-current_password": user.password,
            "password-new_password": "short",
            "password-confirm": "short",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The password is too short: use at least 10 characters." in page
    assert '<p class="hint">At least 10 characters.</p>' in page


def test_eleventh_wrong_password_in_a_minute_is_429(client, create_user):
    user = create_user()
    for attempt in range(10):
        response = client.post("/login", data={"email": user.email, "password": f"wrong {attempt}"})
        assert response.status_code == 422
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_login_limit_is_per_account_across_addresses(client, create_user):
    user = create_user()
    for attempt in range(10):
        client.post(
            "/login",
            data={"email": user.email, "password": f"wrong {attempt}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{attempt}"},
        )
    response = client.post(
        "/login",
        data={"email": user.email, "password": "wrong again"},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert response.status_code == 429


def test_profile_update_time_zone(client, app, auth, create_user):
    user = create_user()
    auth.login(user)
    response = client.post(
        "/profile", data={"name": "New Name", "timezone": "Europe/Berlin", "wants_help": "y"}
    )
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.name == "New Name"
        assert stored.timezone == "Europe/Berlin"
        assert stored.is_mentee is True
        assert stored.is_mentor is False


def test_profile_shows_current_roles(client, auth, create_user):
    auth.login(create_user(mentor=True, mentee=False))
    page = client.get("/profile").get_data(as_text=True)
    assert '<input id="wants_help" name="wants_help" type="checkbox" value="y">' in page
    assert (
        '<input checked id="wants_to_mentor" name="wants_to_mentor" type="checkbox" value="y">'
        in page
    )


def test_profile_adds_mentee_role_to_mentor(client, app, auth, create_user):
    user = create_user(mentor=True, mentee=False)
    auth.login(user)
    refused = client.get("/requests/new")
    assert refused.status_code == 403
    assert (
        "Only mentees post help requests: turn on “I want help” in your profile."
        in refused.get_data(as_text=True)
    )
    data = {"name": user.name, "timezone": "UTC", "wants_help": "y", "wants_to_mentor": "y"}
    assert client.post("/profile", data=data).status_code == 303
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.is_mentee is True
        assert stored.is_mentor is True
    assert client.get("/requests/new").status_code == 200
    assert "My requests" in client.get("/").get_data(as_text=True)


def test_profile_without_role_is_422(client, app, auth, create_user):
    user = create_user(mentor=True, mentee=True)
    auth.login(user)
    response = client.post("/profile", data={"name": user.name, "timezone": "UTC"})
    assert response.status_code == 422
    assert "Choose at least one: mentor, get help, or both." in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.is_mentee is True
        assert stored.is_mentor is True


def test_mentor_profile_page_of_mentee_explains_saving(client, auth, create_user):
    auth.login(create_user(mentee=True))
    page = client.get("/profile/mentor").get_data(as_text=True)
    assert "Saving this profile makes you a mentor" in page
    assert "See your public page" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "N", "timezone": "Mars/Olympus"}, "Unknown time zone &#39;Mars/Olympus&#39;"),
        ({"name": "", "timezone": "UTC"}, "Enter your name."),
        ({"name": "N", "timezone": ""}, "Enter a time zone"),
    ],
)
def test_profile_bad_input_is_422(client, app, auth, create_user, data, message):
    user = create_user()
    auth.login(user)
    response = client.post("/profile", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).timezone == "UTC"


def test_mentor_profile_saved_and_public(client, app, auth, create_user):
    user = create_user(mentee=True)
    auth.login(user)
    response = client.post(
        "/profile/mentor",
        data={
            "headline": "Rust and Python",
            "rate": "17.50",
            "tags": "Python, rust, c++ , python",
            "first_15_free": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.rate_15_cents == 1750
        assert stored.tag_names == ["c++", "python", "rust"]
        assert stored.is_mentor is True
        assert stored.first_15_free is True
        assert stored.away is False
    page = client.get(f"/mentors/{user.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "17.50 USD per 15 minutes" in body
    assert "Rust and Python" in body


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": ""}, "Enter your rate per 15 minutes"),
        ({"rate": "0.99"}, "Enter at least 1.00 USD."),
        ({"rate": "1000.01"}, "Enter at most 1,000.00 USD."),
        ({"rate": "20.005"}, "more than two decimals"),
        ({"rate": "-5"}, "must not be negative"),
        ({"rate": "twenty"}, "is not a number"),
        ({"tags": "python, no spaces allowed!"}, "is invalid"),
        ({"tags": "x" * 31}, "longer than 30 characters"),
        ({"tags": ",".join(f"t{i}" for i in range(11))}, "At most 10 tags"),
        ({"headline": ""}, "Write a short headline."),
        ({"headline": "h" * 141}, "Field cannot be longer than 140 characters."),
    ],
)
def test_mentor_profile_bad_input_is_422(client, app, auth, create_user, changes, message):
    user = create_user(mentor=True, rate_15_cents=2000, tags=["python"])
    auth.login(user)
    data = {"headline": "Python", "rate": "20.00", "tags": "python"}
    data.update(changes)
    response = client.post("/profile/mentor", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.rate_15_cents == 2000
        assert stored.tag_names == ["python"]


def test_mentor_page_unknown_id_is_404(client, create_user):
    mentee = create_user(mentee=True)
    assert client.get("/mentors/999999").status_code == 404
    assert client.get(f"/mentors/{mentee.id}").status_code == 404
    assert client.get("/mentors/not-a-number").status_code == 404


def test_notify_denied_note_stays_hidden_until_shown(client):
    # The note and the button start with the `hidden` attribute, and notify.js removes it from
    # at most one. A rule that sets `display` on them must not apply while they are hidden.
    with client.get("/static/css/app.css") as response:
        stylesheet = re.sub(r"/\*.*?\*/", "", response.get_data(as_text=True), flags=re.DOTALL)
    rules = re.findall(r"([^{}]*\.notify-permission[^{}]*)\{([^}]*)\}", stylesheet)
    showing = [
        selector.strip()
        for selector, declarations in rules
        if re.search(r"display:\s*(?!none\b)[a-z]", declarations)
    ]
    assert showing == [".notify-permission .status:not([hidden])"]
