"""Operator commands."""

from sqlalchemy import func, select

from webapp.accounts.models import Login, User
from webapp.cli import DEMO_MENTEE, DEMO_MENTOR
from webapp.extensions import db


def test_seed_demo_is_idempotent(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Created demo accounts" in first.output
    assert DEMO_MENTOR["password"] in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "Created demo accounts" not in second.output
    assert DEMO_MENTEE["password"] in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 2
        mentor = db.session.scalar(select(User).where(User.email == DEMO_MENTOR["email"]))
        assert mentor.rate_15_cents == 2000
        assert mentor.tag_names == ["flask", "python", "sql"]


def test_demo_mentor_can_log_in(runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.post(
        "/login", data={"email": DEMO_MENTOR["email"], "password": DEMO_MENTOR["password"]}
    )
    assert response.status_code == 303


def test_create_user_command(runner, app):
    result = runner.invoke(
        args=["create-user", "new@example.com", "--name", "New", "--mentee"],
        input="long password 1\nlong password 1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created user" in result.output
    duplicate = runner.invoke(
        args=["create-user", "NEW@example.com", "--name", "New", "--mentee", "--password", "x" * 12]
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output


def test_create_user_needs_a_role(runner):
    result = runner.invoke(
        args=["create-user", "a@example.com", "--name", "A", "--password", "x" * 12]
    )
    assert result.exit_code == 1
    assert "Give --mentor, --mentee or both." in result.output


def test_reset_password_revokes_logins(runner, app, client, create_user):
    user = create_user()
    client.post("/login", data={"email": user.email, "password": user.password})
    result = runner.invoke(args=["reset-password", user.email, "--password", "operator set pw"])
    assert result.exit_code == 0, result.output
    assert client.get("/profile").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Login)).revoked_at is not None
    assert (
        client.post("/login", data={"email": user.email, "password": "operator set pw"}).status_code
        == 303
    )


def test_unknown_email_is_clear_error(runner):
    result = runner.invoke(args=["disable-user", "nobody@example.com"])
    assert result.exit_code == 1
    assert "No user has the email address 'nobody@example.com'." in result.output
