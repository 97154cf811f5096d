"""Hub datasets pinned at submit: jobs.resolved_datasets (by request field: the commit sha a dataset's revision
resolved to and the split's parquet files), which the worker fetches exactly.

Revision ID: 0007_resolved_datasets
Revises: 0006_writeback
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_resolved_datasets"
down_revision = "0006_writeback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("resolved_datasets", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("resolved_datasets")
