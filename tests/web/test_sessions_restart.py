"""A restart (a new app instance on the same database) bills exactly what the old one did."""

from sqlalchemy import select

from tests.conftest import _config_dict
from tests.web.sessions_support import act, create, enter, make_pair
from webapp import create_app
from webapp.extensions import db
from webapp.sessions import services
from webapp.sessions.commands import check_sessions
from webapp.sessions.models import LiveSession


def _billed_ms(app, token: str, user_id: int) -> int:
    with app.app_context():
        return services.billed_ms_now(services.live_session_for(user_id, token))


def test_new_app_instance_computes_the_same_billed_time(app, migrated_database, create_user, clock):
    pair = make_pair(create_user)
    token = create(app, pair)
    enter(app, token, pair.mentee)
    act(app, token, pair.mentor, "start")
    clock.advance(61.234)
    act(app, token, pair.mentee, "pause")
    clock.advance(30)
    act(app, token, pair.mentee, "resume")
    clock.advance(12.345)
    before = _billed_ms(app, token, pair.mentor)
    assert before == 73_579
    # The old process goes away with its connections; a new one starts on the same database.
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    restarted = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": migrated_database})
    assert _billed_ms(restarted, token, pair.mentee) == before
    clock.advance(0.001)
    assert _billed_ms(restarted, token, pair.mentee) == before + 1
    # The restarted app goes on billing from the same running interval.
    assert act(restarted, token, pair.mentor, "end") == "ended"
    with restarted.app_context():
        live_session = db.session.scalar(select(LiveSession))
        assert live_session.billed_ms_closed == before + 1
        assert check_sessions() == []
        db.session.remove()
        db.engine.dispose()
