"""Timed rules at exact instants: by run_due, by the next read, and by a participant's return."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.web.sessions_support import (
    act,
    create,
    credit,
    enter,
    events,
    invoice_of,
    make_pair,
    row,
    stay,
)
from webapp import clock as clock_module
from webapp import timers
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.sessions import services


@pytest.fixture
def pair(create_user):
    return make_pair(create_user)


def rule_events(app, token):
    """Return (kind, rule, at) of the events that a timed rule wrote."""
    return [event for event in events(app, token) if event[1] is not None]


def pauses(app, token):
    return [event for event in events(app, token) if event[0] == "paused"]


def notified(app, user_id: int, words: str) -> int:
    with app.app_context():
        texts = db.session.scalars(select(Notification.text).where(Notification.user_id == user_id))
        return sum(1 for text in texts if words in text)


def run_due(app, now=None) -> int:
    with app.app_context():
        return timers.run_due(now)


def start_free(app, pair, token):
    enter(app, token, pair.mentee)
    assert act(app, token, pair.mentor, "start") == "running"


def start_paid(app, pair, token):
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    assert act(app, token, pair.mentor, "request_start") == "start_requested"
    assert act(app, token, pair.mentee, "start") == "running"


def test_free_session_nobody_watches_ends_at_forty_minutes_by_run_due(app, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    started = clock.current
    clock.advance(3600)
    assert run_due(app) == 1
    assert rule_events(app, token) == [
        ("free_cap_warned", "free_cap_warning", started + timedelta(seconds=2100)),
        ("ended", "free_cap", started + timedelta(seconds=2400)),
    ]
    live_session = row(app, token)
    assert (live_session.state, live_session.billed_ms_closed) == ("ended", 2_400_000)
    assert live_session.ended_at == started + timedelta(seconds=2400)
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "ends by itself in 5 minutes") == 1
        assert notified(app, user_id, "free session ended by itself") == 1
    assert run_due(app) == 0


def test_free_session_nobody_watches_ends_at_forty_minutes_on_next_read(app, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    started = clock.current
    clock.advance(3600)
    with app.app_context():
        live_session = services.apply_due(row(app, token).id)
        assert live_session.state == "ended"
    assert rule_events(app, token)[-1] == ("ended", "free_cap", started + timedelta(seconds=2400))
    assert row(app, token).billed_ms_closed == 2_400_000


def test_free_session_resume_needs_a_minute_left(app, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    clock.advance(2341)
    assert act(app, token, pair.mentee, "pause") == "paused"
    assert act(app, token, pair.mentee, "resume") == "Conflict"


def test_paid_idle_pause_by_run_due(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    started = clock.current
    stay(app, token, pair.mentor, clock, 100, step=25)  # last heartbeat at +100 s
    clock.advance(3000)
    assert run_due(app) == 1
    assert pauses(app, token)[-1] == ("paused", "idle", started + timedelta(seconds=400))
    assert row(app, token).billed_ms_closed == 400_000
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "nobody had the room open for 5 minutes") == 1


def test_paid_idle_pause_when_a_participant_comes_back(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    started = clock.current
    clock.advance(20 * 60)
    # No timers: the returning mentee's page view applies the idle rule before its heartbeat.
    enter(app, token, pair.mentee)
    assert pauses(app, token)[-1] == ("paused", "idle", started + timedelta(seconds=300))
    live_session = row(app, token)
    assert (live_session.state, live_session.billed_ms_closed) == ("paused", 300_000)


def test_paid_idle_counts_from_the_last_resume(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    clock.advance(30)
    act(app, token, pair.mentee, "pause")
    clock.advance(400)
    assert act(app, token, pair.mentor, "resume") == "running"
    resumed = clock.current
    clock.advance(1000)
    run_due(app)
    assert pauses(app, token)[-1] == ("paused", "idle", resumed + timedelta(seconds=300))
    assert row(app, token).billed_ms_closed == 330_000


def test_free_session_never_pauses_for_idleness(app, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    clock.advance(1000)
    run_due(app)
    assert row(app, token).state == "running"


def test_credit_limit_pauses_at_the_affordable_second(app, pair, clock):
    # 22.67 at 17.00 per 15 minutes buys exactly 20 minutes (1200 s); 21 minutes cost 23.80.
    credit(app, pair.mentee, 2267)  # the minimum: 20 minutes at 17.00
    token = create(app, pair, "paid", rate_15_cents=1700)
    start_paid(app, pair, token)
    with app.app_context():
        assert services.affordable_seconds_for(row(app, token)) == 20 * 60
    started = clock.current
    stay(app, token, pair.mentee, clock, 1500, step=30)
    assert rule_events(app, token) == [
        ("limit_warned", "limit_warning", started + timedelta(seconds=900)),
        ("paused", "credit", started + timedelta(seconds=1200)),
    ]
    assert row(app, token).billed_ms_closed == 1_200_000
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "pauses by itself in 5 minutes, when the credit") == 1
        assert notified(app, user_id, "credit ran out") == 1
    assert act(app, token, pair.mentee, "resume") == "Conflict"
    # A top-up moves the limit and re-arms the warning; resume works again.
    credit(app, pair.mentee, 2000)
    assert act(app, token, pair.mentee, "resume") == "running"
    resumed = clock.current
    stay(app, token, pair.mentee, clock, 1200, step=30)
    end_at = resumed + timedelta(seconds=1020)  # 42.67 buys 37 minutes: 17 more
    assert rule_events(app, token)[-2:] == [
        ("limit_warned", "limit_warning", end_at - timedelta(seconds=300)),
        ("paused", "credit", end_at),
    ]
    act(app, token, pair.mentee, "end")
    invoice = invoice_of(app, token)
    assert invoice.billed_seconds == 37 * 60
    assert invoice.total_cents == 4193  # 37 * 1700 / 15 = 4193.33


def test_start_reminders_three_times_then_unstarted_end(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    created = clock.current
    enter(app, token, pair.mentee)
    clock.advance(10)
    act(app, token, pair.mentor, "request_start")
    requested = clock.current
    clock.advance(2 * 86400)
    run_due(app)
    assert rule_events(app, token) == [
        ("start_reminded", "start_reminder", requested + timedelta(seconds=180)),
        ("start_reminded", "start_reminder", requested + timedelta(seconds=360)),
        ("start_reminded", "start_reminder", requested + timedelta(seconds=540)),
        ("ended", "unstarted", created + timedelta(days=1)),
    ]
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "Reminder: the mentor asked to start") == 3
        assert notified(app, user_id, "never started") == 1
    assert invoice_of(app, token) is None


def test_pause_reminder_once_then_paused_too_long(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    stay(app, token, pair.mentee, clock, 120, step=30)
    act(app, token, pair.mentee, "pause")
    paused = clock.current
    clock.advance(3 * 3600)
    run_due(app)
    assert rule_events(app, token) == [
        ("pause_reminded", "pause_reminder", paused + timedelta(seconds=600)),
        ("ended", "paused_too_long", paused + timedelta(seconds=7200)),
    ]
    assert [kind for kind, _, _ in events(app, token)][-1] == "invoiced"
    invoice = invoice_of(app, token)
    assert invoice.billed_seconds == 120
    # The invoice settles a dispute window after the clock time that noticed the end.
    assert invoice.settles_at == clock.current + timedelta(seconds=600)
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "resume it or end it") == 1
        assert notified(app, user_id, "stayed paused too long") == 1


@pytest.mark.app_config(MAX_SESSION_SECONDS=1200, IDLE_PAUSE_SECONDS=100000)
def test_max_length_ends_a_paid_session(app, pair, clock):
    credit(app, pair.mentee, 100000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    started = clock.current
    clock.advance(5000)
    run_due(app)
    assert rule_events(app, token) == [
        ("ended", "max_length", started + timedelta(seconds=1200)),
    ]
    assert invoice_of(app, token).billed_seconds == 1200
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "ended by itself at the maximum session length") == 1


def test_cap_change_moves_the_limit_and_rearms_the_warning(app, pair, clock):
    credit(app, pair.mentee, 100000)
    token = create(app, pair, "paid")
    with app.app_context():
        services.set_cap(token, pair.mentee, 20)
    start_paid(app, pair, token)
    started = clock.current
    stay(app, token, pair.mentee, clock, 16 * 60, step=30)
    assert rule_events(app, token) == [
        ("limit_warned", "limit_warning", started + timedelta(seconds=900)),
    ]
    with app.app_context():
        services.set_cap(token, pair.mentee, 30)
    stay(app, token, pair.mentee, clock, 15 * 60, step=30)
    assert rule_events(app, token)[1:] == [
        ("limit_warned", "limit_warning", started + timedelta(seconds=1500)),
        ("paused", "cap", started + timedelta(seconds=1800)),
    ]
    for user_id in (pair.mentor, pair.mentee):
        assert notified(app, user_id, "when the spending cap runs out") == 2
        assert notified(app, user_id, "the spending cap was reached") == 1


def test_lowering_the_cap_below_the_warning_warns_at_once(app, pair, clock):
    credit(app, pair.mentee, 100000)
    token = create(app, pair, "paid")
    start_paid(app, pair, token)
    stay(app, token, pair.mentee, clock, 18 * 60, step=30)
    with app.app_context():
        services.set_cap(token, pair.mentee, 19)
    assert rule_events(app, token) == [("limit_warned", "limit_warning", clock.current)]
    live_session = row(app, token)
    assert live_session.next_deadline_at == live_session.running_since + timedelta(seconds=1140)


def test_run_due_records_each_rule_at_its_deadline_with_an_explicit_now(app, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    started = clock.current
    assert run_due(app, started + timedelta(seconds=2200)) == 1
    assert rule_events(app, token) == [
        ("free_cap_warned", "free_cap_warning", started + timedelta(seconds=2100)),
    ]


def test_run_timers_once_command(app, runner, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    clock.advance(2500)
    result = runner.invoke(args=["run-timers", "--once"])
    assert result.exit_code == 0, result.output
    assert "Applied due rules to 1 sessions." in result.output
    assert row(app, token).state == "ended"


@pytest.mark.app_config(TIMERS_IN_APP=True, TIMERS_TICK_SECONDS=0.05)
def test_timers_thread_starts_once_with_the_first_request(app, client, pair, clock):
    token = create(app, pair)
    start_free(app, pair, token)
    clock.advance(2500)
    try:
        client.get("/login")
        client.get("/login")
        thread = timers.IN_APP.thread
        assert thread is not None and thread.daemon and thread.is_alive()
        for _ in range(100):
            if row(app, token).state == "ended":
                break
            timers.IN_APP.stop_event.wait(0.05)
        assert row(app, token).state == "ended"
    finally:
        timers.IN_APP.stop()
    assert timers.IN_APP.thread is None
    assert not thread.is_alive()
    assert clock_module.now() == clock.current
