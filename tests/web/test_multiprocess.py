"""Two real gunicorn servers on one database: a change committed elsewhere reaches a socket on B."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import websocket

from tests.web.sessions_support import Pair, create, credit, row
from tests.web.test_websocket import create_conversation

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET_KEY = "multiprocess-test-secret-key-0123456789abcdef"
START_SECONDS = 30.0
GRACEFUL_SECONDS = 5
CHECKLIST_FIELDS = ("clear_request", "can_help", "call_ready", "environment_ready")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Visitor:
    """A cookie-keeping HTTP client of one server, standing in for a browser."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, form: dict, page: str | None = None) -> int:
        """POST a form with the CSRF token of `page` (else of the home page); return the status."""
        page = page if page is not None else self.get("/")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({**form, "csrf_token": token}).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method="POST")
        with self.opener.open(request, timeout=10) as response:
            return response.status

    def cookie(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "session")


class Gunicorn:
    """One gunicorn server (production configuration, one worker) on a free port."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        port: int | None = None,
        worker_class: str = "gevent",
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url,
            "OPENMENTOR_GRACEFUL_TIMEOUT": str(GRACEFUL_SECONDS),
            "OPENMENTOR_ACCESS_LOG": str(log_path),
            "WEB_CONCURRENCY": "1",
            "OPENMENTOR_WORKER_CLASS": worker_class,
        }
        self.log = log_path.with_suffix(".err").open("w")
        command = [str(GUNICORN), "-c", "gunicorn.conf.py", "--no-control-socket"]
        command += ["--bind", f"127.0.0.1:{self.port}", "wsgi:app"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited at start"
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not serve {self.url} within {START_SECONDS} s")

    def login(self, user) -> Visitor:
        """Log in through the real form, CSRF token included."""
        visitor = Visitor(self.url)
        page = visitor.get("/login")
        visitor.post("/login", {"email": user.email, "password": user.password}, page)
        return visitor

    def login_cookie(self, user) -> str:
        """Log in and return the session cookie."""
        return self.login(user).cookie()

    def connect(self, cookie: str) -> websocket.WebSocket:
        ws = websocket.WebSocket()
        ws.connect(
            f"ws://127.0.0.1:{self.port}/ws/notifications",
            header=[f"Cookie: session={cookie}"],
            origin=self.url,
            timeout=5,
        )
        return ws

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(GRACEFUL_SECONDS + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def start_gunicorn(app, migrated_database, tmp_path):
    """Return a function that starts a gunicorn server on the test database."""
    servers: list[Gunicorn] = []

    def start(worker_class: str = "gevent") -> Gunicorn:
        log_path = tmp_path / f"gunicorn-{len(servers)}.log"
        server = Gunicorn(migrated_database, log_path, worker_class=worker_class)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def push_limit_seconds(database_url: str) -> float:
    """Return how fast a change must arrive: LISTEN on PostgreSQL, a 0.25 s poll on SQLite."""
    return 2.0 if database_url.startswith("sqlite") else 1.0


def receive(ws) -> dict:
    return json.loads(ws.recv())


def receive_types(ws, types: set[str]) -> dict[str, tuple[dict, float]]:
    """Receive until one message of each type arrived; return each with its arrival time."""
    arrived: dict[str, tuple[dict, float]] = {}
    while not types <= arrived.keys():
        message = receive(ws)
        arrived.setdefault(message["type"], (message, time.monotonic()))
    return arrived


def test_multiprocess_start_request_reaches_other_server(
    app, clock, migrated_database, start_gunicorn, create_user
):
    # The servers run on the real clock: the session and its presence must be "now" too.
    clock.set(datetime.now(UTC))
    # As in production: clicks reach the gthread instance, sockets the gevent one.
    server_a = start_gunicorn("gthread")
    server_b = start_gunicorn()
    mentor = create_user(mentor=True, mentee=False)
    mentee = create_user()
    credit(app, mentee.id, 100_000)
    token = create(app, Pair(mentor.id, mentee.id, outsider=0), kind="paid")
    mentee_on_b = server_b.login(mentee)
    mentee_on_b.get(f"/sessions/{token}")
    ws = server_b.connect(mentee_on_b.cookie())
    assert receive(ws)["type"] == "ready"
    mentor_on_a = server_a.login(mentor)
    checklist = dict.fromkeys(CHECKLIST_FIELDS, "y")

    clicked = time.monotonic()
    status = mentor_on_a.post(
        f"/sessions/{token}/actions", {"action": "request_start", **checklist}
    )
    arrived = receive_types(ws, {"notification", "live_session"})
    ws.close()

    assert status == 200
    notification, notification_at = arrived["notification"]
    doorbell, doorbell_at = arrived["live_session"]
    assert notification["url"] == f"/sessions/{token}"
    assert notification["unread"] >= 1
    assert notification_at - clicked < push_limit_seconds(migrated_database)
    assert doorbell == {"type": "live_session", "id": row(app, token).id}
    assert doorbell_at - clicked < push_limit_seconds(migrated_database)


def test_multiprocess_chat_message_rings_other_server(
    app, migrated_database, start_gunicorn, create_user
):
    # As in production: clicks reach the gthread instance, sockets the gevent one.
    server_a = start_gunicorn("gthread")
    server_b = start_gunicorn()
    mentor = create_user(mentor=True)
    mentee = create_user()
    conversation_id = create_conversation(app, mentor.id, mentee.id)
    ws = server_b.connect(server_b.login_cookie(mentee))
    assert receive(ws)["type"] == "ready"
    mentor_on_a = server_a.login(mentor)
    form = {"body": "Shall we start?", "form_token": secrets.token_urlsafe(16)}

    clicked = time.monotonic()
    status = mentor_on_a.post(f"/chats/{conversation_id}/messages", form)
    doorbell = receive(ws)
    seconds = time.monotonic() - clicked
    ws.close()

    assert status == 200
    assert doorbell == {"type": "conversation", "id": conversation_id}
    assert seconds < push_limit_seconds(migrated_database)


def test_multiprocess_sigterm_closes_sockets_with_1001(start_gunicorn, create_user):
    server = start_gunicorn()
    mentee = create_user()
    ws = server.connect(server.login_cookie(mentee))
    assert receive(ws)["type"] == "ready"

    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    opcode, frame = ws.recv_data(control_frame=True)
    ws.shutdown()
    exit_code = server.process.wait(GRACEFUL_SECONDS + 5)

    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame[:2], "big") == 1001
    assert exit_code == 0
    assert time.monotonic() - started < GRACEFUL_SECONDS
