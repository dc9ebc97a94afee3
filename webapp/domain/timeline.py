"""Billed time from running intervals, and the next timed rule of a live session.

Instants are timezone-aware datetimes, in UTC and truncated to milliseconds by the clock.
Billed time is kept in milliseconds and floored to whole seconds once, when it is read.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from webapp.domain.lifecycle import Action, Kind, State

_ONE_MS = timedelta(milliseconds=1)
_ONE_US = timedelta(microseconds=1)


class Rule(StrEnum):
    """Timed rule of a live session. Its value is the actor of the event it records."""

    START_REMINDER = "start_reminder"
    UNSTARTED = "unstarted"
    PAUSE_REMINDER = "pause_reminder"
    PAUSED_TOO_LONG = "paused_too_long"
    FREE_CAP_WARNING = "free_cap_warning"
    FREE_CAP = "free_cap"
    LIMIT_WARNING = "limit_warning"
    CREDIT = "credit"
    CAP = "cap"
    MAX_LENGTH = "max_length"
    # The idle rule is never returned by next_due: see idle_deadline.
    IDLE = "idle"


# The action each rule takes on the live session. None means the rule only notifies and
# records an event.
RULE_ACTIONS: dict[Rule, Action | None] = {
    Rule.START_REMINDER: None,
    Rule.UNSTARTED: Action.END,
    Rule.PAUSE_REMINDER: None,
    Rule.PAUSED_TOO_LONG: Action.END,
    Rule.FREE_CAP_WARNING: None,
    Rule.FREE_CAP: Action.END,
    Rule.LIMIT_WARNING: None,
    Rule.CREDIT: Action.PAUSE,
    Rule.CAP: Action.PAUSE,
    Rule.MAX_LENGTH: Action.END,
    Rule.IDLE: Action.PAUSE,
}

# When rules fall due at the same instant, the first in this order applies first. Ends come
# before pauses and reminders, since an end makes them moot, but each warning comes just
# before the rule it warns of, so a pause or end at the same instant follows its warning.
RULE_ORDER: tuple[Rule, ...] = (
    Rule.UNSTARTED,
    Rule.PAUSED_TOO_LONG,
    Rule.FREE_CAP_WARNING,
    Rule.FREE_CAP,
    Rule.MAX_LENGTH,
    Rule.LIMIT_WARNING,
    Rule.CREDIT,
    Rule.CAP,
    Rule.START_REMINDER,
    Rule.PAUSE_REMINDER,
)
_RULE_RANK = {rule: rank for rank, rule in enumerate(RULE_ORDER)}


class TimelineEvent(Protocol):
    """Any stored event of a live session: its kind, its instant and who or what acted."""

    kind: str
    at: datetime
    actor: str


@dataclass(frozen=True)
class Interval:
    """One running interval of a live session. `ended_at` is None while it still runs."""

    started_at: datetime
    ended_at: datetime | None
    # A user label for a click, or a rule name.
    started_by: str
    stopped_by: str | None


@dataclass(frozen=True)
class Limits:
    """Durations in seconds that the timed rules use, with the default configuration."""

    free_session_limit_seconds: int = 2400
    free_session_warning_seconds: int = 2100
    start_reminder_seconds: int = 180
    start_reminder_max: int = 3
    pause_reminder_seconds: int = 600
    idle_pause_seconds: int = 300
    unstarted_expiry_seconds: int = 86400
    paused_expiry_seconds: int = 7200
    max_session_seconds: int = 21600
    start_grace_seconds: int = 60
    min_credit_seconds: int = 1200
    limit_warning_seconds: int = 300

    def __post_init__(self) -> None:
        for field in fields(self):
            _check_count(field.name, getattr(self, field.name))
        if self.start_reminder_seconds == 0:
            raise ValueError("start_reminder_seconds must be positive, got 0")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Limits":
        """Build limits from a configuration mapping with upper-case keys, such as Flask's."""
        values = {}
        for field in fields(cls):
            key = field.name.upper()
            if key in config:
                values[field.name] = config[key]
        return cls(**values)


