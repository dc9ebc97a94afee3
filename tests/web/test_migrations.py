"""Migrations build exactly the schema the models describe."""

import secrets

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKEND, _config_dict
from webapp import create_app
from webapp.extensions import db


def empty_database_url(database_url: str, tmp_path) -> tuple[str, object]:
    """Create another empty database next to the test database; return its URL and a cleanup."""
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}", lambda: None
    name = f"openmentor_empty_{secrets.token_hex(4)}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(database_url).set(database=name).render_as_string(hide_password=False), drop


def test_migrations_upgrade_empty_database_to_models(database_url, tmp_path):
    url, cleanup = empty_database_url(database_url, tmp_path)
    try:
        app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
                tables = set(inspect(connection).get_table_names())
            db.engine.dispose()
        assert differences == []
        assert {table.name for table in db.metadata.sorted_tables} <= tables
    finally:
        cleanup()
