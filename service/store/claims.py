"""Leases: claiming a job atomically, heartbeats, saving finished checks, finishing a job.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers take different jobs.
SQLite: the claim runs in a `BEGIN IMMEDIATE` transaction (the write lock is taken before the read),
so two processes cannot both read the same job as free.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.jobs import ItemRecord, JobError, JobStatus
from schemas.requests import EvaluationRequest
from schemas.scorecard import CheckResult
from service.store.api import ClaimedJob
from service.store.convert import CHECK_RESULTS, ITEM_RECORDS, JOB_EVENTS, JOBS, utcnow


class LeaseLostError(RuntimeError):
    """This worker no longer holds the job (its lease expired and another worker took it, or it ended)."""


def _held(job_id: str, worker_id: str) -> Any:
    return and_(JOBS.c.id == job_id, JOBS.c.worker_id == worker_id, JOBS.c.status == "running")


async def claim_next(conn: AsyncConnection, worker_id: str, lease_s: float) -> ClaimedJob | None:
    """Within the caller's (immediate) transaction: take the oldest free job, or None."""
    while True:
        now = utcnow()
        free = or_(
            JOBS.c.status == "queued",
            and_(JOBS.c.status == "running", JOBS.c.lease_until < now),
        )
        query = (
            select(JOBS)
            .where(free)
            .order_by(JOBS.c.created_at, JOBS.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        job = row._mapping
        if job["cancel_requested"]:
            # Cancelled while its worker was gone: end it here rather than start work that would stop at once.
            await conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job["id"])
                .values(status="cancelled", finished_at=now, worker_id=None, lease_until=None)
            )
            await _event(conn, job["id"], "job_finished", {"status": "cancelled"})
            await schedule_callback(conn, job["id"], job["request"])
            continue
        started_at = job["started_at"] or now
        request = EvaluationRequest.model_validate(job["request"])
        deadline_at = job["deadline_at"]
        if deadline_at is None and request.deadline_s is not None:
            deadline_at = started_at + timedelta(seconds=request.deadline_s)
        attempts = job["attempts"] + 1
        await conn.execute(
            update(JOBS)
            .where(JOBS.c.id == job["id"])
            .values(
                status="running",
                worker_id=worker_id,
                lease_until=now + timedelta(seconds=lease_s),
                attempts=attempts,
                started_at=started_at,
                deadline_at=deadline_at,
            )
        )
        done = (await conn.execute(select(CHECK_RESULTS).where(CHECK_RESULTS.c.job_id == job["id"]))).all()
        await _event(conn, job["id"], "job_claimed", {"worker_id": worker_id, "attempt": attempts})
        return ClaimedJob(
            id=job["id"],
            request=request,
            attempts=attempts,
            done_checks={r.check: CheckResult.model_validate(r.result) for r in done},
            done_check_meta={r.check: dict(r.meta or {}) for r in done},
            created_at=job["created_at"],
            started_at=started_at,
        )


async def heartbeat(conn: AsyncConnection, job_id: str, worker_id: str, lease_s: float) -> bool:
    result = await conn.execute(
        update(JOBS).where(_held(job_id, worker_id)).values(lease_until=utcnow() + timedelta(seconds=lease_s))
    )
    return result.rowcount == 1


async def save_check(
    conn: AsyncConnection,
    job_id: str,
    worker_id: str,
    check: str,
    result: CheckResult,
    records: list[ItemRecord],
    meta: dict[str, Any],
) -> None:
    """Store a check and its records; LeaseLostError (and nothing written) when the job is not ours."""
    held = await conn.execute(select(JOBS.c.id).where(_held(job_id, worker_id)).with_for_update())
    if held.first() is None:
        raise LeaseLostError(f"job {job_id} is no longer held by worker {worker_id}")
    # Replace whatever an interrupted earlier save left, so a retried save never duplicates records.
    await conn.execute(
        delete(ITEM_RECORDS).where(ITEM_RECORDS.c.job_id == job_id, ITEM_RECORDS.c.check == check)
    )
    await conn.execute(
        delete(CHECK_RESULTS).where(CHECK_RESULTS.c.job_id == job_id, CHECK_RESULTS.c.check == check)
    )
    await conn.execute(
        insert(CHECK_RESULTS).values(
            job_id=job_id,
            check=check,
            result=result.model_dump(mode="json"),
            meta={**meta, "records": len(records)},  # kept after the records expire (items-scored metric)
            duration_s=result.duration_s,
            finished_at=utcnow(),
        )
    )
    if records:
        await conn.execute(
            insert(ITEM_RECORDS),
            [{"job_id": job_id, **r.model_dump(mode="json")} for r in records],
        )


async def finish_job(
    conn: AsyncConnection,
    job_id: str,
    worker_id: str,
    *,
    status: JobStatus,
    scorecard: dict[str, Any] | None,
    verdict: str | None,
    error: JobError | None,
) -> None:
    result = await conn.execute(
        update(JOBS)
        .where(_held(job_id, worker_id))
        .values(
            status=status,
            scorecard=scorecard,
            verdict=verdict,
            error=error.model_dump() if error else None,
            finished_at=utcnow(),
            lease_until=None,
        )
    )
    if result.rowcount != 1:
        raise LeaseLostError(f"job {job_id} is no longer held by worker {worker_id}")
    data: dict[str, Any] = {"status": status, "verdict": verdict}
    if error is not None:
        data["error"] = error.model_dump()
    await _event(conn, job_id, "job_finished", data)
    await schedule_callback(conn, job_id)


async def release(conn: AsyncConnection, job_id: str, worker_id: str) -> bool:
    """Give a job back to the queue at once (graceful shutdown): its next claim resumes it."""
    result = await conn.execute(
        update(JOBS).where(_held(job_id, worker_id)).values(status="queued", worker_id=None, lease_until=None)
    )
    if result.rowcount == 1:
        await _event(conn, job_id, "job_released", {"worker_id": worker_id})
    return result.rowcount == 1


async def schedule_callback(conn: AsyncConnection, job_id: str, request: Any = None) -> None:
    """In the transaction that ends a job: owe its result callback when the request has `callback.url`.

    Recording it with the job's end (an outbox) means a worker that dies before or during delivery loses
    nothing: whichever worker polls next delivers it.
    """
    if request is None:
        request = (await conn.execute(select(JOBS.c.request).where(JOBS.c.id == job_id))).scalar_one()
    if isinstance(request, dict) and request.get("callback"):
        await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(callback_due_at=utcnow()))


async def claim_callback(conn: AsyncConnection, lease_s: float) -> str | None:
    """Within the caller's (immediate) transaction: take the oldest owed callback for `lease_s` seconds.

    The claim pushes `callback_due_at` forward; if the claimer dies, the callback is due again after that.
    """
    now = utcnow()
    query = (
        select(JOBS.c.id)
        .where(JOBS.c.callback_due_at.is_not(None), JOBS.c.callback_due_at <= now)
        .order_by(JOBS.c.callback_due_at, JOBS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job_id = (await conn.execute(query)).scalar_one_or_none()
    if job_id is None:
        return None
    await conn.execute(
        update(JOBS).where(JOBS.c.id == job_id).values(callback_due_at=now + timedelta(seconds=lease_s))
    )
    return str(job_id)


async def _event(conn: AsyncConnection, job_id: str, kind: str, data: dict[str, Any]) -> None:
    await conn.execute(insert(JOB_EVENTS).values(job_id=job_id, kind=kind, data=data, created_at=utcnow()))
