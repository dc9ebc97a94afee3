"""The notification websocket, served by werkzeug in a thread on the test database."""

from __future__ import annotations

import json
import threading
import time

import pytest
import websocket
from sqlalchemy import text
from werkzeug.serving import make_server

from webapp import clock, database
from webapp.chat.models import Conversation, Message
from webapp.extensions import db
from webapp.notifications import services
from webapp.notifications.hub import KIND_LIVE_SESSION, running_hub
from webapp.requests.models import HelpRequest
from webapp.sessions.models import LiveSession, SessionEvent

# Bounded waits: SQLite's hub polls every 0.05 s in these tests.
WAIT_SECONDS = 5.0


class SocketServer:
    """The app served on 127.0.0.1 by werkzeug in a thread, for websocket clients."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.sockets: list[websocket.WebSocket] = []

    def connect(self, cookie: str | None, *, after: int | None = None, origin: str | None = None):
        """Open a socket with a login cookie (or none) and an Origin header."""
        url = f"ws://127.0.0.1:{self.port}/ws/notifications"
        if after is not None:
            url += f"?after={after}"
        header = [f"Cookie: session={cookie}"] if cookie else []
        # Kept before connecting: a rejected handshake leaves a TCP socket to close.
        ws = websocket.WebSocket()
        self.sockets.append(ws)
        ws.connect(url, header=header, origin=origin or self.origin, timeout=WAIT_SECONDS)
        return ws

    def stop(self) -> None:
        for ws in self.sockets:
            ws.close()
        hub = running_hub(self.app)
        if hub is not None:
            hub.close_sockets()
            deadline = time.monotonic() + WAIT_SECONDS
            while hub.socket_count() and time.monotonic() < deadline:
                time.sleep(0.01)
            hub.stop()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT_SECONDS)


@pytest.fixture
def socket_server(app):
    app.config["HUB_POLL_SECONDS"] = 0.05
    server = SocketServer(app)
    yield server
    server.stop()


def login_cookie(app, user) -> str:
    """Log a user in through the real form and return the session cookie's value."""
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 303
    return client.get_cookie("session").value


def receive(ws) -> dict:
    return json.loads(ws.recv())


def receive_until_ready(ws) -> list[dict]:
    """Return the messages before the "ready" message."""
    messages = []
    while (message := receive(ws))["type"] != "ready":
        messages.append(message)
    return messages


def assert_silent(ws, seconds: float = 0.4) -> None:
    """Check that nothing arrives within `seconds` (no duplicate, no stray message)."""
    ws.settimeout(seconds)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.settimeout(WAIT_SECONDS)


def create_notifications(app, user_id: int, count: int) -> list[int]:
    with app.app_context():
        database.begin_write()
        ids = [
            services.notify(user_id, "test", f"Notification {number}", f"/n/{number}").id
            for number in range(count)
        ]
        database.commit()
        return ids


def create_conversation(app, mentor_id: int, mentee_id: int) -> int:
    with app.app_context():
        database.begin_write()
        help_request = HelpRequest(mentee_id=mentee_id, title="Flask", description="Help")
        db.session.add(help_request)
        db.session.flush()
        conversation = Conversation(
            help_request_id=help_request.id, mentor_id=mentor_id, mentee_id=mentee_id
        )
        db.session.add(conversation)
        database.commit()
        return conversation.id


def post_message(app, conversation_id: int, author_id: int) -> None:
    with app.app_context():
        database.begin_write()
        db.session.add(Message(conversation_id=conversation_id, author_id=author_id, body="Hi"))
        database.commit()


def test_websocket_pushes_new_notification(app, socket_server, create_user):
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws) == {"type": "ready", "unread": 0}

    [notification_id] = create_notifications(app, mentee.id, 1)

    message = receive(ws)
    assert message["type"] == "notification"
    assert message["id"] == notification_id
    assert message["text"] == "Notification 0"
    assert message["url"] == "/n/0"
    assert message["unread"] == 1
    assert_silent(ws)


def test_websocket_reconnect_replays_exactly_the_missed(app, socket_server, create_user):
    mentee = create_user()
    cookie = login_cookie(app, mentee)
    ws = socket_server.connect(cookie)
    assert receive(ws)["type"] == "ready"
    [seen_id] = create_notifications(app, mentee.id, 1)
    assert receive(ws)["id"] == seen_id
    ws.close()

    missed_ids = create_notifications(app, mentee.id, 3)

    ws = socket_server.connect(cookie, after=seen_id)
    replayed = receive_until_ready(ws)
    assert [message["id"] for message in replayed] == missed_ids
    assert [message["text"] for message in replayed] == [f"Notification {n}" for n in range(3)]
    assert_silent(ws)


def test_websocket_without_after_replays_nothing(app, socket_server, create_user):
    mentee = create_user()
    create_notifications(app, mentee.id, 2)
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws) == {"type": "ready", "unread": 2}


