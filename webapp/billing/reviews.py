"""Reviews: a mentee rates the mentor of an invoiced paid session once, from 1 to 5."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.billing.common import now
from webapp.billing.invoices import check_role, invoice_for
from webapp.billing.ledger import lock_users
from webapp.billing.models import Invoice, Review
from webapp.exceptions import AlreadyDone, Invalid
from webapp.extensions import db
from webapp.notifications.services import notify

logger = logging.getLogger(__name__)

TEXT_MAX_CHARS = 2000
RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ReviewSummary:
    """A mentor's review count, average rating (None without reviews) and newest reviews."""

    count: int
    average: float | None
    reviews: list[Review]


def review_of(live_session_id: int) -> Review | None:
    """Return the review of a live session, if its mentee wrote one."""
    return db.session.scalar(select(Review).where(Review.live_session_id == live_session_id))


def create_review(invoice_id: int, user_id: int, *, rating: int, text: str) -> Review:
    """Store the mentee's one review of the session an invoice charged for."""
    invoice: Invoice = invoice_for(user_id, invoice_id)
    check_role(invoice, user_id, "review")
    text = text.strip()
    if rating not in RATINGS:
        raise Invalid("Choose a rating from 1 to 5.")
    if len(text) > TEXT_MAX_CHARS:
        raise Invalid(f"Keep the review to {TEXT_MAX_CHARS:,} characters.")
    # Two tabs posting at once: the second waits here and then finds the first review.
    lock_users(user_id)
    if review_of(invoice.live_session_id) is not None:
        raise AlreadyDone("You have already reviewed this session.")
    review = Review(
        live_session_id=invoice.live_session_id,
        mentor_id=invoice.mentor_id,
        mentee_id=user_id,
        rating=rating,
        text=text,
        created_at=now(),
    )
    db.session.add(review)
    db.session.flush()
    logger.info(
        "review %s (%s stars) of mentor %s by mentee %s for session %s",
        review.id,
        rating,
        invoice.mentor_id,
        user_id,
        invoice.live_session_id,
    )
    notify(invoice.mentor_id, "review", f"A mentee rated your session {rating} out of 5.")
    return review


def summary_for(mentor_id: int, limit: int = 50) -> ReviewSummary:
    """Return a mentor's review count, average rating and newest reviews for the public page."""
    count, average = db.session.execute(
        select(func.count(Review.id), func.avg(Review.rating)).where(Review.mentor_id == mentor_id)
    ).one()
    reviews = list(
        db.session.scalars(
            select(Review)
            .where(Review.mentor_id == mentor_id)
            .order_by(Review.id.desc())
            .limit(limit)
        )
    )
    return ReviewSummary(
        count=int(count), average=float(average) if average is not None else None, reviews=reviews
    )
