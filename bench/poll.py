"""Throughput of the room's timer poll against a bare endpoint, under the production server.

    .venv/bin/python bench/poll.py [--database sqlite|postgresql|both]
        [--connections 50] [--seconds 5] [--worker-class gthread|gevent] [--threads 8]

gunicorn runs gunicorn.conf.py as the production instance for pages and polls does (gthread,
2 workers x 8 threads; --worker-class gevent for comparison) on 127.0.0.1, on a
throw-away database with one running paid session. An asyncio client keeps CONNECTIONS
keep-alive connections busy for SECONDS per endpoint: first `/bench/bare`, which does
nothing, then the timer fragment (`GET /sessions/<token>/timer` as htmx sends it, logged in
as the mentee). It prints both throughputs, p50/p99 latencies and the ratio. Client and
server share the machine's cores, so the figures are lower bounds of the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import time

from _databases import postgresql_reachable, throwaway_database
from notify_latency import (
    Browser,
    Server,
    bench_config,
    percentile,
    prepare_database,
)

RATE_15_CENTS = 2000
CREDIT_CENTS = 1_000_000


def start_running_session(config: dict, mentor_email: str, mentee_email: str) -> str:
    """Create a paid session, put both people in the room and start it; return its token."""
    from webapp import create_app, database
    from webapp.accounts import services as accounts
    from webapp.extensions import db
    from webapp.sessions import services as sessions
    from webapp.sessions.commands import add_credits

    app = create_app(config)
    logging.getLogger("webapp").setLevel(logging.WARNING)
    # A request context, because the session's notifications link to its room.
    with app.test_request_context():
        mentor = accounts.find_by_email(mentor_email)
        mentee = accounts.find_by_email(mentee_email)
        mentor_id, mentee_id = mentor.id, mentee.id
        add_credits(mentee_id, CREDIT_CENTS)
        database.begin_write()
        live_session, _ = sessions.create_live_session(
            mentor_id=mentor_id, mentee_id=mentee_id, kind="paid", actor_id=mentor_id
        )
        token = live_session.token
        database.commit()
        for user_id in (mentor_id, mentee_id):
            sessions.record_presence(sessions.live_session_for(user_id, token), user_id)
        sessions.perform(token, mentor_id, "request_start")
        state = sessions.perform(token, mentee_id, "start").state
        db.engine.dispose()
    if state != "running":
        raise SystemExit(f"the benchmark session is {state!r}, not running")
    return token


async def hammer(port: int, request: bytes, seconds: float, connections: int) -> list[float]:
    """Send `request` over keep-alive connections for `seconds`; return each latency."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                if status != 200:
                    raise SystemExit(f"the endpoint returned {status}:\n{head.decode()}")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return latencies


def request_bytes(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def measure(server: Server, path: str, headers: dict, arguments) -> tuple[float, list[float]]:
    """Warm up for one second, then return (requests per second, latencies)."""
    request = request_bytes(path, headers)
    asyncio.run(hammer(server.port, request, 1.0, arguments.connections))
    latencies = asyncio.run(hammer(server.port, request, arguments.seconds, arguments.connections))
    return len(latencies) / arguments.seconds, latencies


def run(kind: str, arguments) -> None:
    secret_key = secrets.token_urlsafe(32)
    with throwaway_database(kind) as database_url:
        config = bench_config(database_url, secret_key)
        people = prepare_database(config)
        token = start_running_session(config, people.mentor_email, people.mentee_email)
        worker_args = ["--workers", "2", "--worker-class", arguments.worker_class]
        if arguments.worker_class == "gthread":
            worker_args += ["--threads", str(arguments.threads)]
        server = Server(database_url, secret_key, worker_args)
        try:
            mentee = Browser(server, people.mentee_email)
            fragment_headers = {
                "Cookie": f"session={mentee.cookie()}",
                "HX-Request": "true",
                "HX-Current-URL": f"{server.url}/sessions/{token}",
            }
            bare_rate, bare = measure(server, "/bench/bare", {}, arguments)
            timer_rate, timer = measure(
                server, f"/sessions/{token}/timer", fragment_headers, arguments
            )
        finally:
            server.stop()
    print(
        f"poll ({kind}, {' '.join(worker_args)}, {arguments.connections} connections,"
        f" {arguments.seconds:g} s each)"
    )
    for name, rate, latencies in (("bare endpoint", bare_rate, bare), ("timer", timer_rate, timer)):
        print(
            f"  {name}: {rate:.0f} requests/s, p50 {percentile(latencies, 0.5) * 1000:.1f} ms,"
            f" p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
        )
    print(f"  timer / bare throughput: {timer_rate / bare_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--connections", type=int, default=50, help="keep-alive connections")
    parser.add_argument(
        "--worker-class",
        choices=["gevent", "gthread"],
        default="gthread",
        help="gthread: the production instance that serves pages and polls",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per endpoint")
    arguments = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if arguments.database == "both" else [arguments.database]
    for kind in kinds:
        if kind == "postgresql" and not postgresql_reachable():
            print("poll (postgresql): skipped, PostgreSQL is not reachable")
            continue
        run(kind, arguments)


if __name__ == "__main__":
    main()
