"""The figures behind /metrics, kept as counters in `metric_counters` and changed in the same transaction as
each job status change or saved check, so a scrape is one query however long the history is.

    metric          label          parts
    jobs            job status     value: jobs in that status now
    job_duration    final status   count, sum, le=<bound>: finished jobs' seconds from first start to end
    check_duration  check          count, sum, le=<bound>: finished checks' seconds
    items_scored    check          value: per-item records saved by finished checks (kept when records expire)

`le=<bound>` counts the observations in that bucket alone (the smallest bound at or above the value, or
`+Inf`); a scrape adds them up into Prometheus's cumulative buckets. Deltas are written in sorted key order,
so two transactions never lock counter rows in opposite orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.tables import Base

METRIC_COUNTERS = Base.metadata.tables["metric_counters"]
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
"""Upper bounds (seconds) of the check and job duration histograms."""

Key = tuple[str, str, str]
"""(metric, label, part)."""


class Deltas:
    """Changes to counters, gathered during one transaction and applied at its end with `apply`."""

    def __init__(self) -> None:
        self.changes: dict[Key, float] = defaultdict(float)

    def add(self, metric: str, label: str, part: str, amount: float) -> Deltas:
        self.changes[(metric, label[:64], part)] += amount
        return self

    def job_status(self, old: str | None, new: str) -> Deltas:
        """A job moved from `old` (None: it was just created) to `new`."""
        if old == new:
            return self
        if old is not None:
            self.add("jobs", old, "value", -1)
        return self.add("jobs", new, "value", 1)

    def observe(self, metric: str, label: str, seconds: float, sign: int = 1) -> Deltas:
        """One duration (`sign` -1 takes back an earlier one, as when a check is saved again)."""
        bound = next((b for b in DURATION_BUCKETS if seconds <= b), None)
        self.add(metric, label, "count", sign)
        self.add(metric, label, "sum", sign * seconds)
        return self.add(metric, label, f"le={float(bound) if bound is not None else '+Inf'}", sign)

    def job_ended(self, status: str, started_at: datetime | None, finished_at: datetime) -> Deltas:
        """A job reached its final `status`; jobs that never started have no duration."""
        if started_at is not None:
            self.observe("job_duration", status, max(0.0, (finished_at - started_at).total_seconds()))
        return self

    def check_saved(self, check: str, duration_s: float | None, records: int, sign: int = 1) -> Deltas:
        """A finished check was saved (`sign` -1: an earlier save of it is being replaced)."""
        if duration_s is not None:
            self.observe("check_duration", check, float(duration_s), sign)
        return self.add("items_scored", check, "value", sign * records)


async def apply(conn: AsyncConnection, deltas: Deltas) -> None:
    """Add `deltas` to the counters, inside the caller's transaction (an upsert per counter, sorted)."""
    # Zeros are written too: a check that scored no items still shows `items_scored{check=...} 0`.
    rows = [
        {"metric": m, "label": label, "part": part, "value": amount}
        for (m, label, part), amount in sorted(deltas.changes.items())
    ]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(METRIC_COUNTERS)
        statement: Any = pg.on_conflict_do_update(
            index_elements=["metric", "label", "part"], set_={"value": METRIC_COUNTERS.c.value + pg.excluded.value}
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(METRIC_COUNTERS)
        statement = lite.on_conflict_do_update(
            index_elements=["metric", "label", "part"], set_={"value": METRIC_COUNTERS.c.value + lite.excluded.value}
        )
    await conn.execute(statement, rows)


@dataclass(frozen=True)
class DurationHistogram:
    """Observations of one label: per-bucket counts (not cumulative, by upper bound; `inf` for +Inf)."""

    count: int = 0
    sum: float = 0.0
    in_bucket: Mapping[float, int] = field(default_factory=dict)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it) for each bound of DURATION_BUCKETS."""
        running, out = 0, []
        for bound in DURATION_BUCKETS:
            running += self.in_bucket.get(float(bound), 0)
            out.append((float(bound), running))
        return out


@dataclass(frozen=True)
class MetricCounters:
    """Every counter, as one scrape reads them."""

    jobs_by_status: dict[str, int] = field(default_factory=dict)
    job_durations: dict[str, DurationHistogram] = field(default_factory=dict)
    check_durations: dict[str, DurationHistogram] = field(default_factory=dict)
    items_scored: dict[str, int] = field(default_factory=dict)


def _histograms(parts: Mapping[str, Mapping[str, float]]) -> dict[str, DurationHistogram]:
    out: dict[str, DurationHistogram] = {}
    for label, by_part in parts.items():
        count = round(by_part.get("count", 0))
        if count <= 0:
            continue
        buckets = {
            float(part[3:]): round(v)
            for part, v in by_part.items()
            if part.startswith("le=") and part != "le=+Inf" and round(v)
        }
        out[label] = DurationHistogram(count=count, sum=by_part.get("sum", 0.0), in_bucket=buckets)
    return out


async def read(conn: AsyncConnection) -> MetricCounters:
    """Every counter in one query."""
    rows = (await conn.execute(select(METRIC_COUNTERS))).all()
    by_metric: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        by_metric[row.metric][row.label][row.part] = float(row.value)
    return MetricCounters(
        jobs_by_status={s: round(p.get("value", 0)) for s, p in by_metric["jobs"].items()},
        job_durations=_histograms(by_metric["job_duration"]),
        check_durations=_histograms(by_metric["check_duration"]),
        items_scored={c: round(p.get("value", 0)) for c, p in by_metric["items_scored"].items()},
    )
