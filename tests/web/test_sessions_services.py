"""The live-session service layer: creating, clicks through the one path, cap, link, presence."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import CLOCK_START
from tests.web.sessions_support import (
    act,
    available,
    create,
    credit,
    enter,
    invoice_of,
    kinds,
    make_pair,
    row,
    stay,
)
from webapp import database
from webapp.accounts.models import User
from webapp.exceptions import Conflict, Forbidden, Invalid, NotFound
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.sessions import services


@pytest.fixture
def pair(create_user):
    return make_pair(create_user)


def notifications_of(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification.text)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )


def test_create_free_session_writes_created_event(app, pair):
    token = create(app, pair)
    live_session = row(app, token)
    assert live_session.state == "open"
    assert live_session.kind == "free"
    assert live_session.version == 1
    assert len(token) >= 40
    assert live_session.next_deadline_at == CLOCK_START + timedelta(days=1)
    assert kinds(app, token) == ["created"]


def test_create_returns_the_pairs_open_session(app, pair):
    token = create(app, pair)
    with app.app_context():
        database.begin_write()
        again, created = services.create_live_session(
            mentor_id=pair.mentor, mentee_id=pair.mentee, kind="paid", actor_id=pair.mentor
        )
        assert (again.token, created) == (token, False)
        database.commit()
    assert kinds(app, token) == ["created"]


def test_create_refuses_the_same_person_on_both_sides(app, pair):
    with app.app_context():
        database.begin_write()
        with pytest.raises(Forbidden):
            services.create_live_session(
                mentor_id=pair.mentor, mentee_id=pair.mentor, kind="free", actor_id=pair.mentor
            )


def test_create_paid_needs_twenty_minutes_of_credit(app, pair):
    # 20 minutes at 20.00 per 15 minutes = 26.67.
    credit(app, pair.mentee, 2666)
    with app.app_context():
        database.begin_write()
        with pytest.raises(Conflict, match=r"Add 0\.01 USD"):
            services.create_live_session(
                mentor_id=pair.mentor, mentee_id=pair.mentee, kind="paid", actor_id=pair.mentor
            )
        database.rollback()
    credit(app, pair.mentee, 1)
    token = create(app, pair, "paid")
    live_session = row(app, token)
    assert (live_session.rate_15_cents, live_session.fee_bp) == (2000, 0)


@pytest.mark.app_config(SERVICE_FEE_BP=350)
def test_create_paid_freezes_special_rate_and_fee(app, pair):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid", rate_15_cents=1700)
    live_session = row(app, token)
    assert (live_session.rate_15_cents, live_session.fee_bp) == (1700, 350)


def test_live_session_for_hides_from_outsiders(app, pair):
    token = create(app, pair)
    with app.app_context():
        assert services.live_session_for(pair.mentee, token).token == token
        with pytest.raises(NotFound):
            services.live_session_for(pair.outsider, token)
        with pytest.raises(NotFound):
            services.live_session_for(pair.mentee, "no-such-token")
    assert act(app, token, pair.outsider, "end") == "NotFound"


def test_free_session_flow(app, pair, clock):
    token = create(app, pair)
    assert act(app, token, pair.mentor, "start") == "Conflict"  # the mentee is not in the room
    enter(app, token, pair.mentee)
    assert act(app, token, pair.mentor, "start") == "running"
    assert act(app, token, pair.mentee, "start") == "AlreadyDone"
    clock.advance(61.5)
    assert act(app, token, pair.mentee, "pause") == "paused"
    clock.advance(100)
    assert act(app, token, pair.mentor, "resume") == "running"
    clock.advance(10.25)
    assert act(app, token, pair.mentor, "end") == "ended"
    assert act(app, token, pair.mentee, "end") == "AlreadyDone"
    live_session = row(app, token)
    assert live_session.billed_ms_closed == 71750
    assert kinds(app, token) == [
        "created", "joined", "started", "paused", "resumed", "ended",
    ]  # fmt: skip
    assert invoice_of(app, token) is None
    with app.app_context():
        mentee_name = db.session.get(User, pair.mentee).name
    entered = f"{mentee_name} entered the session room. Join them there."
    assert notifications_of(app, pair.mentor).count(entered) == 1


def test_paid_flow_with_start_request_and_invoice(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    assert act(app, token, pair.mentor, "request_start") == "Conflict"  # mentee absent
    enter(app, token, pair.mentee)
    assert act(app, token, pair.mentee, "request_start") == "Forbidden"
    assert act(app, token, pair.mentor, "request_start") == "start_requested"
    assert act(app, token, pair.mentor, "request_start") == "AlreadyDone"
    assert act(app, token, pair.mentor, "start") == "Forbidden"
    assert act(app, token, pair.mentee, "start") == "Conflict"  # mentor absent
    enter(app, token, pair.mentor)
    assert act(app, token, pair.mentor, "nudge") == "start_requested"
    assert act(app, token, pair.mentor, "nudge") == "TooMany"
    assert act(app, token, pair.mentee, "start") == "running"
    stay(app, token, pair.mentee, clock, 16 * 60)
    assert act(app, token, pair.mentor, "end") == "ended"
    invoice = invoice_of(app, token)
    # 16 minutes at 20.00 per 15: 2133.
    assert (invoice.billed_seconds, invoice.minutes_charged, invoice.total_cents) == (960, 16, 2133)
    assert invoice.settles_at == clock.current + timedelta(seconds=600)
    assert invoice.intervals[0]["started_by"] == "mentee"
    assert invoice.intervals[0]["stopped_by"] == "mentor"
    assert available(app, pair.mentee) == 10000 - 2133
    assert kinds(app, token)[-2:] == ["ended", "invoiced"]


def test_paid_end_within_grace_minute_has_no_invoice(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    act(app, token, pair.mentee, "start")
    clock.advance(59.999)
    assert act(app, token, pair.mentee, "end") == "ended"
    assert invoice_of(app, token) is None


def test_paid_start_rechecks_credit(app, pair, clock):
    credit(app, pair.mentee, 2667)
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    # An open invoice (of any session) lowers the available credit below the minimum.
    with app.app_context():
        from webapp.billing.models import Invoice

        database.begin_write()
        db.session.add(
            Invoice(
                live_session_id=row(app, token).id, mentor_id=pair.mentor, mentee_id=pair.mentee,
                billed_seconds=0, minutes_charged=0, rate_15_cents=2000, subtotal_cents=100,
                fee_cents=0, total_cents=100, intervals=[], settles_at=clock.current,
            )
        )  # fmt: skip
        database.commit()
    with app.app_context(), pytest.raises(Conflict, match=r"Add 1\.00 USD"):
        services.perform(token, pair.mentee, "start")


def test_first_fifteen_free_is_decided_at_start(app, create_user, clock):
    pair = make_pair(create_user, first_15_free=True)
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    act(app, token, pair.mentee, "start")
    assert row(app, token).first_free is True
    stay(app, token, pair.mentee, clock, 16 * 60)
    act(app, token, pair.mentee, "end")
    invoice = invoice_of(app, token)
    assert (invoice.minutes_charged, invoice.free_minutes, invoice.total_cents) == (1, 15, 133)
    # The second paid session is no longer free.
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    act(app, token, pair.mentee, "start")
    assert row(app, token).first_free is False


def test_one_paid_session_running_per_mentee(app, pair, create_user, clock):
    other = create_user(mentor=True, mentee=False, rate_15_cents=1000)
    credit(app, pair.mentee, 20000)
    token = create(app, pair, "paid")
    with app.app_context():
        database.begin_write()
        second, _ = services.create_live_session(
            mentor_id=other.id, mentee_id=pair.mentee, kind="paid", actor_id=other.id
        )
        second_token = second.token
        database.commit()
    for token_ in (token, second_token):
        enter(app, token_, pair.mentee)
    enter(app, token, pair.mentor)
    enter(app, second_token, other.id)
    act(app, token, pair.mentor, "request_start")
    act(app, second_token, other.id, "request_start")
    assert act(app, token, pair.mentee, "start") == "running"
    with app.app_context(), pytest.raises(Conflict, match="already has a paid session"):
        services.perform(second_token, pair.mentee, "start")


def test_cap_rules(app, pair, clock):
    credit(app, pair.mentee, 10000)
    token = create(app, pair, "paid")
    with app.app_context():
        with pytest.raises(Forbidden):
            services.set_cap(token, pair.mentor, 30)
        with pytest.raises(Invalid):
            services.set_cap(token, pair.mentee, 14)
        assert services.set_cap(token, pair.mentee, 15).cap_minutes == 15
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    act(app, token, pair.mentee, "start")
    clock.advance(20)
    with app.app_context():
        live_session = services.apply_due(row(app, token).id)
        assert services.affordable_seconds_for(live_session) == 900
    # The cap pauses at exactly 15:00 of billed time, warned 5 minutes before.
    stay(app, token, pair.mentor, clock, 16 * 60)
    with app.app_context():
        live_session = services.apply_due(row(app, token).id)
        assert live_session.state == "paused"
        assert live_session.billed_ms_closed == 900_000
    assert kinds(app, token)[-2:] == ["limit_warned", "paused"]
    with app.app_context():
        with pytest.raises(Invalid):
            services.set_cap(token, pair.mentee, 14)
        services.set_cap(token, pair.mentee, None)
    assert act(app, token, pair.mentee, "resume") == "running"


def test_meeting_link_only_https(app, pair):
    token = create(app, pair)
    with app.app_context():
        with pytest.raises(Invalid):
            services.set_meeting_link(token, pair.mentor, "http://meet.example.com/x")
        with pytest.raises(Invalid):
            services.set_meeting_link(token, pair.mentor, "javascript:alert(1)")
        with pytest.raises(NotFound):
            services.set_meeting_link(token, pair.outsider, "https://meet.example.com/x")
        live_session = services.set_meeting_link(token, pair.mentee, "https://meet.example.com/x")
        assert live_session.meeting_url == "https://meet.example.com/x"
    assert kinds(app, token)[-1] == "meeting_link_set"


def test_presence_writes_at_most_every_interval(app, pair, clock):
    token = create(app, pair)
    enter(app, token, pair.mentee)
    first = row(app, token)
    clock.advance(5)
    enter(app, token, pair.mentee)
    with app.app_context():
        from webapp.sessions.models import Presence

        seen = db.session.scalar(select(Presence.last_seen_at))
        assert seen == CLOCK_START
    clock.advance(20)
    enter(app, token, pair.mentee)
    with app.app_context():
        seen = db.session.scalar(select(Presence.last_seen_at))
        assert seen == CLOCK_START + timedelta(seconds=25)
        assert services.people_in_room(first) == {pair.mentee}
    clock.advance(91)
    with app.app_context():
        assert services.people_in_room(first) == set()
    assert kinds(app, token) == ["created", "joined"]


def test_billed_ms_now_counts_the_running_interval(app, pair, clock):
    token = create(app, pair)
    enter(app, token, pair.mentee)
    act(app, token, pair.mentor, "start")
    clock.advance(12.345)
    with app.app_context():
        live_session = services.live_session_for(pair.mentor, token)
        assert services.billed_ms_now(live_session) == 12345
        assert services.affordable_seconds_for(live_session) is None


def test_database_refuses_second_open_session_of_a_pair(app, pair):
    from sqlalchemy.exc import IntegrityError

    from webapp.sessions.models import LiveSession

    create(app, pair)
    with app.app_context():
        database.begin_write()
        db.session.add(
            LiveSession(
                token="x" * 43, mentor_id=pair.mentor, mentee_id=pair.mentee, kind="free",
                meeting_url="", state="open", billed_ms_closed=0, version=0,
                start_reminders_sent=0, pause_reminded=False, free_cap_warned=False,
                limit_warned=False,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            db.session.flush()
        database.rollback()


def test_database_refuses_second_active_paid_session_of_a_mentee(app, pair, create_user):
    from sqlalchemy.exc import IntegrityError

    from webapp.sessions.models import LiveSession

    other = create_user(mentor=True)
    with app.app_context():
        database.begin_write()
        for number, mentor_id in enumerate((pair.mentor, other.id)):
            db.session.add(
                LiveSession(
                    token=f"{number}" * 43, mentor_id=mentor_id, mentee_id=pair.mentee,
                    kind="paid", meeting_url="", state="paused", billed_ms_closed=0, version=0,
                    start_reminders_sent=0, pause_reminded=False, free_cap_warned=False,
                    limit_warned=False,
                )
            )  # fmt: skip
        with pytest.raises(IntegrityError):
            db.session.flush()
        database.rollback()
        assert db.session.scalar(select(func.count(LiveSession.id))) == 0
