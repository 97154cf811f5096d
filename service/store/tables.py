"""The store's tables (SQLAlchemy 2 declarative). Migrations in `migrations/` must match these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# BigInteger autoincrement ids render as INTEGER on SQLite (rowid alias), BIGSERIAL on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite stores them naive; we store and read UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_created_id", "created_at", "id"),
        Index("ix_jobs_callback_due_at", "callback_due_at"),
        Index("ix_jobs_team_status_created", "team", "status", "created_at"),
        Index("ix_jobs_writeback_due_at", "writeback_due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # '' rather than NULL: a NULL owner would not take part in the unique constraint.
    owner: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    verdict: Mapped[str | None] = mapped_column(String(8))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scorecard: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A result callback owed (migration 0003): see claims.schedule_callback / claim_callback.
    callback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The team the submitting key (or webhook profile) belongs to; NULL: no team (migration 0004).
    team: Mapped[str | None] = mapped_column(String(64))
    # Fetched models' sources pinned at submit, by request field (migration 0005).
    resolved: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where the result goes back to a registry, and when that write-back is (next) due (migration 0006).
    writeback: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    writeback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Hub datasets' sources pinned at submit, by request field (migration 0007).
    resolved_datasets: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobLabelRow(Base):
    """One row per label, so label filters are plain joins on both databases (no JSON operators)."""

    __tablename__ = "job_labels"
    __table_args__ = (Index("ix_job_labels_key_value", "key", "value"),)

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), nullable=False)


class CheckResultRow(Base):
    __tablename__ = "check_results"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    check: Mapped[str] = mapped_column(String(32), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    duration_s: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ItemRecordRow(Base):
    __tablename__ = "item_records"
    __table_args__ = (Index("ix_item_records_job_check_id", "job_id", "check", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    check: Mapped[str] = mapped_column(String(32), nullable=False)
    dataset: Mapped[str] = mapped_column(String(255), nullable=False)
    index: Mapped[int] = mapped_column(Integer, nullable=False)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str] = mapped_column(String(16), nullable=False)
    fold: Mapped[int | None] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class JobEventRow(Base):
    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RegistryDeliveryRow(Base):
    """One registry delivery (an audit-starting registry event a webhook receiver got): submitted, or recorded
    and ignored (no profile, bad profile, bad signature). The table keeps its first name, `webhook_events`."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("registry", "dedupe_key", name="uq_webhook_events_registry_dedupe_key"),
        Index("ix_webhook_events_received_id", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # `registry` is taken by the declarative base: the attribute is renamed, the column is not.
    registry_name: Mapped[str] = mapped_column("registry", String(32), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(255), nullable=False)
    event: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str] = mapped_column(String(1000), nullable=False)
    profile: Mapped[str | None] = mapped_column(String(100))
    job_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CallbackAttemptRow(Base):
    """One HTTP attempt of one result-callback delivery."""

    __tablename__ = "callback_attempts"
    __table_args__ = (Index("ix_callback_attempts_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    delivery_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # `callback`, `huggingface` or `mlflow` (migration 0006): the result callback or a registry write-back.
    channel: Mapped[str] = mapped_column(String(16), nullable=False, server_default="callback")
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class DatasetPinRow(Base):
    """The commit a deployment first resolved a suite dataset's moving revision to (`cais/mmlu` at `main`).

    A suite reads the same bytes in every later audit, so figures compare across time, until an admin forgets
    the pin (the next audit then pins what `main` is then). The operator's UNLEARN_AUDIT_DATASET_REVISIONS win.
    """

    __tablename__ = "dataset_pins"

    endpoint: Mapped[str] = mapped_column(String(2048), primary_key=True)
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    requested: Mapped[str] = mapped_column(String(256), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64), nullable=False)
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SigningKeyRow(Base):
    """A scorecard signing key every machine shares (migration 0010). `private_key_pem` only while the key is
    active and the database is the key source; a retired key keeps its public half, so old scorecards verify."""

    __tablename__ = "signing_keys"

    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key_pem: Mapped[str] = mapped_column(String(500), nullable=False)
    private_key_pem: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookProfileRow(Base):
    """One audit profile, in match order (`position`: the first matching profile wins) (migration 0010)."""

    __tablename__ = "webhook_profiles"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class WebhookProfileImportRow(Base):
    """A profiles file imported at start, by content hash: the same content is never imported twice."""

    __tablename__ = "webhook_profile_imports"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(4096), nullable=False)
    profiles: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class MetricCounterRow(Base):
    """One figure behind /metrics, changed in the transaction of each job or check status change, so a scrape
    reads this table alone (migration 0010). `metric`: `jobs` (by status), `check_duration` (by check),
    `job_duration` (by final status), `items_scored` (by check); `part`: `value`, or for durations `count`,
    `sum` and `le=<bound>` (observations in that bucket alone, not cumulative)."""

    __tablename__ = "metric_counters"

    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    part: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float, nullable=False)
