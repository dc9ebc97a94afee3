"""Conversations, messages, read markers, special rates and sessions started from a chat."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.accounts.models import User
from webapp.chat.models import (
    MESSAGE_SYSTEM,
    MESSAGE_TEXT,
    Conversation,
    Message,
    ReadMarker,
    SpecialRate,
)
from webapp.database import execute_small_write, is_sqlite
from webapp.domain.money import format_amount
from webapp.exceptions import AlreadyDone, Conflict, Forbidden, NotFound
from webapp.extensions import db
from webapp.notifications.services import notify
from webapp.requests.services import request_for
from webapp.sessions.models import KIND_PAID, LiveSession
from webapp.sessions.services import create_live_session

logger = logging.getLogger(__name__)

NOTIFICATION_SESSION_CREATED = "session_created"
NOTIFICATION_CONVERSATION_OPENED = "conversation_opened"

# The newest messages a chat page shows.
# NOTE: older messages of a longer conversation are not shown anywhere yet.
PAGE_MESSAGES = 200


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation in a list, with what the reader has not read yet."""

    conversation: Conversation
    unread: int


def new_form_token() -> str:
    """Return a fresh one-time token for a rendered message form."""
    return secrets.token_urlsafe(24)


def conversation_for(user: User, conversation_id: int) -> Conversation:
    """Load a conversation of which `user` is one of the two people, else raise NotFound."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or user.id not in (conversation.mentor_id, conversation.mentee_id):
        raise NotFound(f"No chat has the number {conversation_id}.")
    return conversation


def open_conversation(mentor: User, help_request_id: int) -> tuple[Conversation, bool]:
    """Return the mentor's conversation about a request, creating it on the first reply.

    The first reply also notifies the mentee who posted the request. Returns (conversation,
    created). Raises NotFound for a request the mentor cannot see (a closed request they never
    replied to, too) and Forbidden for one's own request.
    """
    help_request = request_for(mentor, help_request_id)
    if help_request.mentee_id == mentor.id:
        raise Forbidden("You cannot reply to your own help request.")
    if not mentor.is_mentor:
        raise Forbidden("Only mentors reply to help requests.")
    existing = conversation_of(help_request.id, mentor.id)
    if existing is not None:
        return existing, False
    conversation = Conversation(
        help_request_id=help_request.id,
        mentor_id=mentor.id,
        mentee_id=help_request.mentee_id,
        created_at=clock.now(),
    )
    try:
        # On PostgreSQL a double click can insert twice at once; the unique constraint wins.
        with db.session.begin_nested():
            db.session.add(conversation)
    except IntegrityError:
        return conversation_of(help_request.id, mentor.id), False
    notify(
        help_request.mentee_id,
        NOTIFICATION_CONVERSATION_OPENED,
        f"{mentor.name} replied to your request “{help_request.title}”: open the chat.",
        conversation.url,
    )
    logger.info(
        "conversation %s opened by mentor %s on help request %s",
        conversation.id,
        mentor.id,
        help_request.id,
    )
    return conversation, True


def conversation_of(help_request_id: int, mentor_id: int) -> Conversation | None:
    """Return a mentor's conversation about a help request, if they replied to it."""
    statement = select(Conversation).where(
        Conversation.help_request_id == help_request_id, Conversation.mentor_id == mentor_id
    )
    return db.session.scalar(statement)


def post_message(user: User, conversation_id: int, body: str, form_token: str) -> Message:
    """Store a message from one of the two people; raises AlreadyDone for a reused form token."""
    conversation = conversation_for(user, conversation_id)
    if _message_with_token(conversation.id, form_token) is not None:
        raise AlreadyDone("This message was already sent.")
    message = Message(
        conversation_id=conversation.id,
        author_id=user.id,
        kind=MESSAGE_TEXT,
        body=body,
        url="",
        form_token=form_token,
        created_at=clock.now(),
    )
    try:
        # Two POSTs of one form on PostgreSQL: the second waits for the first one's unique
        # index entry and fails here, which means the message is already stored.
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError as error:
        raise AlreadyDone("This message was already sent.") from error
    conversation.last_message_at = message.created_at
    _advance_marker_in_transaction(user.id, conversation.id, message.id)
    logger.info(
        "message %s posted in conversation %s by user %s", message.id, conversation.id, user.id
    )
    return message


