"""Initial schema: jobs, job_labels, check_results, item_records, job_events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)
_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("worker_id", sa.String(255)),
        sa.Column("lease_until", _ts),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("progress", sa.JSON, nullable=False),
        sa.Column("verdict", sa.String(8)),
        sa.Column("error", sa.JSON),
        sa.Column("scorecard", sa.JSON),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("started_at", _ts),
        sa.Column("finished_at", _ts),
        sa.Column("deadline_at", _ts),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    )
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_created_id", "jobs", ["created_at", "id"])
    op.create_table(
        "job_labels",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.create_index("ix_job_labels_key_value", "job_labels", ["key", "value"])
    op.create_table(
        "check_results",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("check", sa.String(32), primary_key=True),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.Column("finished_at", _ts, nullable=False),
    )
    op.create_table(
        "item_records",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("check", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("model", sa.String(16), nullable=False),
        sa.Column("fold", sa.Integer),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index("ix_item_records_job_check_id", "item_records", ["job_id", "check", "id"])
    op.create_table(
        "job_events",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", _ts, nullable=False),
    )
    op.create_index("ix_job_events_job_id_id", "job_events", ["job_id", "id"])


def downgrade() -> None:
    for table in ("job_events", "item_records", "check_results", "job_labels", "jobs"):
        op.drop_table(table)
