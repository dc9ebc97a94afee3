"""Two real gunicorn servers on one database: a change committed elsewhere reaches a socket on B."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import websocket

from tests.web.test_websocket import create_conversation, create_notifications, post_message

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET_KEY = "multiprocess-test-secret-key-0123456789abcdef"
START_SECONDS = 30.0
GRACEFUL_SECONDS = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """One gunicorn server (production configuration, one worker) on a free port."""

    def __init__(self, database_url: str, log_path: Path, *, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url,
            "OPENMENTOR_GRACEFUL_TIMEOUT": str(GRACEFUL_SECONDS),
            "OPENMENTOR_ACCESS_LOG": str(log_path),
            "WEB_CONCURRENCY": "1",
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

    def login_cookie(self, user) -> str:
        """Log in through the real form, CSRF token included; return the session cookie."""
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(self.url + "/login", timeout=5) as response:
            page = response.read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        form = {"csrf_token": token.group(1), "email": user.email, "password": user.password}
        request = urllib.request.Request(
            self.url + "/login", data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        with opener.open(request, timeout=10) as response:
            assert response.status == 200
        return next(cookie.value for cookie in jar if cookie.name == "session")

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

    def start() -> Gunicorn:
        server = Gunicorn(migrated_database, tmp_path / f"gunicorn-{len(servers)}.log")
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


def test_multiprocess_change_reaches_socket_on_other_server(
    app, migrated_database, start_gunicorn, create_user
):
    server_a = start_gunicorn()
    server_b = start_gunicorn()
    mentor = create_user(mentor=True)
    mentee = create_user()
    conversation_id = create_conversation(app, mentor.id, mentee.id)
    server_a.login_cookie(mentor)
    ws = server_b.connect(server_b.login_cookie(mentee))
    assert receive(ws)["type"] == "ready"
    limit = push_limit_seconds(migrated_database)

    started = time.monotonic()
    [notification_id] = create_notifications(app, mentee.id, 1)
    message = receive(ws)
    notification_seconds = time.monotonic() - started

    started = time.monotonic()
    post_message(app, conversation_id, mentor.id)
    doorbell = receive(ws)
    doorbell_seconds = time.monotonic() - started
    ws.close()

    assert message["type"] == "notification"
    assert message["id"] == notification_id
    assert notification_seconds < limit
    assert doorbell == {"type": "conversation", "id": conversation_id}
    assert doorbell_seconds < limit


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