def _message_with_token(conversation_id: int, form_token: str) -> Message | None:
    statement = select(Message).where(
        Message.conversation_id == conversation_id, Message.form_token == form_token
    )
    return db.session.scalar(statement)


def post_system_message(conversation: Conversation, body: str, url: str = "") -> Message:
    """Store a message from OpenMentor itself, such as a room link, in the caller's transaction."""
    message = Message(
        conversation_id=conversation.id,
        author_id=None,
        kind=MESSAGE_SYSTEM,
        body=body,
        url=url,
        form_token=None,
        created_at=clock.now(),
    )
    db.session.add(message)
    conversation.last_message_at = message.created_at
    db.session.flush()
    logger.info("system message %s posted in conversation %s", message.id, conversation.id)
    return message


def messages_of(conversation: Conversation, *, after_id: int = 0) -> list[Message]:
    """Return the conversation's messages after `after_id`, oldest first (the newest page)."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.id > after_id)
        .options(selectinload(Message.author))
        .order_by(Message.id.desc())
        .limit(PAGE_MESSAGES)
    )
    return list(reversed(db.session.scalars(statement).all()))


def _marker_upsert(user_id: int, conversation_id: int, message_id: int):
    """Build an INSERT … ON CONFLICT that only ever moves a read marker forward."""
    insert = sqlite_insert if is_sqlite() else postgresql_insert
    statement = insert(ReadMarker).values(
        conversation_id=conversation_id, user_id=user_id, last_read_message_id=message_id
    )
    return statement.on_conflict_do_update(
        index_elements=[ReadMarker.conversation_id, ReadMarker.user_id],
        set_={"last_read_message_id": statement.excluded.last_read_message_id},
        where=ReadMarker.last_read_message_id < statement.excluded.last_read_message_id,
    )


def mark_read(user_id: int, conversation_id: int, message_id: int) -> None:
    """Move the reader's marker to `message_id` (a write a GET may make, in its own transaction)."""
    execute_small_write(_marker_upsert(user_id, conversation_id, message_id))


def _advance_marker_in_transaction(user_id: int, conversation_id: int, message_id: int) -> None:
    db.session.execute(_marker_upsert(user_id, conversation_id, message_id))


def _unread_counts(user_id: int, conversation_ids: list[int]) -> dict[int, int]:
    """Count, per conversation, the messages after the reader's marker not written by them."""
    if not conversation_ids:
        return {}
    marker = ReadMarker.__table__.alias("marker")
    statement = (
        select(Message.conversation_id, func.count(Message.id))
        .outerjoin(
            marker,
            and_(marker.c.conversation_id == Message.conversation_id, marker.c.user_id == user_id),
        )
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.id > func.coalesce(marker.c.last_read_message_id, 0),
            or_(Message.author_id.is_(None), Message.author_id != user_id),
        )
        .group_by(Message.conversation_id)
    )
    return {conversation_id: count for conversation_id, count in db.session.execute(statement)}


def conversations_of(
    user: User, *, help_request_id: int | None = None
) -> list[ConversationSummary]:
    """Return the user's conversations, most recently active first, with unread counts."""
    statement = select(Conversation).where(
        or_(Conversation.mentor_id == user.id, Conversation.mentee_id == user.id)
    )
    if help_request_id is not None:
        statement = statement.where(Conversation.help_request_id == help_request_id)
    latest = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    statement = statement.options(
        selectinload(Conversation.help_request),
        selectinload(Conversation.mentor),
        selectinload(Conversation.mentee),
    ).order_by(latest.desc(), Conversation.id.desc())
    conversations = list(db.session.scalars(statement))
    unread = _unread_counts(user.id, [conversation.id for conversation in conversations])
    return [
        ConversationSummary(conversation, unread.get(conversation.id, 0))
        for conversation in conversations
    ]


def active_live_session(mentor_id: int, mentee_id: int) -> LiveSession | None:
    """Return the pair's live session that has not ended, if any (there is at most one)."""
    statement = select(LiveSession).where(
        LiveSession.mentor_id == mentor_id,
        LiveSession.mentee_id == mentee_id,
        LiveSession.state != "ended",
    )
    return db.session.scalar(statement)


def special_rate_of(mentor_id: int, mentee_id: int) -> SpecialRate | None:
    """Return the special rate a mentor set for a mentee, if any."""
    statement = select(SpecialRate).where(
        SpecialRate.mentor_id == mentor_id, SpecialRate.mentee_id == mentee_id
    )
    return db.session.scalar(statement)


