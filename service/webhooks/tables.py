"""The webhook-events table (migration 0002_webhooks_callbacks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.store.tables import Base, BigId, UTCDateTime


class WebhookEventRow(Base):
    """One audit-starting registry event: submitted, or recorded and ignored (no profile, bad profile)."""

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
