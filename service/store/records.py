"""Reads and clean-up of per-item records and job events, and the figures for metrics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.jobs import ItemRecord
from service.store.api import JobEvent
from service.store.convert import CHECK_RESULTS, ITEM_RECORDS, JOB_EVENTS, JOBS, utcnow


async def events_since(conn: AsyncConnection, job_id: str, after_id: int) -> list[JobEvent]:
    rows = (
        await conn.execute(
            select(JOB_EVENTS)
            .where(JOB_EVENTS.c.job_id == job_id, JOB_EVENTS.c.id > after_id)
            .order_by(JOB_EVENTS.c.id)
        )
    ).all()
    return [JobEvent(id=r.id, job_id=r.job_id, kind=r.kind, data=dict(r.data), created_at=r.created_at) for r in rows]


async def list_items(
    conn: AsyncConnection,
    job_id: str,
    *,
    check: str | None,
    variant: str | None,
    model: str | None,
    limit: int,
    after_id: int,
) -> tuple[list[ItemRecord], int | None]:
    """A page of records in insertion order, and the id to continue after (None on the last page)."""
    query = select(ITEM_RECORDS).where(ITEM_RECORDS.c.job_id == job_id, ITEM_RECORDS.c.id > after_id)
    if check is not None:
        query = query.where(ITEM_RECORDS.c.check == check)
    if variant is not None:
        query = query.where(ITEM_RECORDS.c.variant == variant)
    if model is not None:
        query = query.where(ITEM_RECORDS.c.model == model)
    rows = (await conn.execute(query.order_by(ITEM_RECORDS.c.id).limit(limit + 1))).all()
    items = [
        ItemRecord(
            check=r.check,
            dataset=r.dataset,
            index=r._mapping["index"],
            variant=r.variant,
            model=r.model,
            fold=r.fold,
            record=dict(r.record),
        )
        for r in rows[:limit]
    ]
    return items, (rows[limit - 1].id if len(rows) > limit else None)


async def expire_items(conn: AsyncConnection, older_than_days: int) -> int:
    cutoff = utcnow() - timedelta(days=older_than_days)
    old_jobs = select(JOBS.c.id).where(JOBS.c.finished_at.is_not(None), JOBS.c.finished_at < cutoff)
    result = await conn.execute(delete(ITEM_RECORDS).where(ITEM_RECORDS.c.job_id.in_(old_jobs)))
    return int(result.rowcount or 0)


async def check_durations(conn: AsyncConnection) -> list[tuple[str, float]]:
    rows = (
        await conn.execute(
            select(CHECK_RESULTS.c.check, CHECK_RESULTS.c.duration_s).where(CHECK_RESULTS.c.duration_s.is_not(None))
        )
    ).all()
    return [(r.check, float(r.duration_s)) for r in rows]


async def items_scored(conn: AsyncConnection) -> dict[str, int]:
    """Per-item records stored by finished checks, by check (counted at save time, so expiry keeps them)."""
    totals: dict[str, int] = {}
    for row in (await conn.execute(select(CHECK_RESULTS.c.check, CHECK_RESULTS.c.meta))).all():
        count = (row.meta or {}).get("records", 0)
        totals[row.check] = totals.get(row.check, 0) + (count if isinstance(count, int) else 0)
    return totals


async def job_durations(conn: AsyncConnection) -> list[tuple[str, float]]:
    """(final status, seconds from first start to end) of every finished job that started."""
    rows = (
        await conn.execute(
            select(JOBS.c.status, JOBS.c.started_at, JOBS.c.finished_at).where(
                JOBS.c.started_at.is_not(None), JOBS.c.finished_at.is_not(None)
            )
        )
    ).all()
    return [(r.status, max(0.0, (r.finished_at - r.started_at).total_seconds())) for r in rows]
