"""The session room: the page, its polled timer and controls fragments, and its forms.

The page and both fragments render from `_room_context`. The polls are the participants'
heartbeat, so every GET records presence (except a prefetch, which writes nothing). A poll
carries the `version` and the set of people it last rendered, so the server can respond
"nothing changed" with a 204, for which htmx swaps nothing. A running timer always gets its
new time.
"""

from __future__ import annotations

import logging
import secrets

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp import database
from webapp.accounts.models import User
from webapp.billing.models import Invoice
from webapp.domain import pricing
from webapp.domain.lifecycle import Action, State, allowed_actions
from webapp.exceptions import AlreadyDone, Forbidden, Invalid, ServiceError
from webapp.extensions import db
from webapp.htmx import render, wants_fragment
from webapp.sessions import services
from webapp.sessions.forms import CAP_NOT_A_NUMBER, CapForm, MeetingLinkForm, StartChecklistForm
from webapp.sessions.models import LiveSession, SessionEvent

logger = logging.getLogger(__name__)

bp = Blueprint("sessions", __name__, url_prefix="/sessions")

# The event that makes the room's fragments poll at once: sent after a click, and by the
# notifications push (static/js/notify.js) when the server rings the doorbell of a session.
CHANGED_EVENT = "session:changed"

ROOM_PAGE = "sessions/room.html"
CHECKLIST_PAGE = "sessions/checklist.html"
TIMER_FRAGMENT = "sessions/_timer.html"
CONTROLS_FRAGMENT = "sessions/_controls_swap.html"

JITSI_ROOM_PREFIX = "https://meet.jit.si/OpenMentor-"

# State changes by a person; the banners show what the rules did since the newest of them.
_PERSON_STATE_EVENTS = {"start_requested", "started", "resumed", "paused", "ended"}
# How many recent events the banners look at.
_BANNER_EVENTS = 30

STATE_WORDS = {
    State.OPEN: "Preview — not billed",
    State.START_REQUESTED: "Preview — not billed",
    State.RUNNING: "Running — billed",
    State.PAUSED: "Paused — not billed",
    State.ENDED: "Ended",
}


def _state_words(live_session: LiveSession) -> str:
    """Return the state in words; a running free session is never called billed."""
    if live_session.state == State.RUNNING and not live_session.is_paid:
        return "Running — free, not billed"
    return STATE_WORDS[State(live_session.state)]


def _is_prefetch() -> bool:
    return request.headers.get("Sec-Purpose", "").startswith("prefetch")


def _load(token: str) -> LiveSession:
    """Load the room of `token` for the reader (404 otherwise) and record their heartbeat."""
    live_session = services.live_session_for(current_user.id, token)
    if not _is_prefetch():
        # Timed rules it applies commit, which expires `live_session`, so it reloads.
        services.record_presence(live_session, current_user.id)
    return live_session


def _people_key(people: set[int]) -> str:
    return ",".join(str(user_id) for user_id in sorted(people))


