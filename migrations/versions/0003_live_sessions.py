"""Create live sessions, their events and presence.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "live_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("help_request_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("rate_15_cents", sa.Integer(), nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=False),
        sa.Column("first_free", sa.Boolean(), nullable=True),
        sa.Column("meeting_url", sa.String(length=500), nullable=False),
        sa.Column("cap_minutes", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("billed_ms_closed", sa.BigInteger(), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("start_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_nudge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reminded", sa.Boolean(), nullable=False),
        sa.Column("free_cap_warned", sa.Boolean(), nullable=False),
        sa.Column("limit_warned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_live_session_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["help_request_id"],
            ["help_request.id"],
            name=op.f("fk_live_session_help_request_id_help_request"),
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_live_session_mentee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user.id"], name=op.f("fk_live_session_mentor_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_session")),
        sa.UniqueConstraint("token", name=op.f("uq_live_session_token")),
    )
    with op.batch_alter_table("live_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_session_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_live_session_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_session_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(
            "ix_live_session_next_deadline_at", ["next_deadline_at"], unique=False
        )
        batch_op.create_index("ix_live_session_state", ["state"], unique=False)
        batch_op.create_index(
            "uq_live_session_mentee_paid_active",
            ["mentee_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'paid' AND state IN ('running', 'paused')"),
            postgresql_where=sa.text("kind = 'paid' AND state IN ('running', 'paused')"),
        )
        batch_op.create_index(
            "uq_live_session_pair_not_ended",
            ["mentor_id", "mentee_id"],
            unique=True,
            sqlite_where=sa.text("state != 'ended'"),
            postgresql_where=sa.text("state != 'ended'"),
        )
    op.create_table(
        "presence",
        sa.Column("live_session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_session.id"],
            name=op.f("fk_presence_live_session_id_live_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_presence_user_id_user")),
        sa.PrimaryKeyConstraint("live_session_id", "user_id", name=op.f("pk_presence")),
    )
    op.create_table(
        "session_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=24), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_session_event_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_session.id"],
            name=op.f("fk_session_event_live_session_id_live_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_event")),
        sa.UniqueConstraint(
            "live_session_id", "seq", name=op.f("uq_session_event_live_session_id")
        ),
    )


def downgrade():
    op.drop_table("session_event")
    op.drop_table("presence")
    with op.batch_alter_table("live_session", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_live_session_pair_not_ended",
            sqlite_where=sa.text("state != 'ended'"),
            postgresql_where=sa.text("state != 'ended'"),
        )
        batch_op.drop_index(
            "uq_live_session_mentee_paid_active",
            sqlite_where=sa.text("kind = 'paid' AND state IN ('running', 'paused')"),
            postgresql_where=sa.text("kind = 'paid' AND state IN ('running', 'paused')"),
        )
        batch_op.drop_index("ix_live_session_state")
        batch_op.drop_index("ix_live_session_next_deadline_at")
        batch_op.drop_index(batch_op.f("ix_live_session_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_live_session_mentee_id"))
        batch_op.drop_index(batch_op.f("ix_live_session_conversation_id"))

    op.drop_table("live_session")
