"""Deployment pins of suite datasets: dataset_pins (endpoint, repo, requested revision) -> the commit first
resolved, so a suite reads the same data in every audit until an admin forgets the pin.

Revision ID: 0008_dataset_pins
Revises: 0007_resolved_datasets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_dataset_pins"
down_revision = "0007_resolved_datasets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_pins",
        sa.Column("endpoint", sa.String(2048), primary_key=True),
        sa.Column("repo", sa.String(200), primary_key=True),
        sa.Column("requested", sa.String(256), primary_key=True),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dataset_pins")
