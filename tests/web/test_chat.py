"""The chat: messages both ways, the htmx poll, read markers, one-time tokens and escaping."""

import re
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.conftest import AuthActions, UserRef
from tests.web.test_requests import notifications_of, post_request
from webapp.chat.models import Message, ReadMarker, SpecialRate
from webapp.extensions import db

HTMX = {"HX-Request": "true"}
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


@dataclass
class Chat:
    """A conversation between a mentee and a mentor about one request."""

    mentee: UserRef
    mentor: UserRef
    request_id: int
    conversation_id: int

    @property
    def url(self) -> str:
        return f"/chats/{self.conversation_id}"


def open_chat(app, auth, create_user, **request_changes) -> Chat:
    """Post a request as a new mentee, reply as a new mentor, and leave the mentor logged in."""
    mentee = create_user(mentee=True, name="Milo Mentee")
    mentor = create_user(mentor=True, mentee=False, name="Maya Mentor", tags=["python"])
    auth.login(mentee)
    request_id = post_request(auth.client, **request_changes)
    auth.logout()
    auth.login(mentor)
    response = auth.client.post(f"/requests/{request_id}/reply")
    assert response.status_code == 303
    conversation_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return Chat(mentee, mentor, request_id, conversation_id)


def switch(auth, user: UserRef) -> None:
    auth.logout()
    auth.login(user)


def form_token(body: str) -> str:
    """Return the one-time token of the message form in a rendered page or fragment."""
    match = re.search(r'id="form_token" name="form_token" type="hidden" value="([^"]+)"', body)
    assert match, "no message form token in the page"
    return match.group(1)


def send(client, chat: Chat, text: str, *, token: str | None = None, headers=None):
    """Send a message with the token of a freshly rendered form unless one is given."""
    if token is None:
        token = form_token(client.get(chat.url).get_data(as_text=True))
    return client.post(
        f"{chat.url}/messages", data={"body": text, "form_token": token}, headers=headers or {}
    )


def stored_messages(app) -> list[tuple[int | None, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Message).order_by(Message.id))
        return [(row.author_id, row.kind, row.body) for row in rows]


def unread_in_list(client, chat: Chat) -> str | None:
    """Return the unread badge of a conversation in the chat list, or None without one."""
    body = client.get("/chats/").get_data(as_text=True)
    match = re.search(
        rf'href="{chat.url}">.*?</span>\s*(?:<span class="badge" aria-label="(\d+) unread">)?',
        body,
        re.S,
    )
    assert match, "conversation missing from the chat list"
    return match.group(1)


