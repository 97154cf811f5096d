"""Leases: claiming a job atomically, heartbeats, saving finished checks, finishing a job.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers take different jobs.
SQLite: the claim runs in a `BEGIN IMMEDIATE` transaction (the write lock is taken before the read),
so two processes cannot both read the same job as free.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.dataset_sources import DatasetSource
from schemas.errors import InvalidJobError
from schemas.jobs import ItemRecord, JobError, JobStatus
from schemas.requests import EvaluationRequest
from schemas.scorecard import CheckResult
from schemas.sources import ModelSource
from service.store import metric_counters
from service.store.api import NO_LIMITS, ClaimedJob, Outbox, TeamLimits
from service.store.convert import CHECK_RESULTS, ITEM_RECORDS, JOB_EVENTS, JOBS, utcnow


class LeaseLostError(RuntimeError):
    """This worker no longer holds the job (its lease expired and another worker took it, or it ended).

    Control flow inside the worker, never reported to a user (so outside the AuditError tree)."""


class PoisonJobError(Exception):
    """A stored job that cannot be claimed: its row does not decode or its request cannot start.

    Raised out of the claim's transaction (rolled back); the store then fails the job with `invalid_job`
    in a fresh transaction, so one bad row never stops the queue."""

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(reason)
        self.job_id = job_id
        self.reason = reason


def _held(job_id: str, worker_id: str) -> Any:
    return and_(JOBS.c.id == job_id, JOBS.c.worker_id == worker_id, JOBS.c.status == "running")


def of_team(team: str | None) -> Any:
    """Rows of `team` (None: the jobs without a team)."""
    return JOBS.c.team.is_(None) if team is None else JOBS.c.team == team


def lock_key(name: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64-bit) for a lock name."""
    digest = hashlib.sha256(f"unlearn-audit:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def team_lock_key(team: str | None) -> int:
    """The advisory-lock key that serialises one team's submits."""
    return lock_key(f"team:{team}")


def _free(now: datetime) -> Any:
    return or_(JOBS.c.status == "queued", and_(JOBS.c.status == "running", JOBS.c.lease_until < now))


async def _teams_in_claim_order(conn: AsyncConnection, now: datetime, limits: TeamLimits) -> list[str | None]:
    """Teams with free jobs, fewest running first, then oldest waiting job first; teams at their running
    cap left out. Without teams this is one entry (None): the plain oldest-first queue."""
    heads = (
        await conn.execute(select(JOBS.c.team, func.min(JOBS.c.created_at)).where(_free(now)).group_by(JOBS.c.team))
    ).all()
    if not heads:
        return []
    running: dict[str | None, int] = dict(
        (
            await conn.execute(
                select(JOBS.c.team, func.count())
                .where(JOBS.c.status == "running", JOBS.c.lease_until >= now)
                .group_by(JOBS.c.team)
            )
        ).all()
    )
    ordered = sorted(heads, key=lambda h: (running.get(h[0], 0), h[1]))
    cap = limits.max_running
    return [team for team, _ in ordered if cap is None or running.get(team, 0) < cap]


async def _next_free_id(conn: AsyncConnection, now: datetime, limits: TeamLimits) -> str | None:
    for team in await _teams_in_claim_order(conn, now, limits):
        query = (
            select(JOBS.c.id)
            .where(_free(now), of_team(team))
            .order_by(JOBS.c.created_at, JOBS.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        job_id = (await conn.execute(query)).scalar_one_or_none()
        if job_id is not None:
            return str(job_id)
    return None


async def claim_next(
    conn: AsyncConnection, worker_id: str, lease_s: float, limits: TeamLimits = NO_LIMITS
) -> ClaimedJob | None:
    """Within the caller's (immediate) transaction: take the next free job (fair across teams), or None.

    PoisonJobError (the caller rolls back and fails that job) when the chosen row cannot be decoded or
    its request cannot start; anything else escaping here is a store failure, not the job's."""
    while True:
        now = utcnow()
        job_id = await _next_free_id(conn, now, limits)
        if job_id is None:
            return None
        try:
            row = (await conn.execute(select(JOBS).where(JOBS.c.id == job_id))).first()
            job = row._mapping if row is not None else None
            if job is None:
                continue
            if job["cancel_requested"]:
                # Cancelled while its worker was gone: end it here rather than start work that would stop.
                await conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id == job_id)
                    .values(status="cancelled", finished_at=now, worker_id=None, lease_until=None)
                )
                await _event(conn, job_id, "job_finished", {"status": "cancelled"})
                await schedule_callback(conn, job_id, job["request"])
                ended = metric_counters.Deltas().job_status(job["status"], "cancelled")
                await metric_counters.apply(conn, ended.job_ended("cancelled", job["started_at"], now))
                continue
            started_at = job["started_at"] or now
            request = EvaluationRequest.model_validate(job["request"])
            deadline_at = job["deadline_at"]
            if deadline_at is None and request.deadline_s is not None:
                deadline_at = started_at + timedelta(seconds=request.deadline_s)
            attempts = int(job["attempts"]) + 1
            done = (await conn.execute(select(CHECK_RESULTS).where(CHECK_RESULTS.c.job_id == job_id))).all()
            done_checks = {r.check: CheckResult.model_validate(r.result) for r in done}
            done_meta = {r.check: dict(r.meta or {}) for r in done}
            resolved = {k: ModelSource.model_validate(v) for k, v in (job["resolved"] or {}).items()}
            datasets = {k: DatasetSource.model_validate(v) for k, v in (job["resolved_datasets"] or {}).items()}
        except (ValueError, TypeError, KeyError, OverflowError, ArithmeticError, DBAPIError) as exc:
            raise PoisonJobError(job_id, f"{type(exc).__name__}: {str(exc)[:1500]}") from exc
        await conn.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(
                status="running",
                worker_id=worker_id,
                lease_until=now + timedelta(seconds=lease_s),
                attempts=attempts,
                started_at=started_at,
                deadline_at=deadline_at,
            )
        )
        await _event(conn, job_id, "job_claimed", {"worker_id": worker_id, "attempt": attempts})
        await metric_counters.apply(conn, metric_counters.Deltas().job_status(job["status"], "running"))
        return ClaimedJob(
            id=job_id,
            request=request,
            attempts=attempts,
            done_checks=done_checks,
            done_check_meta=done_meta,
            created_at=job["created_at"],
            started_at=started_at,
            resolved=resolved,
            resolved_datasets=datasets,
        )


