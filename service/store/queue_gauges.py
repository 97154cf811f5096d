"""Two /metrics gauges read from `jobs` at each scrape, not kept as counters: they depend on the clock.

Each is one aggregate over an index prefix (`ix_jobs_status_created`): the oldest queued job is the first entry
under `status='queued'`, and the expired leases are counted among the running jobs, which are at most as many
as the workers. So a scrape's cost does not grow with the number of jobs ever run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.tables import Base

JOBS = Base.metadata.tables["jobs"]


@dataclass(frozen=True)
class QueueGauges:
    """What a scrape reports about waiting and abandoned work."""

    oldest_queued_age_s: float = 0.0
    """Seconds since the oldest queued job was created; 0 when none is queued."""
    expired_leases: int = 0
    """Running jobs whose lease ended before now (their worker stopped heartbeating)."""


async def read(conn: AsyncConnection, now: datetime) -> QueueGauges:
    """Both gauges at `now` (aware UTC): two aggregate queries."""
    oldest = (await conn.execute(select(func.min(JOBS.c.created_at)).where(JOBS.c.status == "queued"))).scalar()
    expired = (
        await conn.execute(
            select(func.count()).select_from(JOBS).where(JOBS.c.status == "running", JOBS.c.lease_until < now)
        )
    ).scalar()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return QueueGauges(oldest_queued_age_s=age, expired_leases=int(expired or 0))