def test_chat_messages_both_ways(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    assert send(client, chat, "Hello, I can help.").status_code == 303
    switch(auth, chat.mentee)
    page = client.get(chat.url).get_data(as_text=True)
    assert "Hello, I can help." in page
    assert "Maya Mentor" in page
    assert send(client, chat, "Great, thanks!\nSecond line").status_code == 303
    switch(auth, chat.mentor)
    page = client.get(chat.url).get_data(as_text=True)
    assert "Great, thanks!\nSecond line" in page
    assert page.index("Hello, I can help.") < page.index("Great, thanks!")
    assert stored_messages(app) == [
        (chat.mentor.id, "text", "Hello, I can help."),
        (chat.mentee.id, "text", "Great, thanks!\nSecond line"),
    ]


def test_first_reply_notifies_mentee_once(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    again = client.post(f"/requests/{chat.request_id}/reply")
    assert again.headers["Location"] == chat.url
    notes = [(note.kind, note.text, note.url) for note in notifications_of(app, chat.mentee.id)]
    assert notes == [
        (
            "conversation_opened",
            "Maya Mentor replied to your request “Flask app returns 500 on login”: open the chat.",
            chat.url,
        )
    ]


def test_chat_times_in_reader_zone(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user, title="Slow SQL query")
    send(client, chat, "Morning!")
    switch(auth, chat.mentee)
    profile = {"name": "Milo Mentee", "timezone": "Europe/Berlin", "wants_help": "y"}
    assert client.post("/profile", data=profile).status_code == 303
    page = client.get(chat.url).get_data(as_text=True)
    assert "Slow SQL query" in page
    assert "It fails after the upgrade.\nTraceback below." in page
    assert '<time datetime="2026-01-05T09:00:00+00:00">2026-01-05 10:00 CET</time>' in page


def test_chat_poll_returns_only_newer_messages(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    send(client, chat, "first")
    send(client, chat, "second")
    with app.app_context():
        first_id, second_id = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    fragment = client.get(f"{chat.url}/messages?after={first_id}", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "second" in body
    assert "first" not in body
    assert "<html" not in body
    assert 'id="chat-actions"' not in body
    assert (
        f'<input type="hidden" id="chat-after" name="after" value="{second_id}" '
        'hx-swap-oob="true">' in body
    )
    assert "HX-Request" in fragment.headers["Vary"]
    nothing = client.get(f"{chat.url}/messages?after={second_id}", headers=HTMX)
    assert nothing.status_code == 204
    assert nothing.get_data(as_text=True) == ""


@pytest.mark.parametrize("after", ["", "abc", "-1", "1" * 19])
def test_chat_poll_bad_after_is_422(client, app, auth, create_user, after):
    chat = open_chat(app, auth, create_user)
    response = client.get(f"{chat.url}/messages?after={after}", headers=HTMX)
    assert response.status_code == 422
    assert "is invalid: use a whole number." in response.get_data(as_text=True)


def test_chat_page_polls_every_interval_and_on_event(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    page = client.get(chat.url).get_data(as_text=True)
    assert 'id="chat-messages"' in page
    assert f'data-conversation-id="{chat.conversation_id}"' in page
    assert 'hx-trigger="every 2s, chat:changed from:body"' in page
    assert f'hx-get="{chat.url}/messages"' in page
    assert 'hx-sync="this:queue last"' in page
    assert '<input type="hidden" id="chat-after" name="after" value="0">' in page


@pytest.mark.app_config(POLL_INTERVAL_SECONDS=5)
def test_chat_poll_interval_follows_config(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    page = client.get(chat.url).get_data(as_text=True)
    assert 'hx-trigger="every 5s, chat:changed from:body"' in page


def test_chat_htmx_post_returns_fresh_form_and_event(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    token = form_token(client.get(chat.url).get_data(as_text=True))
    response = send(client, chat, "via htmx", token=token, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "chat:changed"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="chat-form"')
    assert form_token(body) != token
    assert "via htmx" not in body
    assert stored_messages(app) == [(chat.mentor.id, "text", "via htmx")]


def test_chat_same_token_stores_once_new_token_again(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    token = form_token(client.get(chat.url).get_data(as_text=True))
    first = send(client, chat, "ok", token=token)
    retried = send(client, chat, "ok", token=token)
    assert first.status_code == 303
    assert retried.status_code == 303
    assert retried.headers["Location"] == chat.url
    assert stored_messages(app) == [(chat.mentor.id, "text", "ok")]
    assert send(client, chat, "ok").status_code == 303
    assert stored_messages(app) == [(chat.mentor.id, "text", "ok"), (chat.mentor.id, "text", "ok")]


def test_chat_token_is_per_conversation(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    other = client.post(f"/requests/{post_other_request(auth, chat)}/reply")
    other_url = other.headers["Location"]
    token = form_token(client.get(chat.url).get_data(as_text=True))
    send(client, chat, "here", token=token)
    client.post(f"{other_url}/messages", data={"body": "there", "form_token": token})
    assert [body for _, _, body in stored_messages(app)] == ["here", "there"]


def post_other_request(auth, chat: Chat) -> int:
    """Post a second request as the chat's mentee and log the mentor back in."""
    switch(auth, chat.mentee)
    request_id = post_request(auth.client, title="Another question")
    switch(auth, chat.mentor)
    return request_id


@pytest.mark.slow
def test_chat_concurrent_posts_with_one_token_store_one(app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    token = form_token(auth.client.get(chat.url).get_data(as_text=True))
    clients = [app.test_client() for _ in range(2)]
    for each in clients:
        AuthActions(each).login(chat.mentor)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(each) -> None:
        try:
            barrier.wait(timeout=10)
            response = each.post(
                f"{chat.url}/messages", data={"body": "only once", "form_token": token}
            )
            statuses.append(response.status_code)
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=post, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert statuses == [303, 303]
    assert stored_messages(app) == [(chat.mentor.id, "text", "only once")]


def test_chat_unread_counts_and_read_markers(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    send(client, chat, "one")
    send(client, chat, "two")
    assert unread_in_list(client, chat) is None
    switch(auth, chat.mentee)
    assert unread_in_list(client, chat) == "2"
    client.get(chat.url, headers={"Sec-Purpose": "prefetch"})
    assert unread_in_list(client, chat) == "2"
    client.get(chat.url)
    assert unread_in_list(client, chat) is None
    with app.app_context():
        marker = db.session.get(ReadMarker, (chat.conversation_id, chat.mentee.id))
        newest = db.session.scalar(select(func.max(Message.id)))
        assert marker.last_read_message_id == newest
    switch(auth, chat.mentor)
    send(client, chat, "three")
    switch(auth, chat.mentee)
    assert unread_in_list(client, chat) == "1"
    page = client.get(f"/requests/{chat.request_id}").get_data(as_text=True)
    assert 'aria-label="1 unread">1</span>' in page
    client.get(f"{chat.url}/messages?after=0", headers=HTMX)
    assert unread_in_list(client, chat) is None


def test_chat_message_is_shown_as_text(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    send(client, chat, XSS)
    switch(auth, chat.mentee)
    page = client.get(chat.url).get_data(as_text=True)
    assert XSS_ESCAPED in page
    assert "<img src=x" not in page
    assert "<script>alert" not in page
    fragment = client.get(f"{chat.url}/messages?after=0", headers=HTMX).get_data(as_text=True)
    assert XSS_ESCAPED in fragment
    assert "<img src=x" not in fragment
    assert "<script>alert" not in fragment


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "", "form_token": "t" * 32}, "Write a message before sending."),
        ({"body": "  \n ", "form_token": "t" * 32}, "Write a message before sending."),
        (
            {"body": "m" * 4001, "form_token": "t" * 32},
            "Field cannot be longer than 4000 characters.",
        ),
        ({"body": "nul \x00", "form_token": "t" * 32}, "Message contains control characters"),
        ({"body": "hello"}, "This form has no message token."),
        ({"body": "hello", "form_token": "short"}, "message token is invalid"),
        ({"body": "hello", "form_token": "bad token with spaces!!"}, "message token is invalid"),
    ],
)
def test_chat_bad_message_is_422_and_stores_nothing(client, app, auth, create_user, data, message):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/messages", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_messages(app) == []


def test_chat_bad_message_htmx_gets_form_fragment(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    response = client.post(
        f"{chat.url}/messages", data={"body": "", "form_token": "t" * 32}, headers=HTMX
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="chat-form"')
    assert "Write a message before sending." in body


def test_chat_message_of_max_length_is_stored(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    assert send(client, chat, "m" * 4000).status_code == 303
    assert len(stored_messages(app)[0][2]) == 4000


NO_CHAT = "No chat has the number 999999."
NOTHING_HERE = "There is nothing at this address, or you cannot see it."
WRONG_METHOD = "This address does not accept that kind of request."


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("get", "/chats/999999", 404, NO_CHAT),
        ("get", "/chats/999999/messages?after=0", 404, NO_CHAT),
        ("get", "/chats/999999/actions", 404, NO_CHAT),
        ("post", "/chats/999999/messages", 404, NO_CHAT),
        ("post", "/chats/999999/sessions", 404, NO_CHAT),
        ("post", "/chats/999999/special-rate", 404, NO_CHAT),
        ("get", "/chats/x1", 404, NOTHING_HERE),
        ("get", "/chats/1/sessions", 405, WRONG_METHOD),
        ("get", "/chats/1/special-rate", 405, WRONG_METHOD),
        ("put", "/chats/1/messages", 405, WRONG_METHOD),
        ("post", "/chats/1", 405, WRONG_METHOD),
        ("post", "/chats/1/actions", 405, WRONG_METHOD),
    ],
)
def test_chat_routes_unknown_id_or_wrong_method(
    client, app, auth, create_user, method, path, status, message
):
    open_chat(app, auth, create_user)
    response = getattr(client, method)(path, data={"body": "x", "form_token": "t" * 32})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert stored_messages(app) == []


def test_special_rate_set_and_shown(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/special-rate", data={"rate": "12.50"})
    assert response.status_code == 303
    again = client.post(f"{chat.url}/special-rate", data={"rate": "15"})
    assert again.status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(SpecialRate)).all()
        assert [(row.mentor_id, row.mentee_id, row.rate_15_cents) for row in rows] == [
            (chat.mentor.id, chat.mentee.id, 1500)
        ]
    switch(auth, chat.mentee)
    page = client.get(chat.url).get_data(as_text=True)
    assert "15.00 USD per 15 minutes (a special rate)" in page
    assert "Set special rate" not in page


def test_special_rate_posted_in_chat_once(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    assert client.post(f"{chat.url}/special-rate", data={"rate": "12.50"}).status_code == 303
    assert client.post(f"{chat.url}/special-rate", data={"rate": "12.5"}).status_code == 303
    expected = (
        "Maya Mentor set a special rate for Milo Mentee: paid sessions started from now on "
        "cost 12.50 USD per 15 minutes."
    )
    assert stored_messages(app) == [(None, "system", expected)]
    switch(auth, chat.mentee)
    poll = client.get(f"{chat.url}/messages", query_string={"after": 0}, headers=HTMX)
    fragment = poll.get_data(as_text=True)
    assert expected in fragment
    assert "12.50 USD per 15 minutes (a special rate)" in fragment
    assert 'hx-swap-oob="true"' in fragment


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("", "Enter the special rate per 15 minutes"),
        ("0.99", "Enter at least 1.00 USD."),
        ("1000.01", "Enter at most 1,000.00 USD."),
        ("1.005", "more than two decimals"),
        ("ten", "is not a number"),
    ],
)
def test_special_rate_bad_input_is_422(client, app, auth, create_user, rate, message):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/special-rate", data={"rate": rate})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(SpecialRate.id))) == 0


def test_special_rate_by_mentee_is_403(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    switch(auth, chat.mentee)
    response = client.post(f"{chat.url}/special-rate", data={"rate": "5.00"})
    assert response.status_code == 403
    assert "Only the mentor of this chat can do this." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(SpecialRate.id))) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a free or a paid session."),
        ({"kind": ""}, "Choose a free or a paid session."),
        ({"kind": "gratis"}, "Not a valid choice."),
        ({"kind": "FREE"}, "Not a valid choice."),
    ],
)
def test_start_session_bad_kind_is_422(client, app, auth, create_user, data, message):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/sessions", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_messages(app) == []


def test_chat_graded_request_says_guidance_only(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user, graded="y", kind="freelance")
    page = client.get(chat.url).get_data(as_text=True)
    assert "Graded work is done only with guidance in live sessions" in page
    assert 'id="freelance-offer"' not in page


def test_chat_freelance_request_has_offer_section(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user, kind="freelance")
    page = client.get(chat.url).get_data(as_text=True)
    assert 'id="freelance-offer"' in page
    assert page.index('id="freelance-offer"') < page.index('id="chat-actions"')
    assert "Graded work is done only" not in page


def test_chat_live_request_has_neither_notice(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    page = client.get(chat.url).get_data(as_text=True)
    assert 'id="freelance-offer"' not in page
    assert 'id="graded-notice"' not in page
