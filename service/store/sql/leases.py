"""Worker leases: claim, heartbeat, release, save a check, finish the job."""

from __future__ import annotations

from typing import Any

from schemas.jobs import ItemRecord, JobError, JobStatus
from schemas.scorecard import CheckResult
from service.store import claims
from service.store.api import NO_LIMITS, ClaimedJob, TeamLimits
from service.store.sql.base import SqlBase


class LeasesMixin(SqlBase):
    """Worker leases: claim, heartbeat, release, save a check, finish the job."""

    async def claim_next(self, worker_id: str, lease_s: float, limits: TeamLimits = NO_LIMITS) -> ClaimedJob | None:
        while True:
            try:
                async with self._tx(write=True) as conn:
                    return await claims.claim_next(conn, worker_id, lease_s, limits)
            except claims.PoisonJobError as poison:
                # The claim's transaction is rolled back; fail the job in a fresh one and take the next.
                async with self._tx(write=True) as conn:
                    await claims.fail_poison_job(conn, poison)

    async def heartbeat(self, job_id: str, worker_id: str, lease_s: float) -> bool:
        async with self._tx(write=True) as conn:
            return await claims.heartbeat(conn, job_id, worker_id, lease_s)

    async def release(self, job_id: str, worker_id: str) -> bool:
        """Put a held job back in the queue now (graceful shutdown); True when it was held."""
        async with self._tx(write=True) as conn:
            return await claims.release(conn, job_id, worker_id)

    async def save_check(
        self,
        job_id: str,
        worker_id: str,
        check: str,
        result: CheckResult,
        records: list[ItemRecord],
        meta: dict[str, Any],
    ) -> None:
        async with self._tx(write=True) as conn:
            await claims.save_check(conn, job_id, worker_id, check, result, records, meta)

    async def finish_job(
        self,
        job_id: str,
        worker_id: str,
        *,
        status: JobStatus,
        scorecard: dict[str, Any] | None = None,
        verdict: str | None = None,
        error: JobError | None = None,
    ) -> None:
        async with self._tx(write=True) as conn:
            await claims.finish_job(
                conn, job_id, worker_id, status=status, scorecard=scorecard, verdict=verdict, error=error
            )
