"""Unit tests of billed time, running intervals and the timed rules of a live session."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.domain.lifecycle import Action, State
from webapp.domain.timeline import (
    RULE_ACTIONS,
    RULE_ORDER,
    Due,
    Interval,
    Limits,
    Rule,
    Snapshot,
    billed_ms,
    billed_ms_from_intervals,
    billed_seconds,
    due_rules,
    idle_deadline,
    intervals_from_events,
    next_deadline_at,
    next_due,
    resume_budget_seconds,
    running_deadline,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LIMITS = Limits()


def at(seconds=0, ms=0):
    """Return the instant `seconds` and `ms` after T0."""
    return T0 + timedelta(seconds=seconds, milliseconds=ms)


@dataclasses.dataclass
class Event:
    kind: str
    at: datetime
    actor: str


def make_snapshot(**changes):
    """Return an open paid live session created at T0, with `changes` applied."""
    values = {
        "kind": "paid",
        "state": "open",
        "created_at": T0,
        "start_requested_at": None,
        "start_reminders_sent": 0,
        "running_since": None,
        "billed_ms_closed": 0,
        "paused_at": None,
        "pause_reminded": False,
        "free_cap_warned": False,
        "limit_warned": False,
        "affordable_seconds": None,
        "limit_rule": "credit",
    }
    values.update(changes)
    return Snapshot(**values)


def running_paid(since=3600, closed_ms=0, affordable=1020, **changes):
    return make_snapshot(
        state="running",
        running_since=at(since),
        billed_ms_closed=closed_ms,
        affordable_seconds=affordable,
        **changes,
    )


def running_free(since=3600, closed_ms=0, **changes):
    return make_snapshot(
        kind="free", state="running", running_since=at(since), billed_ms_closed=closed_ms, **changes
    )


def apply_rule(snapshot, due):
    """Return the snapshot after the service applies `due` at its deadline."""
    action = RULE_ACTIONS[due.rule]
    closed_ms = snapshot.billed_ms_closed
    if snapshot.state is State.RUNNING and action is not None:
        closed_ms = billed_ms(closed_ms, snapshot.running_since, due.at)
    if action is Action.END:
        return dataclasses.replace(
            snapshot, state="ended", running_since=None, billed_ms_closed=closed_ms
        )
    if action is Action.PAUSE:
        return dataclasses.replace(
            snapshot,
            state="paused",
            running_since=None,
            billed_ms_closed=closed_ms,
            paused_at=due.at,
            pause_reminded=False,
        )
    flags = {
        Rule.START_REMINDER: {"start_reminders_sent": snapshot.start_reminders_sent + 1},
        Rule.PAUSE_REMINDER: {"pause_reminded": True},
        Rule.FREE_CAP_WARNING: {"free_cap_warned": True},
        Rule.LIMIT_WARNING: {"limit_warned": True},
    }
    return dataclasses.replace(snapshot, **flags[due.rule])


def run_until(snapshot, now, limits=LIMITS, max_steps=50):
    """Apply every rule due by `now` the way the service loops, and list what applied."""
    applied = []
    while (due := next_due(snapshot, limits)) is not None and due.at <= now:
        applied.append((due.rule, due.at))
        snapshot = apply_rule(snapshot, due)
        assert len(applied) <= max_steps, applied
    return snapshot, applied


# Billed time.


def test_billed_ms_not_running():
    assert billed_ms(1500, None, at(100)) == 1500


def test_billed_ms_running():
    assert billed_ms(1500, at(10), at(12, ms=750)) == 4250


def test_billed_ms_sub_millisecond_floors():
    now = at(10) + timedelta(microseconds=1999)
    assert billed_ms(0, at(10), now) == 1


def test_billed_ms_now_before_start():
    # A lagging clock never takes billed time back.
    assert billed_ms(1500, at(10), at(9)) == 1500


def test_billed_seconds_floors_once():
    # 1.5 s closed plus 1.5 s running is 3 s, while flooring each part first would give 2 s.
    assert billed_seconds(1500, at(10), at(11, ms=500)) == 3


def test_billed_seconds_just_below_minute():
    assert billed_seconds(59_999, None, at(0)) == 59


def test_billed_ms_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        billed_ms(0, None, datetime(2025, 3, 3, 9, 0))


def test_billed_ms_naive_running_since():
    with pytest.raises(ValueError, match="timezone-aware"):
        billed_ms(0, datetime(2025, 3, 3, 9, 0), at(10))


def test_billed_ms_negative_closed():
    with pytest.raises(ValueError, match="closed_ms"):
        billed_ms(-1, None, at(0))


def test_billed_ms_other_offset():
    # An aware instant in another offset is the same instant.
    paris = timezone(timedelta(hours=1))
    assert billed_ms(0, at(0), at(60).astimezone(paris)) == 60_000


# Running intervals.

EVENTS = [
    Event("created", at(0), "mentor"),
    Event("joined", at(10), "mentee"),
    Event("start_requested", at(30), "mentor"),
    Event("started", at(60), "mentee"),
    Event("paused", at(660, ms=250), "mentor"),
    Event("pause_reminded", at(1260, ms=250), "pause_reminder"),
    Event("resumed", at(1300), "mentee"),
    Event("ended", at(1500, ms=999), "credit"),
]


def test_intervals_from_events_closed():
    assert intervals_from_events(EVENTS) == [
        Interval(at(60), at(660, ms=250), "mentee", "mentor"),
        Interval(at(1300), at(1500, ms=999), "mentee", "credit"),
    ]


def test_billed_ms_from_intervals_closed():
    # 600.250 s + 200.999 s = 801.249 s.
    intervals = intervals_from_events(EVENTS)
    assert billed_ms_from_intervals(intervals, at(99999)) == 801_249


def test_intervals_from_events_open():
    intervals = intervals_from_events(EVENTS[:7])
    assert intervals[-1] == Interval(at(1300), None, "mentee", None)


def test_billed_ms_from_intervals_open():
    # 600.250 s closed plus 100 s of the open interval.
    intervals = intervals_from_events(EVENTS[:7])
    assert billed_ms_from_intervals(intervals, at(1400)) == 700_250


def test_billed_ms_from_intervals_matches_stored():
    # The figure rebuilt from events equals closed + (now - running_since).
    intervals = intervals_from_events(EVENTS[:7])
    assert billed_ms_from_intervals(intervals, at(1400)) == billed_ms(600_250, at(1300), at(1400))


def test_intervals_from_events_end_while_paused():
    events = [Event("started", at(0), "mentee"), Event("paused", at(60), "idle")]
    events.append(Event("ended", at(7260), "paused_too_long"))
    assert intervals_from_events(events) == [Interval(at(0), at(60), "mentee", "idle")]


def test_intervals_from_events_never_started():
    events = [Event("created", at(0), "mentor"), Event("ended", at(86400), "unstarted")]
    assert intervals_from_events(events) == []


def test_intervals_from_events_empty():
    assert intervals_from_events([]) == []


def test_intervals_from_events_pause_not_running():
    with pytest.raises(ValueError, match="while not running"):
        intervals_from_events([Event("paused", at(0), "mentor")])


def test_intervals_from_events_double_start():
    events = [Event("started", at(0), "mentee"), Event("resumed", at(5), "mentor")]
    with pytest.raises(ValueError, match="while already running"):
        intervals_from_events(events)


def test_intervals_from_events_after_end():
    events = [Event("ended", at(0), "mentor"), Event("started", at(5), "mentee")]
    with pytest.raises(ValueError, match="follows the end"):
        intervals_from_events(events)


def test_intervals_from_events_backwards():
    events = [Event("started", at(10), "mentee"), Event("paused", at(5), "mentor")]
    with pytest.raises(ValueError, match="precedes its start"):
        intervals_from_events(events)


def test_intervals_from_events_naive():
    with pytest.raises(ValueError, match="timezone-aware"):
        intervals_from_events([Event("started", datetime(2025, 3, 3), "mentee")])


# Limits and snapshots.


def test_limits_defaults():
    assert LIMITS.free_session_limit_seconds == 2400
    assert LIMITS.free_session_warning_seconds == 2100
    assert LIMITS.start_reminder_seconds == 180
    assert LIMITS.start_reminder_max == 3
    assert LIMITS.pause_reminder_seconds == 600
    assert LIMITS.idle_pause_seconds == 300
    assert LIMITS.unstarted_expiry_seconds == 86400
    assert LIMITS.paused_expiry_seconds == 7200
    assert LIMITS.max_session_seconds == 21600
    assert LIMITS.start_grace_seconds == 60
    assert LIMITS.min_credit_seconds == 1200
    assert LIMITS.limit_warning_seconds == 300


def test_limits_from_config():
    limits = Limits.from_config({"FREE_SESSION_LIMIT_SECONDS": 40, "SECRET_KEY": "x"})
    assert limits.free_session_limit_seconds == 40
    assert limits.free_session_warning_seconds == 2100


def test_limits_negative():
    with pytest.raises(ValueError, match="idle_pause_seconds"):
        Limits(idle_pause_seconds=-1)


def test_limits_zero_reminder_interval():
    with pytest.raises(ValueError, match="start_reminder_seconds"):
        Limits(start_reminder_seconds=0)


def test_limits_float():
    with pytest.raises(TypeError, match="max_session_seconds"):
        Limits(max_session_seconds=1.5)


def test_snapshot_converts_strings():
    snapshot = make_snapshot()
    assert snapshot.state is State.OPEN
    assert snapshot.limit_rule is Rule.CREDIT


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"state": "start_requested"}, "start_requested_at"),
        ({"state": "running", "affordable_seconds": 100}, "running_since"),
        ({"state": "paused"}, "paused_at"),
        ({"state": "running", "running_since": T0}, "affordable_seconds"),
        ({"limit_rule": "max_length"}, "limit_rule"),
        ({"limit_rule": "wallet"}, "wallet"),
        ({"state": "preview"}, "preview"),
        ({"kind": "trial"}, "trial"),
        ({"created_at": datetime(2025, 3, 3)}, "timezone-aware"),
        ({"billed_ms_closed": -1}, "billed_ms_closed"),
        ({"start_reminders_sent": -1}, "start_reminders_sent"),
        ({"affordable_seconds": -1}, "affordable_seconds"),
    ],
)
def test_snapshot_rejects_inconsistent(changes, message):
    with pytest.raises(ValueError, match=message):
        make_snapshot(**changes)


def test_snapshot_free_running_needs_no_affordable():
    snapshot = running_free()
    assert snapshot.affordable_seconds is None


# Each timed rule at its exact instant.


def test_next_due_unstarted_open():
    assert next_due(make_snapshot(), LIMITS) == Due(Rule.UNSTARTED, at(86400))


@pytest.mark.parametrize(
    ("sent", "seconds"),
    [
        # Requested at 60 s: reminders at 60 + 180, 60 + 360 and 60 + 540.
        (0, 240),
        (1, 420),
        (2, 600),
    ],
)
def test_next_due_start_reminder(sent, seconds):
    snapshot = make_snapshot(
        state="start_requested", start_requested_at=at(60), start_reminders_sent=sent
    )
    assert next_due(snapshot, LIMITS) == Due(Rule.START_REMINDER, at(seconds))


def test_next_due_start_reminders_exhausted():
    snapshot = make_snapshot(
        state="start_requested", start_requested_at=at(60), start_reminders_sent=3
    )
    assert next_due(snapshot, LIMITS) == Due(Rule.UNSTARTED, at(86400))


def test_next_due_start_reminder_after_expiry():
    # Requested late: the next reminder (86300 + 180) comes after the expiry at 86400.
    snapshot = make_snapshot(state="start_requested", start_requested_at=at(86300))
    assert next_due(snapshot, LIMITS) == Due(Rule.UNSTARTED, at(86400))


def test_next_due_pause_reminder():
    snapshot = make_snapshot(state="paused", paused_at=at(1000, ms=5), affordable_seconds=1020)
    assert next_due(snapshot, LIMITS) == Due(Rule.PAUSE_REMINDER, at(1600, ms=5))


def test_next_due_paused_too_long():
    snapshot = make_snapshot(state="paused", paused_at=at(1000, ms=5), pause_reminded=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.PAUSED_TOO_LONG, at(8200, ms=5))


def test_next_due_free_cap_warning():
    assert next_due(running_free(), LIMITS) == Due(Rule.FREE_CAP_WARNING, at(3600 + 2100))


def test_next_due_free_cap():
    snapshot = running_free(free_cap_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.FREE_CAP, at(3600 + 2400))


def test_next_due_free_cap_after_earlier_intervals():
    # 1000.5 s already run: the cap comes 1399.5 s into this interval.
    snapshot = running_free(closed_ms=1_000_500, free_cap_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.FREE_CAP, at(3600 + 1399, ms=500))


def test_next_due_free_warning_after_earlier_intervals():
    # 1000.5 s already run: the warning at 2100 s comes 1099.5 s into this interval.
    snapshot = running_free(closed_ms=1_000_500)
    assert next_due(snapshot, LIMITS) == Due(Rule.FREE_CAP_WARNING, at(3600 + 1099, ms=500))


def test_next_due_limit_warning():
    # 1020 s affordable: warned at 720 s of billed time.
    assert next_due(running_paid(), LIMITS) == Due(Rule.LIMIT_WARNING, at(3600 + 720))


def test_next_due_limit_warning_after_earlier_intervals():
    # 500.5 s already billed: 720 s comes 219.5 s into this interval.
    snapshot = running_paid(closed_ms=500_500)
    assert next_due(snapshot, LIMITS) == Due(Rule.LIMIT_WARNING, at(3600 + 219, ms=500))


def test_next_due_credit():
    snapshot = running_paid(limit_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.CREDIT, at(3600 + 1020))


def test_next_due_cap():
    snapshot = running_paid(affordable=1800, limit_warned=True, limit_rule="cap")
    assert next_due(snapshot, LIMITS) == Due(Rule.CAP, at(3600 + 1800))


def test_next_due_credit_after_earlier_intervals():
    # 500.5 s already billed: 1020 s comes 519.5 s into this interval.
    snapshot = running_paid(closed_ms=500_500, limit_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.CREDIT, at(3600 + 519, ms=500))


def test_next_due_max_length_paid():
    snapshot = running_paid(closed_ms=600_000, affordable=100_000, limit_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.MAX_LENGTH, at(3600 + 21000))


def test_next_due_max_length_free():
    limits = Limits(max_session_seconds=1800)
    assert next_due(running_free(), limits) == Due(Rule.MAX_LENGTH, at(3600 + 1800))


def test_next_due_warning_passed_falls_on_resume():
    # 800 s billed, 1050 s affordable after a top-up: less than 300 s left, so the re-armed
    # warning falls due at once, at the resume, never before it.
    snapshot = running_paid(closed_ms=800_000, affordable=1050)
    assert next_due(snapshot, LIMITS) == Due(Rule.LIMIT_WARNING, at(3600))


def test_next_due_limit_passed_falls_on_resume():
    snapshot = running_paid(closed_ms=800_000, affordable=700, limit_warned=True)
    assert next_due(snapshot, LIMITS) == Due(Rule.CREDIT, at(3600))


def test_next_due_ended():
    snapshot = make_snapshot(state="ended")
    assert next_due(snapshot, LIMITS) is None


def test_next_deadline_at_value():
    assert next_deadline_at(running_paid(), LIMITS) == at(3600 + 720)


def test_next_deadline_at_ended():
    assert next_deadline_at(make_snapshot(state="ended"), LIMITS) is None


def test_running_deadline_not_running():
    with pytest.raises(ValueError, match="running deadlines"):
        running_deadline(make_snapshot(), 1000)


def test_due_rules_lists_all():
    assert due_rules(running_paid(), LIMITS) == [
        Due(Rule.LIMIT_WARNING, at(3600 + 720)),
        Due(Rule.CREDIT, at(3600 + 1020)),
        Due(Rule.MAX_LENGTH, at(3600 + 21600)),
    ]


# Ties: rules at the same instant apply in RULE_ORDER.


def test_rule_order_value():
    assert [rule.value for rule in RULE_ORDER] == [
        "unstarted",
        "paused_too_long",
        "free_cap_warning",
        "free_cap",
        "max_length",
        "limit_warning",
        "credit",
        "cap",
        "start_reminder",
        "pause_reminder",
    ]


def test_tie_limit_warning_before_credit():
    limits = Limits(limit_warning_seconds=0)
    _, applied = run_until(running_paid(), at(99999), limits)
    assert applied[:2] == [(Rule.LIMIT_WARNING, at(4620)), (Rule.CREDIT, at(4620))]


def test_tie_free_warning_before_cap():
    limits = Limits(free_session_warning_seconds=2400)
    _, applied = run_until(running_free(), at(99999), limits)
    assert applied == [(Rule.FREE_CAP_WARNING, at(6000)), (Rule.FREE_CAP, at(6000))]


def test_tie_max_length_before_credit():
    snapshot = running_paid(affordable=21600, limit_warned=True)
    _, applied = run_until(snapshot, at(99999))
    assert applied == [(Rule.MAX_LENGTH, at(3600 + 21600))]


def test_tie_free_cap_before_max_length():
    limits = Limits(max_session_seconds=2400)
    snapshot = running_free(free_cap_warned=True)
    assert next_due(snapshot, limits) == Due(Rule.FREE_CAP, at(6000))


def test_tie_paused_too_long_before_reminder():
    limits = Limits(pause_reminder_seconds=7200)
    snapshot = make_snapshot(state="paused", paused_at=at(100))
    _, applied = run_until(snapshot, at(99999), limits)
    assert applied == [(Rule.PAUSED_TOO_LONG, at(7300))]


def test_tie_unstarted_before_start_reminder():
    snapshot = make_snapshot(state="start_requested", start_requested_at=at(86400 - 180))
    _, applied = run_until(snapshot, at(99999))
    assert applied == [(Rule.UNSTARTED, at(86400))]


# Applying a rule makes it not due again.


@pytest.mark.parametrize(
    ("snapshot", "rule"),
    [
        (make_snapshot(), Rule.UNSTARTED),
        (make_snapshot(state="start_requested", start_requested_at=at(60)), Rule.START_REMINDER),
        (make_snapshot(state="paused", paused_at=at(100)), Rule.PAUSE_REMINDER),
        (
            make_snapshot(state="paused", paused_at=at(100), pause_reminded=True),
            Rule.PAUSED_TOO_LONG,
        ),
        (running_free(), Rule.FREE_CAP_WARNING),
        (running_free(free_cap_warned=True), Rule.FREE_CAP),
        (running_paid(), Rule.LIMIT_WARNING),
        (running_paid(limit_warned=True), Rule.CREDIT),
        (running_paid(limit_warned=True, limit_rule="cap"), Rule.CAP),
        (running_paid(affordable=30000, limit_warned=True), Rule.MAX_LENGTH),
    ],
)
def test_applying_rule_clears_it(snapshot, rule):
    due = next_due(snapshot, LIMITS)
    assert due.rule == rule
    after = apply_rule(snapshot, due)
    following = next_due(after, LIMITS)
    assert following is None or following.rule != rule or following.at > due.at


def test_applying_pause_records_billed_time():
    due = next_due(running_paid(closed_ms=500_500, limit_warned=True), LIMITS)
    after = apply_rule(running_paid(closed_ms=500_500, limit_warned=True), due)
    # Paused at exactly affordable_seconds * 1000.
    assert after.billed_ms_closed == 1_020_000


# Whole runs of the service loop.


def test_run_start_requested_to_unstarted():
    snapshot = make_snapshot(state="start_requested", start_requested_at=at(60))
    final, applied = run_until(snapshot, at(2 * 86400))
    assert applied == [
        (Rule.START_REMINDER, at(240)),
        (Rule.START_REMINDER, at(420)),
        (Rule.START_REMINDER, at(600)),
        (Rule.UNSTARTED, at(86400)),
    ]
    assert final.state is State.ENDED


def test_run_paid_out_of_credit():
    final, applied = run_until(running_paid(), at(2 * 86400))
    assert applied == [
        (Rule.LIMIT_WARNING, at(3600 + 720)),
        (Rule.CREDIT, at(3600 + 1020)),
        (Rule.PAUSE_REMINDER, at(3600 + 1020 + 600)),
        (Rule.PAUSED_TOO_LONG, at(3600 + 1020 + 7200)),
    ]
    assert final.billed_ms_closed == 1_020_000


def test_run_free_to_cap():
    final, applied = run_until(running_free(), at(2 * 86400))
    assert applied == [
        (Rule.FREE_CAP_WARNING, at(3600 + 2100)),
        (Rule.FREE_CAP, at(3600 + 2400)),
    ]
    assert final.billed_ms_closed == 2_400_000


def test_run_stops_at_now():
    # Only the warning is due 800 s into the run.
    final, applied = run_until(running_paid(), at(3600 + 800))
    assert applied == [(Rule.LIMIT_WARNING, at(3600 + 720))]
    assert final.state is State.RUNNING


def test_run_rule_due_exactly_now():
    _, applied = run_until(running_paid(), at(3600 + 720))
    assert applied == [(Rule.LIMIT_WARNING, at(3600 + 720))]


# The idle rule and the resume budget.


def test_idle_deadline_no_heartbeat():
    assert idle_deadline(at(100), None, LIMITS) == at(400)


def test_idle_deadline_old_heartbeat():
    assert idle_deadline(at(100), at(50), LIMITS) == at(400)


def test_idle_deadline_newer_heartbeat():
    assert idle_deadline(at(100), at(250, ms=7), LIMITS) == at(550, ms=7)


def test_idle_deadline_naive():
    with pytest.raises(ValueError, match="timezone-aware"):
        idle_deadline(at(100), datetime(2025, 3, 3), LIMITS)


def test_idle_not_in_next_due():
    assert Rule.IDLE not in RULE_ORDER


def test_resume_budget_paid():
    assert resume_budget_seconds("paid", 960, 1020, LIMITS) == 60


def test_resume_budget_free():
    assert resume_budget_seconds("free", 2341, None, LIMITS) == 59


def test_resume_budget_paid_needs_affordable():
    with pytest.raises(ValueError, match="affordable_seconds"):
        resume_budget_seconds("paid", 60, None, LIMITS)


# No rule is due forever: the service loop always ends, in order.

instants = st.integers(min_value=0, max_value=200_000).map(lambda ms: at(ms=ms * 1000))
limits_strategy = st.builds(
    Limits,
    free_session_limit_seconds=st.integers(0, 3000),
    free_session_warning_seconds=st.integers(0, 3000),
    start_reminder_seconds=st.integers(1, 500),
    start_reminder_max=st.integers(0, 5),
    pause_reminder_seconds=st.integers(0, 8000),
    paused_expiry_seconds=st.integers(0, 8000),
    unstarted_expiry_seconds=st.integers(0, 90000),
    max_session_seconds=st.integers(0, 30000),
    limit_warning_seconds=st.integers(0, 600),
)


@st.composite
def snapshots(draw):
    kind = draw(st.sampled_from(["free", "paid"]))
    state = draw(st.sampled_from(["open", "start_requested", "running", "paused", "ended"]))
    return make_snapshot(
        kind=kind,
        state=state,
        start_requested_at=draw(instants),
        start_reminders_sent=draw(st.integers(0, 4)),
        running_since=draw(instants),
        billed_ms_closed=draw(st.integers(0, 30_000_000)),
        paused_at=draw(instants),
        pause_reminded=draw(st.booleans()),
        free_cap_warned=draw(st.booleans()),
        limit_warned=draw(st.booleans()),
        affordable_seconds=draw(st.integers(0, 30000)) if kind == "paid" else None,
        limit_rule=draw(st.sampled_from(["credit", "cap"])),
    )


@given(snapshots(), limits_strategy)
def test_service_loop_terminates(snapshot, limits):
    # Reminders, warnings, one pause and one end bound the number of steps, and every
    # deadline lies before 10^7 s, so each live session ends.
    final, _ = run_until(snapshot, at(10**7), limits, max_steps=limits.start_reminder_max + 8)
    assert final.state is State.ENDED
    assert next_due(final, limits) is None


@given(snapshots(), limits_strategy)
def test_service_loop_instants_never_go_back(snapshot, limits):
    _, applied = run_until(snapshot, at(10**7), limits, max_steps=limits.start_reminder_max + 8)
    instants_applied = [instant for _, instant in applied]
    assert instants_applied == sorted(instants_applied)