def _duration_words(seconds: int) -> str:
    """Format a duration in minutes and seconds, like "5 minutes" or "1 minute 30 seconds"."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def _banner_text(event: SessionEvent) -> str | None:
    """Return the banner sentence of a warning or an automatic change, or None for others."""
    config = current_app.config
    rule = event.rule
    data = event.data or {}

    if event.kind == "nudged":
        return "The mentor is waiting for the mentee to click Start Session."
    if event.kind == "start_reminded":
        return (
            "Reminder: the mentor asked to start the session and the mentee has not clicked "
            "Start Session yet. The billing timer is not running."
        )
    if event.kind == "free_cap_warned":
        left = int(config["FREE_SESSION_LIMIT_SECONDS"]) - int(
            config["FREE_SESSION_WARNING_SECONDS"]
        )
        return f"The free session ends by itself in {_duration_words(left)}."
    if event.kind == "limit_warned":
        limit = "spending cap" if data.get("limit") == "cap" else "mentee's credit"
        return f"The session pauses by itself soon, when the {limit} runs out."
    if event.kind == "pause_reminded":
        return "The session has been paused for a while: resume it or end it."

    if event.kind == "paused" and rule:
        reasons = {
            "idle": "nobody had the room open for "
            + _duration_words(int(config["IDLE_PAUSE_SECONDS"])),
            "credit": "the mentee's credit ran out",
            "cap": "the spending cap was reached",
        }
        return f"The session paused by itself: {reasons.get(rule, rule)}."
    if event.kind == "ended" and rule:
        reasons = {
            "unstarted": "it was never started",
            "paused_too_long": "it stayed paused too long",
            "free_cap": "the free session reached its time limit",
            "max_length": "it reached the maximum session length",
        }
        return f"The session ended by itself: {reasons.get(rule, rule)}."
    return None


def _banners(live_session: LiveSession) -> list[str]:
    """List the warnings and automatic changes since the newest state change by a person."""
    recent = db.session.scalars(
        select(SessionEvent)
        .where(SessionEvent.live_session_id == live_session.id)
        .order_by(SessionEvent.seq.desc())
        .limit(_BANNER_EVENTS)
    )
    texts = []
    for event in recent:
        if event.actor_id is not None and event.kind in _PERSON_STATE_EVENTS:
            break
        if event.kind in ("paused", "ended"):
            # An automatic pause or end makes the warnings and reminders before it moot.
            texts.append(_banner_text(event))
            break
        text = _banner_text(event)
        if text is not None:
            texts.append(text)
    texts.reverse()
    return texts


def _invoice_of(live_session: LiveSession) -> Invoice | None:
    if not live_session.is_paid or live_session.state != State.ENDED:
        return None
    return db.session.scalar(select(Invoice).where(Invoice.live_session_id == live_session.id))


def _money_context(live_session: LiveSession, billed_seconds: int) -> dict:
    """Build the price table, the amount so far and the credit or cap left of a paid session."""
    if not live_session.is_paid:
        return {"price_rows": [], "amount_cents": None, "affordable_seconds": None}
    config = current_app.config
    rows = pricing.price_table(live_session.rate_15_cents, live_session.fee_bp)
    amount = pricing.charge(
        billed_seconds,
        live_session.rate_15_cents,
        live_session.fee_bp,
        first_free=bool(live_session.first_free),
        grace_seconds=int(config["START_GRACE_SECONDS"]),
    )
    affordable = None
    if live_session.state in (State.START_REQUESTED, State.RUNNING, State.PAUSED):
        affordable = services.affordable_seconds_for(live_session)
    return {
        "price_rows": rows,
        "minimum_row": rows[0],
        "amount_cents": amount.total_cents,
        "affordable_seconds": affordable,
    }


def _room_context(live_session: LiveSession, **extra) -> dict:
    """Build what the room page and each of its fragments render, from one place.

    `extra` replaces defaults, such as a submitted form with its errors or a refusal's reason.
    """
    role = live_session.role_of(current_user.id)
    other_id = live_session.mentee_id if role == "mentor" else live_session.mentor_id
    people = services.people_in_room(live_session)
    billed_seconds = services.billed_ms_now(live_session) // 1000
    context = {
        "live_session": live_session,
        "token": live_session.token,
        "role": role,
        "is_mentor": role == "mentor",
        "other": db.session.get(User, other_id),
        "participants": [
            (live_session.mentor, "mentor", live_session.mentor_id in people),
            (live_session.mentee, "mentee", live_session.mentee_id in people),
        ],
        "other_in_room": other_id in people,
        "people_key": _people_key(people),
        "state": State(live_session.state),
        "state_words": _state_words(live_session),
        "actions": allowed_actions(state=live_session.state, kind=live_session.kind, role=role),
        "billed_seconds": billed_seconds,
        "free_limit_seconds": int(current_app.config["FREE_SESSION_LIMIT_SECONDS"]),
        "idle_pause_words": _duration_words(int(current_app.config["IDLE_PAUSE_SECONDS"])),
        "banners": _banners(live_session),
        "invoice": _invoice_of(live_session),
        "poll_seconds": current_app.config["POLL_INTERVAL_SECONDS"],
        "error": None,
        "error_status": None,
        "announce_state": False,
        **_money_context(live_session, billed_seconds),
        "checklist_form": StartChecklistForm(formdata=None),
        "meeting_form": MeetingLinkForm(formdata=None, url=live_session.meeting_url),
        "cap_form": CapForm(formdata=None, cap_minutes=live_session.cap_minutes),
    }
    context.update(extra)
    return context


def _unchanged(live_session: LiveSession) -> bool:
    """Tell whether the poll's version and people in the room match the session now."""
    return request.args.get("v") == str(live_session.version) and request.args.get(
        "p"
    ) == _people_key(services.people_in_room(live_session))


