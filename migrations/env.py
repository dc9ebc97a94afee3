"""Alembic environment: runs migrations on the app's engine (Flask-Migrate)."""

import logging

from alembic import context
from flask import current_app

from webapp.database import UTCDateTime

logger = logging.getLogger("alembic.env")

config = context.config
target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Render our UTC column type as a plain timezone-aware DateTime in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    """Leave out tables that no model describes (none are expected)."""
    return not (type_ == "table" and reflected and compare_to is None)


def process_revision_directives(context_, revision, directives):
    """Write no empty revision when autogenerate finds no change."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def run_migrations_online() -> None:
    """Run the migrations on a connection of the app's engine."""
    engine = target_db.engine
    configure_args = dict(current_app.extensions["migrate"].configure_args)
    configure_args.setdefault("process_revision_directives", process_revision_directives)
    configure_args.setdefault("compare_type", True)
    # Batch mode rebuilds tables on SQLite, which cannot alter most constraints in place.
    configure_args["render_as_batch"] = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            render_item=render_item,
            include_object=include_object,
            **configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run them against a database.")
run_migrations_online()
