"""Create help requests, conversations, messages and special rates.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "help_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("graded", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_help_request_mentee_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_request")),
    )
    with op.batch_alter_table("help_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_help_request_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index(
            "ix_help_request_state_created", ["state", "created_at"], unique=False
        )
    op.create_table(
        "special_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("rate_15_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_special_rate_mentee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user.id"], name=op.f("fk_special_rate_mentor_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_rate")),
        sa.UniqueConstraint("mentor_id", "mentee_id", name=op.f("uq_special_rate_mentor_id")),
    )
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("help_request_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["help_request_id"],
            ["help_request.id"],
            name=op.f("fk_conversation_help_request_id_help_request"),
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_conversation_mentee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user.id"], name=op.f("fk_conversation_mentor_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
        sa.UniqueConstraint(
            "help_request_id", "mentor_id", name=op.f("uq_conversation_help_request_id")
        ),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversation_mentor_id"), ["mentor_id"], unique=False)
    op.create_table(
        "help_request_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("help_request_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["help_request_id"],
            ["help_request.id"],
            name=op.f("fk_help_request_tag_help_request_id_help_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_request_tag")),
        sa.UniqueConstraint(
            "help_request_id", "tag", name=op.f("uq_help_request_tag_help_request_id")
        ),
    )
    with op.batch_alter_table("help_request_tag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_help_request_tag_help_request_id"), ["help_request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_help_request_tag_tag"), ["tag"], unique=False)
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("form_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_message_author_id_user")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint(
            "conversation_id", "form_token", name=op.f("uq_message_conversation_id")
        ),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_conversation_id_id", ["conversation_id", "id"], unique=False
        )
    op.create_table(
        "read_marker",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_read_marker_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_read_marker_user_id_user")),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_read_marker")),
    )


def downgrade():
    op.drop_table("read_marker")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_conversation_id_id")

    op.drop_table("message")
    with op.batch_alter_table("help_request_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_request_tag_tag"))
        batch_op.drop_index(batch_op.f("ix_help_request_tag_help_request_id"))

    op.drop_table("help_request_tag")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_conversation_mentee_id"))

    op.drop_table("conversation")
    op.drop_table("special_rate")
    with op.batch_alter_table("help_request", schema=None) as batch_op:
        batch_op.drop_index("ix_help_request_state_created")
        batch_op.drop_index(batch_op.f("ix_help_request_mentee_id"))

    op.drop_table("help_request")
