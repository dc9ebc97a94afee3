"""Help requests: posting, notifying mentors, browsing, closing and who may see them."""

import pytest
from sqlalchemy import func, select

from webapp.chat.models import Conversation
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.requests.models import HelpRequest
from webapp.requests.services import PAGE_SIZE


def request_data(**changes) -> dict:
    """Return a valid new-request form, with `changes` applied (None removes a field)."""
    data = {
        "title": "Flask app returns 500 on login",
        "description": "It fails after the upgrade.\nTraceback below.",
        "tags": "python, flask",
        "kind": "live",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post_request(client, **changes) -> int:
    """Post a request as the logged-in mentee and return its id."""
    response = client.post("/requests/new", data=request_data(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def count_requests(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(HelpRequest.id)))


def notifications_of(app, user_id: int) -> list[Notification]:
    with app.app_context():
        statement = select(Notification).where(Notification.user_id == user_id)
        return list(db.session.scalars(statement))


def test_post_request_stores_plain_text_and_tags(client, app, auth, create_user):
    mentee = create_user(mentee=True)
    auth.login(mentee)
    request_id = post_request(
        client,
        title="  Help with <b>SQL</b>  ",
        description="line one\r\nline two\n\n<i>three</i>",
        tags="SQL, postgresql sql",
        kind="freelance",
        graded="y",
    )
    with app.app_context():
        stored = db.session.get(HelpRequest, request_id)
        assert stored.title == "Help with <b>SQL</b>"
        assert stored.description == "line one\nline two\n\n<i>three</i>"
        assert stored.tag_names == ["postgresql", "sql"]
        assert stored.kind == "freelance"
        assert stored.graded is True
        assert stored.state == "open"
        assert stored.mentee_id == mentee.id
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "Help with &lt;b&gt;SQL&lt;/b&gt;" in page
    assert "line one\nline two\n\n&lt;i&gt;three&lt;/i&gt;" in page


def test_post_request_notifies_matching_mentors_only(client, app, auth, create_user):
    matching = create_user(mentor=True, mentee=False, tags=["flask"])
    away = create_user(mentor=True, mentee=False, tags=["flask", "python"], away=True)
    other_tags = create_user(mentor=True, mentee=False, tags=["rust"])
    mentee = create_user(mentee=True)
    auth.login(mentee)
    request_id = post_request(client, tags="flask")
    matching_notes = notifications_of(app, matching.id)
    assert len(matching_notes) == 1
    assert matching_notes[0].kind == "help_request"
    assert matching_notes[0].text == "New help request: Flask app returns 500 on login"
    assert matching_notes[0].url == f"/requests/{request_id}"
    assert notifications_of(app, away.id) == []
    assert notifications_of(app, other_tags.id) == []


@pytest.mark.parametrize(
    ("mentors", "message"),
    [
        (
            0,
            "Your request is posted. No available mentor has these tags, so nobody was "
            "notified yet; mentors can still find it among the open requests.",
        ),
        (1, "Your request is posted. 1 mentor with a matching tag was notified."),
        (2, "Your request is posted. 2 mentors with matching tags were notified."),
    ],
)
def test_post_request_says_how_many_notified(client, auth, create_user, mentors, message):
    for _ in range(mentors):
        create_user(mentor=True, mentee=False, tags=["flask"])
    create_user(mentor=True, mentee=False, tags=["flask"], away=True)
    auth.login(create_user(mentee=True))
    response = client.post("/requests/new", data=request_data(tags="flask"), follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_post_request_does_not_notify_its_author(client, app, auth, create_user):
    both = create_user(mentor=True, mentee=True, tags=["flask"])
    auth.login(both)
    post_request(client, tags="flask")
    assert notifications_of(app, both.id) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "Give your request a title."),
        ({"title": "   "}, "Give your request a title."),
        ({"title": "t" * 121}, "Field cannot be longer than 120 characters."),
        ({"description": ""}, "Describe what you need help with."),
        ({"description": "d" * 10_001}, "Field cannot be longer than 10000 characters."),
        ({"description": "null \x00 byte"}, "Description contains control characters"),
        ({"title": "bell \x07"}, "Title contains control characters"),
        ({"tags": ""}, "Add at least one tag"),
        ({"tags": "python, no spaces allowed!"}, "is invalid: use letters, digits"),
        ({"tags": "x" * 31}, "longer than 30 characters"),
        ({"tags": ",".join(f"t{i}" for i in range(11))}, "At most 10 tags"),
        ({"kind": "auction"}, "Not a valid choice."),
    ],
)
def test_post_request_bad_input_is_422(client, app, auth, create_user, changes, message):
    mentee = create_user(mentee=True)
    auth.login(mentee)
    response = client.post("/requests/new", data=request_data(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_requests(app) == 0


def test_post_request_description_of_max_length_is_stored(client, app, auth, create_user):
    mentee = create_user(mentee=True)
    auth.login(mentee)
    request_id = post_request(client, description="d" * 10_000, title="t" * 120)
    with app.app_context():
        assert len(db.session.get(HelpRequest, request_id).description) == 10_000


def test_post_request_by_mentor_only_account_is_403(client, app, auth, create_user):
    mentor = create_user(mentor=True, mentee=False)
    auth.login(mentor)
    response = client.post("/requests/new", data=request_data())
    assert response.status_code == 403
    assert (
        "Only mentees post help requests: turn on “I want help” in your profile."
        in response.get_data(as_text=True)
    )
    assert count_requests(app) == 0


def test_open_requests_by_mentee_only_account_is_403(client, auth, create_user):
    auth.login(create_user(mentee=True))
    response = client.get("/requests/")
    assert response.status_code == 403
    assert (
        "Only mentors browse and reply to help requests: "
        "turn on “I want to mentor” in your profile."
    ) in response.get_data(as_text=True)


def test_open_requests_newest_first_with_tag_filter(client, clock, auth, create_user):
    mentee = create_user(mentee=True)
    mentor = create_user(mentor=True, mentee=False)
    auth.login(mentee)
    post_request(client, title="Oldest python", tags="python")
    clock.advance(seconds=10)
    post_request(client, title="Middle rust", tags="rust")
    clock.advance(seconds=10)
    closed_id = post_request(client, title="Closed python", tags="python")
    client.post(f"/requests/{closed_id}/close")
    clock.advance(seconds=10)
    post_request(client, title="Newest python", tags="python, flask")
    auth.logout()
    auth.login(mentor)

    page = client.get("/requests/").get_data(as_text=True)
    assert page.index("Newest python") < page.index("Middle rust") < page.index("Oldest python")
    assert "Closed python" not in page

    filtered = client.get("/requests/?tag=Python").get_data(as_text=True)
    assert "Newest python" in filtered
    assert "Oldest python" in filtered
    assert "Middle rust" not in filtered


def test_open_requests_paginate(client, app, clock, auth, create_user):
    mentee = create_user(mentee=True)
    mentor = create_user(mentor=True, mentee=False)
    auth.login(mentee)
    for number in range(PAGE_SIZE + 1):
        post_request(client, title=f"Request number {number:02d}")
        clock.advance(seconds=1)
    auth.logout()
    auth.login(mentor)
    first = client.get("/requests/").get_data(as_text=True)
    assert f"Request number {PAGE_SIZE:02d}" in first
    assert "Request number 01" in first
    assert "Request number 00" not in first
    assert 'rel="next" href="/requests/?page=2"' in first
    second = client.get("/requests/?page=2").get_data(as_text=True)
    assert "Request number 00" in second
    assert "Request number 01" not in second
    assert 'rel="prev" href="/requests/?page=1"' in second
    assert 'rel="next"' not in second


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "The page number &#39;0&#39; is invalid"),
        ("page=abc", "The page number &#39;abc&#39; is invalid"),
        ("page=-1", "The page number &#39;-1&#39; is invalid"),
        ("tag=%3Cscript%3E", "Tag &#39;&lt;script&gt;&#39; is invalid"),
        ("tag=python,flask", "Filter by one tag at a time."),
    ],
)
def test_open_requests_bad_query_is_422(client, auth, create_user, query, message):
    mentor = create_user(mentor=True, mentee=False)
    auth.login(mentor)
    response = client.get(f"/requests/?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_mine_lists_own_requests_only(client, auth, create_user):
    mentee = create_user(mentee=True)
    other = create_user(mentee=True)
    auth.login(other)
    post_request(client, title="Someone else's question")
    auth.logout()
    auth.login(mentee)
    post_request(client, title="My own question")
    page = client.get("/requests/mine").get_data(as_text=True)
    assert "My own question" in page
    assert "Someone else&#39;s question" not in page


def test_close_request_stops_new_replies_keeps_chats(client, app, auth, create_user):
    mentee = create_user(mentee=True)
    replied = create_user(mentor=True, mentee=False)
    late = create_user(mentor=True, mentee=False)
    auth.login(mentee)
    request_id = post_request(client)
    auth.logout()
    auth.login(replied)
    reply = client.post(f"/requests/{request_id}/reply")
    assert reply.status_code == 303
    chat_url = reply.headers["Location"]
    auth.logout()

    auth.login(mentee)
    response = client.post(f"/requests/{request_id}/close")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/requests/{request_id}"
    with app.app_context():
        stored = db.session.get(HelpRequest, request_id)
        assert stored.state == "closed"
        assert stored.closed_at is not None
    again = client.post(f"/requests/{request_id}/close")
    assert again.status_code == 303
    assert "This request is already closed." in client.get(f"/requests/{request_id}").get_data(
        as_text=True
    )
    assert client.get(f"/requests/{request_id}").status_code == 200
    auth.logout()

    auth.login(replied)
    assert client.get(f"/requests/{request_id}").status_code == 200
    assert client.get(chat_url).status_code == 200
    message = client.post(
        f"{chat_url}/messages", data={"body": "Still here", "form_token": "t" * 32}
    )
    assert message.status_code == 303
    again_reply = client.post(f"/requests/{request_id}/reply")
    assert again_reply.headers["Location"] == chat_url
    auth.logout()

    auth.login(late)
    assert client.get(f"/requests/{request_id}").status_code == 404
    assert client.post(f"/requests/{request_id}/reply").status_code == 404
    assert "Flask app returns 500" not in client.get("/requests/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Conversation.id))) == 1


def test_reply_twice_opens_same_conversation(client, app, auth, create_user):
    mentee = create_user(mentee=True)
    mentor = create_user(mentor=True, mentee=False)
    auth.login(mentee)
    request_id = post_request(client)
    auth.logout()
    auth.login(mentor)
    first = client.post(f"/requests/{request_id}/reply")
    second = client.post(f"/requests/{request_id}/reply")
    assert first.status_code == 303
    assert second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert conversation.mentor_id == mentor.id
        assert conversation.mentee_id == mentee.id
        assert conversation.help_request_id == request_id
        assert db.session.scalar(select(func.count(Conversation.id))) == 1


def test_reply_to_own_request_is_403(client, app, auth, create_user):
    both = create_user(mentor=True, mentee=True)
    auth.login(both)
    request_id = post_request(client)
    response = client.post(f"/requests/{request_id}/reply")
    assert response.status_code == 403
    assert "You cannot reply to your own help request." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Conversation.id))) == 0


NOT_FOUND = "No help request has the number 999999."
NOTHING_HERE = "There is nothing at this address, or you cannot see it."
WRONG_METHOD = "This address does not accept that kind of request."


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("get", "/requests/999999", 404, NOT_FOUND),
        ("post", "/requests/999999/close", 404, NOT_FOUND),
        ("post", "/requests/999999/reply", 404, NOT_FOUND),
        ("get", "/requests/abc", 404, NOTHING_HERE),
        ("get", "/requests/1/close", 405, WRONG_METHOD),
        ("get", "/requests/1/reply", 405, WRONG_METHOD),
        ("delete", "/requests/1", 405, WRONG_METHOD),
        ("put", "/requests/new", 405, WRONG_METHOD),
    ],
)
def test_request_routes_unknown_id_or_wrong_method(
    client, app, auth, create_user, method, path, status, message
):
    user = create_user(mentor=True, mentee=True)
    auth.login(user)
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count_requests(app) == 0
