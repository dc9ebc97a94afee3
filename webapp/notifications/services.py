"""Create, count and read notifications."""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, func, or_, select, text, update
from sqlalchemy.orm import Session

from webapp import clock
from webapp.database import execute_small_write
from webapp.extensions import db
from webapp.notifications.hub import (
    CHANNEL,
    KIND_CONVERSATION,
    KIND_LIVE_SESSION,
    KIND_NOTIFICATION,
    Change,
    encode_payloads,
    running_hub,
)
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


def newest_id(user_id: int) -> int:
    """Return the id of a user's newest notification, or 0."""
    statement = select(func.max(Notification.id)).where(Notification.user_id == user_id)
    return db.session.scalar(statement) or 0


def notifications_after(
    user_id: int, after_id: int, also_ids: set[int] | frozenset[int] = frozenset(), limit: int = 100
) -> list[Notification]:
    """Return a user's notifications newer than `after_id`, plus those in `also_ids`, oldest first.

    `also_ids` catches a row that committed after a newer one (PostgreSQL hands out ids
    before commit, so ids need not appear in commit order).
    """
    # NOTE: a reconnecting browser replays by id only, so such a late row that committed
    # while its socket was closed is counted in the badge but never pushed.
    condition = Notification.id > after_id
    if also_ids:
        condition = or_(condition, Notification.id.in_(sorted(also_ids)))
    statement = (
        select(Notification)
        .where(Notification.user_id == user_id, condition)
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(db.session.scalars(statement))


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


# The live push ---------------------------------------------------------------------------
#
# New rows of these tables ring the hub. They are matched by table name because the
# notifications package imports no other feature.
WATCHED_TABLES = {
    "notification": KIND_NOTIFICATION,
    "message": KIND_CONVERSATION,
    "session_event": KIND_LIVE_SESSION,
}
PENDING_KEY = "openmentor_live_changes"
DOORBELLS_KEY = "openmentor_live_doorbells"
PARTICIPANTS_QUERIES = {
    KIND_CONVERSATION: text(
        "SELECT id, mentor_id, mentee_id FROM conversation WHERE id IN :ids"
    ).bindparams(bindparam("ids", expanding=True)),
    KIND_LIVE_SESSION: text(
        "SELECT id, mentor_id, mentee_id FROM live_session WHERE id IN :ids"
    ).bindparams(bindparam("ids", expanding=True)),
}


def doorbell(kind: str, object_ids: list[int], user_ids: list[int]) -> None:
    """Tell the open pages of `user_ids` that these conversations or sessions changed.

    Use it for a change that inserts no message or session event (those ring by
    themselves). It rings when the caller's transaction commits. `kind` is
    KIND_CONVERSATION or KIND_LIVE_SESSION.
    """
    if kind not in (KIND_CONVERSATION, KIND_LIVE_SESSION):
        raise ValueError(f"unknown doorbell kind {kind!r}")
    doorbells = db.session.info.setdefault(DOORBELLS_KEY, [])
    doorbells.extend(Change(kind, object_id, tuple(user_ids)) for object_id in object_ids)


def _collect_new_rows(session: Session, _flush_context) -> None:
    """Remember the ids of new notifications, messages and session events of this transaction."""
    pending = session.info.setdefault(PENDING_KEY, {kind: {} for kind in WATCHED_TABLES.values()})
    for instance in session.new:
        kind = WATCHED_TABLES.get(getattr(instance, "__tablename__", ""))
        if kind == KIND_NOTIFICATION:
            pending[kind][instance.id] = (instance.user_id,)
        elif kind == KIND_CONVERSATION:
            pending[kind][instance.conversation_id] = ()
        elif kind == KIND_LIVE_SESSION:
            pending[kind][instance.live_session_id] = ()


def _changes_to_send(session: Session) -> list[Change]:
    """Turn what this transaction inserted into changes, with the users each one concerns."""
    pending = session.info.pop(PENDING_KEY, None) or {}
    changes = [
        Change(KIND_NOTIFICATION, notification_id, user_ids)
        for notification_id, user_ids in sorted(pending.get(KIND_NOTIFICATION, {}).items())
    ]
    for kind, query in PARTICIPANTS_QUERIES.items():
        object_ids = sorted(pending.get(kind, {}))
        if object_ids:
            rows = session.execute(query, {"ids": object_ids}).all()
            changes.extend(Change(kind, row[0], (row[1], row[2])) for row in rows)
    return changes


def _notify_on_commit(session: Session) -> None:
    """Send NOTIFY with the ids this transaction inserted, as part of its commit (PostgreSQL)."""
    session.flush()
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: the hub finds new rows by polling; explicit doorbells ring after commit.
        session.info.pop(PENDING_KEY, None)
        return
    changes = _changes_to_send(session) + session.info.pop(DOORBELLS_KEY, [])
    for payload in encode_payloads(changes):
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


def _ring_local_doorbells(session: Session) -> None:
    """On SQLite, deliver explicit doorbells to this process's sockets once committed."""
    doorbells = session.info.pop(DOORBELLS_KEY, None)
    if doorbells and has_app_context():
        # NOTE: with SQLite and several processes, such a doorbell reaches only this one.
        hub = running_hub(current_app._get_current_object())
        if hub is not None:
            hub.publish(doorbells)


def _forget_changes(session: Session, _transaction=None) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(DOORBELLS_KEY, None)


def register_commit_hook() -> None:
    """Listen to every ORM session's flushes and commits (once per process)."""
    if event.contains(Session, "before_commit", _notify_on_commit):
        return
    event.listen(Session, "after_flush", _collect_new_rows)
    event.listen(Session, "before_commit", _notify_on_commit)
    event.listen(Session, "after_commit", _ring_local_doorbells)
    event.listen(Session, "after_rollback", _forget_changes)
