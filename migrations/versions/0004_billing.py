"""Create the ledger, invoices, disputes, freelance jobs, payments and reviews.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "direct_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("form_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_direct_payment_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_direct_payment_mentee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user.id"], name=op.f("fk_direct_payment_mentor_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_payment")),
        sa.UniqueConstraint("mentee_id", "form_token", name=op.f("uq_direct_payment_mentee_id")),
    )
    with op.batch_alter_table("direct_payment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_direct_payment_mentee_id"), ["mentee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_direct_payment_mentor_id"), ["mentor_id"], unique=False
        )
    op.create_table(
        "freelance_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("mentor_share_cents", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_freelance_job_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["user.id"], name=op.f("fk_freelance_job_mentee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user.id"], name=op.f("fk_freelance_job_mentor_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freelance_job")),
    )
    with op.batch_alter_table("freelance_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_freelance_job_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_freelance_job_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_freelance_job_mentor_id"), ["mentor_id"], unique=False)
    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_session_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("billed_seconds", sa.Integer(), nullable=False),
        sa.Column("minutes_charged", sa.Integer(), nullable=False),
        sa.Column("free_minutes", sa.Integer(), nullable=False),
        sa.Column("rate_15_cents", sa.Integer(), nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=False),
        sa.Column("subtotal_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunded_subtotal_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("adjusted_minutes", sa.Integer(), nullable=True),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settles_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_session.id"],
            name=op.f("fk_invoice_live_session_id_live_session"),
        ),
        sa.ForeignKeyConstraint(["mentee_id"], ["user.id"], name=op.f("fk_invoice_mentee_id_user")),
        sa.ForeignKeyConstraint(["mentor_id"], ["user.id"], name=op.f("fk_invoice_mentor_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("live_session_id", name=op.f("uq_invoice_live_session_id")),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_mentor_id"), ["mentor_id"], unique=False)
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_session_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_session.id"],
            name=op.f("fk_review_live_session_id_live_session"),
        ),
        sa.ForeignKeyConstraint(["mentee_id"], ["user.id"], name=op.f("fk_review_mentee_id_user")),
        sa.ForeignKeyConstraint(["mentor_id"], ["user.id"], name=op.f("fk_review_mentor_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
        sa.UniqueConstraint("live_session_id", name=op.f("uq_review_live_session_id")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_mentor_id"), ["mentor_id"], unique=False)
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("minutes_claimed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_dispute_invoice_id_invoice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_dispute_invoice_id")),
    )
    op.create_table(
        "invoice_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("subtotal_refund_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_refund_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_invoice_change_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_invoice_change_invoice_id_invoice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_change")),
    )
    with op.batch_alter_table("invoice_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_change_invoice_id"), ["invoice_id"], unique=False
        )
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("memo", sa.String(length=300), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], name=op.f("fk_transfer_actor_id_user")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_transfer_invoice_id_invoice")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["freelance_job.id"], name=op.f("fk_transfer_job_id_freelance_job")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["direct_payment.id"],
            name=op.f("fk_transfer_payment_id_direct_payment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_job_id"), ["job_id"], unique=False)
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfer.id"], name=op.f("fk_ledger_entry_transfer_id_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_account"), ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_transfer_id"), ["transfer_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_account"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_job_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_invoice_id"))

    op.drop_table("transfer")
    with op.batch_alter_table("invoice_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_change_invoice_id"))

    op.drop_table("invoice_change")
    op.drop_table("dispute")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_mentor_id"))

    op.drop_table("review")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_mentee_id"))

    op.drop_table("invoice")
    with op.batch_alter_table("freelance_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_freelance_job_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_freelance_job_mentee_id"))
        batch_op.drop_index(batch_op.f("ix_freelance_job_conversation_id"))

    op.drop_table("freelance_job")
    with op.batch_alter_table("direct_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_direct_payment_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_direct_payment_mentee_id"))

    op.drop_table("direct_payment")
