"""Every callback attempt, recorded (GET /v1/evaluations/{id}/deliveries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.callbacks.tables import CallbackAttemptRow
from service.store.engine import IMMEDIATE
from service.store.tables import Base

assert CallbackAttemptRow.__tablename__ == "callback_attempts"
T = Base.metadata.tables["callback_attempts"]


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of one delivery."""

    delivery_id: str
    attempt: int
    url: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_s: float | None
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


class DeliveryLog:
    """Rows of `callback_attempts` on the job store's engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, job_id: str, attempt: Attempt) -> None:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                await conn.execute(
                    T.insert().values(
                        job_id=job_id,
                        delivery_id=attempt.delivery_id,
                        attempt=attempt.attempt,
                        url=attempt.url[:2048],
                        ok=attempt.ok,
                        status_code=attempt.status_code,
                        error=attempt.error[:1000] if attempt.error else None,
                        duration_s=attempt.duration_s,
                        created_at=attempt.created_at,
                    )
                )

    async def attempts(self, job_id: str) -> list[Attempt]:
        """Every attempt for a job, oldest first."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(T).where(T.c.job_id == job_id).order_by(T.c.id))).all()
        return [
            Attempt(
                delivery_id=r.delivery_id,
                attempt=r.attempt,
                url=r.url,
                ok=r.ok,
                status_code=r.status_code,
                error=r.error,
                duration_s=r.duration_s,
                created_at=r.created_at,
            )
            for r in rows
        ]


def now() -> datetime:
    return datetime.now(UTC)
