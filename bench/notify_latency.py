"""Click-to-socket latency across two gunicorn servers, and memory per idle websocket.

    .venv/bin/python bench/notify_latency.py [--database sqlite|postgresql|both]
        [--worker-class gevent|gthread] [--threads 8] [--sockets 500] [--samples 40]

Server A gets the mentor's click (a chat message POST when the chat exists, else a
notification committed by this process), server B holds the mentee's socket; the latency is
from sending the click to receiving the push on B. Then SOCKETS idle sockets of another user
are opened on B, and the script prints B's worker memory per socket, a bare GET's latency
and the click latency again while they are open. Servers run gunicorn.conf.py on 127.0.0.1
with one worker each, on a throw-away database that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import websocket
from _databases import postgresql_reachable, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 123"
START_SECONDS = 30.0
RECEIVE_SECONDS = 10.0


def bench_app():
    """Build the production app plus `/bench/bare`, an endpoint that does nothing."""
    from webapp import create_app

    app = create_app()
    app.add_url_rule("/bench/bare", "bench_bare", lambda: "ok")
    return app


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values`."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    """Format seconds as 'p50 x ms, p99 y ms (n samples)'."""
    return (
        f"p50 {percentile(values, 0.5) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms"
        f" ({len(values)} samples)"
    )


# The database -----------------------------------------------------------------------------


def bench_config(database_url: str, secret_key: str) -> dict:
    """Return the production configuration on this database, with fast password hashing."""
    from webapp.config import Config

    config = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=secret_key,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_COST=8,
        ARGON2_PARALLELISM=1,
    )
    return config


@dataclass
class People:
    """The accounts and the conversation that the benchmarks use."""

    mentor_email: str
    mentee_email: str
    idle_email: str
    mentee_id: int
    conversation_id: int


def prepare_database(config: dict) -> People:
    """Upgrade the database to the newest migration and create the accounts and a chat."""
    from flask_migrate import upgrade

    from webapp import create_app, database
    from webapp.accounts import services as accounts
    from webapp.chat.models import Conversation
    from webapp.extensions import db
    from webapp.requests.models import HelpRequest

    app = create_app(config)
    # Creating the accounts logs a line each at INFO; only the figures matter here.
    logging.getLogger("webapp").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        database.begin_write()
        mentor = accounts.create_user(
            email="mentor@example.com", name="Maya", password=PASSWORD, is_mentor=True
        )
        accounts.update_mentor_profile(
            mentor, headline="Flask", rate_15_cents=2000, tags=[], away=False, first_15_free=False
        )
        mentee = accounts.create_user(
            email="mentee@example.com", name="Milo", password=PASSWORD, is_mentee=True
        )
        accounts.create_user(email="idle@example.com", name="Ida", password=PASSWORD)
        help_request = HelpRequest(mentee_id=mentee.id, title="Flask", description="Help")
        db.session.add(help_request)
        db.session.flush()
        conversation = Conversation(
            help_request_id=help_request.id, mentor_id=mentor.id, mentee_id=mentee.id
        )
        db.session.add(conversation)
        database.commit()
        people = People(mentor.email, mentee.email, "idle@example.com", mentee.id, conversation.id)
        db.engine.dispose()
    return people


class Committer:
    """Inserts notifications from this process (the click when server A has no chat)."""

    def __init__(self, config: dict):
        from webapp import create_app

        self.app = create_app(config)
        # Each insert logs a line at INFO; the figures matter here, not the log.
        logging.getLogger("webapp").setLevel(logging.WARNING)

    def notify(self, user_id: int) -> None:
        from webapp import database
        from webapp.notifications.services import notify

        with self.app.app_context():
            database.begin_write()
            notify(user_id, "bench", "Benchmark notification")
            database.commit()

    def close(self) -> None:
        from webapp.extensions import db

        with self.app.app_context():
            db.engine.dispose()


# The servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One gunicorn server with the production configuration and one worker."""

    def __init__(self, database_url: str, secret_key: str, worker_args: list[str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SECRET_KEY": secret_key,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "1",
            "OPENMENTOR_ACCESS_LOG": "",
        }
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--pythonpath",
            "bench",
            *worker_args,
            f"{Path(__file__).stem}:bench_app()",
        ]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"gunicorn exited at start:\n{self.log.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + "/bench/bare", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"gunicorn did not serve {self.url} within {START_SECONDS} s")

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return int(children.read_text().split()[0])

    def worker_rss_kib(self) -> int:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


class Browser:
    """A logged-in HTTP client of one server, standing in for a browser."""

    def __init__(self, server: Server, email: str):
        self.server = server
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/login")
        self.post("/login", {"email": email, "password": PASSWORD}, page)

    def get(self, path: str) -> str:
        with self.opener.open(self.server.url + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, form: dict, page: str | None = None) -> int:
        """POST a form with the CSRF token of `page` (else of the home page)."""
        page = page or self.get("/")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({**form, "csrf_token": token}).encode()
        request = urllib.request.Request(self.server.url + path, data=data, method="POST")
        with self.opener.open(request, timeout=10) as response:
            return response.status

    def cookie(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "session")

    def connect(self, timeout: float = RECEIVE_SECONDS) -> websocket.WebSocket:
        """Open a notification socket and wait for its "ready" message."""
        ws = websocket.WebSocket()
        try:
            ws.connect(
                f"ws://127.0.0.1:{self.server.port}/ws/notifications",
                header=[f"Cookie: session={self.cookie()}"],
                origin=self.server.url,
                timeout=timeout,
            )
            while json.loads(ws.recv())["type"] != "ready":
                pass
        except (OSError, websocket.WebSocketException):
            ws.shutdown()
            raise
        return ws


