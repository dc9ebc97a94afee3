"""Fixtures shared by every tier: the app on a fresh database, the clock, users and logins."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from webapp import clock as clock_module
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db, limiter

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Fixed, derandomized example counts under CI keep its run time predictable; "long" is for
# local runs before a release: HYPOTHESIS_PROFILE=long make test.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))

BACKEND = os.environ.get("OPENMENTOR_TEST_BACKEND", "sqlite")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_PASSWORD = "correct horse battery"


def pytest_report_header(config) -> str:
    return f"OpenMentor test database backend: {BACKEND} (CI={IN_CI})"


def _require(reason: str):
    """Fail under CI, skip elsewhere: a missing service must never pass silently in CI."""
    if IN_CI:
        pytest.exit(f"{reason} (CI=true: failing instead of skipping)", returncode=1)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Create an empty throw-away database for this test run and return its URL."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        yield f"sqlite:///{path}"
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"unknown OPENMENTOR_TEST_BACKEND {BACKEND!r}")
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"openmentor_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any failure to connect means "unavailable"
        admin.dispose()
        _require(f"PostgreSQL at {make_url(admin_url).render_as_string()} is unavailable: {error}")
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_database(database_url) -> str:
    """Upgrade the throw-away database to the newest migration, once per run."""
    from flask_migrate import upgrade

    app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _config_dict() -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}


def reset_database() -> None:
    """Delete every row, quickly, keeping the schema (call inside an app context)."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float = 0, **kwargs) -> datetime:
        self.current += timedelta(seconds=seconds, **kwargs)
        return self.current

    def set(self, instant: datetime) -> None:
        self.current = instant


CLOCK_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Freeze webapp.clock at CLOCK_START; tests move it with advance()."""
    fake = FakeClock(CLOCK_START)
    clock_module.use(fake)
    yield fake
    clock_module.use(None)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "app_config(**settings): configuration overrides for the app fixture"
    )


@pytest.fixture
def app(request, migrated_database, clock):
    """The app with the test configuration, on a database emptied before the test."""
    overrides = {}
    for marker in request.node.iter_markers("app_config"):
        overrides = {**marker.kwargs, **overrides}
    app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": migrated_database, **overrides})
    with app.app_context():
        reset_database()
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class UserRef:
    """What a test needs of a user it created: ids outlive the database session."""

    id: int
    email: str
    password: str
    name: str


@pytest.fixture
def create_user(app):
    """Create a user directly through the service layer and return a UserRef."""
    from webapp import database
    from webapp.accounts import services

    counter = iter(range(1, 10_000))

    def factory(
        email: str | None = None,
        *,
        name: str | None = None,
        password: str = DEFAULT_PASSWORD,
        mentor: bool = False,
        mentee: bool = True,
        rate_15_cents: int | None = None,
        tags: list[str] | None = None,
        away: bool = False,
        first_15_free: bool = False,
    ) -> UserRef:
        number = next(counter)
        email = email or f"user{number}@example.com"
        name = name or f"User {number}"
        with app.app_context():
            database.begin_write()
            user = services.create_user(
                email=email, name=name, password=password, is_mentor=mentor, is_mentee=mentee
            )
            if mentor:
                services.update_mentor_profile(
                    user,
                    headline=f"{name} helps with code",
                    rate_15_cents=rate_15_cents if rate_15_cents is not None else 2000,
                    tags=tags or [],
                    away=away,
                    first_15_free=first_15_free,
                )
            database.commit()
            return UserRef(id=user.id, email=user.email, password=password, name=name)

    return factory


class AuthActions:
    """Log a test client in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, user: UserRef, *, remember: bool = False):
        data = {"email": user.email, "password": user.password}
        if remember:
            data["remember"] = "y"
        response = self.client.post("/login", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
