"""The `/ws/notifications` websocket: replay what a browser missed, then push live changes.

Messages from the server, one JSON object each:
    {"type": "notification", "id": 12, "kind": "...", "text": "...", "url": "/...",
     "created_at": "2026-01-05T09:00:00+00:00", "unread": 3}
    {"type": "ready", "unread": 3}        after the replay of missed notifications
    {"type": "conversation", "id": 5}     a doorbell: the chat of conversation 5 changed
    {"type": "live_session", "id": 9}     a doorbell: live session 9 changed
Doorbells are neither stored nor replayed; the page refetches what they name. The browser
opens the socket with `?after=<newest notification id it has seen>` and sends nothing else.
"""

from __future__ import annotations

import json
import logging
from collections import deque

from flask import Blueprint, Flask, abort, current_app, g, request
from flask_login import current_user
from simple_websocket import Server

from webapp.extensions import db, sock
from webapp.notifications import services
from webapp.notifications.hub import Subscriber, hub_for
from webapp.security import origin_allowed

logger = logging.getLogger(__name__)

bp = Blueprint("live", __name__)

# Close code 1001 ("going away"): the browser reconnects to the restarted server.
CLOSE_GOING_AWAY = 1001
# Close code 1008 ("policy violation"): the login was revoked or expired.
CLOSE_SIGNED_OUT = 1008
REPLAY_BATCH = 100
# Ids sent through this socket that a late NOTIFY may name again.
RECENT_IDS_KEPT = 500


@bp.before_request
def check_handshake():
    """Reject handshakes from foreign origins or without a login, before upgrading."""
    if not origin_allowed(request):
        logger.warning("rejected a websocket from origin %r", request.headers.get("Origin"))
        abort(403, "This page may not open a notification socket here.")
    if not current_user.is_authenticated:
        abort(401, "Sign in to receive notifications.")


@sock.route("/ws/notifications", bp=bp)
def notifications_socket(ws: Server) -> None:
    """Serve one browser's notification socket until it closes or the server stops."""
    user_id = current_user.id
    after_id = _parse_after(request.args.get("after"))
    hub = hub_for(current_app._get_current_object())
    # Subscribe before reading the baseline, so a change between the two is not missed.
    subscriber = hub.subscribe(user_id, ws.event.set)
    try:
        if after_id is None:
            after_id = services.newest_id(user_id)
            db.session.remove()
        LiveSocket(ws, subscriber, after_id).run()
    finally:
        hub.unsubscribe(subscriber)
        db.session.remove()


def _parse_after(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


class LiveSocket:
    """The loop of one socket: wait for the hub or the browser, then send what is due."""

    def __init__(self, ws: Server, subscriber: Subscriber, after_id: int):
        self.ws = ws
        self.subscriber = subscriber
        self.last_id = after_id
        self.recent_ids: deque[int] = deque(maxlen=RECENT_IDS_KEPT)
        self.wait_seconds = float(current_app.config["WS_PING_SECONDS"])

    def run(self) -> None:
        """Replay missed notifications, then forward the hub's changes until the socket ends."""
        if not self.send_notifications(set()):
            return
        self.send({"type": "ready", "unread": self.unread()})
        while True:
            # simple-websocket sets ws.event on every incoming message and on close; the hub
            # sets it too, so one wait covers both. Clear first so no wake-up is lost.
            self.ws.event.clear()
            if self.subscriber.closing:
                self.ws.close(reason=CLOSE_GOING_AWAY, message="The server is restarting.")
                return
            # The browser sends nothing we need; receive() raises ConnectionClosed once closed.
            while self.ws.receive(timeout=0) is not None:
                pass
            due, notification_ids, conversation_ids, live_session_ids = self.subscriber.take()
            if due and not self.send_notifications(notification_ids):
                return
            for conversation_id in sorted(conversation_ids):
                self.send({"type": "conversation", "id": conversation_id})
            for live_session_id in sorted(live_session_ids):
                self.send({"type": "live_session", "id": live_session_id})
            woken = self.ws.event.wait(self.wait_seconds)
            # A logout elsewhere or a password change revokes the login: stop serving it.
            if not woken and not self.login_is_valid():
                return

    def send_notifications(self, also_ids: set[int]) -> bool:
        """Send, oldest first, every notification newer than the last sent, and `also_ids`.

        Returns False when the login ended, after closing the socket.
        """
        also_ids = also_ids - set(self.recent_ids)
        while True:
            found = services.notifications_after(
                self.subscriber.user_id, self.last_id, also_ids, limit=REPLAY_BATCH
            )
            rows = [
                {
                    "type": "notification",
                    "id": notification.id,
                    "kind": notification.kind,
                    "text": notification.text,
                    "url": notification.url,
                    "created_at": notification.created_at.isoformat(),
                }
                for notification in found
                if notification.id not in self.recent_ids
            ]
            unread = services.unread_count(self.subscriber.user_id) if rows else 0
            # An idle socket must hold no database connection.
            db.session.remove()
            if rows and not self.login_is_valid():
                return False
            for row in rows:
                self.send({**row, "unread": unread})
                self.recent_ids.append(row["id"])
                self.last_id = max(self.last_id, row["id"])
            if len(found) < REPLAY_BATCH:
                return True
            also_ids = set()

    def login_is_valid(self) -> bool:
        """Load the login of the cookie again; close the socket (1008) when it is revoked."""
        # Flask-Login caches the user in g._login_user; without it, current_user reloads.
        g.pop("_login_user", None)
        valid = current_user.is_authenticated and current_user.id == self.subscriber.user_id
        db.session.remove()
        if not valid:
            logger.info("closing the socket of user %s: login ended", self.subscriber.user_id)
            self.ws.close(reason=CLOSE_SIGNED_OUT, message="Signed out.")
        return valid

    def unread(self) -> int:
        """Count the user's unread notifications, returning the connection at once."""
        count = services.unread_count(self.subscriber.user_id)
        db.session.remove()
        return count

    def send(self, message: dict) -> None:
        """Send one JSON message."""
        self.ws.send(json.dumps(message, separators=(",", ":")))


def init_app(app: Flask) -> None:
    """Register the socket, its ping interval and the commit hook that rings the hub."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {"ping_interval": app.config["WS_PING_SECONDS"], "max_message_size": 4096},
    )
    services.register_commit_hook()
    app.register_blueprint(bp)

    @app.context_processor
    def _newest_notification() -> dict:
        # A function, so only the full layout that calls it runs the query (polls do not).
        return {"newest_notification_id": _newest_notification_id}


def _newest_notification_id() -> int:
    """Return the reader's newest notification id, which notify.js replays after."""
    if not current_user.is_authenticated:
        return 0
    return services.newest_id(current_user.id)
