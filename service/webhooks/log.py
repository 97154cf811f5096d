"""The webhook-events log: what each audit-starting event led to; a submitted event is never re-run."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.store.engine import IMMEDIATE
from service.store.tables import Base
from service.webhooks.events import RegistryEvent
from service.webhooks.tables import WebhookEventRow

EventStatus = str
"""`submitted`, `no_profile` or `invalid_profile`."""

assert WebhookEventRow.__tablename__ == "webhook_events"
T = Base.metadata.tables["webhook_events"]


def dedupe_key(event: RegistryEvent) -> str:
    """The stored key: the event's own, hashed when too long for the column."""
    key = event.dedupe_key
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class WebhookEventRecord:
    id: int
    registry: str
    dedupe_key: str
    event: str
    model: str
    status: str
    detail: str
    profile: str | None
    job_id: str | None
    received_at: datetime

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "received_at": self.received_at.isoformat()}


def _record(row: object) -> WebhookEventRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return WebhookEventRecord(**{k: m[k] for k in WebhookEventRecord.__dataclass_fields__})


class WebhookEventLog:
    """Rows of `webhook_events` on the job store's engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, registry: str, key: str) -> WebhookEventRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(T).where(T.c.registry == registry, T.c.dedupe_key == key))
            ).first()
        return _record(row) if row is not None else None

    async def record(
        self,
        event: RegistryEvent,
        *,
        status: EventStatus,
        detail: str,
        profile: str | None,
        job_id: str | None,
    ) -> WebhookEventRecord:
        """Insert the event, or update an earlier row of it that did not submit a job."""
        key = dedupe_key(event)
        values = {
            "event": event.event[:100],
            "model": event.model[:500],
            "status": status,
            "detail": detail[:1000],
            "profile": profile,
            "job_id": job_id,
            "received_at": datetime.now(UTC),
        }
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(**{IMMEDIATE: True})
                async with conn.begin():
                    await conn.execute(T.insert().values(registry=event.registry, dedupe_key=key, **values))
        except IntegrityError:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(**{IMMEDIATE: True})
                async with conn.begin():
                    await conn.execute(
                        update(T)
                        .where(
                            T.c.registry == event.registry, T.c.dedupe_key == key, T.c.status != "submitted"
                        )
                        .values(**values)
                    )
        found = await self.get(event.registry, key)
        assert found is not None
        return found

    async def recent(self, limit: int = 50) -> list[WebhookEventRecord]:
        """Newest first."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(T).order_by(T.c.received_at.desc(), T.c.id.desc()).limit(limit))
            ).all()
        return [_record(r) for r in rows]
