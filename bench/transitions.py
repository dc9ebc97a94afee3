"""Transitions per second through the one locked path, on SQLite and PostgreSQL.

    .venv/bin/python bench/transitions.py [--database sqlite|postgresql|both]
        [--workers 1,8] [--transitions 300] [--seconds 10]

Each run gets its own throw-away database (a temporary SQLite file, or a new PostgreSQL
database on TEST_POSTGRES_URL, dropped afterwards). Every worker is a thread with its own app
context and connection, and owns one running paid session of its own mentee (so each click
locks a mentee row, reads the credit, writes an event and a notification); it alternates
Pause and Resume until it has made TRANSITIONS clicks or SECONDS have passed. A second run
has all workers click on one shared session (free), which measures the lock under
contention: there half the clicks find their action already in effect. The script prints
transitions per second and p50/p99 latencies per click.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import threading
import time

from _databases import postgresql_reachable, throwaway_database

RATE_15_CENTS = 2000
CREDIT_CENTS = 10_000_000


def make_app(database_url: str, workers: int):
    """Build the app with the production settings on this database, and migrate it."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.config import Config

    config = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_COST=8,
        ARGON2_PARALLELISM=1,
        # A pool at least as large as the threads (ARCHITECTURE: "Connections").
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": workers + 2, "max_overflow": 0}
        if not database_url.startswith("sqlite")
        else {},
    )
    app = create_app(config)
    logging.getLogger("webapp").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
    return app


def prepare_sessions(app, count: int, *, shared: bool) -> list[tuple[str, int, int]]:
    """Create running sessions; return (token, mentor id, mentee id) per worker."""
    from webapp import database
    from webapp.accounts import services as accounts
    from webapp.sessions import services
    from webapp.sessions.commands import add_credits

    prepared = []
    with app.app_context():
        for number in range(1 if shared else count):
            database.begin_write()
            mentor = accounts.create_user(
                email=f"mentor{number}@example.com", name=f"Mentor {number}",
                password="bench password", is_mentor=True, is_mentee=False,
            )  # fmt: skip
            accounts.update_mentor_profile(
                mentor, headline="", rate_15_cents=RATE_15_CENTS, tags=[], away=False,
                first_15_free=False,
            )  # fmt: skip
            mentee = accounts.create_user(
                email=f"mentee{number}@example.com", name=f"Mentee {number}",
                password="bench password", is_mentor=False, is_mentee=True,
            )  # fmt: skip
            mentor_id, mentee_id = mentor.id, mentee.id
            database.commit()
            add_credits(mentee_id, CREDIT_CENTS)
            kind = "free" if shared else "paid"
            database.begin_write()
            live_session, _ = services.create_live_session(
                mentor_id=mentor_id, mentee_id=mentee_id, kind=kind, actor_id=mentor_id
            )
            token = live_session.token
            database.commit()
            for user_id in (mentor_id, mentee_id):
                services.record_presence(services.live_session_for(user_id, token), user_id)
            if kind == "paid":
                services.perform(token, mentor_id, "request_start")
            services.perform(token, mentee_id, "start")
            prepared.append((token, mentor_id, mentee_id))
    if shared:
        prepared = prepared * count
    return prepared


def run_workers(app, sessions, transitions: int, seconds: float) -> tuple[int, float, list]:
    """Click Pause and Resume from one thread per session; return clicks, time, latencies."""
    from webapp.exceptions import AlreadyDone, Conflict
    from webapp.extensions import db
    from webapp.sessions import services

    barrier = threading.Barrier(len(sessions) + 1)
    latencies: list[float] = []
    counts = [0] * len(sessions)
    failures: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        token, mentor_id, mentee_id = sessions[index]
        mine = []
        with app.app_context():
            barrier.wait()
            deadline = time.perf_counter() + seconds
            for number in range(transitions):
                if time.perf_counter() > deadline:
                    break
                action = "pause" if number % 2 == 0 else "resume"
                user_id = mentee_id if number % 4 < 2 else mentor_id
                started = time.perf_counter()
                try:
                    services.perform(token, user_id, action)
                except (AlreadyDone, Conflict):
                    pass  # on the shared session, another worker's click got there first
                except Exception as error:  # reported after the run
                    with lock:
                        failures.append(f"{type(error).__name__}: {error}")
                    break
                mine.append(time.perf_counter() - started)
            db.session.remove()
        with lock:
            latencies.extend(mine)
            counts[index] = len(mine)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(sessions))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} clicks failed, first: {failures[0]}")
    return sum(counts), elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench(kind: str, workers: int, transitions: int, seconds: float, *, shared: bool) -> str:
    with throwaway_database(kind) as url:
        app = make_app(url, workers)
        try:
            sessions = prepare_sessions(app, workers, shared=shared)
            clicks, elapsed, latencies = run_workers(app, sessions, transitions, seconds)
            with app.app_context():
                from webapp.sessions.commands import check_sessions

                differences = check_sessions()
        finally:
            with app.app_context():
                from webapp.extensions import db

                db.session.remove()
                db.engine.dispose()
    where = "one shared session" if shared else "a session each"
    unit = "clicks/s     " if shared else "transitions/s"
    checked = "check-sessions clean" if not differences else f"{len(differences)} differences!"
    return (
        f"  {kind:10s} {workers} worker{'s' if workers > 1 else ' '} ({where:18s}): "
        f"{clicks / elapsed:7.0f} {unit} ({clicks} in {elapsed:.2f} s; "
        f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms; {checked})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", default="1,8", help="comma-separated worker counts")
    parser.add_argument("--transitions", type=int, default=300, help="clicks per worker, at most")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per run, at most")
    arguments = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if arguments.database == "both" else [arguments.database]
    workers = [int(count) for count in arguments.workers.split(",")]
    print(
        f"transitions: Pause/Resume clicks through perform(), at most {arguments.transitions} "
        f"per worker or {arguments.seconds:g} s per run"
    )
    for kind in kinds:
        if kind == "postgresql" and not postgresql_reachable():
            print("  postgresql: skipped, PostgreSQL is not reachable (TEST_POSTGRES_URL)")
            continue
        for count in workers:
            print(bench(kind, count, arguments.transitions, arguments.seconds, shared=False))
        if max(workers) > 1:
            count = max(workers)
            print(bench(kind, count, arguments.transitions, arguments.seconds, shared=True))


if __name__ == "__main__":
    main()
