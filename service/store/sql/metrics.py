"""The figures /metrics reads: counters, queue gauges, durations."""

from __future__ import annotations

from sqlalchemy import func, select

from service.store import metric_counters, queue_gauges, records
from service.store.convert import (
    JOBS,
    utcnow,
)
from service.store.sql.base import SqlBase


class MetricsMixin(SqlBase):
    """The figures /metrics reads: counters, queue gauges, durations."""

    async def read_metrics(self) -> metric_counters.MetricCounters:
        """The /metrics figures: one query, whatever the history."""
        async with self._tx() as conn:
            return await metric_counters.read(conn)

    async def read_queue_gauges(self) -> queue_gauges.QueueGauges:
        """The /metrics gauges that depend on the clock: two aggregate queries on indexed columns."""
        async with self._tx() as conn:
            return await queue_gauges.read(conn, utcnow())

    async def count_by_status(self) -> dict[str, int]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(JOBS.c.status, func.count()).group_by(JOBS.c.status))).all()
        counts = dict.fromkeys(("queued", "running", "succeeded", "failed", "cancelled"), 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    async def check_durations(self) -> list[tuple[str, float]]:
        async with self._tx() as conn:
            return await records.check_durations(conn)

    async def count_items(self) -> dict[str, int]:
        """Per-item records scored, by check (metrics)."""
        async with self._tx() as conn:
            return await records.items_scored(conn)

    async def job_durations(self) -> list[tuple[str, float]]:
        """(status, seconds) of finished jobs (metrics)."""
        async with self._tx() as conn:
            return await records.job_durations(conn)
