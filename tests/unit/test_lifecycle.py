"""Unit tests of the action-by-state table: every cell, for both kinds, roles and presences."""

import itertools

import pytest

from webapp.domain.lifecycle import (
    RESUME_MIN_BUDGET_SECONDS,
    TABLE,
    Action,
    Decision,
    Kind,
    Outcome,
    Role,
    State,
    allowed_actions,
    decide,
)

STATES = ["open", "start_requested", "running", "paused", "ended"]

# The table written out cell by cell: a target state, "already" (200, nothing changes) or
# "409". Roles not listed for a row get 403 in every state. A free session never reaches
# start_requested, so its start cell there is a 409.
EXPECTED_CELLS = {
    ("request_start", "paid"): ["start_requested", "already", "409", "409", "409"],
    ("request_start", "free"): ["409", "409", "409", "409", "409"],
    ("start", "paid"): ["409", "running", "already", "409", "409"],
    ("start", "free"): ["running", "409", "already", "409", "409"],
    ("pause", "paid"): ["409", "409", "paused", "already", "409"],
    ("pause", "free"): ["409", "409", "paused", "already", "409"],
    ("resume", "paid"): ["409", "409", "already", "running", "409"],
    ("resume", "free"): ["409", "409", "already", "running", "409"],
    ("end", "paid"): ["ended", "ended", "ended", "ended", "already"],
    ("end", "free"): ["ended", "ended", "ended", "ended", "already"],
    ("nudge", "paid"): ["409", "start_requested", "409", "409", "409"],
    ("nudge", "free"): ["409", "409", "409", "409", "409"],
}
EXPECTED_ROLES = {
    "request_start": {"mentor"},
    "start": {"mentee"},  # paid only, because _expected opens a free start to both roles
    "pause": {"mentor", "mentee"},
    "resume": {"mentor", "mentee"},
    "end": {"mentor", "mentee"},
    "nudge": {"mentor"},
}
# Actions whose transition needs the other participant in the room.
NEEDS_PRESENCE = {("request_start", "paid"), ("start", "paid"), ("start", "free")}

ALL_CASES = list(
    itertools.product(
        ["request_start", "start", "pause", "resume", "end", "nudge"],
        ["paid", "free"],
        STATES,
        ["mentor", "mentee"],
        [True, False],
    )
)


def _expected(action, kind, state, role, present):
    roles = {"mentor", "mentee"} if (action, kind) == ("start", "free") else EXPECTED_ROLES[action]
    if role not in roles:
        return ("forbidden", None)
    cell = EXPECTED_CELLS[(action, kind)][STATES.index(state)]
    if cell == "already":
        return ("already", None)
    if cell == "409":
        return ("conflict", None)
    if (action, kind) in NEEDS_PRESENCE and not present:
        return ("conflict", None)
    return ("apply", cell)


@pytest.mark.parametrize(("action", "kind", "state", "role", "present"), ALL_CASES)
def test_decide_every_cell(action, kind, state, role, present):
    # A budget of a full hour, so that only the table decides a resume.
    decision = decide(
        action,
        state=state,
        kind=kind,
        role=role,
        other_present=present,
        resume_budget_seconds=3600,
    )
    outcome, new_state = _expected(action, kind, state, role, present)
    assert decision.outcome == outcome
    assert decision.new_state == new_state
    assert decision.reason


def test_decide_case_count():
    # 6 actions x 2 kinds x 5 states x 2 roles x 2 presences.
    assert len(ALL_CASES) == 240


def test_table_covers_every_action_and_kind():
    assert set(TABLE) == set(itertools.product(Action, Kind))


def test_table_covers_every_state():
    for rule in TABLE.values():
        assert set(rule.cells) == set(State)


@pytest.mark.parametrize("state", STATES)
def test_decide_mentor_paid_start_forbidden(state):
    decision = decide("start", state=state, kind="paid", role="mentor", other_present=True)
    assert decision.outcome == Outcome.FORBIDDEN
    assert decision.reason == "Only the mentee can start billing."


@pytest.mark.parametrize("state", STATES)
def test_decide_mentee_request_start_forbidden(state):
    for kind in ("paid", "free"):
        decision = decide(
            "request_start", state=state, kind=kind, role="mentee", other_present=True
        )
        assert decision.outcome == Outcome.FORBIDDEN
        assert decision.reason == "Only the mentor can request to start the session."


@pytest.mark.parametrize("kind", ["paid", "free"])
def test_decide_mentee_nudge_forbidden(kind):
    decision = decide(
        "nudge", state="start_requested", kind=kind, role="mentee", other_present=True
    )
    assert decision.outcome == Outcome.FORBIDDEN
    assert decision.reason == "Only the mentor can nudge the mentee."


def test_decide_free_request_start_conflict():
    decision = decide("request_start", state="open", kind="free", role="mentor", other_present=True)
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == "A free session starts without a start request."


def test_decide_free_nudge_conflict():
    decision = decide("nudge", state="open", kind="free", role="mentor", other_present=True)
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == "A free session has no start request to nudge about."


def test_decide_request_start_mentee_absent():
    decision = decide(
        "request_start", state="open", kind="paid", role="mentor", other_present=False
    )
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == "The mentee is not in the room yet."


def test_decide_paid_start_mentor_absent():
    decision = decide(
        "start", state="start_requested", kind="paid", role="mentee", other_present=False
    )
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == "The mentor is not in the room."


