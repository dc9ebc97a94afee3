"""Apply the timed rules that fell due, through the same locked path as every click.

`run_due` is what the timers loop calls every TIMERS_TICK_SECONDS: in its own process in
production (`flask --app wsgi run-timers`), or as a daemon thread of the web process when
TIMERS_IN_APP is on (`make run`). Each rule takes the session's row lock, so running it on
several servers at once is safe.
"""

from __future__ import annotations

import atexit
import logging
import threading
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from webapp import clock, database
from webapp.billing.services import apply_due_money
from webapp.domain import timeline
from webapp.domain.lifecycle import Kind, State
from webapp.extensions import db
from webapp.sessions import rules, transitions
from webapp.sessions.models import LiveSession, Presence

logger = logging.getLogger(__name__)


def due_session_ids(now: datetime) -> list[int]:
    """Return the ids of the live sessions with a timed rule (or the idle rule) due at `now`."""
    ids = set(
        db.session.scalars(
            select(LiveSession.id).where(
                LiveSession.state != State.ENDED, LiveSession.next_deadline_at <= now
            )
        )
    )
    limits = rules.limits()
    running_paid = db.session.execute(
        select(LiveSession.id, LiveSession.running_since, func.max(Presence.last_seen_at))
        .outerjoin(Presence, Presence.live_session_id == LiveSession.id)
        .where(LiveSession.kind == Kind.PAID, LiveSession.state == State.RUNNING)
        .group_by(LiveSession.id, LiveSession.running_since)
    )
    for live_session_id, running_since, newest in running_paid:
        if timeline.idle_deadline(running_since, newest, limits) <= now:
            ids.add(live_session_id)
    return sorted(ids)


def run_due(now: datetime | None = None) -> int:
    """Apply every due timed rule of every live session, each recorded at its deadline.

    Returns how many sessions it changed.
    """
    now = now or clock.now()
    database.rollback()
    touched = 0
    for live_session_id in due_session_ids(now):
        try:
            if transitions.apply_due_counting(live_session_id, now):
                touched += 1
        except Exception:
            # One broken session must not stop the rules of the others.
            logger.exception("timed rules of live session %s failed", live_session_id)
    apply_due_money(now)
    database.rollback()
    return touched


def run_forever(app: Flask, stop_event: threading.Event) -> None:
    """Call `run_due` every TIMERS_TICK_SECONDS until `stop_event` is set."""
    tick = float(app.config["TIMERS_TICK_SECONDS"])
    logger.info("timers loop started (every %s s)", tick)
    while not stop_event.is_set():
        with app.app_context():
            try:
                run_due()
            except Exception:
                # The loop must outlive a database restart; the next tick tries again.
                logger.exception("timers tick failed")
            finally:
                db.session.remove()
        stop_event.wait(tick)
    logger.info("timers loop stopped")


class _InAppTimers:
    """The timers thread of this web process: started once, stopped at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()

    def start(self, app: Flask) -> bool:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return False
            self.stop_event = threading.Event()
            self.thread = threading.Thread(
                target=run_forever,
                args=(app, self.stop_event),
                name="openmentor-timers",
                daemon=True,
            )
            self.thread.start()
            return True

    def stop(self, timeout: float = 5.0) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
            self.stop_event.set()
        if thread is not None:
            thread.join(timeout)


# One per process, like the notification hub: gunicorn forks workers after importing the app,
# and each worker starts its own thread with its first request.
IN_APP = _InAppTimers()
atexit.register(IN_APP.stop)


def init_app(app: Flask) -> None:
    """Start the timers thread with the first request when TIMERS_IN_APP is on."""
    if not _truthy(app.config.get("TIMERS_IN_APP")):
        return

    @app.before_request
    def _start_timers() -> None:
        if IN_APP.thread is None:
            IN_APP.start(app)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
