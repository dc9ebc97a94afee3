"""Security headers, cookies, CSRF and error answers."""

import pytest
from sqlalchemy import func, select

from webapp.accounts.models import User
from webapp.extensions import db

PAGES = ["/login", "/register", "/mentors/1", "/does-not-exist"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_has_security_headers(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def login_cookie_headers(client, user, *, remember=False) -> list[str]:
    data = {"email": user.email, "password": user.password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303
    return response.headers.getlist("Set-Cookie")


def test_login_cookies_httponly_lax_not_secure_by_default(client, create_user):
    cookies = login_cookie_headers(client, create_user(), remember=True)
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie


@pytest.mark.app_config(SECURE_COOKIES=True)
def test_login_cookies_secure_with_secure_cookies(client, create_user):
    cookies = login_cookie_headers(client, create_user(), remember=True)
    for name in ("session=", "remember_token="):
        cookie = next(c for c in cookies if c.startswith(name))
        assert "Secure" in cookie


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_post_without_csrf_token_is_400(client, app):
    response = client.post(
        "/register",
        data={
            "name": "A",
            "email": "a@example.com",
            "password": "long enough pw",
            "wants_help": "y",
        },
    )
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_htmx_post_without_csrf_token_is_400_fragment(client):
    response = client.post("/login", data={}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'data-status="400"' in body


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_htmx_post_with_csrf_header_is_accepted(client):
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "whatever pw"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 422


def test_unknown_page_is_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<html" in body
    assert "There is nothing at this address" in body
    assert "HX-Request" in response.headers["Vary"]


def test_unknown_page_htmx_gets_fragment(client):
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)


def test_boosted_htmx_request_gets_full_page(client):
    response = client.get("/no/such/page", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_wrong_method_is_405_with_allow(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "does not accept" in response.get_data(as_text=True)
