"""States and actions of a live session, and who may do what in which state.

`TABLE` is the action-by-state table: for each action and kind of live session it names the
roles allowed to act, what each state turns into, and the presence or budget the action needs.
`decide` reads it in the order the web layer checks: role (403), already in effect (200),
state (409), then presence and budget (409).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """State of a live session. The room calls `open` and `start_requested` its preview."""

    OPEN = "open"
    START_REQUESTED = "start_requested"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class Action(StrEnum):
    """Action a participant takes on a live session."""

    REQUEST_START = "request_start"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    NUDGE = "nudge"


class Kind(StrEnum):
    """Kind of live session: a capped free one, or a paid one billed per minute."""

    FREE = "free"
    PAID = "paid"


class Role(StrEnum):
    """Role of a participant in one live session."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class Outcome(StrEnum):
    """Result of a decision: apply it, nothing to do (200), conflict (409) or forbidden (403)."""

    APPLY = "apply"
    ALREADY = "already"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"


# Resume needs at least this much billed time left before the credit, cap or free limit.
RESUME_MIN_BUDGET_SECONDS = 60

EITHER = frozenset(Role)
MENTOR_ONLY = frozenset({Role.MENTOR})
MENTEE_ONLY = frozenset({Role.MENTEE})

_OPEN = State.OPEN
_REQUESTED = State.START_REQUESTED
_RUNNING = State.RUNNING
_PAUSED = State.PAUSED
_ENDED = State.ENDED
_ALREADY = Outcome.ALREADY
_CONFLICT = Outcome.CONFLICT


@dataclass(frozen=True)
class ActionRule:
    """One row of the action-by-state table, for one kind of live session."""

    roles: frozenset[Role]
    # Per state: the state the action leads to, or ALREADY or CONFLICT.
    cells: Mapping[State, State | Outcome]
    # Shown to a participant whose role may not take the action.
    forbidden_reason: str
    # Shown when the action applies, and usable as a summary in logs.
    applied_reason: str
    # The other participant must be in the room for the action to apply.
    needs_other_present: bool = False
    absent_reason: str = ""
    # The action needs at least RESUME_MIN_BUDGET_SECONDS of billed time left.
    needs_resume_budget: bool = False
    budget_reason: str = ""
    # Replaces the per-state conflict reasons when the action does not exist for this kind.
    kind_conflict_reason: str = ""


def _all_states(cell: Outcome) -> dict[State, State | Outcome]:
    return dict.fromkeys(State, cell)


def _pause_resume_end_rows(kind: Kind) -> dict[tuple[Action, Kind], ActionRule]:
    """Build the rows of pause, resume and end, which work alike for both kinds."""
    if kind is Kind.FREE:
        budget_reason = "Less than a minute of the free session is left, so it cannot resume."
    else:
        budget_reason = (
            "Less than a minute of credit or spending cap is left, so the session cannot resume."
        )
    return {
        (Action.PAUSE, kind): ActionRule(
            roles=EITHER,
            cells={
                _OPEN: _CONFLICT,
                _REQUESTED: _CONFLICT,
                _RUNNING: _PAUSED,
                _PAUSED: _ALREADY,
                _ENDED: _CONFLICT,
            },
            forbidden_reason="",
            applied_reason="The session was paused.",
        ),
        (Action.RESUME, kind): ActionRule(
            # Resume needs no presence, so a participant can resume from a page opened late.
            roles=EITHER,
            cells={
                _OPEN: _CONFLICT,
                _REQUESTED: _CONFLICT,
                _RUNNING: _ALREADY,
                _PAUSED: _RUNNING,
                _ENDED: _CONFLICT,
            },
            forbidden_reason="",
            applied_reason="The session was resumed.",
            needs_resume_budget=True,
            budget_reason=budget_reason,
        ),
        (Action.END, kind): ActionRule(
            roles=EITHER,
            cells={
                _OPEN: _ENDED,
                _REQUESTED: _ENDED,
                _RUNNING: _ENDED,
                _PAUSED: _ENDED,
                _ENDED: _ALREADY,
            },
            forbidden_reason="",
            applied_reason="The session ended.",
        ),
    }


