"""From a mentee's request to session links in the chat: free, rejected for credit, then paid."""

import re

from sqlalchemy import func, select

from tests.web.test_chat import HTMX, Chat, open_chat, send, stored_messages, switch
from tests.web.test_requests import notifications_of, post_request
from webapp.billing import ledger
from webapp.extensions import db
from webapp.sessions.models import LiveSession
from webapp.sessions.transitions import perform

MISSING_CREDIT = (
    "A paid session needs 13.33 USD of available credit (20 minutes at this rate); "
    "the mentee has 0.00 USD. Add 13.33 USD to go on."
)


def sessions_of_pair(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.scalars(select(LiveSession).order_by(LiveSession.id))
        return [(row.kind, row.state, row.rate_15_cents) for row in rows]


def room_link(body: str) -> str:
    match = re.search(r'<a href="(/sessions/[A-Za-z0-9_-]+)">Open the session room</a>', body)
    assert match, "no room link in the chat"
    return match.group(1)


def test_request_to_free_then_paid_session(client, app, auth, create_user, runner):
    mentor = create_user(mentor=True, mentee=False, name="Maya Mentor", tags=["python"])
    away = create_user(mentor=True, mentee=False, tags=["python"], away=True)
    mentee = create_user(mentee=True, name="Milo Mentee")

    auth.login(mentee)
    request_id = post_request(client, tags="python")
    assert [note.url for note in notifications_of(app, mentor.id)] == [f"/requests/{request_id}"]
    assert notifications_of(app, away.id) == []

    switch(auth, mentor)
    reply = client.post(f"/requests/{request_id}/reply")
    chat_url = reply.headers["Location"]
    chat = Chat(mentee, mentor, request_id, int(chat_url.rsplit("/", 1)[1]))
    assert send(client, chat, "Hi, I can help with this.").status_code == 303
    switch(auth, mentee)
    assert "Hi, I can help with this." in client.get(chat_url).get_data(as_text=True)
    assert send(client, chat, "Thanks, when can we start?").status_code == 303
    switch(auth, mentor)
    assert "Thanks, when can we start?" in client.get(chat_url).get_data(as_text=True)

    # A free session: its room link reaches both, in the chat and as a notification.
    started = client.post(f"{chat_url}/sessions", data={"kind": "free"})
    assert started.status_code == 303
    assert started.headers["Location"] == chat_url
    assert sessions_of_pair(app) == [("free", "open", 0)]
    mentor_page = client.get(chat_url).get_data(as_text=True)
    link = room_link(mentor_page)
    assert "Maya Mentor started a free session." in mentor_page
    assert "A free session with Milo Mentee has not ended yet" in mentor_page
    assert f'<a href="{link}" class="button primary">Go to the session room</a>' in mentor_page
    assert "Start a free session" not in mentor_page
    switch(auth, mentee)
    mentee_page = client.get(chat_url).get_data(as_text=True)
    assert room_link(mentee_page) == link
    assert client.get(link).status_code == 200
    for user in (mentor, mentee):
        notes = [(note.kind, note.url) for note in notifications_of(app, user.id)]
        assert ("session_created", link) in notes

    # The free session ends through the session services, and the controls offer sessions again.
    with app.app_context():
        live_session_id, token = db.session.execute(select(LiveSession.id, LiveSession.token)).one()
    actions = client.get(f"{chat_url}/actions", headers=HTMX).get_data(as_text=True)
    assert f'data-live-session-id="{live_session_id}"' in actions
    assert 'hx-trigger="session:changed from:body"' in actions
    with app.app_context():
        perform(token, mentor.id, "end")
    assert sessions_of_pair(app) == [("free", "ended", 0)]
    switch(auth, mentor)
    actions = client.get(f"{chat_url}/actions", headers=HTMX).get_data(as_text=True)
    assert actions.lstrip().startswith('<section id="chat-actions"')
    assert "Start a free session" in actions
    assert "data-live-session-id" not in actions

    # A paid session at the special rate is rejected while the mentee has no credit.
    assert client.post(f"{chat_url}/special-rate", data={"rate": "10.00"}).status_code == 303
    rejected = client.post(f"{chat_url}/sessions", data={"kind": "paid"})
    assert rejected.status_code == 409
    assert MISSING_CREDIT in rejected.get_data(as_text=True)
    assert sessions_of_pair(app) == [("free", "ended", 0)]
    switch(auth, mentee)
    assert f"The session could not start. {MISSING_CREDIT}" in client.get(chat_url).get_data(
        as_text=True
    )

    # Credit added by the operator: the paid session starts at the special rate.
    result = runner.invoke(args=["add-credits", mentee.email, "13.33"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert ledger.available_credit_cents(mentee.id) == 1333
    switch(auth, mentor)
    paid = client.post(f"{chat_url}/sessions", data={"kind": "paid"})
    assert paid.status_code == 303
    assert sessions_of_pair(app) == [("free", "ended", 0), ("paid", "open", 1000)]
    with app.app_context():
        live_session = db.session.scalar(select(LiveSession).where(LiveSession.kind == "paid"))
        assert live_session.conversation_id == chat.conversation_id
        assert live_session.help_request_id == request_id
        assert live_session.mentor_id == mentor.id
        assert live_session.mentee_id == mentee.id
    switch(auth, mentee)
    mentee_page = client.get(chat_url).get_data(as_text=True)
    assert "Maya Mentor started a paid session at 10.00 USD per 15 minutes." in mentee_page
    assert "A paid session with Maya Mentor has not ended yet" in mentee_page


def test_start_session_twice_keeps_one(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    first = client.post(f"{chat.url}/sessions", data={"kind": "free"})
    second = client.post(f"{chat.url}/sessions", data={"kind": "paid"})
    assert first.status_code == 303
    assert second.status_code == 303
    assert sessions_of_pair(app) == [("free", "open", 0)]
    system_messages = [body for _, kind, body in stored_messages(app) if kind == "system"]
    assert len(system_messages) == 1
    assert "This pair already has a session that has not ended." in client.get(chat.url).get_data(
        as_text=True
    )


def test_start_session_htmx_returns_actions_fragment(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/sessions", data={"kind": "free"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "chat:changed"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="chat-actions"')
    assert "Go to the session room" in body
    switch(auth, chat.mentee)
    poll = client.get(f"{chat.url}/messages?after=0", headers=HTMX).get_data(as_text=True)
    assert "Maya Mentor started a free session." in poll
    assert 'aria-labelledby="chat-actions-heading" hx-swap-oob="true"' in poll
    assert "A free session with Maya Mentor has not ended yet" in poll


def test_paid_rejection_htmx_is_409(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    response = client.post(f"{chat.url}/sessions", data={"kind": "paid"}, headers=HTMX)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="chat-actions"')
    assert "Add 26.67 USD to go on." in body
    assert response.headers["HX-Trigger"] == "chat:changed"


def test_start_session_by_mentee_is_403(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    switch(auth, chat.mentee)
    response = client.post(f"{chat.url}/sessions", data={"kind": "free"})
    assert response.status_code == 403
    assert "Only the mentor of this chat can do this." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(LiveSession.id))) == 0


def test_room_links_back_to_its_chat(client, app, auth, create_user):
    chat = open_chat(app, auth, create_user)
    client.post(f"{chat.url}/sessions", data={"kind": "free"})
    room = room_link(client.get(chat.url).get_data(as_text=True))
    body = client.get(room).get_data(as_text=True)
    assert f'id="room-chat-link" href="{chat.url}"' in body
    assert "Back to the chat with Milo Mentee" in body
