"""Who has a live session's room open: heartbeat rows and the queries on them.

The room's polls are the heartbeat. These helpers only read and write `Presence` rows; the
rules that depend on them (the idle pause, the first-entry `joined` event) live in
`webapp.sessions.transitions`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from webapp import clock
from webapp.database import execute_small_write
from webapp.extensions import db
from webapp.sessions.models import Presence


def window_seconds() -> int:
    """Return PRESENCE_WINDOW_SECONDS: "in the room" means seen within this."""
    return int(current_app.config["PRESENCE_WINDOW_SECONDS"])


def write_interval_seconds() -> int:
    """Return PRESENCE_WRITE_SECONDS: a heartbeat is written at most this often."""
    return int(current_app.config["PRESENCE_WRITE_SECONDS"])


def people_seen_since(live_session_id: int, since: datetime) -> set[int]:
    """Return the ids of the participants seen at or after `since`."""
    statement = select(Presence.user_id).where(
        Presence.live_session_id == live_session_id, Presence.last_seen_at >= since
    )
    return set(db.session.scalars(statement))


def people_in_room_at(live_session_id: int, now: datetime) -> set[int]:
    """Return the ids of the participants seen within the presence window before `now`."""
    return people_seen_since(live_session_id, now - timedelta(seconds=window_seconds()))


def people_in_room(live_session) -> set[int]:
    """Return the ids of the participants seen within PRESENCE_WINDOW_SECONDS."""
    return people_in_room_at(live_session.id, clock.now())


def newest_heartbeat_at(live_session_id: int) -> datetime | None:
    """Return the newest heartbeat of either participant, or None before anyone entered."""
    statement = select(func.max(Presence.last_seen_at)).where(
        Presence.live_session_id == live_session_id
    )
    return db.session.scalar(statement)


def presence_of(live_session_id: int, user_id: int) -> Presence | None:
    """Return a participant's presence row, read fresh from the database."""
    statement = (
        select(Presence)
        .where(Presence.live_session_id == live_session_id, Presence.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(statement).one_or_none()


def touch(live_session_id: int, user_id: int, now: datetime) -> None:
    """Write a heartbeat as one UPDATE in its own short transaction (or the caller's write one)."""
    statement = (
        update(Presence)
        .where(Presence.live_session_id == live_session_id, Presence.user_id == user_id)
        .values(last_seen_at=now)
    )
    execute_small_write(statement)
