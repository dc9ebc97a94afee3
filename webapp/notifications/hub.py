"""The per-process notification hub: one thread that learns of new rows and wakes sockets.

On PostgreSQL the thread keeps one psycopg connection that `LISTEN`s on CHANNEL; every
transaction that inserts a notification, a chat message or a session event sends a `NOTIFY`
with ids only when it commits (see `services.register_commit_hook`). On SQLite the thread
reads the newest notification, message and session-event ids every HUB_POLL_SECONDS, once
per process. Either way the hub wakes only the sockets of the users concerned, and a socket
reads what it sends from the database, so no process keeps state that another one needs.

Payload of one NOTIFY, JSON, at most PAYLOAD_MAX_BYTES:
    {"n": [[notification_id, user_id], ...],
     "c": [[conversation_id, user_id, ...], ...],
     "s": [[live_session_id, user_id, ...], ...]}
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db

logger = logging.getLogger(__name__)

CHANNEL = "openmentor_live"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger batches are split.
PAYLOAD_MAX_BYTES = 7900
EXTENSION_KEY = "openmentor_hub"

KIND_NOTIFICATION = "n"
KIND_CONVERSATION = "c"
KIND_LIVE_SESSION = "s"
KINDS = (KIND_NOTIFICATION, KIND_CONVERSATION, KIND_LIVE_SESSION)

# Reconnect back-off of the LISTEN connection or the SQLite poll, in seconds.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
# How often the LISTEN loop returns to check whether the hub was stopped.
LISTEN_WAKE_SECONDS = 1.0
# How long a new socket waits for the hub thread to listen (or read its first marks).
READY_WAIT_SECONDS = 5.0

# One query per poll: every row newer than the marks, with the users it concerns, and a row
# "m" of the newest ids, which shows when rows were deleted (SQLite then reuses their ids).
POLL_QUERY = text(
    """
    SELECT 'm', (SELECT coalesce(max(id), 0) FROM notification),
      (SELECT coalesce(max(id), 0) FROM message),
      (SELECT coalesce(max(id), 0) FROM session_event), NULL
    UNION ALL
    SELECT 'n', n.id, n.id, n.user_id, NULL FROM notification n WHERE n.id > :n
    UNION ALL
    SELECT 'c', m.id, m.conversation_id, c.mentor_id, c.mentee_id
      FROM message m JOIN conversation c ON c.id = m.conversation_id WHERE m.id > :c
    UNION ALL
    SELECT 's', e.id, e.live_session_id, s.mentor_id, s.mentee_id
      FROM session_event e JOIN live_session s ON s.id = e.live_session_id WHERE e.id > :s
    """
)
MARKS_QUERY = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM notification),"
    " (SELECT coalesce(max(id), 0) FROM message),"
    " (SELECT coalesce(max(id), 0) FROM session_event)"
)


@dataclass(frozen=True)
class Change:
    """A new notification, or a change of a conversation or live session, and whom it concerns."""

    kind: str
    object_id: int
    user_ids: tuple[int, ...]


def encode_payloads(changes: Iterable[Change]) -> list[str]:
    """Encode changes as NOTIFY payloads of ids only, each below PAYLOAD_MAX_BYTES."""
    payloads: list[str] = []
    batch: dict[str, list[list[int]]] = {}
    size = 2
    for change in changes:
        entry = [change.object_id, *change.user_ids]
        entry_size = len(json.dumps(entry)) + len(change.kind) + 6
        if batch and size + entry_size > PAYLOAD_MAX_BYTES:
            payloads.append(json.dumps(batch, separators=(",", ":")))
            batch, size = {}, 2
        batch.setdefault(change.kind, []).append(entry)
        size += entry_size
    if batch:
        payloads.append(json.dumps(batch, separators=(",", ":")))
    return payloads


def decode_payload(payload: str) -> list[Change]:
    """Decode one NOTIFY payload; raise ValueError when it is not ours."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("payload is not a JSON object")
    changes = []
    for kind in KINDS:
        for entry in data.get(kind, []):
            object_id, *user_ids = (int(value) for value in entry)
            changes.append(Change(kind, object_id, tuple(user_ids)))
    return changes


