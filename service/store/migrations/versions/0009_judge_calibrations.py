"""Model-judge calibrations: judge_calibrations, one row per calibration of a judge endpoint and model name,
queued, claimed by workers under a lease, ended with its figures or its error.

Revision ID: 0009_judge_calibrations
Revises: 0008_dataset_pins
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_judge_calibrations"
down_revision = "0008_dataset_pins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_calibrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("endpoint", sa.String(2048), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("worker_id", sa.String(255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_judge_calibrations_key_finished", "judge_calibrations", ["endpoint", "model", "status", "finished_at"]
    )
    op.create_index("ix_judge_calibrations_status_created", "judge_calibrations", ["status", "created_at"])
    op.create_index("ix_judge_calibrations_created_id", "judge_calibrations", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("judge_calibrations")