@dataclass(frozen=True)
class Snapshot:
    """The stored facts of one live session that its timed rules depend on."""

    kind: Kind
    state: State
    created_at: datetime
    start_requested_at: datetime | None
    start_reminders_sent: int
    # Set while running: the instant the current running interval began.
    running_since: datetime | None
    # The sum of the finished running intervals.
    billed_ms_closed: int
    # Set while paused: the instant the current pause began.
    paused_at: datetime | None
    pause_reminded: bool
    free_cap_warned: bool
    # Cleared whenever the credit or cap limit moves, which re-arms the warning.
    limit_warned: bool
    # The billed time the credit and cap allow; None for a free live session.
    affordable_seconds: int | None
    # Which bound sets affordable_seconds, and so names the rule that pauses: "credit" or "cap".
    limit_rule: str = Rule.CREDIT

    def __post_init__(self) -> None:
        # Accept plain strings from the database and keep the enum members.
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "state", State(self.state))
        object.__setattr__(self, "limit_rule", Rule(self.limit_rule))
        if self.limit_rule not in (Rule.CREDIT, Rule.CAP):
            raise ValueError(f"limit_rule must be 'credit' or 'cap', got {self.limit_rule!r}")

        for name in ("created_at", "start_requested_at", "running_since", "paused_at"):
            value = getattr(self, name)
            if value is not None:
                _check_aware(name, value)
        _check_count("start_reminders_sent", self.start_reminders_sent)
        _check_count("billed_ms_closed", self.billed_ms_closed)
        if self.affordable_seconds is not None:
            _check_count("affordable_seconds", self.affordable_seconds)

        if self.state is State.START_REQUESTED and self.start_requested_at is None:
            raise ValueError("a start_requested live session needs start_requested_at")
        if self.state is State.RUNNING and self.running_since is None:
            raise ValueError("a running live session needs running_since")
        if self.state is State.PAUSED and self.paused_at is None:
            raise ValueError("a paused live session needs paused_at")
        if (
            self.kind is Kind.PAID
            and self.state is State.RUNNING
            and self.affordable_seconds is None
        ):
            raise ValueError("a running paid live session needs affordable_seconds")


@dataclass(frozen=True)
class Due:
    """A timed rule and the instant it falls due."""

    rule: Rule
    at: datetime


def billed_ms(closed_ms: int, running_since: datetime | None, now: datetime) -> int:
    """Return the billed milliseconds: the closed intervals plus the running one up to `now`."""
    _check_count("closed_ms", closed_ms)
    _check_aware("now", now)
    if running_since is None:
        return closed_ms
    _check_aware("running_since", running_since)
    return closed_ms + _elapsed_ms(running_since, now)


def billed_seconds(closed_ms: int, running_since: datetime | None, now: datetime) -> int:
    """Return the billed time in whole seconds, flooring the exact milliseconds once."""
    return billed_ms(closed_ms, running_since, now) // 1000


def intervals_from_events(events: Iterable[TimelineEvent]) -> list[Interval]:
    """Rebuild the running intervals from a live session's events, given in sequence order.

    "started" and "resumed" open an interval, "paused" and "ended" close it, and other kinds
    are ignored. Raises ValueError when the events contradict each other, such as a pause
    with nothing running, a second start, or an interval that ends before it starts.
    """
    intervals: list[Interval] = []
    open_start: tuple[datetime, str] | None = None
    ended = False
    for event in events:
        if event.kind not in ("started", "resumed", "paused", "ended"):
            continue
        _check_aware(f"the time of the {event.kind} event", event.at)
        if ended:
            raise ValueError(f"invalid events: a {event.kind} event at {event.at} follows the end")

        if event.kind in ("started", "resumed"):
            if open_start is not None:
                raise ValueError(
                    f"invalid events: a {event.kind} event at {event.at} while already running"
                )
            open_start = (event.at, event.actor)
            continue

        if event.kind == "ended":
            ended = True
        if open_start is None:
            if event.kind == "paused":
                raise ValueError(f"invalid events: a paused event at {event.at} while not running")
            # Ending a live session that is paused or never started closes no interval.
            continue
        started_at, started_by = open_start
        if event.at < started_at:
            raise ValueError(
                f"invalid events: a {event.kind} event at {event.at} "
                f"precedes its start at {started_at}"
            )
        intervals.append(Interval(started_at, event.at, started_by, event.actor))
        open_start = None

    if open_start is not None:
        started_at, started_by = open_start
        intervals.append(Interval(started_at, None, started_by, None))
    return intervals


def billed_ms_from_intervals(intervals: Iterable[Interval], now: datetime) -> int:
    """Return the billed milliseconds of these intervals, counting an open one up to `now`."""
    _check_aware("now", now)
    total_ms = 0
    for interval in intervals:
        _check_aware("started_at", interval.started_at)
        ended_at = now if interval.ended_at is None else interval.ended_at
        _check_aware("ended_at", ended_at)
        total_ms += _elapsed_ms(interval.started_at, ended_at)
    return total_ms


def running_deadline(snapshot: Snapshot, target_ms: int) -> datetime:
    """Return the instant a running live session's billed time reaches `target_ms`.

    A target already passed falls due at `running_since`, never before it, so no rule is
    recorded at an instant when the live session was not running.
    """
    if snapshot.state is not State.RUNNING or snapshot.running_since is None:
        raise ValueError(f"only a running live session has running deadlines, not {snapshot.state}")
    remaining_ms = max(0, target_ms - snapshot.billed_ms_closed)
    return snapshot.running_since + remaining_ms * _ONE_MS


