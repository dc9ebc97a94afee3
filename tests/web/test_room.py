"""The session room: its page, polled fragments and forms, and the status of each response."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.web.sessions_support import (
    Pair,
    act,
    create,
    credit,
    enter,
    invoice_of,
    kinds,
    row,
)
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.sessions.models import Presence

HTMX = {"HX-Request": "true"}
CHECKLIST = {
    "clear_request": "y",
    "can_help": "y",
    "call_ready": "y",
    "environment_ready": "y",
}


class Person:
    """Log the one test client in as a mentor, a mentee or an outsider by user id."""

    def __init__(self, client, users):
        self.client = client
        self.users = users
        self.current = None

    def be(self, user_id: int) -> None:
        if self.current == user_id:
            return
        if self.current is not None:
            self.client.post("/logout")
        user = self.users[user_id]
        response = self.client.post("/login", data={"email": user.email, "password": user.password})
        assert response.status_code == 303
        self.current = user_id


@dataclass
class RoomPeople:
    """The people of a room (and an outsider) by id, and the client that logs in as each."""

    pair: Pair
    person: Person

    @property
    def mentor(self) -> int:
        return self.pair.mentor

    @property
    def mentee(self) -> int:
        return self.pair.mentee

    @property
    def outsider(self) -> int:
        return self.pair.outsider


@pytest.fixture
def room(app, client, create_user) -> RoomPeople:
    """A mentor at 20.00 per 15 minutes, a mentee with 500.00 of credit, and an outsider."""
    mentor = create_user(mentor=True, mentee=False, rate_15_cents=2000, name="Maya Mentor")
    mentee = create_user(name="Milo Mentee")
    outsider = create_user(mentor=True, rate_15_cents=1500, name="Otto Outsider")
    credit(app, mentee.id, 50_000)
    person = Person(client, {user.id: user for user in (mentor, mentee, outsider)})
    return RoomPeople(Pair(mentor.id, mentee.id, outsider.id), person)


def paid(app, room) -> str:
    return create(app, room.pair, "paid")


def free(app, room) -> str:
    return create(app, room.pair, "free")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def post_action(client, token, action, data=None, headers=None):
    return client.post(
        f"/sessions/{token}/actions", data={"action": action, **(data or {})}, headers=headers or {}
    )


def running_paid(app, client, room) -> str:
    """Create a paid session, bring both in, request and start it."""
    token = paid(app, room)
    enter(app, token, room.mentor)
    enter(app, token, room.mentee)
    assert act(app, token, room.mentor, "request_start") == "start_requested"
    assert act(app, token, room.mentee, "start") == "running"
    return token


def test_room_shows_preview_people_and_price(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = client.get(f"/sessions/{token}")
    assert response.status_code == 200
    body = text_of(response)
    assert 'data-live-session-token="' + token + '"' in body
    assert "Preview — not billed" in body
    assert "Milo Mentee (mentee, you):\n        in the room" in body
    assert "Maya Mentor (mentor):\n        not in the room" in body
    assert '<strong id="room-rate">20.00 USD</strong>' in body
    assert '<th scope="row">60 minutes</th><td class="number">80.00 USD</td>' in body
    assert '<noscript><meta http-equiv="refresh" content="10; url=/sessions/' in body
    assert 'hx-sync="#room:queue first"' in body


def test_room_mentee_entry_notifies_mentor_once(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    client.get(f"/sessions/{token}")
    client.get(f"/sessions/{token}")
    assert kinds(app, token) == ["created", "joined"]
    with app.app_context():
        texts = list(
            db.session.scalars(select(Notification.text).where(Notification.user_id == room.mentor))
        )
    with app.app_context():
        mentee_name = db.session.get(User, room.mentee).name
    assert texts.count(f"{mentee_name} entered the session room. Join them there.") == 1


@pytest.mark.parametrize("path", ["", "/timer", "/controls"], ids=["room", "timer", "controls"])
def test_room_outsider_and_unknown_token_get_404(app, client, room, path):
    token = paid(app, room)
    room.person.be(room.outsider)
    assert client.get(f"/sessions/{token}{path}").status_code == 404
    assert client.get(f"/sessions/no-such-token{path}").status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/actions", {"action": "end"}),
        ("/meeting-link", {"url": "https://example.com/call"}),
        ("/jitsi", {}),
        ("/cap", {"cap_minutes": "30"}),
    ],
)
def test_room_forms_outsider_gets_404(app, client, room, path, data):
    token = paid(app, room)
    room.person.be(room.outsider)
    assert client.post(f"/sessions/{token}{path}", data=data).status_code == 404
    assert row(app, token).state == "open"
    assert row(app, token).meeting_url == ""


def test_room_needs_login(app, client, room):
    token = paid(app, room)
    response = client.get(f"/sessions/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = client.get(f"/sessions/{token}/timer", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_room_mentor_cannot_start_billing(app, client, room):
    token = paid(app, room)
    enter(app, token, room.mentee)
    room.person.be(room.mentor)
    for state in ("open", "start_requested"):
        body = text_of(client.get(f"/sessions/{token}"))
        assert 'name="action" value="start"' not in body, state
        response = post_action(client, token, "start")
        assert response.status_code == 403
        assert "Only the mentee can start billing." in text_of(response)
        assert row(app, token).state == state
        if state == "open":
            assert post_action(client, token, "request_start", CHECKLIST).status_code == 303


def test_room_request_start_needs_every_checklist_item(app, client, room):
    token = paid(app, room)
    enter(app, token, room.mentee)
    room.person.be(room.mentor)
    body = text_of(client.get(f"/sessions/{token}"))
    assert '<summary class="button primary">Start Session</summary>' in body
    assert f'<a id="start-session" href="/sessions/{token}/checklist">' in body
    page = client.get(f"/sessions/{token}/checklist")
    assert page.status_code == 200
    assert 'value="request_start"' in text_of(page)
    assert "http-equiv" not in text_of(page)
    for missing in CHECKLIST:
        data = {key: value for key, value in CHECKLIST.items() if key != missing}
        response = post_action(client, token, "request_start", data)
        assert response.status_code == 422, missing
        body = text_of(response)
        assert "Tick every item of the checklist" in body
        assert "Tick this item before requesting to start the session." in body
        for ticked in data:
            assert f'<input checked id="{ticked}"' in body, ticked
        assert f'<input checked id="{missing}"' not in body
        assert row(app, token).state == "open"
    response = post_action(client, token, "request_start", CHECKLIST)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/sessions/{token}"
    assert row(app, token).state == "start_requested"
    response = client.get(f"/sessions/{token}/checklist")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/sessions/{token}"


def test_room_checklist_through_htmx_gets_fragment(app, client, room):
    token = paid(app, room)
    enter(app, token, room.mentee)
    room.person.be(room.mentor)
    response = post_action(client, token, "request_start", {"can_help": "y"}, headers=HTMX)
    assert response.status_code == 422
    body = text_of(response)
    assert body.lstrip().startswith('<section id="room-controls"')
    assert "Tick every item of the checklist" in body
    assert '<input checked id="can_help"' in body
    response = post_action(client, token, "request_start", CHECKLIST, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "session:changed"
    assert 'id="waiting-for-mentee"' in text_of(response)


def test_room_checklist_page_is_mentor_only(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    assert client.get(f"/sessions/{token}/checklist").status_code == 403
    room.person.be(room.outsider)
    assert client.get(f"/sessions/{token}/checklist").status_code == 404


def test_room_request_start_needs_mentee_in_room(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentor)
    response = post_action(client, token, "request_start", CHECKLIST)
    assert response.status_code == 409
    assert "The mentee is not in the room yet." in text_of(response)
    assert row(app, token).state == "open"


def test_room_mentee_request_start_is_403_before_checklist(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = post_action(client, token, "request_start")
    assert response.status_code == 403


def test_room_action_wrong_state_is_409(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = post_action(client, token, "pause")
    assert response.status_code == 409
    assert "The session has not started yet." in text_of(response)
    response = post_action(client, token, "pause", headers=HTMX)
    assert response.status_code == 409
    body = text_of(response)
    assert body.lstrip().startswith('<section id="room-controls"')
    assert 'data-status="409"' in body
    assert "The session has not started yet." in body


def test_room_unknown_action_is_422(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = post_action(client, token, "explode")
    assert response.status_code == 422


def test_room_paid_flow_through_htmx(app, client, room, clock):
    token = paid(app, room)
    enter(app, token, room.mentor)
    room.person.be(room.mentee)
    client.get(f"/sessions/{token}")
    assert act(app, token, room.mentor, "request_start") == "start_requested"
    body = text_of(client.get(f"/sessions/{token}"))
    assert 'name="action" value="start"' in body
    response = post_action(client, token, "start", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "session:changed"
    assert 'id="room-state" hx-swap-oob="innerHTML"' in text_of(response)
    assert "Running — billed" in text_of(response)

    clock.advance(seconds=75)
    enter(app, token, room.mentor)
    timer = text_of(client.get(f"/sessions/{token}/timer", headers=HTMX))
    assert '<span id="timer-value">00:01:15</span>' in timer
    assert '<strong id="amount-so-far">20.00 USD</strong>' in timer
    assert "The timer pauses by itself when nobody has this page open for 5 minutes" in timer
    assert '<progress id="limit-left"' in timer

    assert post_action(client, token, "pause", headers=HTMX).status_code == 200
    clock.advance(seconds=30)
    timer = text_of(client.get(f"/sessions/{token}/timer", headers=HTMX))
    assert '<span id="timer-value">00:01:15</span>' in timer
    assert "Paused — not billed" in timer
    assert post_action(client, token, "resume").status_code == 303
    clock.advance(seconds=5)
    assert post_action(client, token, "end").status_code == 303

    body = text_of(client.get(f"/sessions/{token}"))
    assert '<strong id="final-time">00:01:20</strong>' in body
    invoice = invoice_of(app, token)
    assert invoice.total_cents == 2000
    assert f'href="/invoices/{invoice.id}"' in body
    assert "hx-trigger" not in body
    assert 'http-equiv="refresh"' not in body
    timer = text_of(client.get(f"/sessions/{token}/timer", headers=HTMX))
    assert "hx-trigger" not in timer
    assert "hx-get" not in timer
    controls = client.get(f"/sessions/{token}/controls?v=1&p=&s=ended", headers=HTMX)
    assert controls.status_code == 200
    assert "hx-trigger" not in text_of(controls)


def test_room_double_end_is_one_end(app, client, room):
    token = running_paid(app, client, room)
    room.person.be(room.mentee)
    assert post_action(client, token, "end").status_code == 303
    assert post_action(client, token, "end").status_code == 303
    assert kinds(app, token).count("ended") == 1


def test_room_controls_poll_answers_204_when_nothing_changed(app, client, room):
    token = paid(app, room)
    enter(app, token, room.mentor)
    room.person.be(room.mentee)
    body = text_of(client.get(f"/sessions/{token}"))
    url = re.search(r'hx-get="(/sessions/[^"]+/controls\?[^"]+)"', body).group(1)
    url = url.replace("&amp;", "&")
    assert client.get(url, headers=HTMX).status_code == 204
    timer_url = re.search(r'hx-get="(/sessions/[^"]+/timer\?[^"]+)"', body).group(1)
    assert client.get(timer_url.replace("&amp;", "&"), headers=HTMX).status_code == 204
    assert act(app, token, room.mentor, "request_start") == "start_requested"
    changed = client.get(url, headers=HTMX)
    assert changed.status_code == 200
    assert 'name="action" value="start"' in text_of(changed)


def test_room_running_timer_poll_always_answers(app, client, room, clock):
    token = running_paid(app, client, room)
    room.person.be(room.mentee)
    body = text_of(client.get(f"/sessions/{token}"))
    timer_url = re.search(r'hx-get="(/sessions/[^"]+/timer\?[^"]+)"', body).group(1)
    clock.advance(seconds=3)
    response = client.get(timer_url.replace("&amp;", "&"), headers=HTMX)
    assert response.status_code == 200
    assert '<span id="timer-value">00:00:03</span>' in text_of(response)


def test_room_prefetch_writes_nothing(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = client.get(f"/sessions/{token}", headers={"Sec-Purpose": "prefetch"})
    assert response.status_code == 200
    assert kinds(app, token) == ["created"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Presence)) == 0


@pytest.mark.app_config(PRESENCE_WRITE_SECONDS=20)
def test_room_poll_is_heartbeat(app, client, room, clock):
    token = paid(app, room)
    room.person.be(room.mentee)
    client.get(f"/sessions/{token}")
    clock.advance(seconds=25)
    client.get(f"/sessions/{token}/controls", headers=HTMX)
    with app.app_context():
        seen = db.session.scalar(select(Presence.last_seen_at))
    assert seen == clock()


def test_room_meeting_link_https_only(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentor)
    for bad in ("http://example.com/call", "javascript:alert(1)", "ftp://example.com", "https://"):
        response = client.post(f"/sessions/{token}/meeting-link", data={"url": bad})
        assert response.status_code == 422, bad
        assert "Enter a meeting link that starts with https://." in text_of(response)
    assert row(app, token).meeting_url == ""
    response = client.post(
        f"/sessions/{token}/meeting-link", data={"url": "https://zoom.example.com/j/123"}
    )
    assert response.status_code == 303
    room.person.be(room.mentee)
    body = text_of(client.get(f"/sessions/{token}"))
    assert (
        '<a id="meeting-link" href="https://zoom.example.com/j/123" target="_blank" '
        'rel="noopener noreferrer">' in body
    )


def test_room_jitsi_link_is_random(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    assert client.post(f"/sessions/{token}/jitsi").status_code == 303
    first = row(app, token).meeting_url
    assert client.post(f"/sessions/{token}/jitsi").status_code == 303
    second = row(app, token).meeting_url
    assert re.fullmatch(r"https://meet\.jit\.si/OpenMentor-[A-Za-z0-9_-]{24}", first)
    assert first != second


def test_room_cap_set_raise_lower_remove(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentee)
    for minutes in ("30", "60", "20"):
        response = client.post(f"/sessions/{token}/cap", data={"cap_minutes": minutes})
        assert response.status_code == 303
        assert row(app, token).cap_minutes == int(minutes)
    assert "Spending cap: 20 billed minutes." in text_of(client.get(f"/sessions/{token}"))
    response = client.post(f"/sessions/{token}/cap", data={"remove": "1"})
    assert response.status_code == 303
    assert row(app, token).cap_minutes is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter the spending cap as a whole number of minutes."),
        ("ten", "Enter the spending cap as a whole number of minutes."),
        ("1.5", "Enter the spending cap as a whole number of minutes."),
        ("0", "The spending cap cannot be below 15 minutes."),
        ("-1", "The spending cap cannot be below 15 minutes."),
        ("10", "The spending cap cannot be below 15 minutes."),
    ],
)
def test_room_cap_bad_input_is_422(app, client, room, value, message):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = client.post(f"/sessions/{token}/cap", data={"cap_minutes": value})
    assert response.status_code == 422
    assert message in text_of(response)
    assert row(app, token).cap_minutes is None


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_room_cap_error_names_one_rule(app, client, room, value):
    token = paid(app, room)
    room.person.be(room.mentee)
    response = client.post(f"/sessions/{token}/cap", data={"cap_minutes": value}, headers=HTMX)
    text = text_of(response)
    assert response.status_code == 422
    assert "at least 1 minute" not in text
    assert "Not a valid integer value." not in text


def test_room_cap_mentor_is_403(app, client, room):
    token = paid(app, room)
    room.person.be(room.mentor)
    response = client.post(f"/sessions/{token}/cap", data={"cap_minutes": "30"})
    assert response.status_code == 403
    assert row(app, token).cap_minutes is None


def test_room_free_session_start_warning_and_end_banners(app, client, room, clock):
    token = free(app, room)
    enter(app, token, room.mentor)
    room.person.be(room.mentee)
    body = text_of(client.get(f"/sessions/{token}"))
    assert "Maya Mentor (mentor):\n        in the room" in body
    assert "<summary" not in body
    assert post_action(client, token, "start").status_code == 303
    clock.advance(seconds=2100)
    body = text_of(client.get(f"/sessions/{token}"))
    assert "The free session ends by itself in 5 minutes." in body
    assert '<progress id="free-progress" max="2400" value="2100">' in body
    assert "Running — free, not billed" in body
    assert "Running — billed" not in body
    assert '<h2 id="room-timer-heading">Running time</h2>' in body
    clock.advance(seconds=300)
    body = text_of(client.get(f"/sessions/{token}"))
    assert "The session ended by itself: the free session reached its time limit." in body
    assert '<strong id="final-time">00:40:00</strong>' in body
    assert invoice_of(app, token) is None


@pytest.mark.app_config(IDLE_PAUSE_SECONDS=300, PRESENCE_WRITE_SECONDS=20)
def test_room_idle_pause_banner(app, client, room, clock):
    token = running_paid(app, client, room)
    clock.advance(seconds=600)
    room.person.be(room.mentee)
    body = text_of(client.get(f"/sessions/{token}"))
    assert "The session paused by itself: nobody had the room open for 5 minutes." in body
    assert "Paused — not billed" in body
    assert '<span id="timer-value">00:05:00</span>' in body


def test_room_nudge_once_a_minute(app, client, room, clock):
    token = paid(app, room)
    enter(app, token, room.mentee)
    room.person.be(room.mentor)
    assert post_action(client, token, "request_start", CHECKLIST).status_code == 303
    assert post_action(client, token, "nudge").status_code == 303
    response = post_action(client, token, "nudge")
    assert response.status_code == 429
    assert "You nudged a moment ago." in text_of(response)
    clock.advance(seconds=60)
    assert post_action(client, token, "nudge").status_code == 303
    assert kinds(app, token).count("nudged") == 2
