"""The status of every request and chat route for each kind of caller.

Anonymous callers are sent to the login page. The list of open requests is for mentors, a
request is visible to its mentee and to mentors, and a conversation to its two people only.
"""

import secrets

import pytest

from tests.conftest import UserRef
from tests.web.test_requests import post_request, request_data

ROLES = ("anonymous", "mentee", "mentor", "other_mentor", "other_mentee")

# (method, path, form data, expected status per role in the order of ROLES)
ROUTES = [
    ("get", "/requests/", None, (302, 403, 200, 200, 403)),
    ("get", "/requests/new", None, (302, 200, 403, 403, 200)),
    ("post", "/requests/new", "request", (302, 303, 403, 403, 303)),
    ("get", "/requests/mine", None, (302, 200, 403, 403, 200)),
    ("get", "/requests/{request_id}", None, (302, 200, 200, 200, 404)),
    ("post", "/requests/{request_id}/close", {}, (302, 303, 403, 403, 404)),
    ("post", "/requests/{request_id}/reply", {}, (302, 403, 303, 303, 404)),
    ("get", "/chats/", None, (302, 200, 200, 200, 200)),
    ("get", "/chats/{conversation_id}", None, (302, 200, 200, 404, 404)),
    ("get", "/chats/{conversation_id}/messages?after=0", None, (302, 200, 200, 404, 404)),
    ("get", "/chats/{conversation_id}/actions", None, (302, 200, 200, 404, 404)),
    ("post", "/chats/{conversation_id}/messages", "message", (302, 303, 303, 404, 404)),
    ("post", "/chats/{conversation_id}/special-rate", {"rate": "9.00"}, (302, 403, 303, 404, 404)),
    ("post", "/chats/{conversation_id}/sessions", {"kind": "free"}, (302, 403, 303, 404, 404)),
]

CASES = [
    pytest.param(method, path, data, role, statuses[index], id=f"{method}-{path}-{role}")
    for method, path, data, statuses in ROUTES
    for index, role in enumerate(ROLES)
]


@pytest.fixture
def people(client, auth, create_user) -> dict:
    """Create the five callers, a request of the mentee and the mentor's chat about it."""
    mentee = create_user(mentee=True)
    mentor = create_user(mentor=True, mentee=False, tags=["python"])
    other_mentor = create_user(mentor=True, mentee=False, tags=["python"])
    other_mentee = create_user(mentee=True)
    auth.login(mentee)
    request_id = post_request(client)
    auth.logout()
    auth.login(mentor)
    reply = client.post(f"/requests/{request_id}/reply")
    conversation_id = int(reply.headers["Location"].rsplit("/", 1)[1])
    auth.logout()
    return {
        "users": {
            "mentee": mentee,
            "mentor": mentor,
            "other_mentor": other_mentor,
            "other_mentee": other_mentee,
        },
        "ids": {"request_id": request_id, "conversation_id": conversation_id},
    }


def form_data(data) -> dict | None:
    if data == "request":
        return request_data()
    if data == "message":
        return {"body": "Hello", "form_token": secrets.token_urlsafe(24)}
    return data


@pytest.mark.parametrize(("method", "path", "data", "role", "status"), CASES)
def test_route_status_per_caller(client, auth, people, method, path, data, role, status):
    user: UserRef | None = people["users"].get(role)
    if user is not None:
        auth.login(user)
    url = path.format(**people["ids"])
    response = client.get(url) if method == "get" else client.post(url, data=form_data(data))
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
