"""Freelance jobs: a fixed price offered in a chat, held in escrow until the work is accepted.

States: offered -> accepted | declined | withdrawn; accepted -> delivered | cancelled;
delivered -> approved | questioned | released (by itself after ESCROW_RELEASE_SECONDS);
questioned -> approved by the mentee, or released, refunded or split by the operator.
Jobs carry no fee. Every action locks the mentee's row, the mentor's row and the job row in
that order and first applies the job's due release.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import select

from webapp.billing import ledger
from webapp.billing.common import (
    config,
    count_committed,
    credit_changed,
    lock_with_people,
    money,
    now,
    participant_row,
    path_for,
    refuse_while_paid_session_active,
    run_committed,
)
from webapp.billing.models import (
    ACCOUNT_BALANCE,
    ACCOUNT_EARNINGS,
    ACCOUNT_ESCROW,
    FreelanceJob,
    account_name,
)
from webapp.chat.models import Conversation
from webapp.exceptions import AlreadyDone, Conflict, Forbidden, Invalid, NotFound
from webapp.extensions import db
from webapp.notifications.services import notify
from webapp.requests.models import STATE_OPEN

logger = logging.getLogger(__name__)

OFFERED = "offered"
ACCEPTED = "accepted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
DELIVERED = "delivered"
CANCELLED = "cancelled"
APPROVED = "approved"
QUESTIONED = "questioned"
RELEASED = "released"
REFUNDED = "refunded"
SPLIT = "split"

TITLE_MAX_CHARS = 120
SCOPE_MAX_CHARS = 5000
QUESTION_MAX_CHARS = 2000
NOT_FOUND_MESSAGE = "No freelance job has this number, or it is not yours."
GRADED_MESSAGE = (
    "This request is graded work or an assessment: it gets guidance in live sessions only, "
    "never a freelance job."
)

# For each action: who may take it, the states it leaves, the state it reaches.
TRANSITIONS = {
    "accept": ("mentee", (OFFERED,), ACCEPTED),
    "decline": ("mentee", (OFFERED,), DECLINED),
    "withdraw": ("mentor", (OFFERED,), WITHDRAWN),
    "deliver": ("mentor", (ACCEPTED,), DELIVERED),
    "cancel": ("either", (ACCEPTED,), CANCELLED),
    "approve": ("mentee", (DELIVERED, QUESTIONED), APPROVED),
    "question": ("mentee", (DELIVERED,), QUESTIONED),
}
ACTIONS = tuple(TRANSITIONS)


def escrow_account(job_id: int) -> str:
    """Return the name of a job's escrow account."""
    return account_name(ACCOUNT_ESCROW, job_id)


def job_url(job_id: int) -> str:
    """Return the job page's path."""
    return path_for("billing.job", job_id=job_id)


def conversation_for(user_id: int, conversation_id: int) -> Conversation:
    """Return a conversation its mentor or mentee may see; raises NotFound for anyone else."""
    return participant_row(
        Conversation, conversation_id, user_id, "No chat has this address, or it is not yours."
    )


def job_for(user_id: int, job_id: int) -> FreelanceJob:
    """Return a job its mentor or mentee may see; raises NotFound for anyone else."""
    return participant_row(FreelanceJob, job_id, user_id, NOT_FOUND_MESSAGE)


def jobs_of_conversation(conversation_id: int) -> list[FreelanceJob]:
    """Return a conversation's jobs, newest first."""
    return list(
        db.session.scalars(
            select(FreelanceJob)
            .where(FreelanceJob.conversation_id == conversation_id)
            .order_by(FreelanceJob.id.desc())
        )
    )


def check_offer_allowed(conversation: Conversation, user_id: int) -> None:
    """Raise unless this user may offer a job in this chat now (mentor, not graded, open)."""
    if user_id != conversation.mentor_id:
        raise Forbidden("Only the mentor of this chat can offer a freelance job.")
    if conversation.help_request.graded:
        raise Forbidden(GRADED_MESSAGE)