def paid_rate_cents(conversation: Conversation) -> int | None:
    """Return the rate per 15 minutes of a paid session from this chat, or None if none is set."""
    special = special_rate_of(conversation.mentor_id, conversation.mentee_id)
    if special is not None:
        return special.rate_15_cents
    return conversation.mentor.rate_15_cents


def require_chat_mentor(user: User, conversation: Conversation) -> None:
    """Raise Forbidden unless `user` is the mentor of this conversation."""
    if user.id != conversation.mentor_id:
        raise Forbidden("Only the mentor of this chat can do this.")


def set_special_rate(user: User, conversation_id: int, rate_15_cents: int) -> SpecialRate:
    """Set the rate per 15 minutes this chat's mentor charges its mentee, and post it in the chat.

    One rate exists per pair. Raises AlreadyDone when the rate is unchanged.
    """
    conversation = conversation_for(user, conversation_id)
    require_chat_mentor(user, conversation)
    special = special_rate_of(conversation.mentor_id, conversation.mentee_id)
    if special is not None and special.rate_15_cents == rate_15_cents:
        raise AlreadyDone("This special rate is already set.")
    if special is None:
        special = SpecialRate(
            mentor_id=conversation.mentor_id,
            mentee_id=conversation.mentee_id,
            rate_15_cents=rate_15_cents,
            created_at=clock.now(),
        )
        try:
            # Two tabs on PostgreSQL may insert at once; the unique pair lets one row exist.
            with db.session.begin_nested():
                db.session.add(special)
        except IntegrityError:
            special = special_rate_of(conversation.mentor_id, conversation.mentee_id)
    special.rate_15_cents = rate_15_cents
    db.session.flush()
    # The message tells the mentee, and its poll refreshes the rate shown on their open page.
    post_system_message(
        conversation,
        f"{conversation.mentor.name} set a special rate for {conversation.mentee.name}: paid "
        f"sessions started from now on cost {format_amount(rate_15_cents, _currency())} "
        "per 15 minutes.",
    )
    logger.info(
        "special rate %s cents set by mentor %s for mentee %s",
        rate_15_cents,
        conversation.mentor_id,
        conversation.mentee_id,
    )
    return special


def start_live_session(user: User, conversation_id: int, kind: str) -> tuple[LiveSession, bool]:
    """Create a free or paid live session for the chat's pair, post its link and notify both.

    Returns (live_session, created); created is False when the pair already has a session that
    has not ended. Raises Conflict (from the session services) when credit is short.
    """
    conversation = conversation_for(user, conversation_id)
    require_chat_mentor(user, conversation)
    existing = active_live_session(conversation.mentor_id, conversation.mentee_id)
    if existing is not None:
        return existing, False
    rate_15_cents = None
    if kind == KIND_PAID:
        rate_15_cents = paid_rate_cents(conversation)
        if rate_15_cents is None:
            raise Conflict(
                "Set your rate per 15 minutes in your mentor profile, or a special rate here, "
                "before starting a paid session."
            )
    live_session, created = create_live_session(
        mentor_id=conversation.mentor_id,
        mentee_id=conversation.mentee_id,
        kind=kind,
        actor_id=user.id,
        conversation_id=conversation.id,
        help_request_id=conversation.help_request_id,
        rate_15_cents=rate_15_cents,
    )
    if not created:
        return live_session, False
    if kind == KIND_PAID:
        described = f"a paid session at {format_amount(rate_15_cents, _currency())} per 15 minutes"
    else:
        described = "a free session"
    post_system_message(
        conversation,
        f"{conversation.mentor.name} started {described}. Both of you can open the room now.",
        live_session.url,
    )
    for recipient, partner in (
        (conversation.mentor, conversation.mentee),
        (conversation.mentee, conversation.mentor),
    ):
        notify(
            recipient.id,
            NOTIFICATION_SESSION_CREATED,
            f"Your session with {partner.name} is ready: open the room.",
            live_session.url,
        )
    logger.info(
        "live session %s (%s) started from conversation %s by mentor %s",
        live_session.id,
        kind,
        conversation.id,
        user.id,
    )
    return live_session, True


def post_session_rejection(user: User, conversation_id: int, reason: str) -> Message:
    """Post why a session could not start as a system message, so both people see it."""
    conversation = conversation_for(user, conversation_id)
    return post_system_message(conversation, f"The session could not start. {reason}")


def _currency() -> str:
    return current_app.config["CURRENCY"]