def test_websocket_only_reaches_the_user_concerned(app, socket_server, create_user):
    mentee = create_user()
    other = create_user()
    ws_other = socket_server.connect(login_cookie(app, other))
    assert receive(ws_other)["type"] == "ready"
    ws_mentee = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws_mentee)["type"] == "ready"

    [notification_id] = create_notifications(app, mentee.id, 1)

    assert receive(ws_mentee)["id"] == notification_id
    assert_silent(ws_other)


def test_websocket_foreign_origin_is_rejected(app, socket_server, create_user):
    mentee = create_user()
    cookie = login_cookie(app, mentee)
    served = socket_server.connect(cookie)
    assert receive(served)["type"] == "ready"

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        socket_server.connect(cookie, origin="http://evil.example")
    assert refused.value.status_code == 403

    [notification_id] = create_notifications(app, mentee.id, 1)
    assert receive(served)["id"] == notification_id


def test_websocket_without_login_is_rejected(app, socket_server, create_user):
    mentee = create_user()
    served = socket_server.connect(login_cookie(app, mentee))
    assert receive(served)["type"] == "ready"

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        socket_server.connect(None)
    assert refused.value.status_code == 401

    [notification_id] = create_notifications(app, mentee.id, 1)
    assert receive(served)["id"] == notification_id


def test_websocket_chat_message_rings_both_participants(app, socket_server, create_user):
    mentor = create_user(mentor=True)
    mentee = create_user()
    conversation_id = create_conversation(app, mentor.id, mentee.id)
    ws_mentor = socket_server.connect(login_cookie(app, mentor))
    ws_mentee = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws_mentor)["type"] == "ready"
    assert receive(ws_mentee)["type"] == "ready"

    post_message(app, conversation_id, mentor.id)

    assert receive(ws_mentee) == {"type": "conversation", "id": conversation_id}
    assert receive(ws_mentor) == {"type": "conversation", "id": conversation_id}


def test_websocket_session_event_rings_live_session(app, socket_server, create_user):
    mentor = create_user(mentor=True)
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws)["type"] == "ready"

    with app.app_context():
        database.begin_write()
        live_session = LiveSession(
            token="t" * 32, mentor_id=mentor.id, mentee_id=mentee.id, kind="free"
        )
        db.session.add(live_session)
        db.session.flush()
        db.session.add(
            SessionEvent(live_session_id=live_session.id, seq=1, kind="created", at=clock.now())
        )
        database.commit()
        live_session_id = live_session.id

    assert receive(ws) == {"type": "live_session", "id": live_session_id}


def test_websocket_explicit_doorbell_rings(app, socket_server, create_user):
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws)["type"] == "ready"

    with app.app_context():
        database.begin_write()
        services.doorbell(KIND_LIVE_SESSION, [41], [mentee.id])
        database.commit()

    assert receive(ws) == {"type": "live_session", "id": 41}


def test_websocket_rolled_back_notification_is_not_sent(app, socket_server, create_user):
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws)["type"] == "ready"

    with app.app_context():
        database.begin_write()
        services.notify(mentee.id, "test", "Never committed")
        database.rollback()
    [notification_id] = create_notifications(app, mentee.id, 1)

    message = receive(ws)
    assert message["id"] == notification_id
    assert message["text"] == "Notification 0"
    assert_silent(ws)


def test_websocket_closes_with_1001_on_shutdown(app, socket_server, create_user):
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws)["type"] == "ready"

    running_hub(app).close_sockets()

    opcode, frame = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame[:2], "big") == 1001
    # The server has closed its end: drop ours without waiting for a closing handshake.
    ws.shutdown()


def test_websocket_revoked_login_closes_with_1008(app, socket_server, create_user):
    mentee = create_user()
    client = app.test_client()
    client.post("/login", data={"email": mentee.email, "password": mentee.password})
    ws = socket_server.connect(client.get_cookie("session").value)
    assert receive(ws)["type"] == "ready"

    assert client.post("/logout").status_code == 303
    create_notifications(app, mentee.id, 1)

    # The notification is not sent: the socket closes instead.
    opcode, frame = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame[:2], "big") == 1008
    ws.shutdown()


def listen_connections(app, *, terminate: bool = False) -> int:
    """Count (or terminate, as a database restart would) the hub's LISTEN connections."""
    action = "pg_terminate_backend(pid)" if terminate else "pid"
    with app.app_context(), db.engine.begin() as connection:
        rows = connection.execute(
            text(
                f"SELECT {action} FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        ).all()
    return len(rows)


def test_hub_reconnects_after_losing_listen_connection(app, socket_server, create_user):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("only PostgreSQL has a LISTEN connection")
    mentee = create_user()
    ws = socket_server.connect(login_cookie(app, mentee))
    assert receive(ws)["type"] == "ready"
    deadline = time.monotonic() + WAIT_SECONDS
    while listen_connections(app) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    assert listen_connections(app, terminate=True) == 1
    [notification_id] = create_notifications(app, mentee.id, 1)

    # A NOTIFY sent while the hub was away is lost; the hub makes every socket look again.
    assert receive(ws)["id"] == notification_id
    assert_silent(ws)
