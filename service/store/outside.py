"""What the store keeps of the world outside a job: registry deliveries (what webhook receivers got) and
result-callback attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.convert import CALLBACK_ATTEMPTS, REGISTRY_DELIVERIES, utcnow


@dataclass(frozen=True)
class DeliveryAttempt:
    """One HTTP attempt of one result-callback delivery."""

    delivery_id: str
    attempt: int
    url: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_s: float | None
    created_at: datetime
    channel: str = "callback"
    """`callback` (the request's callback.url), `huggingface` or `mlflow` (a registry write-back)."""

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class RegistryDeliveryRecord:
    """One registry delivery and what its audit-starting event led to: `submitted`, `no_profile`,
    `invalid_profile`, `bad_signature`, ..."""

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


@dataclass(frozen=True)
class RegistryDeliveryPage:
    """A page of registry deliveries, newest first; pass `next_cursor` back for the next (None: the last)."""

    items: list[RegistryDeliveryRecord]
    next_cursor: str | None

    def as_json(self) -> dict[str, object]:
        return {"items": [d.as_json() for d in self.items], "next_cursor": self.next_cursor}


async def record_attempt(conn: AsyncConnection, job_id: str, attempt: DeliveryAttempt) -> None:
    await conn.execute(
        CALLBACK_ATTEMPTS.insert().values(
            job_id=job_id,
            delivery_id=attempt.delivery_id,
            attempt=attempt.attempt,
            url=attempt.url[:2048],
            ok=attempt.ok,
            status_code=attempt.status_code,
            error=attempt.error[:1000] if attempt.error else None,
            duration_s=attempt.duration_s,
            created_at=attempt.created_at,
            channel=attempt.channel,
        )
    )


async def attempts(conn: AsyncConnection, job_id: str) -> list[DeliveryAttempt]:
    """Every attempt for a job, oldest first."""
    t = CALLBACK_ATTEMPTS
    rows = (await conn.execute(select(t).where(t.c.job_id == job_id).order_by(t.c.id))).all()
    return [
        DeliveryAttempt(
            delivery_id=r.delivery_id,
            attempt=r.attempt,
            url=r.url,
            ok=r.ok,
            status_code=r.status_code,
            error=r.error,
            duration_s=r.duration_s,
            created_at=r.created_at,
            channel=r.channel,
        )
        for r in rows
    ]


def _delivery_record(row: Any) -> RegistryDeliveryRecord:
    m = row._mapping
    return RegistryDeliveryRecord(**{k: m[k] for k in RegistryDeliveryRecord.__dataclass_fields__})


async def registry_delivery(conn: AsyncConnection, registry: str, key: str) -> RegistryDeliveryRecord | None:
    t = REGISTRY_DELIVERIES
    row = (await conn.execute(select(t).where(t.c.registry == registry, t.c.dedupe_key == key))).first()
    return _delivery_record(row) if row is not None else None


def registry_delivery_values(
    *, event: str, model: str, status: str, detail: str, profile: str | None, job_id: str | None
) -> dict[str, Any]:
    """The columns of one delivery row, cut to their sizes."""
    return {
        "event": event[:100],
        "model": model[:500],
        "status": status[:16],
        "detail": detail[:1000],
        "profile": profile[:100] if profile else None,
        "job_id": job_id,
        "received_at": utcnow(),
    }


async def insert_registry_delivery(conn: AsyncConnection, registry: str, key: str, values: dict[str, Any]) -> None:
    await conn.execute(REGISTRY_DELIVERIES.insert().values(registry=registry, dedupe_key=key, **values))


async def update_unsubmitted_delivery(conn: AsyncConnection, registry: str, key: str, values: dict[str, Any]) -> None:
    """Overwrite an earlier row of the delivery's event, unless that one submitted a job (submissions are final)."""
    t = REGISTRY_DELIVERIES
    await conn.execute(
        update(t).where(t.c.registry == registry, t.c.dedupe_key == key, t.c.status != "submitted").values(**values)
    )


async def registry_delivery_page(
    conn: AsyncConnection, limit: int, after: tuple[datetime, int] | None = None
) -> list[RegistryDeliveryRecord]:
    """Newest first, at most `limit`; `after`: (received_at, id) of the last row of the previous page."""
    t = REGISTRY_DELIVERIES
    query = select(t)
    if after is not None:
        received, last_id = after
        query = query.where((t.c.received_at < received) | ((t.c.received_at == received) & (t.c.id < last_id)))
    rows = (await conn.execute(query.order_by(t.c.received_at.desc(), t.c.id.desc()).limit(limit))).all()
    return [_delivery_record(r) for r in rows]
