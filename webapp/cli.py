"""Operator commands: `flask --app wsgi <command>` (see docs/operations.md)."""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp import database
from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.billing import commands as billing_commands
from webapp.billing import ledger
from webapp.billing.models import ACCOUNT_BALANCE, LedgerEntry, Transfer, account_name
from webapp.domain.money import format_major_units
from webapp.domain.tags import parse_tags
from webapp.extensions import db
from webapp.sessions import commands as session_commands
from webapp.sessions.transitions import credit_changed

logger = logging.getLogger(__name__)

# Demo accounts for `make run`; the README lists the same passwords.
DEMO_MENTOR = {
    "email": "mentor@example.com",
    "name": "Maya Mentor",
    "password": "mentor-demo-password",
}
DEMO_MENTEE = {
    "email": "mentee@example.com",
    "name": "Milo Mentee",
    "password": "mentee-demo-password",
}
DEMO_MENTOR_RATE_CENTS = 2000
# The demo mentee's credits, given once (seed-demo finds its transfer by this memo).
DEMO_MENTEE_CREDIT_CENTS = 10000
DEMO_CREDIT_MEMO = "demo credits"
DEMO_MENTOR_TAGS = "python, flask, sql"


def _user_by_email(email: str) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email address {email!r}.")
    return user


def _give_demo_credits(mentee_id: int) -> bool:
    """Top up the demo mentee once; return False when an earlier seed-demo already did."""
    given = db.session.scalar(
        select(Transfer.id)
        .join(LedgerEntry)
        .where(
            Transfer.kind == "top_up",
            Transfer.memo == DEMO_CREDIT_MEMO,
            LedgerEntry.account == account_name(ACCOUNT_BALANCE, mentee_id),
        )
        .limit(1)
    )
    if given is not None:
        return False
    ledger.lock_users(mentee_id)
    ledger.top_up(mentee_id, DEMO_MENTEE_CREDIT_CENTS, memo=DEMO_CREDIT_MEMO)
    credit_changed(mentee_id)
    return True


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo mentor and mentee (with 100.00 of credits) once; print the logins."""
    database.begin_write()
    created = []
    mentor = accounts.find_by_email(DEMO_MENTOR["email"])
    if mentor is None:
        mentor = accounts.create_user(**DEMO_MENTOR, is_mentor=True, is_mentee=False)
        accounts.update_mentor_profile(
            mentor,
            headline="Python and Flask mentor: debugging, code review, SQL.",
            rate_15_cents=DEMO_MENTOR_RATE_CENTS,
            tags=parse_tags(DEMO_MENTOR_TAGS),
            away=False,
            first_15_free=False,
        )
        created.append(mentor)
    mentee = accounts.find_by_email(DEMO_MENTEE["email"])
    if mentee is None:
        mentee = accounts.create_user(**DEMO_MENTEE, is_mentor=False, is_mentee=True)
        created.append(mentee)
    credited = _give_demo_credits(mentee.id)
    database.commit()
    if created:
        click.echo(f"Created demo accounts: {', '.join(user.email for user in created)}")
    if credited:
        credits = format_major_units(DEMO_MENTEE_CREDIT_CENTS)
        click.echo(f"Gave the demo mentee {credits} of credits.")
    click.echo("Demo logins (change them before real use):")
    click.echo(f"  mentor  {DEMO_MENTOR['email']}  password: {DEMO_MENTOR['password']}")
    click.echo(f"  mentee  {DEMO_MENTEE['email']}  password: {DEMO_MENTEE['password']}")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--mentor", is_flag=True, help="The account can mentor.")
@click.option("--mentee", is_flag=True, help="The account can ask for help.")
@click.password_option(help="The password; asked for when not given.")
def create_user(email: str, name: str, mentor: bool, mentee: bool, password: str) -> None:
    """Create an account."""
    if not (mentor or mentee):
        raise click.ClickException("Give --mentor, --mentee or both.")
    if len(password) < 10:
        raise click.ClickException("The password must have at least 10 characters.")
    database.begin_write()
    try:
        user = accounts.create_user(
            email=email, name=name, password=password, is_mentor=mentor, is_mentee=mentee
        )
    except accounts.EmailTaken as error:
        raise click.ClickException(f"An account with {email!r} already exists.") from error
    database.commit()
    click.echo(f"Created user {user.id} <{user.email}>.")


@click.command("reset-password")
@with_appcontext
@click.argument("email")
@click.password_option(help="The new password; asked for when not given.")
def reset_password(email: str, password: str) -> None:
    """Set a user's password and sign out all their devices."""
    if len(password) < 10:
        raise click.ClickException("The password must have at least 10 characters.")
    database.begin_write()
    user = _user_by_email(email)
    accounts.set_password_by_operator(user, password)
    database.commit()
    click.echo(f"Password of {user.email} reset; all their logins were revoked.")


@click.command("disable-user")
@with_appcontext
@click.argument("email")
def disable_user(email: str) -> None:
    """Disable an account and sign out all its devices."""
    database.begin_write()
    user = _user_by_email(email)
    accounts.disable(user)
    database.commit()
    click.echo(f"User {user.email} is disabled; all their logins were revoked.")


COMMANDS = [seed_demo, create_user, reset_password, disable_user]
COMMANDS += billing_commands.COMMANDS
COMMANDS += session_commands.COMMANDS


def init_app(app: Flask) -> None:
    """Register the operator commands."""
    for command in COMMANDS:
        app.cli.add_command(command)
