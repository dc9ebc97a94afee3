"""Stored notifications: the header badge and the notifications page."""

from sqlalchemy import select

from webapp import database
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.notifications.services import notify


def add_notifications(app, user_id: int, count: int) -> None:
    with app.app_context():
        database.begin_write()
        for number in range(count):
            notify(user_id, "test", f"Message {number}", "/profile")
        database.commit()


def badge_count(body: str) -> str:
    return body.split('id="notification-badge"')[1].split(">")[1].split("<")[0]


def test_badge_counts_unread_notifications(client, app, auth, create_user):
    user = create_user()
    other = create_user()
    add_notifications(app, user.id, 3)
    add_notifications(app, other.id, 2)
    auth.login(user)
    assert badge_count(client.get("/profile").get_data(as_text=True)) == "3"


def test_notifications_page_lists_and_marks_read(client, app, auth, create_user):
    user = create_user()
    add_notifications(app, user.id, 2)
    auth.login(user)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Message 0" in page
    assert "Message 1" in page
    assert page.index("Message 1") < page.index("Message 0")
    assert badge_count(client.get("/profile").get_data(as_text=True)) == "0"
    with app.app_context():
        rows = db.session.scalars(select(Notification)).all()
        assert all(row.read_at is not None for row in rows)


def test_prefetch_does_not_mark_read(client, app, auth, create_user):
    user = create_user()
    add_notifications(app, user.id, 1)
    auth.login(user)
    client.get("/notifications/", headers={"Sec-Purpose": "prefetch"})
    assert badge_count(client.get("/profile").get_data(as_text=True)) == "1"


def test_notification_text_is_escaped(client, app, auth, create_user):
    user = create_user()
    with app.app_context():
        database.begin_write()
        notify(user.id, "test", "<script>alert(1)</script>")
        database.commit()
    auth.login(user)
    body = client.get("/notifications/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
