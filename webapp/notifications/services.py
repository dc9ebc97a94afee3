"""Create, count and read notifications."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update

from webapp import clock
from webapp.database import execute_small_write
from webapp.extensions import db
from webapp.notifications.models import Notification

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def notify(user_id: int, kind: str, text: str, url: str = "") -> Notification:
    """Insert a notification for a user in the caller's transaction."""
    notification = Notification(
        user_id=user_id, kind=kind, text=text[:500], url=url[:500], created_at=clock.now()
    )
    db.session.add(notification)
    db.session.flush()
    logger.info("notification %s (%s) for user %s", notification.id, kind, user_id)
    return notification


def unread_count(user_id: int) -> int:
    """Count a user's unread notifications."""
    statement = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return db.session.scalar(statement) or 0


def recent_for(user_id: int, limit: int = PAGE_SIZE) -> list[Notification]:
    """Return a user's newest notifications, newest first."""
    statement = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(statement))


def mark_read(user_id: int, up_to_id: int) -> None:
    """Mark a user's notifications up to `up_to_id` as read (a read marker a GET may write)."""
    statement = (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.id <= up_to_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=clock.now())
    )
    execute_small_write(statement)