def offer(
    conversation_id: int,
    user_id: int,
    *,
    title: str,
    scope: str,
    price_cents: int,
    due_on: date,
) -> FreelanceJob:
    """Offer a fixed-price job in a chat (its mentor; not on graded work or closed requests)."""
    conversation = conversation_for(user_id, conversation_id)
    check_offer_allowed(conversation, user_id)
    title = title.strip()
    scope = scope.strip()
    if not title or len(title) > TITLE_MAX_CHARS:
        raise Invalid(f"Give the job a title of 1 to {TITLE_MAX_CHARS} characters.")
    if not scope or len(scope) > SCOPE_MAX_CHARS:
        raise Invalid(f"Describe the scope in 1 to {SCOPE_MAX_CHARS} characters.")
    maximum = config("FREELANCE_PRICE_MAX_CENTS")
    if not 0 < price_cents <= maximum:
        raise Invalid(f"Enter a price above zero and at most {money(maximum)}.")
    at = now()
    if due_on < at.date():
        raise Invalid("Choose a due date from today on.")
    if conversation.help_request.state != STATE_OPEN:
        raise Conflict("This request is closed, so it takes no new freelance offers.")
    job = FreelanceJob(
        conversation_id=conversation.id,
        mentor_id=conversation.mentor_id,
        mentee_id=conversation.mentee_id,
        title=title,
        scope=scope,
        price_cents=price_cents,
        due_on=due_on,
        state=OFFERED,
        question="",
        created_at=at,
    )
    db.session.add(job)
    db.session.flush()
    logger.info(
        "job %s offered by mentor %s in conversation %s for %s cents",
        job.id,
        user_id,
        conversation.id,
        price_cents,
    )
    notify(
        job.mentee_id,
        "job_offered",
        f"Freelance offer: {title} for {money(price_cents)}.",
        job_url(job.id),
    )
    return job


def lock_job(job_id: int) -> FreelanceJob:
    """Lock the job's mentee, its mentor and the job, in that order; return it fresh."""
    return lock_with_people(FreelanceJob, job_id, NOT_FOUND_MESSAGE)


def release_if_due(job: FreelanceJob, at: datetime) -> bool:
    """Pay a locked delivered job's escrow to the mentor once its release time has come."""
    if job.state != DELIVERED or job.release_at is None or job.release_at > at:
        return False
    _pay_out_escrow(job, mentor_cents=job.price_cents, actor_id=None, kind="job_release")
    _close(job, RELEASED, job.release_at, actor_id=None)
    return True


def _due_job_ids(at: datetime, user_id: int | None = None) -> list[int]:
    """Return the delivered jobs due for release at `at`, of one person if given."""
    statement = (
        select(FreelanceJob.id)
        .where(FreelanceJob.state == DELIVERED, FreelanceJob.release_at <= at)
        .order_by(FreelanceJob.release_at, FreelanceJob.id)
    )
    if user_id is not None:
        statement = statement.where(
            (FreelanceJob.mentee_id == user_id) | (FreelanceJob.mentor_id == user_id)
        )
    return list(db.session.scalars(statement))


def release_due_jobs(at: datetime) -> int:
    """Release every delivered job due at `at`, each in its own transaction; return how many."""
    return count_committed(_due_job_ids(at), lambda job_id: release_if_due(lock_job(job_id), at))


def apply_due(job_id: int) -> bool:
    """Release the job in a committed transaction of its own if its release time has come."""
    job = db.session.get(FreelanceJob, job_id)
    if job is None or job.state != DELIVERED or job.release_at is None or job.release_at > now():
        return False
    return run_committed(lambda: release_if_due(lock_job(job_id), now()))


def apply_due_for_user(user_id: int) -> int:
    """Release the due jobs of a person, as mentee or mentor, before a page shows money."""
    at = now()
    return count_committed(
        _due_job_ids(at, user_id), lambda job_id: release_if_due(lock_job(job_id), at)
    )


def _pay_out_escrow(job: FreelanceJob, *, mentor_cents: int, actor_id: int | None, kind: str):
    """Empty the job's escrow: `mentor_cents` to the mentor's earnings, the rest to the mentee."""
    ledger.transfer(
        kind,
        [
            (escrow_account(job.id), -job.price_cents),
            (account_name(ACCOUNT_EARNINGS, job.mentor_id), mentor_cents),
            (account_name(ACCOUNT_BALANCE, job.mentee_id), job.price_cents - mentor_cents),
        ],
        memo=f"Freelance job {job.id}: {job.title}",
        actor_id=actor_id,
        job_id=job.id,
    )
    job.mentor_share_cents = mentor_cents
    if mentor_cents < job.price_cents:
        credit_changed(job.mentee_id)


def _close(job: FreelanceJob, state: str, at: datetime, actor_id: int | None) -> None:
    """Record a job's final state, log it once and tell both people."""
    job.state = state
    job.closed_at = at
    db.session.flush()
    logger.info("job %s %s (actor %s)", job.id, state, actor_id)
    text = f"Freelance job {job.id} ({job.title}) is {state}."
    notify(job.mentee_id, f"job_{state}", text, job_url(job.id))
    notify(job.mentor_id, f"job_{state}", text, job_url(job.id))


