"""Registration, passwords, logins and mentor profiles."""

from __future__ import annotations

import logging
import secrets
from functools import cache
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update

from webapp import clock
from webapp.accounts.models import Login, MentorTag, User
from webapp.database import execute_small_write
from webapp.extensions import db

logger = logging.getLogger(__name__)

# Login.last_seen_at is written at most this often.
LAST_SEEN_WRITE_SECONDS = 60


class EmailTaken(ValueError):
    """Another account already uses this email address."""


@cache
def timezone_names() -> frozenset[str]:
    """Return the IANA time zone names available on this system."""
    return frozenset(available_timezones())


def password_hasher() -> PasswordHasher:
    """Return the app's argon2id hasher, built from its configuration."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return password_hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    """Verify a password, rehashing it when the configured parameters changed."""
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def normalize_email(email: str) -> str:
    """Return an email address as stored: stripped and lowercased."""
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    """Return the user with this email address, if any."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    is_mentor: bool = False,
    is_mentee: bool = False,
) -> User:
    """Create an account; raises EmailTaken when the address is in use."""
    email = normalize_email(email)
    if db.session.scalar(select(func.count(User.id)).where(User.email == email)):
        raise EmailTaken(email)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        is_mentor=is_mentor,
        is_mentee=is_mentee,
        timezone="UTC",
        headline="",
        away=False,
        first_15_free=False,
        created_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    logger.info("user %s created (mentor=%s, mentee=%s)", user.id, is_mentor, is_mentee)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = find_by_email(email)
    if user is None:
        # Hash anyway, so a missing account takes as long to refuse as a wrong password.
        password_hasher().hash(password)
        return None
    if not check_password(user, password) or not user.is_active:
        return None
    return user


def start_login(user: User, *, remember: bool) -> Login:
    """Create the login row whose id the cookies will carry."""
    now = clock.now()
    login = Login(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        remember=remember,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(login)
    db.session.flush()
    user.current_login_id = login.id
    logger.info("user %s logged in (login %s…, remember=%s)", user.id, login.id[:8], remember)
    return login


def load_login(login_id: str) -> User | None:
    """Return the user of a valid login, refreshing its last-seen time at most once a minute."""
    login = db.session.get(Login, login_id)
    if login is None:
        return None
    config = current_app.config
    now = clock.now()
    if not login.is_valid(now, config["LOGIN_IDLE_SECONDS"], config["LOGIN_MAX_AGE_SECONDS"]):
        return None
    user = login.user
    if not user.is_active:
        return None
    if (now - login.last_seen_at).total_seconds() >= LAST_SEEN_WRITE_SECONDS:
        execute_small_write(update(Login).where(Login.id == login_id).values(last_seen_at=now))
    user.current_login_id = login_id
    return user


def revoke_logins(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every login of a user except `keep`; return how many were revoked."""
    statement = update(Login).where(Login.user_id == user_id, Login.revoked_at.is_(None))
    if keep is not None:
        statement = statement.where(Login.id != keep)
    result = db.session.execute(statement.values(revoked_at=clock.now()))
    return result.rowcount


def end_login(login_id: str) -> None:
    """Revoke one login (logout), so its cookies no longer work."""
    db.session.execute(
        update(Login)
        .where(Login.id == login_id, Login.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def change_password(user: User, new_password: str) -> int:
    """Set a new password and log out every other device; return how many were logged out."""
    user.password_hash = hash_password(new_password)
    revoked = revoke_logins(user.id, keep=user.current_login_id)
    logger.info("user %s changed password; %s other logins revoked", user.id, revoked)
    return revoked


def update_profile(
    user: User, *, name: str, timezone: str, is_mentee: bool, is_mentor: bool
) -> None:
    """Change a user's display name, time zone and roles."""
    user.name = name.strip()
    user.timezone = timezone
    user.is_mentee = is_mentee
    user.is_mentor = is_mentor
    logger.info("user %s updated profile (mentor=%s, mentee=%s)", user.id, is_mentor, is_mentee)


def update_mentor_profile(
    user: User,
    *,
    headline: str,
    rate_15_cents: int,
    tags: list[str],
    away: bool,
    first_15_free: bool,
) -> None:
    """Change a mentor's public profile; also marks the account as a mentor."""
    user.is_mentor = True
    user.headline = headline.strip()
    user.rate_15_cents = rate_15_cents
    user.away = away
    user.first_15_free = first_15_free
    requested = set(tags)
    for tag in list(user.tags):
        if tag.tag not in requested:
            user.tags.remove(tag)
    present = set(user.tag_names)
    for name in sorted(requested - present):
        user.tags.append(MentorTag(tag=name))
    db.session.flush()
    logger.info("user %s updated mentor profile (rate %s, tags %s)", user.id, rate_15_cents, tags)


def set_password_by_operator(user: User, password: str) -> None:
    """Set a password from the CLI and revoke every login of the user."""
    user.password_hash = hash_password(password)
    revoke_logins(user.id)
    logger.info("operator reset the password of user %s", user.id)


def disable(user: User) -> None:
    """Disable an account and revoke every login of it."""
    if user.disabled_at is None:
        user.disabled_at = clock.now()
    revoke_logins(user.id)
    logger.info("operator disabled user %s", user.id)
