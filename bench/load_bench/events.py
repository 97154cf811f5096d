"""What the job events say about a set of jobs: claims per second, jobs finished per second, and jobs that
ran twice."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from bench.fault_bench.observer import Observer, json_column


async def job_figures(observer: Observer, job_ids: list[str], lease_s: float) -> dict[str, Any]:
    """Claims and finishes of `job_ids` from `job_events`, and their jobs' final statuses.

    `ran_twice` lists the jobs that ended more than once (more than one `job_finished`) or whose check finished
    more than once (the work done twice). A claim after a job's first is a `reclaim`: the store takes a job only
    when it is queued or its lease has lapsed, so each one says a worker was silent for a whole lease
    (`lease_s`); the gap from the claim before is given for each."""
    rows = await observer.fetch(
        "SELECT job_id, kind, data, created_at FROM job_events "
        "WHERE job_id = ANY($1::text[]) AND kind IN ('job_claimed', 'check_finished', 'job_finished') ORDER BY id",
        job_ids,
    )
    statuses = Counter(
        r["status"] for r in await observer.fetch("SELECT status FROM jobs WHERE id = ANY($1::text[])", job_ids)
    )
    claims: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    finished: dict[str, list[datetime]] = defaultdict(list)
    checks: Counter[tuple[str, str]] = Counter()
    for r in rows:
        data = json_column(r["data"])
        if r["kind"] == "job_claimed":
            claims[r["job_id"]].append((r["created_at"], str(data.get("worker_id"))))
        elif r["kind"] == "job_finished":
            finished[r["job_id"]].append(r["created_at"])
        else:
            checks[(r["job_id"], str(data.get("check")))] += 1
    ran_twice = sorted(
        {job for job, ends in finished.items() if len(ends) > 1} | {job for (job, _), n in checks.items() if n > 1}
    )
    reclaims = [
        {
            "job": job,
            "from": seq[i - 1][1],
            "to": seq[i][1],
            "after_s": round((seq[i][0] - seq[i - 1][0]).total_seconds(), 2),
            "lease_s": lease_s,
        }
        for job, seq in claims.items()
        for i in range(1, len(seq))
    ]
    claim_times = sorted(t for seq in claims.values() for t, _ in seq)
    first_claims = [seq[0] for seq in claims.values()]
    end_times = sorted(ends[0] for ends in finished.values())
    per_worker = Counter(worker for seq in claims.values() for _, worker in seq)
    return {
        "jobs": len(job_ids),
        "status": dict(statuses),
        "claims": len(claim_times),
        "claims_per_s": _rate(claim_times),
        "finished": len(end_times),
        "finished_per_s": _rate(end_times, start=min((t for t, _ in first_claims), default=None)),
        "finished_per_s_all_workers_busy": _rate_after_all_claimed(
            [c for seq in claims.values() for c in seq], end_times
        ),
        "claims_per_worker": dict(sorted(per_worker.items())),
        "ran_twice": ran_twice,
        "reclaims": reclaims,
    }


def _rate(times: list[datetime], start: datetime | None = None) -> float | None:
    """Events per second from `start` (default: the first event) to the last one."""
    if not times:
        return None
    span = (times[-1] - (start or times[0])).total_seconds()
    return round(len(times) / span, 2) if span > 0 else None


def _rate_after_all_claimed(claims: list[tuple[datetime, str]], ends: list[datetime]) -> float | None:
    """Jobs finished per second from the moment every worker had claimed its first job to the last finish."""
    first_by_worker: dict[str, datetime] = {}
    for t, worker in claims:
        first_by_worker[worker] = min(t, first_by_worker.get(worker, t))
    if not first_by_worker:
        return None
    all_busy = max(first_by_worker.values())
    later = [t for t in ends if t > all_busy]
    span = (later[-1] - all_busy).total_seconds() if later else 0.0
    return round(len(later) / span, 2) if span > 0 else None
