"""Helpers of the live-session tests: a pair of people, credits, sessions, clicks, presence."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp import database
from webapp.billing import ledger
from webapp.billing.models import Invoice
from webapp.exceptions import ServiceError
from webapp.extensions import db
from webapp.sessions import services
from webapp.sessions.commands import add_credits
from webapp.sessions.models import LiveSession, SessionEvent


@dataclass
class Pair:
    """A mentor, a mentee and an outsider, by id."""

    mentor: int
    mentee: int
    outsider: int


def make_pair(create_user, *, rate_15_cents: int = 2000, first_15_free: bool = False) -> Pair:
    mentor = create_user(
        mentor=True, mentee=False, rate_15_cents=rate_15_cents, first_15_free=first_15_free
    )
    mentee = create_user()
    outsider = create_user(mentor=True, rate_15_cents=1500)
    return Pair(mentor.id, mentee.id, outsider.id)


def credit(app, mentee_id: int, cents: int) -> None:
    with app.app_context():
        add_credits(mentee_id, cents)


def create(app, pair: Pair, kind: str = "free", **kwargs) -> str:
    """Create a live session for the pair and return its token."""
    with app.app_context():
        database.begin_write()
        live_session, _ = services.create_live_session(
            mentor_id=pair.mentor, mentee_id=pair.mentee, kind=kind, actor_id=pair.mentor, **kwargs
        )
        token = live_session.token
        database.commit()
        return token


def act(app, token: str, user_id: int, action: str) -> str:
    """Perform an action and return the new state, or the error class name."""
    with app.app_context():
        try:
            return services.perform(token, user_id, action).state
        except ServiceError as error:
            return type(error).__name__


def enter(app, token: str, user_id: int) -> None:
    """Record a heartbeat of a participant, as the room's GET does."""
    with app.app_context():
        live_session = services.live_session_for(user_id, token)
        services.record_presence(live_session, user_id)


def row(app, token: str) -> LiveSession:
    """Return the live session, detached, with its columns loaded."""
    with app.app_context():
        live_session = db.session.scalars(
            select(LiveSession).where(LiveSession.token == token)
        ).one()
        db.session.expunge(live_session)
        return live_session


def events(app, token: str) -> list[tuple[str, str | None, object]]:
    """Return (kind, rule, at) of the session's events in order."""
    with app.app_context():
        statement = (
            select(SessionEvent.kind, SessionEvent.rule, SessionEvent.at)
            .join(LiveSession)
            .where(LiveSession.token == token)
            .order_by(SessionEvent.seq)
        )
        return [tuple(item) for item in db.session.execute(statement)]


def kinds(app, token: str) -> list[str]:
    return [kind for kind, _, _ in events(app, token)]


def invoice_of(app, token: str) -> Invoice | None:
    with app.app_context():
        invoice = db.session.scalar(
            select(Invoice).join(LiveSession).where(LiveSession.token == token)
        )
        if invoice is not None:
            db.session.expunge(invoice)
        return invoice


def available(app, mentee_id: int) -> int:
    with app.app_context():
        return ledger.available_credit_cents(mentee_id)


def stay(app, token: str, user_id: int, clock, seconds: float, step: float = 60) -> None:
    """Advance the clock by `seconds` while a participant keeps the room open."""
    left = seconds
    while left > 0:
        clock.advance(min(step, left))
        left -= step
        enter(app, token, user_id)