# The measurements -------------------------------------------------------------------------


def click_latencies(
    mentor: Browser, ws, people: People, committer: Committer, samples: int, *, chat: bool
) -> list[float]:
    """Return the seconds from each click on A to its push on B."""
    expected = "conversation" if chat else "notification"
    arrivals: queue.Queue[float] = queue.Queue()

    def read_socket() -> None:
        # Arrivals are timed here, because the click's own response (a redirect and the chat
        # page) may still be loading when the push arrives.
        for _ in range(samples):
            while json.loads(ws.recv())["type"] != expected:
                pass
            arrivals.put(time.perf_counter())

    reader = threading.Thread(target=read_socket, daemon=True)
    reader.start()
    latencies = []
    for number in range(samples):
        # A random pause, so clicks do not fall in step with SQLite's hub poll.
        time.sleep(random.uniform(0, 0.3))
        started = time.perf_counter()
        if chat:
            path = f"/chats/{people.conversation_id}/messages"
            mentor.post(path, {"body": f"Message {number}", "form_token": secrets.token_hex(12)})
        else:
            committer.notify(people.mentee_id)
        latencies.append(arrivals.get(timeout=RECEIVE_SECONDS) - started)
    reader.join(RECEIVE_SECONDS)
    return latencies


def serves_chat(mentor: Browser, people: People) -> bool:
    """Tell whether server A serves the chat page of the conversation."""
    try:
        mentor.get(f"/chats/{people.conversation_id}")
    except OSError:
        return False
    return True


def bare_latencies(server: Server, count: int) -> tuple[list[float], int]:
    """GET the bare endpoint `count` times; return the latencies and the number of failures."""
    latencies, failures = [], 0
    for _ in range(count):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(server.url + "/bench/bare", timeout=2) as response:
                response.read()
        except OSError:
            failures += 1
            continue
        latencies.append(time.perf_counter() - started)
    return latencies, failures


def open_idle_sockets(idle: Browser, count: int) -> list[websocket.WebSocket]:
    """Open up to `count` sockets; stop at the first that the server does not serve in 2 s."""
    sockets = []
    for _ in range(count):
        try:
            sockets.append(idle.connect(timeout=2))
        except (OSError, websocket.WebSocketException):
            break
    return sockets


def run(arguments: argparse.Namespace) -> None:
    worker_args = ["--worker-class", arguments.worker_class]
    if arguments.worker_class == "gthread":
        worker_args += ["--threads", str(arguments.threads)]
    label = f"{arguments.database}, {' '.join(worker_args)}"
    secret_key = secrets.token_urlsafe(32)
    with throwaway_database(arguments.database) as database_url:
        config = bench_config(database_url, secret_key)
        people = prepare_database(config)
        server_a = Server(database_url, secret_key, worker_args)
        server_b = Server(database_url, secret_key, worker_args)
        committer = Committer(config)
        sockets: list[websocket.WebSocket] = []
        try:
            mentor = Browser(server_a, people.mentor_email)
            mentee = Browser(server_b, people.mentee_email)
            idle = Browser(server_b, people.idle_email)
            mentee_ws = mentee.connect()
            sockets.append(mentee_ws)
            chat = serves_chat(mentor, people)
            click = "a chat message POST on A" if chat else "a commit by the bench process"
            print(f"notify_latency ({label}); click: {click}")
            latencies = click_latencies(
                mentor, mentee_ws, people, committer, arguments.samples, chat=chat
            )
            print(f"  click to socket, 1 socket open: {summary_ms(latencies)}")

            rss_before = server_b.worker_rss_kib()
            opened = open_idle_sockets(idle, arguments.sockets)
            sockets += opened
            rss_after = server_b.worker_rss_kib()
            per_socket = (rss_after - rss_before) / max(1, len(opened))
            print(
                f"  idle sockets held by B's worker: {len(opened)} of {arguments.sockets};"
                f" resident memory {rss_before} -> {rss_after} KiB ({per_socket:.1f} KiB each)"
            )
            bare, failures = bare_latencies(server_b, 200)
            if bare:
                print(f"  bare GET on B with them open: {summary_ms(bare)}, {failures} failed")
            else:
                print(f"  bare GET on B with them open: all {failures} timed out (2 s)")
            if len(opened) == arguments.sockets:
                latencies = click_latencies(
                    mentor, mentee_ws, people, committer, arguments.samples, chat=chat
                )
                print(f"  click to socket, {len(opened)} idle open: {summary_ms(latencies)}")
        finally:
            for ws in sockets:
                ws.shutdown()
            server_a.stop()
            server_b.stop()
            committer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="both: SQLite, then PostgreSQL (TEST_POSTGRES_URL) when it is reachable",
    )
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--sockets", type=int, default=500, help="idle sockets to open on B")
    parser.add_argument("--samples", type=int, default=40, help="clicks per latency figure")
    arguments = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if arguments.database == "both" else [arguments.database]
    for kind in kinds:
        arguments.database = kind
        if kind == "postgresql" and not postgresql_reachable():
            print("notify_latency (postgresql): skipped, PostgreSQL is not reachable")
            continue
        run(arguments)


if __name__ == "__main__":
    main()
