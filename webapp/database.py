"""Database plumbing shared by every feature: UTC columns, SQLite setup and write transactions.

On SQLite a transaction that reads and later writes fails at once with "database is locked"
when another connection wrote in between, whatever busy_timeout says. So every write path
begins with `begin_write()`, which takes SQLite's write lock up front (`BEGIN IMMEDIATE`);
on PostgreSQL it begins a normal transaction and services lock rows with `SELECT ... FOR UPDATE`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from webapp.extensions import db

# Execution option naming the statement that begins a transaction on SQLite.
SQLITE_BEGIN_OPTION = "openmentor_sqlite_begin"


class UTCDateTime(TypeDecorator):
    """A timestamp column that stores UTC and always returns timezone-aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store naive UTC and mark it aware again on read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite() -> bool:
    """Tell whether the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"


def configure_sqlite(engine: Engine) -> None:
    """Turn on WAL, foreign keys and a busy timeout, and let us choose how transactions begin.

    pysqlite would otherwise begin transactions itself, lazily and always deferred.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        statement = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN")
        connection.exec_driver_sql(statement)


def init_app(app: Flask) -> None:
    """Configure the engine once it exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)


def begin_write() -> None:
    """End the current read transaction and begin one that may write.

    On SQLite the new transaction holds the database's write lock from its first statement.
    Calling it again inside a write transaction does nothing.
    """
    if db.session.info.get("writing") and db.session().in_transaction():
        return
    db.session.rollback()
    if is_sqlite():
        db.session.connection(execution_options={SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    else:
        db.session.connection()
    db.session.info["writing"] = True


def commit() -> None:
    """Commit the request's transaction."""
    db.session.commit()
    db.session.info.pop("writing", None)


def rollback() -> None:
    """Roll back the request's transaction."""
    db.session.rollback()
    db.session.info.pop("writing", None)


def execute_small_write(statement) -> None:
    """Run one small UPDATE now, in the request's write transaction if it has one.

    Otherwise it runs in its own short transaction on a separate connection, so a GET's
    read transaction never turns into a write (which SQLite would refuse under load).
    """
    if db.session.info.get("writing") and db.session().in_transaction():
        db.session.execute(statement)
        return
    with db.engine.connect() as connection:
        options = {SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"} if is_sqlite() else {}
        connection = connection.execution_options(**options)
        with connection.begin():
            connection.execute(statement)
