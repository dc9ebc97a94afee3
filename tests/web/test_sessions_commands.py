"""Operator commands of live sessions: add-credits, check-sessions, and the demo credits."""

from tests.web.sessions_support import Pair, act, available, create, enter, row
from webapp.accounts import services as accounts
from webapp.cli import DEMO_MENTEE


def test_add_credits_tops_up_from_external(app, runner, create_user):
    mentee = create_user()
    result = runner.invoke(args=["add-credits", mentee.email, "1,234.50"])
    assert result.exit_code == 0, result.output
    assert "Added 1,234.50 USD" in result.output
    assert "available credit: 1,234.50 USD" in result.output
    assert available(app, mentee.id) == 123450


def test_add_credits_rejects_bad_input(runner, create_user):
    mentee = create_user()
    assert (
        "more than two decimals"
        in runner.invoke(args=["add-credits", mentee.email, "1.005"]).output
    )
    assert runner.invoke(args=["add-credits", mentee.email, "0"]).exit_code == 1
    unknown = runner.invoke(args=["add-credits", "nobody@example.com", "5"])
    assert unknown.exit_code == 1
    assert "No user has the email address" in unknown.output


def test_add_credits_moves_the_limit_of_a_running_session(app, runner, create_user, clock):
    mentor = create_user(mentor=True, mentee=False, rate_15_cents=2000)
    mentee = create_user()
    pair = Pair(mentor.id, mentee.id, 0)
    runner.invoke(args=["add-credits", mentee.email, "26.67"])
    token = create(app, pair, "paid")
    enter(app, token, pair.mentee)
    enter(app, token, pair.mentor)
    act(app, token, pair.mentor, "request_start")
    act(app, token, pair.mentee, "start")
    before = row(app, token).next_deadline_at
    runner.invoke(args=["add-credits", mentee.email, "20.00"])
    after = row(app, token).next_deadline_at
    # 26.67 buys 20 minutes (warned at 15), 46.67 buys 35 (warned at 30).
    assert (after - before).total_seconds() == 15 * 60


def test_seed_demo_gives_credits_once(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        mentee = accounts.find_by_email(DEMO_MENTEE["email"])
        mentee_id = mentee.id
    assert available(app, mentee_id) == 10000


def test_check_sessions_on_a_clean_database(runner, app):
    result = runner.invoke(args=["check-sessions"])
    assert result.exit_code == 0, result.output
    assert "Checked 0 sessions" in result.output
