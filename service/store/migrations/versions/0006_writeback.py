"""Results written back to registries: jobs.writeback (where), jobs.writeback_due_at (an outbox like the
callback's, owed in the transaction that ends the job), and callback_attempts.channel, so write-back
attempts are listed with the job's deliveries.

Revision ID: 0006_writeback
Revises: 0005_resolved_sources
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_writeback"
down_revision = "0005_resolved_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("writeback", sa.JSON()))
        batch.add_column(sa.Column("writeback_due_at", sa.DateTime(timezone=True)))
    op.create_index("ix_jobs_writeback_due_at", "jobs", ["writeback_due_at"])
    with op.batch_alter_table("callback_attempts") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="callback"))


def downgrade() -> None:
    with op.batch_alter_table("callback_attempts") as batch:
        batch.drop_column("channel")
    op.drop_index("ix_jobs_writeback_due_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("writeback_due_at")
        batch.drop_column("writeback")
