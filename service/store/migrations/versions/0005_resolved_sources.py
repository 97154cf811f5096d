"""jobs.resolved: fetched models' sources pinned at submit (a Hub revision's commit sha, an MLflow alias's
version), by the request field that names each model; the worker fetches exactly these.

Revision ID: 0005_resolved_sources
Revises: 0004_teams
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_resolved_sources"
down_revision = "0004_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("resolved", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("resolved")
