"""The outbox: result callbacks and registry write-backs, owed when a job ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from schemas.sources import WriteBack
from service.store import claims, outside
from service.store.convert import (
    JOBS,
    utcnow,
)
from service.store.sql.base import SqlBase


class OutboxMixin(SqlBase):
    """The outbox: result callbacks and registry write-backs, owed when a job ends."""

    async def claim_due(self, outbox: claims.Outbox, lease_s: float) -> str | None:
        """The id of an ended job whose `outbox` delivery is owed, now held for `lease_s`; None if none."""
        due = claims.due_column(outbox)
        async with self._tx() as conn:  # a plain read first: idle polls take no write lock
            if (await conn.execute(select(JOBS.c.id).where(due <= utcnow()).limit(1))).first() is None:
                return None
        async with self._tx(write=True) as conn:
            return await claims.claim_due(conn, outbox, lease_s)

    async def end_due(self, outbox: claims.Outbox, job_id: str, *, retry_now: bool = False) -> None:
        """The delivery ended (delivered or gave up): owe nothing more. `retry_now`: give it back instead
        (a worker stopping mid-delivery), so the next poll of any worker delivers it."""
        async with self._tx(write=True) as conn:
            due = utcnow() if retry_now else None
            await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values({claims.OUTBOX_DUE[outbox]: due}))

    async def due_at(self, outbox: claims.Outbox, job_id: str) -> datetime | None:
        """When the job's `outbox` delivery is (next) due; None when nothing is owed."""
        async with self._tx() as conn:
            due = claims.due_column(outbox)
            return (await conn.execute(select(due).where(JOBS.c.id == job_id))).scalar_one_or_none()

    async def claim_callback(self, lease_s: float) -> str | None:
        return await self.claim_due("callback", lease_s)

    async def end_callback(self, job_id: str, *, retry_now: bool = False) -> None:
        await self.end_due("callback", job_id, retry_now=retry_now)

    async def callback_due(self, job_id: str) -> datetime | None:
        return await self.due_at("callback", job_id)

    async def write_back_of(self, job_id: str) -> WriteBack | None:
        """Where the job's result goes back to a registry, if anywhere."""
        async with self._tx() as conn:
            raw = (await conn.execute(select(JOBS.c.writeback).where(JOBS.c.id == job_id))).scalar_one_or_none()
        return WriteBack.model_validate(raw) if raw else None

    async def record_delivery_attempt(self, job_id: str, attempt: outside.DeliveryAttempt) -> None:
        """Record one callback attempt (GET .../deliveries shows it)."""
        async with self._tx(write=True) as conn:
            await outside.record_attempt(conn, job_id, attempt)

    async def delivery_attempts(self, job_id: str) -> list[outside.DeliveryAttempt]:
        """Every callback attempt of a job, oldest first."""
        async with self._tx() as conn:
            return await outside.attempts(conn, job_id)