@dataclass(eq=False)
class Subscriber:
    """One open socket of one user, with the changes delivered since the socket last took them."""

    user_id: int
    wake: Callable[[], None]
    notification_ids: set[int] = field(default_factory=set)
    notifications_due: bool = False
    conversation_ids: set[int] = field(default_factory=set)
    live_session_ids: set[int] = field(default_factory=set)
    closing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, change: Change | None) -> None:
        """Record a change (None: look for missed notifications) and wake the socket."""
        with self.lock:
            if change is None:
                self.notifications_due = True
            elif change.kind == KIND_NOTIFICATION:
                self.notifications_due = True
                self.notification_ids.add(change.object_id)
            elif change.kind == KIND_CONVERSATION:
                self.conversation_ids.add(change.object_id)
            elif change.kind == KIND_LIVE_SESSION:
                self.live_session_ids.add(change.object_id)
        self.wake()

    def take(self) -> tuple[bool, set[int], set[int], set[int]]:
        """Return and forget what was delivered.

        The tuple contains: notifications due, their ids, conversation ids, live session ids.
        """
        with self.lock:
            taken = (
                self.notifications_due,
                self.notification_ids,
                self.conversation_ids,
                self.live_session_ids,
            )
            self.notifications_due = False
            self.notification_ids = set()
            self.conversation_ids = set()
            self.live_session_ids = set()
        return taken

    def close(self) -> None:
        """Ask the socket to close because the server is shutting down."""
        self.closing = True
        self.wake()