def check_role(job: FreelanceJob, user_id: int, action: str) -> str:
    """Raise Forbidden unless the user may take this action; return their role in the job."""
    role_needed = TRANSITIONS[action][0]
    role = "mentor" if user_id == job.mentor_id else "mentee"
    if role_needed != "either" and role != role_needed:
        raise Forbidden(f"Only the {role_needed} of this job can {action} it.")
    return role


def act(job_id: int, user_id: int, action: str, *, question: str = "") -> FreelanceJob:
    """Apply a participant's action to a job: accept, decline, withdraw, deliver, cancel,
    approve or question."""
    if action not in TRANSITIONS:
        raise NotFound(f"Unknown action {action!r} on a freelance job.")
    job_for(user_id, job_id)
    job = lock_job(job_id)
    at = now()
    release_if_due(job, at)

    _, from_states, target = TRANSITIONS[action]
    role = check_role(job, user_id, action)
    question = question.strip()
    if action == "question" and not question:
        raise Invalid("Say what you would like the mentor to clarify or fix.")
    if len(question) > QUESTION_MAX_CHARS:
        raise Invalid(f"Keep the question to {QUESTION_MAX_CHARS} characters.")
    if job.state == target:
        raise AlreadyDone(f"This job is already {target}.")
    if job.state not in from_states:
        raise Conflict(f"This job is {job.state}, so it cannot be {target} now.")

    if action == "accept":
        _accept(job, at)
    elif action == "deliver":
        job.state = DELIVERED
        job.delivered_at = at
        job.release_at = at + timedelta(seconds=config("ESCROW_RELEASE_SECONDS"))
    elif action == "question":
        job.state = QUESTIONED
        job.question = question
    elif action == "cancel":
        _pay_out_escrow(job, mentor_cents=0, actor_id=user_id, kind="job_cancel")
        _close(job, CANCELLED, at, user_id)
        return job
    elif action == "approve":
        _pay_out_escrow(job, mentor_cents=job.price_cents, actor_id=user_id, kind="job_approve")
        _close(job, APPROVED, at, user_id)
        return job
    else:
        _close(job, target, at, user_id)
        return job

    db.session.flush()
    logger.info("job %s %s by user %s", job.id, job.state, user_id)
    other = job.mentor_id if role == "mentee" else job.mentee_id
    notify(
        other,
        f"job_{job.state}",
        f"Freelance job {job.id} ({job.title}) is {job.state}.",
        job_url(job.id),
    )
    return job


def _accept(job: FreelanceJob, at: datetime) -> None:
    """Move the price from the mentee's balance into the job's escrow, if credit allows."""
    refuse_while_paid_session_active(job.mentee_id, "Accepting a freelance job")
    available = ledger.available_credit_cents(job.mentee_id)
    if available < job.price_cents:
        raise Conflict(
            f"Your available credit is {money(available)}: {money(job.price_cents - available)} "
            "more is needed to accept this job."
        )
    ledger.transfer(
        "job_escrow",
        [
            (account_name(ACCOUNT_BALANCE, job.mentee_id), -job.price_cents),
            (escrow_account(job.id), job.price_cents),
        ],
        memo=f"Freelance job {job.id}: {job.title}",
        actor_id=job.mentee_id,
        job_id=job.id,
    )
    job.state = ACCEPTED
    job.accepted_at = at
    credit_changed(job.mentee_id)


def resolve(
    job_id: int, *, release: bool = False, refund: bool = False, mentor_cents: int | None = None
) -> FreelanceJob:
    """Decide a questioned job as the operator: release it, refund it, or split it."""
    if [release, refund, mentor_cents is not None].count(True) != 1:
        raise Invalid("Give exactly one of --release, --refund or --split MENTOR_AMOUNT.")
    job = lock_job(job_id)
    at = now()
    release_if_due(job, at)
    if job.state != QUESTIONED:
        raise Conflict(f"Job {job.id} is {job.state}, not questioned.")
    if release:
        mentor_share, state = job.price_cents, RELEASED
    elif refund:
        mentor_share, state = 0, REFUNDED
    else:
        if not 0 <= mentor_cents <= job.price_cents:
            raise Invalid(f"The mentor's amount must be from 0 to {money(job.price_cents)}.")
        mentor_share, state = mentor_cents, SPLIT
    _pay_out_escrow(job, mentor_cents=mentor_share, actor_id=None, kind=f"job_{state}")
    _close(job, state, at, actor_id=None)
    return job
