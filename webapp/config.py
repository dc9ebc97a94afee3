"""Configuration read once from the environment, with safe development defaults."""

import os
from pathlib import Path

# The key that signs cookies in development and tests. create_app refuses it in production.
DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"


class Config:
    """Defaults for every setting; `OPENMENTOR_<KEY>` environment variables override them."""

    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_PATH / 'openmentor.sqlite'}"
    TESTING = False

    # Durations are seconds, money is cents (see the README's configuration table).
    FREE_SESSION_LIMIT_SECONDS = 2400
    FREE_SESSION_WARNING_SECONDS = 2100
    START_REMINDER_SECONDS = 180
    START_REMINDER_MAX = 3
    PAUSE_REMINDER_SECONDS = 600
    IDLE_PAUSE_SECONDS = 300
    PRESENCE_WRITE_SECONDS = 20
    PRESENCE_WINDOW_SECONDS = 90
    UNSTARTED_EXPIRY_SECONDS = 86400
    PAUSED_EXPIRY_SECONDS = 7200
    MAX_SESSION_SECONDS = 21600
    START_GRACE_SECONDS = 60
    MIN_CREDIT_SECONDS = 1200
    LIMIT_WARNING_SECONDS = 300
    DISPUTE_WINDOW_SECONDS = 600
    ESCROW_RELEASE_SECONDS = 432000
    NUDGE_INTERVAL_SECONDS = 60
    POLL_INTERVAL_SECONDS = 2
    HUB_POLL_SECONDS = 0.25
    WS_PING_SECONDS = 25
    TIMERS_TICK_SECONDS = 1
    TIMERS_IN_APP = False
    SERVICE_FEE_BP = 0
    RATE_MIN_CENTS = 100
    RATE_MAX_CENTS = 100000
    DIRECT_PAYMENT_MAX_CENTS = 150000
    FREELANCE_PRICE_MAX_CENTS = 1000000
    CURRENCY = "USD"
    SECURE_COOKIES = False
    PROXY_COUNT = 0
    ALLOWED_ORIGINS: tuple[str, ...] = ()
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "10 per minute"

    # A login ends after this long without a request, unless "remember me" was ticked,
    # and every login ends this long after it began.
    LOGIN_IDLE_SECONDS = 12 * 3600
    LOGIN_MAX_AGE_SECONDS = 30 * 86400
    # argon2-cffi's defaults (RFC 9106 low-memory profile); tests lower them.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = LOGIN_MAX_AGE_SECONDS
    MAX_CONTENT_LENGTH = 1024 * 1024


class TestConfig(Config):
    """Settings for the test suite: fast password hashing and no timers thread."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    # Tests that check CSRF turn it back on.
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = True


def load_environment(config: dict) -> None:
    """Apply DATABASE_URL, SECRET_KEY and every OPENMENTOR_<KEY> variable onto `config`."""
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(database_url)
    secret_key = os.environ.get("SECRET_KEY")
    key_file = INSTANCE_PATH / "secret_key"
    if not secret_key and key_file.is_file():
        # The key `make run` generated, so operator commands need no SECRET_KEY of their own.
        secret_key = key_file.read_text().strip()
    if secret_key:
        config["SECRET_KEY"] = secret_key


def normalize_database_url(url: str) -> str:
    """Select the psycopg 3 driver for plain `postgres://` and `postgresql://` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
