"""Browser tests: the app served on 127.0.0.1 in a thread, driven through Debian's Chromium.

They use the real clock; durations are shrunk through configuration instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from tests.conftest import IN_CI, _config_dict, reset_database
from webapp import create_app
from webapp.extensions import db, limiter

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _require(reason: str):
    if IN_CI:
        pytest.exit(f"{reason} (CI=true: failing instead of skipping)", returncode=1)
    pytest.skip(reason)


class LiveServer:
    """One app served by werkzeug in a background thread, on its own SQLite file."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        with self.app.app_context():
            reset_database()
        limiter.reset()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory) -> Iterator[dict]:
    servers: dict = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def serve(live_servers, tmp_path_factory):
    """Return a function that serves the app with configuration overrides, on a clean database.

    Servers are reused across tests with the same overrides; their data is wiped per test.
    """

    def start(**overrides) -> LiveServer:
        key = tuple(sorted(overrides.items()))
        server = live_servers.get(key)
        if server is None:
            path = tmp_path_factory.mktemp("browser-db") / "live.sqlite"
            config = {
                **_config_dict(),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                "WTF_CSRF_ENABLED": True,
                **overrides,
            }
            app = create_app(config)
            # Errors must reach the browser as 500 pages, not crash the server thread.
            app.config["PROPAGATE_EXCEPTIONS"] = False
            with app.app_context():
                upgrade()
            server = live_servers[key] = LiveServer(app)
        server.reset()
        return server

    return start


@pytest.fixture
def live_server(serve) -> LiveServer:
    """The app with the default test configuration."""
    return serve()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _require(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Console errors and CSP violations seen by the pages of one test."""

    def __init__(self):
        self.messages: list[str] = []

    def watch(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))

    def _on_console(self, message) -> None:
        # Chromium logs a 4xx response as "Failed to load resource"; tests check statuses.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.messages.append(message.text)

    @property
    def csp_violations(self) -> list[str]:
        return [text for text in self.messages if "Content Security Policy" in text]


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_context(browser, problems):
    """Return a function that opens a browser context (JavaScript on or off)."""
    contexts = []

    def open_context(*, javascript: bool = True):
        context = browser.new_context(java_script_enabled=javascript, base_url=None)
        context.set_default_timeout(10_000)
        context.on("page", problems.watch)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def save_screenshot(page, name: str, *, javascript: bool = True) -> Path:
    """Save a screenshot under test-artifacts/ (git-ignored) and return its path.

    Playwright hides the caret with an inline style while it shoots and leaves `style=""`
    behind. htmx would copy that attribute into swapped content, which the CSP reports. Our
    pages have no inline styles, so with JavaScript on every `style` attribute is removed.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if javascript:
        page.evaluate(
            "document.querySelectorAll('[style]').forEach((e) => e.removeAttribute('style'))"
        )
    return path


def run_axe(page) -> list[dict]:
    """Inject axe-core and return its serious and critical violations."""
    page.evaluate(AXE_PATH.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