class Hub:
    """The per-process hub: subscriptions by user and the thread that feeds them."""

    def __init__(self, app: Flask):
        self.poll_seconds = float(app.config["HUB_POLL_SECONDS"])
        with app.app_context():
            self.engine: Engine = db.engine
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        self.closing = False
        self._subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failing = False
        # SQLite: the newest notification, message and session-event ids seen by the poll.
        self.marks: tuple[int, int, int] | None = None

    # Subscriptions ------------------------------------------------------------------------

    def subscribe(self, user_id: int, wake: Callable[[], None]) -> Subscriber:
        """Register a socket of a user, starting the hub thread on first use."""
        subscriber = Subscriber(user_id, wake)
        with self._lock:
            self._subscribers[user_id].add(subscriber)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="openmentor-hub", daemon=True
                )
                self._thread.start()
        # A change committed before the hub listens would never reach this socket.
        if not self._ready.wait(READY_WAIT_SECONDS):
            logger.warning("notification hub not ready after %s s", READY_WAIT_SECONDS)
        if self.closing:
            subscriber.close()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a socket."""
        with self._lock:
            sockets = self._subscribers.get(subscriber.user_id)
            if sockets is not None:
                sockets.discard(subscriber)
                if not sockets:
                    del self._subscribers[subscriber.user_id]

    def socket_count(self) -> int:
        """Count the sockets subscribed in this process."""
        with self._lock:
            return sum(len(sockets) for sockets in self._subscribers.values())

    def publish(self, changes: Iterable[Change]) -> None:
        """Wake the sockets of the users each change concerns."""
        for change in changes:
            with self._lock:
                targets = [
                    subscriber
                    for user_id in set(change.user_ids)
                    for subscriber in self._subscribers.get(user_id, ())
                ]
            for subscriber in targets:
                subscriber.deliver(change)

    def _wake_all(self) -> None:
        """Make every socket look for missed notifications (changes may be lost in an outage)."""
        with self._lock:
            targets = [s for sockets in self._subscribers.values() for s in sockets]
        for subscriber in targets:
            subscriber.deliver(None)

    def close_sockets(self) -> None:
        """Ask every socket to close (code 1001) and refuse new ones: the server is stopping."""
        self.closing = True
        with self._lock:
            targets = [s for sockets in self._subscribers.values() for s in sockets]
        for subscriber in targets:
            subscriber.close()
        logger.info("closing %s websockets for shutdown", len(targets))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the hub thread and wait for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # The thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        logger.info(
            "notification hub started (%s)",
            "LISTEN" if self.is_postgresql else f"polling every {self.poll_seconds} s",
        )
        delay = RETRY_FIRST_SECONDS
        marks: tuple[int, int, int] | None = None
        while not self._stop.is_set():
            try:
                if self.is_postgresql:
                    self._listen()
                else:
                    marks = self.marks = self._poll(marks)
            except (psycopg.Error, SQLAlchemyError, OSError) as error:
                self._report_failure(error, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            else:
                delay = RETRY_FIRST_SECONDS
        logger.info("notification hub stopped")

    def _report_failure(self, error: Exception, delay: float) -> None:
        # One line per failed attempt; the traceback only for the first of an outage.
        where = self.engine.url.render_as_string(hide_password=True)
        if not self._failing:
            logger.error(
                "notification hub lost the database at %s, retrying in %.1f s",
                where,
                delay,
                exc_info=error,
            )
        else:
            logger.warning(
                "notification hub still cannot reach %s (%s), retrying in %.1f s",
                where,
                error,
                delay,
            )
        self._failing = True

    def _recovered(self) -> None:
        self._ready.set()
        if self._failing:
            logger.info("notification hub reconnected to the database")
            self._failing = False
            # NOTE: doorbells sent during the outage are lost; pages catch up at their next poll.
            self._wake_all()

    def _listen(self) -> None:
        """Hold a LISTEN connection and publish each NOTIFY until the hub stops."""
        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._recovered()
            while not self._stop.is_set():
                for notify in connection.notifies(timeout=LISTEN_WAKE_SECONDS):
                    self._publish_payload(notify.payload)

    def _publish_payload(self, payload: str) -> None:
        try:
            changes = decode_payload(payload)
        except (ValueError, TypeError) as error:
            logger.warning("ignored a malformed NOTIFY payload %r: %s", payload[:200], error)
            return
        self.publish(changes)

    def _poll(self, marks: tuple[int, int, int] | None) -> tuple[int, int, int]:
        """Wait HUB_POLL_SECONDS, publish the rows added since `marks`, and return new marks."""
        if marks is not None:
            self._stop.wait(self.poll_seconds)
        with self.engine.connect() as connection:
            if marks is None:
                row = connection.execute(MARKS_QUERY).one()
                self._recovered()
                return (int(row[0]), int(row[1]), int(row[2]))
            rows = connection.execute(
                POLL_QUERY, {"n": marks[0], "c": marks[1], "s": marks[2]}
            ).all()
        self._recovered()
        newest = dict(zip(KINDS, marks, strict=True))
        changes = []
        for kind, row_id, object_id, first_user, second_user in rows:
            if kind == "m":
                # A mark above the newest row means rows were deleted: follow them down.
                table_newest = (row_id, object_id, first_user)
                for table_kind, newest_id in zip(KINDS, table_newest, strict=True):
                    newest[table_kind] = min(newest[table_kind], int(newest_id))
                continue
            newest[kind] = max(newest[kind], int(row_id))
            users = tuple(int(user) for user in (first_user, second_user) if user is not None)
            changes.append(Change(kind, int(object_id), users))
        if changes:
            self.publish(dict.fromkeys(changes))
        return (newest["n"], newest["c"], newest["s"])


_hubs_lock = threading.Lock()


def hub_for(app: Flask) -> Hub:
    """Return the app's hub in this process, creating it on first use."""
    hub = app.extensions.get(EXTENSION_KEY)
    if hub is None:
        with _hubs_lock:
            hub = app.extensions.get(EXTENSION_KEY)
            if hub is None:
                hub = app.extensions[EXTENSION_KEY] = Hub(app)
    return hub


def running_hub(app: Flask) -> Hub | None:
    """Return the app's hub if this process has started one."""
    return app.extensions.get(EXTENSION_KEY)


def close_sockets(app: Flask) -> None:
    """Close this process's websockets with code 1001; the server calls it on SIGTERM."""
    hub = running_hub(app)
    if hub is not None:
        hub.close_sockets()
