"""A Hypothesis state machine drives the real session services on a real database.

Random clicks by random people (both participants and an outsider), heartbeats, clock jumps
(some landing to the millisecond on a rule's deadline), the timers, top-ups, spending caps,
meeting links, duplicate clicks and clicks on stale, ended sessions. After every step the
database is compared with `Model`, a small reference written from PRODUCT.md without using
the code under test: state, billed milliseconds, every event (kind, actor, instant), invoice
totals and available credit. `check-sessions` must find nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tests.conftest import BACKEND, CLOCK_START, reset_database
from webapp import database, timers
from webapp.accounts import services as accounts
from webapp.billing import ledger
from webapp.billing.models import Invoice
from webapp.exceptions import ServiceError
from webapp.extensions import db
from webapp.sessions import services
from webapp.sessions.commands import add_credits, check_sessions
from webapp.sessions.models import LiveSession, SessionEvent

# Durations shrunk so that every rule is reached within a few clock jumps.
CONFIG = {
    "FREE_SESSION_LIMIT_SECONDS": 600,
    "FREE_SESSION_WARNING_SECONDS": 500,
    "START_REMINDER_SECONDS": 30,
    "START_REMINDER_MAX": 3,
    "PAUSE_REMINDER_SECONDS": 60,
    "IDLE_PAUSE_SECONDS": 120,
    "PRESENCE_WRITE_SECONDS": 10,
    "PRESENCE_WINDOW_SECONDS": 45,
    "UNSTARTED_EXPIRY_SECONDS": 3600,
    "PAUSED_EXPIRY_SECONDS": 400,
    "MAX_SESSION_SECONDS": 1200,
    "START_GRACE_SECONDS": 60,
    "MIN_CREDIT_SECONDS": 600,
    "LIMIT_WARNING_SECONDS": 120,
    "NUDGE_INTERVAL_SECONDS": 20,
    "SERVICE_FEE_BP": 350,
}
RATE = 1700
URLS = ("https://meet.example.com/a", "https://meet.example.com/b", "http://insecure.example")
ACTIONS = ("request_start", "start", "pause", "resume", "end", "nudge")

# Examples per run: the profile's count on SQLite, a quarter of it on PostgreSQL.
EXAMPLES = settings.default.max_examples
if BACKEND == "postgresql":
    EXAMPLES = max(10, EXAMPLES // 4)


# What the runs reached; SESSION_MACHINE_STATS=1 pytest -s prints it.
STATS: Counter = Counter()


# The reference model. Instants are integer milliseconds since CLOCK_START.


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def price(minutes: int) -> int:
    """Total of `minutes` charged minutes at RATE with the fee."""
    subtotal = _half_up(minutes * RATE, 15)
    return subtotal + _half_up(subtotal * CONFIG["SERVICE_FEE_BP"], 10000)


def charged_minutes(started_minutes: int, first_free: bool) -> int:
    return max(0, started_minutes - 15) if first_free else max(15, started_minutes)


def total_for(billed_seconds: int, first_free: bool) -> int | None:
    """The invoice total, or None when no invoice is due (the grace minute)."""
    if billed_seconds < CONFIG["START_GRACE_SECONDS"]:
        return None
    return price(charged_minutes(-(-billed_seconds // 60), first_free))


def affordable(credit: int, first_free: bool, cap: int | None) -> tuple[int, str]:
    """The billed seconds the credit and cap allow, by counting minutes one by one."""
    minutes = 0
    while price(charged_minutes(minutes + 1, first_free)) <= credit:
        minutes += 1
    seconds = max(minutes * 60, CONFIG["START_GRACE_SECONDS"] - 1)
    if cap is not None and cap * 60 <= seconds:
        return cap * 60, "cap"
    return seconds, "credit"


@dataclass
class MSession:
    """The reference model of one live session."""

    id: int
    token: str
    kind: str
    created: int
    state: str = "open"
    closed_ms: int = 0
    running_since: int | None = None
    requested_at: int | None = None
    reminders: int = 0
    paused_at: int | None = None
    pause_reminded: bool = False
    free_warned: bool = False
    limit_warned: bool = False
    started: bool = False
    first_free: bool | None = None
    cap: int | None = None
    last_nudge: int | None = None
    url: str = ""
    # (kind, actor, at): actor is "mentor", "mentee" or a rule's name.
    events: list = field(default_factory=list)
    # Written heartbeats per role.
    seen: dict = field(default_factory=dict)
    invoice_total: int | None = None

    def billed_ms(self, now: int) -> int:
        if self.running_since is None:
            return self.closed_ms
        return self.closed_ms + now - self.running_since


class Model:
    """Everything the services should have done, worked out independently."""

    def __init__(self, credit: int, mentor_opted_in: bool):
        self.now = 0
        self.balance = credit
        self.mentor_opted_in = mentor_opted_in
        self.sessions: list[MSession] = []

    @property
    def available(self) -> int:
        return self.balance - sum(s.invoice_total or 0 for s in self.sessions)

    @property
    def had_invoice(self) -> bool:
        return any(s.invoice_total is not None for s in self.sessions)

    def current(self) -> MSession | None:
        return next((s for s in self.sessions if s.state != "ended"), None)

    def limit(self, s: MSession) -> tuple[int, str]:
        return affordable(self.available, bool(s.first_free), s.cap)

    # Timed rules.

    def pending(self, s: MSession) -> list[tuple[int, int, str]]:
        """(instant, rank, rule) of every pending rule; ranks break ties."""
        c = CONFIG
        found = []
        if s.state in ("open", "start_requested"):
            found.append((s.created + c["UNSTARTED_EXPIRY_SECONDS"] * 1000, 0, "unstarted"))
        if s.state == "start_requested" and s.reminders < c["START_REMINDER_MAX"]:
            at = s.requested_at + (s.reminders + 1) * c["START_REMINDER_SECONDS"] * 1000
            found.append((at, 8, "start_reminder"))
        if s.state == "paused":
            if not s.pause_reminded:
                found.append(
                    (s.paused_at + c["PAUSE_REMINDER_SECONDS"] * 1000, 9, "pause_reminder")
                )
            found.append((s.paused_at + c["PAUSED_EXPIRY_SECONDS"] * 1000, 1, "paused_too_long"))
        if s.state == "running":

            def when(target_ms: int) -> int:
                return s.running_since + max(0, target_ms - s.closed_ms)

            found.append((when(c["MAX_SESSION_SECONDS"] * 1000), 4, "max_length"))
            if s.kind == "free":
                if not s.free_warned:
                    found.append(
                        (when(c["FREE_SESSION_WARNING_SECONDS"] * 1000), 2, "free_cap_warning")
                    )
                found.append((when(c["FREE_SESSION_LIMIT_SECONDS"] * 1000), 3, "free_cap"))
            else:
                seconds, limit_rule = self.limit(s)
                if not s.limit_warned:
                    warning_ms = max(0, (seconds - c["LIMIT_WARNING_SECONDS"]) * 1000)
                    found.append((when(warning_ms), 5, "limit_warning"))
                found.append((when(seconds * 1000), 6, limit_rule))
                newest = max([s.running_since, *s.seen.values()])
                found.append((newest + c["IDLE_PAUSE_SECONDS"] * 1000, 7, "idle"))
        return sorted(found)

    def is_due(self, s: MSession) -> bool:
        pending = self.pending(s)
        return bool(pending) and pending[0][0] <= self.now

    def apply_due(self, s: MSession, floor: int | None = None) -> int:
        applied = 0
        while True:
            pending = self.pending(s)
            if not pending or pending[0][0] > self.now:
                return applied
            at, _, name = pending[0]
            at = at if floor is None else max(at, floor)
            applied += 1
            if name in ("unstarted", "paused_too_long", "free_cap", "max_length"):
                self.end(s, at, name)
            elif name in ("credit", "cap", "idle"):
                self.pause(s, at, name)
            elif name == "start_reminder":
                s.reminders += 1
                s.events.append(("start_reminded", name, at))
            elif name == "pause_reminder":
                s.pause_reminded = True
                s.events.append(("pause_reminded", name, at))
            elif name == "free_cap_warning":
                s.free_warned = True
                s.events.append(("free_cap_warned", name, at))
            elif name == "limit_warning":
                s.limit_warned = True
                s.events.append(("limit_warned", name, at))

    # State changes.

    def pause(self, s: MSession, at: int, actor: str) -> None:
        s.closed_ms += at - s.running_since
        s.running_since = None
        s.state = "paused"
        s.paused_at = at
        s.pause_reminded = False
        s.events.append(("paused", actor, at))

    def run(self, s: MSession, at: int, actor: str) -> None:
        s.events.append(("resumed" if s.state == "paused" else "started", actor, at))
        s.state = "running"
        s.running_since = at
        s.paused_at = None
        s.started = True

    def end(self, s: MSession, at: int, actor: str) -> None:
        if s.running_since is not None:
            s.closed_ms += at - s.running_since
        s.running_since = None
        s.paused_at = None
        s.state = "ended"
        s.events.append(("ended", actor, at))
        if s.kind == "paid" and s.started:
            total = total_for(s.closed_ms // 1000, bool(s.first_free))
            if total is not None:
                s.invoice_total = total
                s.events.append(("invoiced", "system", self.now))

    def rearm(self, s: MSession) -> None:
        seconds, _ = self.limit(s)
        if s.billed_ms(self.now) < (seconds - CONFIG["LIMIT_WARNING_SECONDS"]) * 1000:
            s.limit_warned = False

    def present(self, s: MSession, role: str) -> bool:
        seen = s.seen.get(role)
        return seen is not None and seen >= self.now - CONFIG["PRESENCE_WINDOW_SECONDS"] * 1000

    # What each service call should do; each returns the outcome's name.

    def create(self, session_id: int, token: str, kind: str) -> str:
        if self.current() is not None:
            return "existing"
        if kind == "paid" and self.available < price(CONFIG["MIN_CREDIT_SECONDS"] // 60):
            return "Conflict"
        s = MSession(session_id, token, kind, self.now)
        s.events.append(("created", "mentor", self.now))
        self.sessions.append(s)
        return "created"

    def perform(self, s: MSession, role: str, action: str) -> str:
        if role == "outsider":
            return "NotFound"
        self.apply_due(s)
        outcome = self._decide(s, role, action)
        if outcome == "apply":
            self._apply(s, role, action)
            self.apply_due(s, floor=self.now)
            return s.state
        return outcome

    def _decide(self, s: MSession, role: str, action: str) -> str:
        paid, state = s.kind == "paid", s.state
        other = "mentee" if role == "mentor" else "mentor"
        if action in ("request_start", "nudge") and role != "mentor":
            return "Forbidden"
        if action == "start" and paid and role != "mentee":
            return "Forbidden"
        if action in ("request_start", "nudge") and not paid:
            return "Conflict"
        already = {
            "request_start": "start_requested",
            "start": "running",
            "pause": "paused",
            "resume": "running",
            "end": "ended",
        }
        if already.get(action) == state and action != "nudge":
            return "AlreadyDone"
        allowed_from = {
            "request_start": ("open",),
            "start": ("start_requested",) if paid else ("open",),
            "pause": ("running",),
            "resume": ("paused",),
            "end": ("open", "start_requested", "running", "paused"),
            "nudge": ("start_requested",),
        }
        if state not in allowed_from[action]:
            return "Conflict"
        if action in ("request_start", "start") and not self.present(s, other):
            return "Conflict"
        if action == "resume":
            if paid:
                left = self.limit(s)[0] - s.closed_ms // 1000
            else:
                left = CONFIG["FREE_SESSION_LIMIT_SECONDS"] - s.closed_ms // 1000
            if left < 60:
                return "Conflict"
        minimum = price(CONFIG["MIN_CREDIT_SECONDS"] // 60)
        if action == "start" and paid and self.available < minimum:
            return "Conflict"
        interval = CONFIG["NUDGE_INTERVAL_SECONDS"] * 1000
        if action == "nudge" and s.last_nudge is not None and self.now < s.last_nudge + interval:
            return "TooMany"
        return "apply"

    def _apply(self, s: MSession, role: str, action: str) -> None:
        if action == "request_start":
            s.state = "start_requested"
            s.requested_at = self.now
            s.reminders = 0
            s.events.append(("start_requested", role, self.now))
        elif action == "start":
            if s.kind == "paid":
                s.first_free = self.mentor_opted_in and not self.had_invoice
            self.run(s, self.now, role)
            s.limit_warned = False
        elif action == "resume":
            self.run(s, self.now, role)
        elif action == "pause":
            self.pause(s, self.now, role)
        elif action == "end":
            self.end(s, self.now, role)
        elif action == "nudge":
            s.last_nudge = self.now
            s.events.append(("nudged", role, self.now))

    def heartbeat(self, s: MSession, role: str) -> None:
        if s.state == "ended":
            return
        if self.is_due(s):
            self.apply_due(s)
            if s.state == "ended":
                return
        if role not in s.seen:
            self.apply_due(s)
            s.seen[role] = self.now
            s.events.append(("joined", role, self.now))
        elif self.now - s.seen[role] >= CONFIG["PRESENCE_WRITE_SECONDS"] * 1000:
            s.seen[role] = self.now

    def poll(self, s: MSession) -> None:
        if s.state != "ended" and self.is_due(s):
            self.apply_due(s)

    def run_due(self) -> int:
        s = self.current()
        return 1 if s is not None and self.apply_due(s) else 0

    def top_up(self, cents: int) -> None:
        s = self.current()
        active = s is not None and s.kind == "paid" and s.state in ("running", "paused")
        for before_and_after in (True, False):
            if not before_and_after:
                self.balance += cents
            if active and s.state != "ended":
                self.apply_due(s)
                if s.state != "ended":
                    self.rearm(s)
                    self.apply_due(s, floor=self.now)

    def set_cap(self, s: MSession, role: str, cap: int | None) -> str:
        if role == "outsider":
            return "NotFound"
        self.apply_due(s)
        if role != "mentee":
            return "Forbidden"
        if cap is not None:
            lowest = max(15, -(-(s.billed_ms(self.now) // 1000) // 60))
            if cap < lowest:
                return "Invalid"
        if s.cap == cap:
            return "AlreadyDone"
        if s.kind != "paid" or s.state == "ended":
            return "Conflict"
        s.cap = cap
        s.events.append(("cap_set", "mentee", self.now))
        self.rearm(s)
        self.apply_due(s, floor=self.now)
        return "ok"

    def set_link(self, s: MSession, role: str, url: str) -> str:
        if role == "outsider":
            return "NotFound"
        if not url.startswith("https://"):
            return "Invalid"
        self.apply_due(s)
        if s.url == url:
            return "AlreadyDone"
        if s.state == "ended":
            return "Conflict"
        s.url = url
        s.events.append(("meeting_link_set", role, self.now))
        self.apply_due(s, floor=self.now)
        return "ok"


# The state machine.


def _ms(instant) -> int:
    return (instant - CLOCK_START) // timedelta(milliseconds=1)


class SessionMachine(RuleBasedStateMachine):
    """Drive the services and the model side by side; compare them after every step."""

    app = None
    clock = None

    def __init__(self):
        super().__init__()
        self.clock.set(CLOCK_START)
        with self.app.app_context():
            reset_database()
        self.ids: dict[str, int] = {}
        self.model: Model | None = None
        self.last_call = None

    @initialize(
        # Around the minimum (10 minutes: 11.73), the 15-minute minimum charge (17.60) and
        # 30 minutes (35.19), so that the credit limit comes within a few steps.
        credit=st.one_of(st.integers(0, 1200), st.integers(1150, 1900), st.integers(1700, 3600)),
        opted_in=st.booleans(),
        kind=st.sampled_from(["free", "paid", "paid"]),
    )
    def set_up(self, credit, opted_in, kind):
        with self.app.app_context():
            database.begin_write()
            for role in ("mentor", "mentee", "outsider"):
                user = accounts.create_user(
                    email=f"{role}@example.com",
                    name=role.title(),
                    password="correct horse battery",
                    is_mentor=role != "mentee",
                    is_mentee=role == "mentee",
                )
                accounts.update_mentor_profile(
                    user, headline="", rate_15_cents=RATE, tags=[], away=False,
                    first_15_free=opted_in and role == "mentor",
                )  # fmt: skip
                self.ids[role] = user.id
            database.commit()
        if credit:
            with self.app.app_context():
                add_credits(self.ids["mentee"], credit)
        self.model = Model(credit, opted_in)
        self.create(kind)

    # Helpers.

    def _call(self, function, *args):
        with self.app.app_context():
            try:
                result = function(*args)
            except ServiceError as error:
                return type(error).__name__
            return result

    def _target(self, data_index: int) -> MSession | None:
        """The current session, or (for a stale request) an earlier one."""
        sessions = self.model.sessions
        if not sessions:
            return None
        current = self.model.current()
        if current is not None and data_index % 4 != 0:
            return current
        return sessions[data_index % len(sessions)]

    # Rules.

    @rule(kind=st.sampled_from(["free", "paid"]))
    def create(self, kind):
        def call():
            database.begin_write()
            try:
                live_session, created = services.create_live_session(
                    mentor_id=self.ids["mentor"],
                    mentee_id=self.ids["mentee"],
                    kind=kind,
                    actor_id=self.ids["mentor"],
                )
                database.commit()
            except BaseException:
                database.rollback()
                raise
            return live_session.id, live_session.token, created

        result = self._call(call)
        existing = self.model.current()
        if isinstance(result, str):
            assert self.model.create(0, "", kind) == result
            return
        live_session_id, token, created = result
        expected = self.model.create(live_session_id, token, kind)
        assert expected == ("created" if created else "existing")
        if not created:
            assert existing.id == live_session_id

    @precondition(lambda self: self.model is not None and self.model.sessions)
    @rule(
        role=st.sampled_from(["mentor", "mentee", "mentee", "mentor", "outsider"]),
        action=st.sampled_from(ACTIONS),
        pick=st.integers(0, 1000),
    )
    def click(self, role, action, pick):
        s = self._target(pick)
        self.last_call = (s, role, action)
        self._click(s, role, action)

    def _click(self, s, role, action):
        got = self._call(lambda: services.perform(s.token, self.ids[role], action).state)
        assert got == self.model.perform(s, role, action), (role, action)
        STATS[f"{s.kind} {action} -> {got}"] += 1

    @precondition(lambda self: self.model is not None and self.model.current() is not None)
    @rule(choice=st.integers(0, 3))
    def progress(self, choice):
        """Take the next step of the flow, with the other participant in the room: the rules
        above alone rarely line up a heartbeat and the click that needs it."""
        self._progress(choice)

    # The same rule twice more, so that the flow moves on in most examples.
    @precondition(lambda self: self.model is not None and self.model.current() is not None)
    @rule(choice=st.integers(0, 3))
    def progress_again(self, choice):
        self._progress(choice)

    @precondition(lambda self: self.model is not None and self.model.current() is not None)
    @rule(choice=st.integers(0, 3))
    def progress_once_more(self, choice):
        self._progress(choice)

    def _progress(self, choice):
        s = self.model.current()
        if s.state == "running" and choice < 2:
            # Half of the time a running session just runs on, watched, for 1 or 12 minutes.
            self.stay_in_room("mentee", [60_000] * (1 + choice * 11))
            return
        steps = {
            ("paid", "open"): [("mentee", "mentor", "request_start")],
            ("paid", "start_requested"): [
                ("mentor", "mentee", "start"),
                ("mentor", "mentee", "start"),
                ("mentee", "mentor", "nudge"),
            ],
            ("free", "open"): [("mentee", "mentor", "start"), ("mentor", "mentee", "start")],
            ("paid", "running"): [("mentor", "mentee", "pause"), ("mentee", "mentor", "end")],
            ("free", "running"): [("mentee", "mentee", "pause"), ("mentor", "mentor", "end")],
            ("paid", "paused"): [("mentee", "mentee", "resume"), ("mentor", "mentor", "end")],
            ("free", "paused"): [("mentor", "mentor", "resume"), ("mentee", "mentee", "end")],
        }
        if (s.kind, s.state, choice) == ("paid", "open", 3):
            self.cap("mentee", 15, 1)  # the lowest cap, so that it binds before the credit
            if s.state == "ended":  # the call applied the unstarted end first
                return
        options = steps[(s.kind, s.state)]
        other, role, action = options[choice % len(options)]
        STATS[f"progress {s.kind} {s.state}"] += 1
        self.heartbeat(other, 1)
        self.last_call = (s, role, action)
        self._click(s, role, action)

    @precondition(lambda self: self.model is not None and self.model.current() is not None)
    @rule(
        role=st.sampled_from(["mentor", "mentee"]),
        waits=st.lists(st.integers(1, 110_000), min_size=1, max_size=8),
    )
    def stay_in_room(self, role, waits):
        """Keep the room open for a while (heartbeats closer than the idle pause), so that
        running sessions reach their credit, cap, free and length limits."""
        for ms in waits:
            self.heartbeat(role, 1)
            self.advance(ms)
        self.heartbeat(role, 1)

    @precondition(
        lambda self: (
            self.model is not None
            and self.model.current() is not None
            and self.model.current().state == "running"
        )
    )
    @rule(role=st.sampled_from(["mentor", "mentee"]), offset=st.integers(-1, 1))
    def watch_until_next_rule(self, role, offset):
        """Keep the room open up to the next rule other than the idle pause (a warning, the
        credit or cap limit, the free limit, the maximum length), to the millisecond."""
        s = self.model.current()
        pending = [at for at, _, name in self.model.pending(s) if name != "idle"]
        target = min(pending) + offset
        while self.model.now < target:
            self.heartbeat(role, 1)
            self.advance(min(100_000, target - self.model.now))
        self.heartbeat(role, 1)

    @precondition(lambda self: self.last_call is not None)
    @rule()
    def repeat_last_click(self):
        self._click(*self.last_call)

    @precondition(lambda self: self.model is not None and self.model.sessions)
    @rule(role=st.sampled_from(["mentor", "mentee"]), pick=st.integers(0, 1000))
    def heartbeat(self, role, pick):
        s = self._target(pick)

        def call():
            live_session = services.live_session_for(self.ids[role], s.token)
            services.record_presence(live_session, self.ids[role])

        self._call(call)
        self.model.heartbeat(s, role)

    @precondition(lambda self: self.model is not None and self.model.sessions)
    @rule(pick=st.integers(0, 1000))
    def poll(self, pick):
        s = self._target(pick)
        self._call(lambda: services.apply_due(s.id))
        self.model.poll(s)

    @precondition(lambda self: self.model is not None)
    @rule()
    def timers_run(self):
        assert self._call(timers.run_due) == self.model.run_due()

    @precondition(lambda self: self.model is not None)
    @rule(cents=st.integers(1, 2000))
    def top_up(self, cents):
        self._call(lambda: add_credits(self.ids["mentee"], cents))
        self.model.top_up(cents)

    @precondition(lambda self: self.model is not None and self.model.sessions)
    @rule(
        role=st.sampled_from(["mentee", "mentee", "mentor", "outsider"]),
        # Often 15 to 17 minutes, which binds before most credits and is reached in a few steps.
        cap=st.one_of(st.none(), st.integers(10, 40), st.integers(15, 17), st.integers(15, 17)),
        pick=st.integers(0, 1000),
    )
    def cap(self, role, cap, pick):
        s = self._target(pick)
        got = self._call(lambda: services.set_cap(s.token, self.ids[role], cap) and "ok")
        assert got == self.model.set_cap(s, role, cap)
        STATS[f"{s.kind} {s.state} cap -> {got}"] += 1

    @precondition(lambda self: self.model is not None and self.model.sessions)
    @rule(
        role=st.sampled_from(["mentee", "mentor", "outsider"]),
        url=st.sampled_from(URLS),
        pick=st.integers(0, 1000),
    )
    def meeting_link(self, role, url, pick):
        s = self._target(pick)
        got = self._call(lambda: services.set_meeting_link(s.token, self.ids[role], url) and "ok")
        assert got == self.model.set_link(s, role, url)

    @precondition(lambda self: self.model is not None)
    @rule(
        ms=st.one_of(
            st.integers(1, 5_000),
            st.integers(1, 5_000),
            st.integers(1_000, 60_000),
            st.integers(1_000, 60_000),
            st.integers(1_000, 60_000),
            st.integers(60_000, 300_000),
            st.integers(60_000, 300_000),
            st.integers(300_000, 1_000_000),
        )
    )
    def advance(self, ms):
        self.clock.advance(ms / 1000)
        self.model.now += ms

    @precondition(lambda self: self.model is not None and self.model.current() is not None)
    @rule(offset=st.integers(-2, 2))
    def advance_to_deadline(self, offset):
        pending = self.model.pending(self.model.current())
        if not pending:
            return
        target = pending[0][0] + offset
        if target > self.model.now:
            self.clock.advance((target - self.model.now) / 1000)
            self.model.now = target

    # Comparison.

    @invariant()
    def matches_model(self):
        if self.model is None:
            return
        assert _ms(self.clock.current) == self.model.now
        STATS["steps"] += 1
        with self.app.app_context():
            rows = {
                live_session.id: live_session
                for live_session in db.session.scalars(select(LiveSession))
            }
            assert sorted(rows) == sorted(s.id for s in self.model.sessions)
            for s in self.model.sessions:
                self._compare(s, rows[s.id])
            assert ledger.available_credit_cents(self.ids["mentee"]) == self.model.available

    def _compare(self, s: MSession, live_session: LiveSession) -> None:
        where = f"session {s.id}"
        assert live_session.state == s.state, where
        assert live_session.billed_ms_closed == s.closed_ms, where
        running_since = live_session.running_since
        assert (None if running_since is None else _ms(running_since)) == s.running_since, where
        assert services.billed_ms_now(live_session) == s.billed_ms(self.model.now), where
        assert live_session.cap_minutes == s.cap, where
        if s.first_free is not None:
            assert live_session.first_free == s.first_free, where
        stored = [
            (
                event.kind,
                event.rule or live_session.role_of(event.actor_id) or "system",
                _ms(event.at),
            )
            for event in db.session.scalars(
                select(SessionEvent)
                .where(SessionEvent.live_session_id == s.id)
                .order_by(SessionEvent.seq)
            )
        ]
        assert stored == s.events, where
        assert live_session.version == len(s.events), where
        invoice = db.session.scalar(select(Invoice).where(Invoice.live_session_id == s.id))
        assert (None if invoice is None else invoice.total_cents) == s.invoice_total, where

    def teardown(self):
        if self.model is not None:
            for s in self.model.sessions:
                for kind, actor, _ in s.events:
                    if actor not in ("mentor", "mentee", "system") or kind == "invoiced":
                        STATS[f"event {kind} by {actor}"] += 1
            STATS["examples"] += 1
            for s in self.model.sessions:
                STATS[f"session {s.kind} {'invoiced' if s.invoice_total is not None else ''}"] += 1
            with self.app.app_context():
                assert check_sessions() == []


@pytest.mark.slow
@pytest.mark.app_config(**CONFIG)
# The long profile runs for many minutes; the default 300 s timeout would cut it short.
@pytest.mark.timeout(0 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 300)
def test_sessions_match_the_reference_model(app, clock):
    SessionMachine.app = app
    SessionMachine.clock = clock
    run_state_machine_as_test(
        SessionMachine,
        settings=settings(
            settings.default, max_examples=EXAMPLES, stateful_step_count=50, deadline=None
        ),
    )
    if os.environ.get("SESSION_MACHINE_STATS"):
        for name, count in sorted(STATS.items()):
            print(f"{count:6d}  {name}")


def test_check_sessions_reports_a_tampered_session(app, runner, create_user, clock):
    from tests.web.sessions_support import act, create, enter, make_pair

    pair = make_pair(create_user)
    token = create(app, pair)
    enter(app, token, pair.mentee)
    act(app, token, pair.mentor, "start")
    clock.advance(90)
    act(app, token, pair.mentor, "pause")
    assert runner.invoke(args=["check-sessions"]).exit_code == 0
    with app.app_context():
        database.begin_write()
        live_session = db.session.scalar(select(LiveSession))
        live_session.billed_ms_closed += 1
        database.commit()
    result = runner.invoke(args=["check-sessions"])
    assert result.exit_code == 1
    assert "billed 90001 ms stored but 90000 ms from the events" in result.output