async def fail_poison_job(conn: AsyncConnection, poison: PoisonJobError) -> None:
    """End a job that cannot be claimed: failed with `invalid_job`, touching only columns that decode."""
    error = JobError(code=InvalidJobError.code, message=f"the stored job cannot be run: {poison.reason}")
    active = JOBS.c.id == poison.job_id, JOBS.c.status.in_(("queued", "running"))
    before = (await conn.execute(select(JOBS.c.status, JOBS.c.started_at).where(*active).with_for_update())).first()
    if before is None:
        return
    now = utcnow()
    await conn.execute(
        update(JOBS)
        .where(*active)
        .values(
            status="failed",
            error=error.model_dump(),
            finished_at=now,
            worker_id=None,
            lease_until=None,
            progress={},
        )
    )
    await _event(conn, poison.job_id, "job_finished", {"status": "failed", "error": error.model_dump()})
    ended = metric_counters.Deltas().job_status(before.status, "failed").job_ended("failed", before.started_at, now)
    await metric_counters.apply(conn, ended)


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
    counted = metric_counters.Deltas().check_saved(check, result.duration_s, len(records))
    earlier = (
        await conn.execute(
            select(CHECK_RESULTS.c.duration_s, CHECK_RESULTS.c.meta).where(
                CHECK_RESULTS.c.job_id == job_id, CHECK_RESULTS.c.check == check
            )
        )
    ).first()
    if earlier is not None:
        counted.check_saved(check, earlier.duration_s, _records_of(earlier.meta), sign=-1)
    await conn.execute(delete(ITEM_RECORDS).where(ITEM_RECORDS.c.job_id == job_id, ITEM_RECORDS.c.check == check))
    await conn.execute(delete(CHECK_RESULTS).where(CHECK_RESULTS.c.job_id == job_id, CHECK_RESULTS.c.check == check))
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
    await metric_counters.apply(conn, counted)


def _records_of(meta: Any) -> int:
    count = (meta or {}).get("records", 0) if isinstance(meta, dict) else 0
    return count if isinstance(count, int) else 0


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
    started_at = (await conn.execute(select(JOBS.c.started_at).where(_held(job_id, worker_id)))).scalar_one_or_none()
    now = utcnow()
    result = await conn.execute(
        update(JOBS)
        .where(_held(job_id, worker_id))
        .values(
            status=status,
            scorecard=scorecard,
            verdict=verdict,
            error=error.model_dump() if error else None,
            finished_at=now,
            lease_until=None,
        )
    )
    if result.rowcount != 1:
        raise LeaseLostError(f"job {job_id} is no longer held by worker {worker_id}")
    await metric_counters.apply(
        conn, metric_counters.Deltas().job_status("running", status).job_ended(status, started_at, now)
    )
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
        await metric_counters.apply(conn, metric_counters.Deltas().job_status("running", "queued"))
    return result.rowcount == 1


OUTBOX_DUE: dict[str, str] = {"callback": "callback_due_at", "writeback": "writeback_due_at"}


def due_column(outbox: Outbox) -> Any:
    return JOBS.c[OUTBOX_DUE[outbox]]


async def schedule_callback(conn: AsyncConnection, job_id: str, request: Any = None) -> None:
    """In the transaction that ends a job: owe its result callback when the request has `callback.url`, and
    its write-back when the job has one.

    Recording them with the job's end (an outbox) means a worker that dies before or during delivery loses
    nothing: whichever worker polls next delivers it.
    """
    row = (await conn.execute(select(JOBS.c.request, JOBS.c.writeback).where(JOBS.c.id == job_id))).one()
    request = row.request if request is None else request
    owed: dict[str, Any] = {}
    if isinstance(request, dict) and request.get("callback"):
        owed["callback_due_at"] = utcnow()
    if row.writeback:
        owed["writeback_due_at"] = utcnow()
    if owed:
        await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(**owed))


async def claim_due(conn: AsyncConnection, outbox: Outbox, lease_s: float) -> str | None:
    """Within the caller's (immediate) transaction: take the oldest owed delivery of `outbox` for `lease_s`
    seconds. The claim pushes its due time forward; if the claimer dies, it is due again after that."""
    now = utcnow()
    due = due_column(outbox)
    query = (
        select(JOBS.c.id)
        .where(due.is_not(None), due <= now)
        .order_by(due, JOBS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job_id = (await conn.execute(query)).scalar_one_or_none()
    if job_id is None:
        return None
    await conn.execute(
        update(JOBS).where(JOBS.c.id == job_id).values({OUTBOX_DUE[outbox]: now + timedelta(seconds=lease_s)})
    )
    return str(job_id)


async def _event(conn: AsyncConnection, job_id: str, kind: str, data: dict[str, Any]) -> None:
    await conn.execute(insert(JOB_EVENTS).values(job_id=job_id, kind=kind, data=data, created_at=utcnow()))
