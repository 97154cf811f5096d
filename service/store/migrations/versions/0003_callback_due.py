"""jobs.callback_due_at: a result callback owed for an ended job (the worker's delivery outbox).

Set in the transaction that ends a job whose request has `callback.url`; a worker claims it by pushing it
forward by a delivery lease, and clears it when the delivery ends. A worker that dies mid-delivery leaves
it set, so another worker delivers once the lease lapses: nothing accepted is lost.

Revision ID: 0003_callback_due
Revises: 0002_webhooks_callbacks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_callback_due"
down_revision = "0002_webhooks_callbacks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("callback_due_at", sa.DateTime(timezone=True)))
    op.create_index("ix_jobs_callback_due_at", "jobs", ["callback_due_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_callback_due_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("callback_due_at")