@pytest.mark.parametrize("role", ["mentor", "mentee"])
def test_decide_free_start_other_absent(role):
    decision = decide("start", state="open", kind="free", role=role, other_present=False)
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == "The other participant is not in the room yet."


def test_decide_already_beats_absence():
    # A second Request to Start click after the mentee left changes nothing and is no error.
    decision = decide(
        "request_start", state="start_requested", kind="paid", role="mentor", other_present=False
    )
    assert decision.outcome == Outcome.ALREADY


def test_decide_forbidden_beats_already():
    decision = decide("start", state="running", kind="paid", role="mentor", other_present=True)
    assert decision.outcome == Outcome.FORBIDDEN


def test_decide_already_reason():
    decision = decide("end", state="ended", kind="paid", role="mentee", other_present=False)
    assert decision.reason == "The session has already ended."


def test_decide_ended_conflict_reason():
    decision = decide("pause", state="ended", kind="free", role="mentor", other_present=True)
    assert decision.reason == "The session has ended."


def test_decide_start_before_request_reason():
    decision = decide("start", state="open", kind="paid", role="mentee", other_present=True)
    assert decision.reason == "The mentor has not requested to start the session yet."


@pytest.mark.parametrize("role", ["mentor", "mentee"])
@pytest.mark.parametrize("present", [True, False])
def test_decide_resume_needs_no_presence(role, present):
    decision = decide(
        "resume",
        state="paused",
        kind="paid",
        role=role,
        other_present=present,
        resume_budget_seconds=60,
    )
    assert decision.outcome == Outcome.APPLY
    assert decision.new_state == State.RUNNING


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (
            "paid",
            "Less than a minute of credit or spending cap is left, so the session cannot resume.",
        ),
        ("free", "Less than a minute of the free session is left, so it cannot resume."),
    ],
)
def test_decide_resume_budget_too_small(kind, reason):
    decision = decide(
        "resume",
        state="paused",
        kind=kind,
        role="mentee",
        other_present=True,
        resume_budget_seconds=59,
    )
    assert decision.outcome == Outcome.CONFLICT
    assert decision.reason == reason


@pytest.mark.parametrize("budget", [-100, 0, 59])
def test_decide_resume_budget_below_minute(budget):
    decision = decide(
        "resume",
        state="paused",
        kind="free",
        role="mentor",
        other_present=False,
        resume_budget_seconds=budget,
    )
    assert decision.outcome == Outcome.CONFLICT


def test_decide_resume_budget_exactly_minute():
    decision = decide(
        "resume",
        state="paused",
        kind="free",
        role="mentor",
        other_present=False,
        resume_budget_seconds=RESUME_MIN_BUDGET_SECONDS,
    )
    assert decision.outcome == Outcome.APPLY


def test_decide_resume_without_budget_raises():
    with pytest.raises(ValueError, match="resume_budget_seconds is required"):
        decide("resume", state="paused", kind="paid", role="mentee", other_present=True)


def test_decide_resume_already_needs_no_budget():
    decision = decide("resume", state="running", kind="paid", role="mentee", other_present=True)
    assert decision.outcome == Outcome.ALREADY


def test_decide_budget_ignored_outside_resume():
    decision = decide(
        "pause",
        state="running",
        kind="paid",
        role="mentee",
        other_present=False,
        resume_budget_seconds=0,
    )
    assert decision.outcome == Outcome.APPLY


def test_decide_nudge_keeps_state():
    decision = decide(
        "nudge", state="start_requested", kind="paid", role="mentor", other_present=False
    )
    assert decision == Decision(
        Outcome.APPLY,
        State.START_REQUESTED,
        "The mentor nudged the mentee to start the session.",
    )


def test_decide_accepts_enum_members():
    decision = decide(
        Action.PAUSE,
        state=State.RUNNING,
        kind=Kind.PAID,
        role=Role.MENTOR,
        other_present=True,
    )
    assert decision.new_state == "paused"


@pytest.mark.parametrize(
    ("field", "value"),
    [("action", "jump"), ("state", "preview"), ("kind", "trial"), ("role", "operator")],
)
def test_decide_unknown_value_raises(field, value):
    arguments = {
        "action": "pause",
        "state": "running",
        "kind": "paid",
        "role": "mentor",
    }
    arguments[field] = value
    action = arguments.pop("action")
    with pytest.raises(ValueError, match=value):
        decide(action, other_present=True, **arguments)


def test_enum_values_exact():
    assert [state.value for state in State] == STATES
    assert [action.value for action in Action] == [
        "request_start",
        "start",
        "pause",
        "resume",
        "end",
        "nudge",
    ]


@pytest.mark.parametrize(
    ("state", "kind", "role", "actions"),
    [
        ("open", "paid", "mentor", ["request_start", "end"]),
        ("open", "paid", "mentee", ["end"]),
        ("start_requested", "paid", "mentor", ["end", "nudge"]),
        ("start_requested", "paid", "mentee", ["start", "end"]),
        ("open", "free", "mentee", ["start", "end"]),
        ("running", "free", "mentor", ["pause", "end"]),
        ("paused", "paid", "mentee", ["resume", "end"]),
        ("ended", "paid", "mentor", []),
    ],
)
def test_allowed_actions_values(state, kind, role, actions):
    assert allowed_actions(state=state, kind=kind, role=role) == actions