def _nothing_changed():
    response = make_response("", 204)
    response.vary.add("HX-Request")
    return response


@bp.get("/<token>")
@login_required
def room(token: str):
    """Show the session room to one of its two participants and record their presence."""
    live_session = _load(token)
    return render(ROOM_PAGE, CONTROLS_FRAGMENT, **_room_context(live_session))


@bp.get("/<token>/timer")
@login_required
def timer(token: str):
    """Return the timer fragment (the whole room without htmx); a poll is a heartbeat."""
    live_session = _load(token)
    if (
        wants_fragment()
        and live_session.state != State.RUNNING
        and live_session.state != State.ENDED
        and _unchanged(live_session)
    ):
        return _nothing_changed()
    return render(ROOM_PAGE, TIMER_FRAGMENT, **_room_context(live_session))


@bp.get("/<token>/controls")
@login_required
def controls(token: str):
    """Return the controls fragment, or 204 when neither the session nor the people changed."""
    live_session = _load(token)
    if wants_fragment() and live_session.state != State.ENDED and _unchanged(live_session):
        return _nothing_changed()
    announce = request.args.get("s") != live_session.state
    context = _room_context(live_session, announce_state=announce)
    return render(ROOM_PAGE, CONTROLS_FRAGMENT, **context)


def _answer(live_session: LiveSession, *, status: int = 200, **extra):
    """Respond to a room form: 303 to the room, or the fresh controls fragment for htmx.

    A refusal renders the page (or the fragment) with its status and reason instead.
    """
    if status == 200 and not wants_fragment():
        return redirect(url_for("sessions.room", token=live_session.token), 303)
    database.rollback()
    db.session.refresh(live_session)
    context = _room_context(live_session, announce_state=True, **extra)
    response = render(ROOM_PAGE, CONTROLS_FRAGMENT, status, **context)
    if status == 200:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


def _refused(live_session: LiveSession, error: ServiceError, **extra):
    logger.info(
        "live session %s: %s by user %s rejected with %s: %s",
        live_session.id,
        request.form.get("action") or request.path.rsplit("/", 1)[-1],
        current_user.id,
        error.status,
        error.message,
    )
    return _answer(
        live_session, status=error.status, error=error.message, error_status=error.status, **extra
    )


@bp.get("/<token>/checklist")
@login_required
def checklist(token: str):
    """Show the mentor's start checklist, a page of its own so no refresh clears the ticks."""
    live_session = _load(token)
    role = live_session.role_of(current_user.id)
    if role != "mentor":
        raise Forbidden("Only the mentor can request to start the session.")
    if Action.REQUEST_START not in allowed_actions(
        state=live_session.state, kind=live_session.kind, role=role
    ):
        return redirect(url_for("sessions.room", token=token), 303)
    return render_template(CHECKLIST_PAGE, **_room_context(live_session))


