"""Registry webhook events (audit trail and de-duplication) and result-callback attempts.

Tables are declared in service/store/tables.py.

Revision ID: 0002_webhooks_callbacks
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_webhooks_callbacks"
down_revision = "0001"
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)
_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("registry", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("model", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("profile", sa.String(100)),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="SET NULL")),
        sa.Column("received_at", _ts, nullable=False),
        sa.UniqueConstraint("registry", "dedupe_key", name="uq_webhook_events_registry_dedupe_key"),
    )
    op.create_index("ix_webhook_events_received_id", "webhook_events", ["received_at", "id"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.String(1000)),
        sa.Column("duration_s", sa.Float),
        sa.Column("created_at", _ts, nullable=False),
    )
    op.create_index("ix_callback_attempts_job_id_id", "callback_attempts", ["job_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_callback_attempts_job_id_id", table_name="callback_attempts")
    op.drop_table("callback_attempts")
    op.drop_index("ix_webhook_events_received_id", table_name="webhook_events")
    op.drop_table("webhook_events")