def due_rules(snapshot: Snapshot, limits: Limits) -> list[Due]:
    """List every timed rule this live session has pending, earliest first, ties in RULE_ORDER."""
    candidates = _candidates(snapshot, limits)
    return sorted(candidates, key=lambda due: (due.at, _RULE_RANK[due.rule]))


def next_due(snapshot: Snapshot, limits: Limits) -> Due | None:
    """Return the earliest timed rule of this live session, whatever the time is now, or None."""
    pending = due_rules(snapshot, limits)
    return pending[0] if pending else None


def next_deadline_at(snapshot: Snapshot, limits: Limits) -> datetime | None:
    """Return the instant of the earliest timed rule of this live session, or None."""
    due = next_due(snapshot, limits)
    return None if due is None else due.at


def idle_deadline(
    running_since: datetime, last_heartbeat_at: datetime | None, limits: Limits
) -> datetime:
    """Return when a running paid live session pauses for idleness, without new heartbeats.

    The instant is the later of the last resume and the newest heartbeat of either
    participant, plus `idle_pause_seconds`.
    """
    _check_aware("running_since", running_since)
    latest = running_since
    if last_heartbeat_at is not None:
        _check_aware("last_heartbeat_at", last_heartbeat_at)
        latest = max(running_since, last_heartbeat_at)
    return latest + timedelta(seconds=limits.idle_pause_seconds)


def resume_budget_seconds(
    kind: str, billed_seconds: int, affordable_seconds: int | None, limits: Limits
) -> int:
    """Return the billed seconds left before a paused live session would stop again.

    For a paid live session that is the affordable seconds minus the billed seconds, for a
    free one the free limit minus the running time. It can be negative.
    """
    _check_count("billed_seconds", billed_seconds)
    if Kind(kind) is Kind.FREE:
        return limits.free_session_limit_seconds - billed_seconds
    if affordable_seconds is None:
        raise ValueError("a paid live session needs affordable_seconds")
    return affordable_seconds - billed_seconds


def _candidates(snapshot: Snapshot, limits: Limits) -> list[Due]:
    state = snapshot.state
    candidates: list[Due] = []

    if state in (State.OPEN, State.START_REQUESTED):
        unstarted_at = snapshot.created_at + timedelta(seconds=limits.unstarted_expiry_seconds)
        candidates.append(Due(Rule.UNSTARTED, unstarted_at))
    if (
        state is State.START_REQUESTED
        and snapshot.start_requested_at is not None
        and snapshot.start_reminders_sent < limits.start_reminder_max
    ):
        # Reminders come at 1, 2, 3 … intervals after the request, one per counter step.
        next_count = snapshot.start_reminders_sent + 1
        reminder_at = snapshot.start_requested_at + timedelta(
            seconds=next_count * limits.start_reminder_seconds
        )
        candidates.append(Due(Rule.START_REMINDER, reminder_at))

    if state is State.PAUSED and snapshot.paused_at is not None:
        if not snapshot.pause_reminded:
            reminder_at = snapshot.paused_at + timedelta(seconds=limits.pause_reminder_seconds)
            candidates.append(Due(Rule.PAUSE_REMINDER, reminder_at))
        expiry_at = snapshot.paused_at + timedelta(seconds=limits.paused_expiry_seconds)
        candidates.append(Due(Rule.PAUSED_TOO_LONG, expiry_at))

    if state is State.RUNNING:
        candidates.extend(_running_candidates(snapshot, limits))
    return candidates


def _running_candidates(snapshot: Snapshot, limits: Limits) -> list[Due]:
    candidates = [
        Due(Rule.MAX_LENGTH, running_deadline(snapshot, limits.max_session_seconds * 1000))
    ]
    if snapshot.kind is Kind.FREE:
        if not snapshot.free_cap_warned:
            warning_ms = limits.free_session_warning_seconds * 1000
            candidates.append(Due(Rule.FREE_CAP_WARNING, running_deadline(snapshot, warning_ms)))
        limit_ms = limits.free_session_limit_seconds * 1000
        candidates.append(Due(Rule.FREE_CAP, running_deadline(snapshot, limit_ms)))
    elif snapshot.affordable_seconds is not None:
        limit_ms = snapshot.affordable_seconds * 1000
        if not snapshot.limit_warned:
            warning_ms = max(0, limit_ms - limits.limit_warning_seconds * 1000)
            candidates.append(Due(Rule.LIMIT_WARNING, running_deadline(snapshot, warning_ms)))
        candidates.append(Due(Rule(snapshot.limit_rule), running_deadline(snapshot, limit_ms)))
    return candidates


def _elapsed_ms(start: datetime, end: datetime) -> int:
    # Another process's clock can lag a few milliseconds behind the one that wrote `start`,
    # so a negative span counts as zero instead of taking billed time back.
    elapsed_us = (end - start) // _ONE_US
    return max(0, elapsed_us // 1000)


def _check_aware(name: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
