"""The hub's NOTIFY payloads and its routing of changes to the sockets of the users concerned."""

import json
import time

import pytest
from sqlalchemy import delete

from tests.web.test_websocket import create_notifications
from webapp.extensions import db
from webapp.notifications.hub import (
    KIND_CONVERSATION,
    KIND_LIVE_SESSION,
    KIND_NOTIFICATION,
    PAYLOAD_MAX_BYTES,
    Change,
    Hub,
    decode_payload,
    encode_payloads,
)
from webapp.notifications.models import Notification


def test_payload_round_trip_keeps_ids_and_users():
    changes = [
        Change(KIND_NOTIFICATION, 7, (3,)),
        Change(KIND_CONVERSATION, 5, (3, 4)),
        Change(KIND_LIVE_SESSION, 9, (3, 4)),
    ]
    [payload] = encode_payloads(changes)
    assert json.loads(payload) == {"n": [[7, 3]], "c": [[5, 3, 4]], "s": [[9, 3, 4]]}
    assert decode_payload(payload) == changes


def test_payload_large_batch_is_split_below_limit():
    changes = [Change(KIND_NOTIFICATION, 1_000_000 + n, (2_000_000 + n,)) for n in range(2000)]
    payloads = encode_payloads(changes)
    assert len(payloads) > 1
    assert all(len(payload.encode()) < PAYLOAD_MAX_BYTES for payload in payloads)
    decoded = [change for payload in payloads for change in decode_payload(payload)]
    assert decoded == changes


def test_payload_empty_batch_sends_nothing():
    assert encode_payloads([]) == []


@pytest.mark.parametrize("payload", ["[]", "not json", '{"n": [["x", 1]]}', '{"n": [[]]}'])
def test_payload_malformed_is_rejected(payload):
    with pytest.raises((ValueError, TypeError)):
        decode_payload(payload)


def test_hub_publish_wakes_only_users_concerned(app):
    hub = Hub(app)
    woken = []
    first = hub.subscribe(1, lambda: woken.append("first"))
    other = hub.subscribe(2, lambda: woken.append("other"))

    hub.publish([Change(KIND_NOTIFICATION, 10, (1,)), Change(KIND_CONVERSATION, 5, (1, 3))])

    assert woken == ["first", "first"]
    assert first.take() == (True, {10}, {5}, set())
    assert other.take() == (False, set(), set(), set())
    hub.unsubscribe(first)
    hub.unsubscribe(other)
    assert hub.socket_count() == 0
    hub.stop()


def test_hub_poll_follows_deleted_rows_down(app, create_user):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("only the SQLite hub polls")
    app.config["HUB_POLL_SECONDS"] = 0.02
    mentee = create_user()
    create_notifications(app, mentee.id, 3)
    hub = Hub(app)
    woken = []
    hub.subscribe(mentee.id, lambda: woken.append("mentee"))
    wait_until(lambda: hub.marks is not None and hub.marks[0] == 3)

    with app.app_context():
        db.session.execute(delete(Notification))
        db.session.commit()
    wait_until(lambda: hub.marks[0] == 0)
    # SQLite gives the next row an id the hub has seen before.
    [notification_id] = create_notifications(app, mentee.id, 1)

    wait_until(lambda: woken)
    assert notification_id <= 3
    assert woken == ["mentee"]
    hub.stop()


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
