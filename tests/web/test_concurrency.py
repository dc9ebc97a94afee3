"""Conflicting clicks at the same instant, from threads on their own connections."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.web.sessions_support import act, create, credit, enter, make_pair, row
from webapp.billing.models import Invoice
from webapp.exceptions import AlreadyDone, Conflict, ServiceError
from webapp.extensions import db
from webapp.sessions import services
from webapp.sessions.commands import check_live_session
from webapp.sessions.models import LiveSession, SessionEvent

ROUNDS = 50
THREADS = 8
# Each thread's action and who clicks it; only the mentee may start a paid session.
CLICKS = [
    ("end", "mentor"),
    ("pause", "mentee"),
    ("resume", "mentor"),
    ("start", "mentee"),
    ("end", "mentee"),
    ("pause", "mentor"),
    ("resume", "mentee"),
    ("start", "mentee"),
]


def _running_session(app, pair, kind: str, clock) -> str:
    token = create(app, pair, kind)
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    if kind == "paid":
        assert act(app, token, pair.mentor, "request_start") == "start_requested"
    assert act(app, token, pair.mentee, "start") == "running"
    clock.advance(90)
    return token


def _race(app, token: str, pair) -> list[str]:
    """Fire every click at once; return what each caller saw."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = [""] * THREADS

    def click(index: int) -> None:
        action, role = CLICKS[index]
        user_id = pair.mentor if role == "mentor" else pair.mentee
        with app.app_context():
            barrier.wait()
            try:
                services.perform(token, user_id, action)
                outcomes[index] = "ok"
            except (AlreadyDone, Conflict) as error:
                outcomes[index] = type(error).__name__
            except ServiceError as error:
                outcomes[index] = f"unexpected {type(error).__name__}: {error.message}"
            except Exception as error:  # reported below, so a thread never dies silently
                outcomes[index] = f"error {type(error).__name__}: {error}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


@pytest.mark.slow
def test_conflicting_clicks_at_the_same_instant(app, create_user, clock):
    pair = make_pair(create_user)
    credit(app, pair.mentee, 300_000)
    for number in range(ROUNDS):
        kind = "paid" if number % 2 == 0 else "free"
        token = _running_session(app, pair, kind, clock)
        outcomes = _race(app, token, pair)
        assert set(outcomes) <= {"ok", "AlreadyDone", "Conflict"}, outcomes
        assert "ok" in outcomes
        live_session = row(app, token)
        with app.app_context():
            ended = db.session.scalar(
                select(func.count(SessionEvent.id)).where(
                    SessionEvent.live_session_id == live_session.id, SessionEvent.kind == "ended"
                )
            )
            invoices = db.session.scalar(
                select(func.count(Invoice.id)).where(Invoice.live_session_id == live_session.id)
            )
            assert check_live_session(db.session.get(LiveSession, live_session.id), clock()) == []
        assert ended == 1
        assert live_session.state == "ended"
        assert invoices == (1 if kind == "paid" else 0)
        clock.advance(timedelta(seconds=5).total_seconds())