def _checklist_refused(live_session: LiveSession, error: ServiceError, form):
    """Show the checklist again, ticks kept, with the reason the start request failed.

    The room's own checklist (htmx) gets the controls fragment, the checklist page the page.
    """
    if wants_fragment():
        return _refused(live_session, error, checklist_form=form)
    logger.info(
        "live session %s: start request by user %s rejected with %s: %s",
        live_session.id,
        current_user.id,
        error.status,
        error.message,
    )
    database.rollback()
    context = _room_context(
        live_session, checklist_form=form, error=error.message, error_status=error.status
    )
    return make_response(render_template(CHECKLIST_PAGE, **context), error.status)


@bp.post("/<token>/actions")
@login_required
def act(token: str):
    """Apply the clicked action (request_start, start, pause, resume, end or nudge)."""
    live_session = services.live_session_for(current_user.id, token)
    action = request.form.get("action", "")
    checklist_form = None
    if action == Action.REQUEST_START and live_session.role_of(current_user.id) == "mentor":
        # The checklist is input: it is checked after the role and before the state.
        checklist_form = StartChecklistForm()
        if not checklist_form.validate():
            error = Invalid("Tick every item of the checklist before requesting to start.")
            return _checklist_refused(live_session, error, checklist_form)
    try:
        services.perform(token, current_user.id, action)
    except AlreadyDone:
        logger.info("live session %s: %s was already in effect", live_session.id, action)
    except ServiceError as error:
        if checklist_form is not None:
            return _checklist_refused(live_session, error, checklist_form)
        return _refused(live_session, error)
    return _answer(live_session)


@bp.post("/<token>/meeting-link")
@login_required
def meeting_link(token: str):
    """Set the meeting link of the room (either participant); only https:// links."""
    live_session = services.live_session_for(current_user.id, token)
    form = MeetingLinkForm()
    if not form.validate():
        error = Invalid("Enter a meeting link that starts with https://.")
        return _refused(live_session, error, meeting_form=form)
    return _set_meeting_link(live_session, form.url.data, form)


@bp.post("/<token>/jitsi")
@login_required
def jitsi(token: str):
    """Set a new Jitsi Meet room with a random, unguessable name as the meeting link."""
    live_session = services.live_session_for(current_user.id, token)
    url = JITSI_ROOM_PREFIX + secrets.token_urlsafe(18)
    return _set_meeting_link(live_session, url, MeetingLinkForm(formdata=None, url=url))


def _set_meeting_link(live_session: LiveSession, url: str, form: MeetingLinkForm):
    try:
        services.set_meeting_link(live_session.token, current_user.id, url)
    except AlreadyDone:
        pass
    except ServiceError as error:
        form.url.errors = [error.message]
        return _refused(live_session, error, meeting_form=form)
    return _answer(live_session)


@bp.post("/<token>/cap")
@login_required
def cap(token: str):
    """Set, change or remove (the `remove` button) the mentee's spending cap."""
    live_session = services.live_session_for(current_user.id, token)
    if live_session.role_of(current_user.id) != "mentee":
        return _refused(live_session, Forbidden("Only the mentee can set the spending cap."))
    form = CapForm()
    cap_minutes = None
    if "remove" not in request.form:
        if not form.validate():
            # WTForms leaves `data` None when the value is missing or not an integer, and then
            # its own "Not a valid integer value." would not say what to enter.
            if form.cap_minutes.data is None:
                form.cap_minutes.errors = [CAP_NOT_A_NUMBER]
            error = Invalid(form.cap_minutes.errors[0])
            return _refused(live_session, error, cap_form=form)
        cap_minutes = form.cap_minutes.data
    try:
        services.set_cap(token, current_user.id, cap_minutes)
    except AlreadyDone:
        pass
    except ServiceError as error:
        form.cap_minutes.errors = [error.message]
        return _refused(live_session, error, cap_form=form)
    return _answer(live_session)
