"""Post, list, show and close help requests, and notify the mentors whose tags match."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.accounts.models import MentorTag, User
from webapp.chat.models import Conversation
from webapp.exceptions import AlreadyDone, Forbidden, NotFound
from webapp.extensions import db
from webapp.notifications.services import notify
from webapp.requests.models import (
    KIND_FREELANCE,
    STATE_CLOSED,
    STATE_OPEN,
    HelpRequest,
    HelpRequestTag,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
NOTIFICATION_KIND = "help_request"


@dataclass(frozen=True)
class RequestPage:
    """One page of open help requests, newest first."""

    items: list[HelpRequest]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def require_mentee(user: User) -> None:
    """Raise Forbidden unless the user has the mentee role."""
    if not user.is_mentee:
        raise Forbidden("Only mentees post help requests: turn on “I want help” in your profile.")


def require_mentor(user: User) -> None:
    """Raise Forbidden unless the user has the mentor role."""
    if not user.is_mentor:
        raise Forbidden(
            "Only mentors browse and reply to help requests: "
            "turn on “I want to mentor” in your profile."
        )


def create_request(
    mentee: User,
    *,
    title: str,
    description: str,
    tags: list[str] | tuple[str, ...],
    kind: str,
    graded: bool,
) -> HelpRequest:
    """Store a new help request and notify every mentor who is not away and shares a tag."""
    require_mentee(mentee)
    help_request = HelpRequest(
        mentee_id=mentee.id,
        title=title,
        description=description,
        kind=kind,
        graded=graded,
        state=STATE_OPEN,
        created_at=clock.now(),
        tags=[HelpRequestTag(tag=tag) for tag in tags],
    )
    db.session.add(help_request)
    db.session.flush()
    logger.info(
        "help request %s (%s, graded=%s, tags %s) posted by user %s",
        help_request.id,
        kind,
        graded,
        tags,
        mentee.id,
    )
    mentor_ids = matching_mentor_ids(tags, exclude_user_id=mentee.id)
    text = f"New {'freelance job' if kind == KIND_FREELANCE else 'help request'}: {title}"
    for mentor_id in mentor_ids:
        notify(mentor_id, NOTIFICATION_KIND, text, help_request.url)
    return help_request


def matching_mentor_ids(tags: list[str] | tuple[str, ...], *, exclude_user_id: int) -> list[int]:
    """Return the active mentors, not away, with at least one of these tags (not the author)."""
    if not tags:
        return []
    statement = (
        select(User.id)
        .where(
            User.is_mentor.is_(True),
            User.away.is_(False),
            User.disabled_at.is_(None),
            User.id != exclude_user_id,
            exists().where(MentorTag.user_id == User.id, MentorTag.tag.in_(tags)),
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(statement))


def open_requests(viewer: User, *, tag: str | None, page: int) -> RequestPage:
    """Return a page of open requests, newest first, optionally only those with `tag`."""
    require_mentor(viewer)
    statement = select(HelpRequest).where(HelpRequest.state == STATE_OPEN)
    if tag:
        statement = statement.where(
            exists().where(
                HelpRequestTag.help_request_id == HelpRequest.id, HelpRequestTag.tag == tag
            )
        )
    statement = (
        statement.options(selectinload(HelpRequest.tags))
        .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    rows = list(db.session.scalars(statement))
    return RequestPage(items=rows[:PAGE_SIZE], number=page, has_next=len(rows) > PAGE_SIZE)


def requests_of(mentee: User) -> list[HelpRequest]:
    """Return a mentee's own requests, newest first."""
    require_mentee(mentee)
    statement = (
        select(HelpRequest)
        .where(HelpRequest.mentee_id == mentee.id)
        .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc())
    )
    return list(db.session.scalars(statement))


def has_replied(mentor_id: int, help_request_id: int) -> bool:
    """Tell whether a mentor has a conversation about this request."""
    statement = select(
        exists().where(
            Conversation.help_request_id == help_request_id, Conversation.mentor_id == mentor_id
        )
    )
    return bool(db.session.scalar(statement))


def request_for(user: User, help_request_id: int) -> HelpRequest:
    """Load a request that `user` may see, else raise NotFound.

    The mentee who posted it may always see it. Mentors may see open requests, and closed
    ones they replied to.
    """
    help_request = db.session.get(HelpRequest, help_request_id)
    if help_request is None:
        raise NotFound(f"No help request has the number {help_request_id}.")
    if help_request.mentee_id == user.id:
        return help_request
    if user.is_mentor and (help_request.is_open or has_replied(user.id, help_request.id)):
        return help_request
    raise NotFound(f"No help request has the number {help_request_id}.")


def close_request(user: User, help_request_id: int) -> HelpRequest:
    """Close a request, so it takes no new replies; raises AlreadyDone if it is closed."""
    help_request = request_for(user, help_request_id)
    if help_request.mentee_id != user.id:
        raise Forbidden("Only the mentee who posted a request can close it.")
    # Two tabs may close at once: the row lock makes the second one see the first one's work.
    db.session.refresh(help_request, with_for_update=True)
    if not help_request.is_open:
        raise AlreadyDone("This request is already closed.")
    help_request.state = STATE_CLOSED
    help_request.closed_at = clock.now()
    db.session.flush()
    logger.info("help request %s closed by user %s", help_request.id, user.id)
    return help_request