TABLE: dict[tuple[Action, Kind], ActionRule] = {
    **_pause_resume_end_rows(Kind.PAID),
    **_pause_resume_end_rows(Kind.FREE),
    (Action.REQUEST_START, Kind.PAID): ActionRule(
        roles=MENTOR_ONLY,
        cells={
            _OPEN: _REQUESTED,
            _REQUESTED: _ALREADY,
            _RUNNING: _CONFLICT,
            _PAUSED: _CONFLICT,
            _ENDED: _CONFLICT,
        },
        forbidden_reason="Only the mentor can request to start the session.",
        applied_reason="The mentor requested to start the session.",
        needs_other_present=True,
        absent_reason="The mentee is not in the room yet.",
    ),
    (Action.REQUEST_START, Kind.FREE): ActionRule(
        roles=MENTOR_ONLY,
        cells=_all_states(_CONFLICT),
        forbidden_reason="Only the mentor can request to start the session.",
        applied_reason="",
        kind_conflict_reason="A free session starts without a start request.",
    ),
    (Action.START, Kind.PAID): ActionRule(
        # The mentor has no control that starts billing, and the server rejects a mentor's
        # attempt in every state.
        roles=MENTEE_ONLY,
        cells={
            _OPEN: _CONFLICT,
            _REQUESTED: _RUNNING,
            _RUNNING: _ALREADY,
            _PAUSED: _CONFLICT,
            _ENDED: _CONFLICT,
        },
        forbidden_reason="Only the mentee can start billing.",
        applied_reason="The mentee started the billing timer.",
        needs_other_present=True,
        absent_reason="The mentor is not in the room.",
    ),
    (Action.START, Kind.FREE): ActionRule(
        roles=EITHER,
        cells={
            _OPEN: _RUNNING,
            # A free session never reaches start_requested.
            _REQUESTED: _CONFLICT,
            _RUNNING: _ALREADY,
            _PAUSED: _CONFLICT,
            _ENDED: _CONFLICT,
        },
        forbidden_reason="",
        applied_reason="The free session started.",
        needs_other_present=True,
        absent_reason="The other participant is not in the room yet.",
    ),
    (Action.NUDGE, Kind.PAID): ActionRule(
        roles=MENTOR_ONLY,
        cells={
            _OPEN: _CONFLICT,
            # A nudge only notifies the mentee, so the state stays as it is.
            _REQUESTED: _REQUESTED,
            _RUNNING: _CONFLICT,
            _PAUSED: _CONFLICT,
            _ENDED: _CONFLICT,
        },
        forbidden_reason="Only the mentor can nudge the mentee.",
        applied_reason="The mentor nudged the mentee to start the session.",
    ),
    (Action.NUDGE, Kind.FREE): ActionRule(
        roles=MENTOR_ONLY,
        cells=_all_states(_CONFLICT),
        forbidden_reason="Only the mentor can nudge the mentee.",
        applied_reason="",
        kind_conflict_reason="A free session has no start request to nudge about.",
    ),
}


_ALREADY_REASONS: dict[Action, str] = {
    Action.REQUEST_START: "The start request was already sent.",
    Action.START: "The session is already running.",
    Action.PAUSE: "The session is already paused.",
    Action.RESUME: "The session is already running.",
    Action.END: "The session has already ended.",
}

_CONFLICT_REASONS: dict[tuple[Action, State], str] = {
    (Action.REQUEST_START, _RUNNING): "The session has already started.",
    (Action.REQUEST_START, _PAUSED): "The session has already started.",
    (Action.START, _OPEN): "The mentor has not requested to start the session yet.",
    (Action.START, _REQUESTED): "A free session has no start request to accept.",
    (Action.START, _PAUSED): "The session is paused. Use Resume to continue it.",
    (Action.PAUSE, _OPEN): "The session has not started yet.",
    (Action.PAUSE, _REQUESTED): "The session has not started yet.",
    (Action.RESUME, _OPEN): "The session has not started yet.",
    (Action.RESUME, _REQUESTED): "The session has not started yet.",
    (Action.NUDGE, _OPEN): "Request to start the session before nudging the mentee.",
    (Action.NUDGE, _RUNNING): "The session has already started.",
    (Action.NUDGE, _PAUSED): "The session has already started.",
}
_ENDED_REASON = "The session has ended."


@dataclass(frozen=True)
class Decision:
    """The effect of an action on a live session, with a reason a person can read on the page."""

    outcome: Outcome
    # The state after the action when it applies (unchanged for a nudge), otherwise None.
    new_state: State | None
    reason: str


def decide(
    action: str,
    *,
    state: str,
    kind: str,
    role: str,
    other_present: bool,
    resume_budget_seconds: int | None = None,
) -> Decision:
    """Decide what `action` by a participant in `role` does to a live session in `state`.

    `other_present` is True when the other participant is in the room. `resume_budget_seconds`
    is the billed time left before the credit or cap of a paid live session, or before the
    limit of a free one, and is required when a resume could apply. Raises ValueError on an
    unknown action, state, kind or role.
    """
    action, state, kind, role = Action(action), State(state), Kind(kind), Role(role)
    rule = TABLE[(action, kind)]

    if role not in rule.roles:
        return Decision(Outcome.FORBIDDEN, None, rule.forbidden_reason)

    cell = rule.cells[state]
    if cell is Outcome.ALREADY:
        return Decision(Outcome.ALREADY, None, _ALREADY_REASONS[action])
    if cell is Outcome.CONFLICT:
        return Decision(Outcome.CONFLICT, None, _conflict_reason(rule, action, state))

    if rule.needs_other_present and not other_present:
        return Decision(Outcome.CONFLICT, None, rule.absent_reason)
    if rule.needs_resume_budget:
        if resume_budget_seconds is None:
            raise ValueError(f"resume_budget_seconds is required to decide {action} in {state}")
        if resume_budget_seconds < RESUME_MIN_BUDGET_SECONDS:
            return Decision(Outcome.CONFLICT, None, rule.budget_reason)
    return Decision(Outcome.APPLY, State(cell), rule.applied_reason)


def allowed_actions(*, state: str, kind: str, role: str) -> list[Action]:
    """List the actions `role` can take in `state`, if the presence and budget they need hold."""
    state, kind, role = State(state), Kind(kind), Role(role)
    actions = []
    for action in Action:
        rule = TABLE[(action, kind)]
        if role in rule.roles and isinstance(rule.cells[state], State):
            actions.append(action)
    return actions


def _conflict_reason(rule: ActionRule, action: Action, state: State) -> str:
    if rule.kind_conflict_reason:
        return rule.kind_conflict_reason
    if state is State.ENDED:
        return _ENDED_REASON
    return _CONFLICT_REASONS[(action, state)]
