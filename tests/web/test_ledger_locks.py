"""User rows are locked in one global order, so swapped roles cannot deadlock."""

from sqlalchemy import event

from webapp import database
from webapp.billing import ledger
from webapp.extensions import db


def test_lock_users_locks_in_ascending_id_order(app, create_user):
    first = create_user()
    second = create_user()
    locked: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM user" in statement.replace('"', ""):
            values = parameters.values() if isinstance(parameters, dict) else parameters
            locked.extend(value for value in values if value in (first.id, second.id))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            database.begin_write()
            # The mentee of one session may be the mentor of another: callers pass either order.
            ledger.lock_users(second.id, first.id, second.id)
            database.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert locked == [first.id, second.id]
