"""State every machine shares: signing_keys (scorecard signing keys), webhook_profiles and
webhook_profile_imports (audit profiles), metric_counters (the /metrics figures, filled here from the history).

Revision ID: 0010_shared_state
Revises: 0009_judge_calibrations
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010_shared_state"
down_revision = "0009_judge_calibrations"
branch_labels = None
depends_on = None

# The duration buckets of the histograms as of this migration (service/store/metric_counters.py).
_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite returns text to plain SQL
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _observe(counters: dict[tuple[str, str, str], float], metric: str, label: str, seconds: float) -> None:
    bound = next((b for b in _BUCKETS if seconds <= b), None)
    counters[(metric, label, "count")] += 1
    counters[(metric, label, "sum")] += seconds
    counters[(metric, label, f"le={float(bound) if bound is not None else '+Inf'}")] += 1


def _backfill(table: sa.Table) -> None:
    """The counters of the history already stored (the only time it is read in full)."""
    bind = op.get_bind()
    counters: dict[tuple[str, str, str], float] = defaultdict(float)
    for status, n in bind.execute(sa.text("SELECT status, COUNT(*) FROM jobs GROUP BY status")):
        counters[("jobs", str(status), "value")] += int(n)
    ended = "SELECT status, started_at, finished_at FROM jobs WHERE started_at IS NOT NULL AND finished_at IS NOT NULL"
    for status, started, finished in bind.execute(sa.text(ended)):
        seconds = max(0.0, (_aware(finished) - _aware(started)).total_seconds())
        _observe(counters, "job_duration", str(status), seconds)
    check_results = sa.table("check_results", sa.column("check"), sa.column("duration_s"), sa.column("meta", sa.JSON))
    for check, duration_s, meta in bind.execute(sa.select(check_results)):
        if duration_s is not None:
            _observe(counters, "check_duration", str(check), float(duration_s))
        records = (meta or {}).get("records", 0) if isinstance(meta, dict) else 0
        counters[("items_scored", str(check), "value")] += records if isinstance(records, int) else 0
    rows = [{"metric": m, "label": lab[:64], "part": p, "value": v} for (m, lab, p), v in sorted(counters.items())]
    if rows:
        op.bulk_insert(table, rows)


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("keyid", sa.String(64), primary_key=True),
        sa.Column("public_key_pem", sa.String(500), nullable=False),
        sa.Column("private_key_pem", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "webhook_profiles",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_profile_imports",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("profiles", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    counters = op.create_table(
        "metric_counters",
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(64), primary_key=True),
        sa.Column("part", sa.String(32), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    assert counters is not None
    _backfill(counters)


def downgrade() -> None:
    op.drop_table("metric_counters")
    op.drop_table("webhook_profile_imports")
    op.drop_table("webhook_profiles")
    op.drop_table("signing_keys")
