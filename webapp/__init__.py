"""OpenMentor: live, paid one-to-one mentoring. `create_app` builds the Flask application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from flask import Flask, Response, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import database, errors, security
from webapp.config import DEV_SECRET_KEY, INSTANCE_PATH, PROJECT_ROOT, Config, load_environment
from webapp.domain.money import format_amount
from webapp.extensions import csrf, db, htmx, limiter, login_manager, migrate, sock

logger = logging.getLogger(__name__)


def create_app(config: type | Mapping | None = None) -> Flask:
    """Build the app; `config` is a config class or a mapping, else the environment is read."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_PATH),
    )
    _configure(app, config)
    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    errors.init_app(app)
    security.init_app(app)

    from webapp import cli, timers

    cli.init_app(app)
    timers.init_app(app)
    return app


def _configure(app: Flask, config: type | Mapping | None) -> None:
    if config is None:
        app.config.from_object(Config)
        load_environment(app.config)
        app.config.from_prefixed_env("OPENMENTOR")
    elif isinstance(config, Mapping):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        app.config.from_object(config)
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "Refusing to start with the development SECRET_KEY: set SECRET_KEY in the "
            "environment (make run generates one under instance/)."
        )
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_PATH.mkdir(exist_ok=True)


class _RequestContextFilter(logging.Filter):
    """Add the request path and the user id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_info = ""
        if request:
            # g._login_user is Flask-Login's cache: reading current_user here could recurse.
            user_id = getattr(getattr(g, "_login_user", None), "id", None)
            record.request_info = f" [{request.method} {request.path} user={user_id}]"
        return True


def _configure_logging(app: Flask) -> None:
    package_logger = logging.getLogger("webapp")
    if not package_logger.handlers:
        handler = logging.StreamHandler()
        handler.addFilter(_RequestContextFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(request_info)s")
        )
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.WARNING if app.testing else logging.INFO)
        package_logger.propagate = False


def _init_extensions(app: Flask) -> None:
    # Every model must be imported before Alembic or the tests read the metadata.
    import webapp.all_models  # noqa: F401

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    sock.init_app(app)
    htmx.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to see this page."
    # "strong" would log people out whenever their address changes (mobile networks).
    login_manager.session_protection = "basic"

    from webapp.accounts.services import load_login

    login_manager.user_loader(load_login)
    login_manager.unauthorized_handler(_unauthorized)

    @app.before_request
    def _begin_write_for_changes() -> None:
        # Every POST may write: on SQLite it takes the write lock before its first read.
        if request.method == "POST":
            database.begin_write()


def _unauthorized() -> Response:
    login_url = url_for("accounts.login", next=request.full_path.rstrip("?"))
    if htmx:
        # A fragment swap would put the login form inside a button; send the page away instead.
        response = Response("", 401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


def _register_blueprints(app: Flask) -> None:
    from webapp.accounts.views import bp as accounts_bp
    from webapp.billing.views import bp as billing_bp
    from webapp.chat.views import bp as chat_bp
    from webapp.notifications.views import bp as notifications_bp
    from webapp.requests.views import bp as requests_bp
    from webapp.sessions.views import bp as sessions_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(requests_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(sessions_bp)

    from webapp.notifications import ws

    # The websocket starts this process's hub on its first connection.
    ws.init_app(app)


def _register_template_helpers(app: Flask) -> None:
    @app.template_filter("money")
    def money_filter(cents: int | None) -> str:
        if cents is None:
            return "—"
        return format_amount(cents, app.config["CURRENCY"])

    @app.template_filter("localtime")
    def localtime_filter(instant, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Show an instant in the reader's time zone (UTC for visitors)."""
        if instant is None:
            return "—"
        zone_name = getattr(current_user, "timezone", None) or "UTC"
        local = instant.astimezone(ZoneInfo(zone_name))
        return local.strftime(fmt) + ("" if zone_name == "UTC" else f" {local.tzname()}")

    @app.template_filter("hms")
    def hms_filter(seconds: int) -> str:
        hours, rest = divmod(int(seconds), 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"

    @app.context_processor
    def _layout_context() -> dict:
        return {"unread_notifications": _unread_notifications, "config": app.config}


def _unread_notifications() -> int:
    """Count the reader's unread notifications; only the full layout calls it, so polls skip it."""
    from webapp.notifications.services import unread_count

    if not current_user.is_authenticated:
        return 0
    return unread_count(current_user.id)
