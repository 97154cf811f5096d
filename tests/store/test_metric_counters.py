"""The /metrics counters: kept in the transaction of each status change, equal to what the history says, read
in a constant number of queries however many jobs ever ran, and filled from the history by the migration."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import event, insert, update

from schemas import EvaluationRequest
from schemas.jobs import ItemRecord
from schemas.scorecard import CheckResult
from service.metrics import StoreMetrics
from service.store import SqlJobStore, metric_counters
from service.store.convert import JOBS, utcnow
from service.store.metric_counters import DURATION_BUCKETS, MetricCounters
from service.store.migrate import alembic_config
from service.store.queue_gauges import QueueGauges

REQUEST = EvaluationRequest.model_validate({"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox"})


def _records(check: str, n: int) -> list[ItemRecord]:
    return [
        ItemRecord(check=check, dataset="d", index=i, variant="v", model="target", record={"i": i}) for i in range(n)
    ]


def _result(seconds: float) -> CheckResult:
    return CheckResult(summary="", verdict="skipped", reasons=["x"], duration_s=seconds)


async def _claim(store: SqlJobStore, worker: str = "w") -> str:
    claimed = await store.claim_next(worker, 30)
    assert claimed is not None
    return claimed.id


async def _history_of_every_transition(store: SqlJobStore) -> None:
    """Jobs through every status change the store makes, including a check saved twice and a poison job."""
    done, _ = await store.create_job(REQUEST)
    await _claim(store)
    await store.save_check(done.id, "w", "forget", _result(1.5), _records("forget", 3), {})
    await store.save_check(done.id, "w", "forget", _result(20.0), _records("forget", 5), {})  # replaces the first
    await store.save_check(done.id, "w", "refusal", _result(9000.0), _records("refusal", 2), {})
    await store.finish_job(done.id, "w", status="succeeded", scorecard={"verdict": "pass"}, verdict="pass")
    dropped, _ = await store.create_job(REQUEST)
    await store.request_cancel(dropped.id)  # queued -> cancelled
    released, _ = await store.create_job(REQUEST)
    await _claim(store)
    await store.release(released.id, "w")  # running -> queued, then run again
    await _claim(store, "w2")
    await store.finish_job(released.id, "w2", status="failed")
    stopped, _ = await store.create_job(REQUEST)
    await _claim(store)
    await store.request_cancel(stopped.id)  # running: only flagged; the worker ends it
    await store.finish_job(stopped.id, "w", status="cancelled")
    poison, _ = await store.create_job(REQUEST)
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == poison.id).values(request={"not": "a request"}))
    assert await store.claim_next("w", 30) is None  # the poison job is failed, nothing else is free
    await store.create_job(REQUEST)  # stays queued
    await store.create_job(REQUEST)
    await _claim(store)  # stays running


def _histograms(observations: list[tuple[str, float]]) -> dict[str, tuple[int, float, list[tuple[float, int]]]]:
    by_label: dict[str, list[float]] = defaultdict(list)
    for label, seconds in observations:
        by_label[label].append(seconds)
    return {
        label: (len(v), sum(v), [(float(b), sum(x <= b for x in v)) for b in DURATION_BUCKETS])
        for label, v in by_label.items()
    }


def _as_tuples(counters: MetricCounters, which: str) -> dict[str, tuple[int, float, list[tuple[float, int]]]]:
    histograms = counters.check_durations if which == "check" else counters.job_durations
    return {label: (h.count, h.sum, h.cumulative()) for label, h in histograms.items()}


async def _assert_counters_match_history(store: SqlJobStore) -> MetricCounters:
    counters = await store.read_metrics()
    assert {k: v for k, v in counters.jobs_by_status.items() if v} == {
        k: v for k, v in (await store.count_by_status()).items() if v
    }
    assert counters.items_scored == await store.count_items()
    assert _as_tuples(counters, "check") == _histograms(await store.check_durations())
    job_hist, expected = _as_tuples(counters, "job"), _histograms(await store.job_durations())
    assert job_hist.keys() == expected.keys()
    for status, (count, total, buckets) in job_hist.items():  # sums of float seconds: equal to a microsecond
        assert (count, buckets) == (expected[status][0], expected[status][2])
        assert abs(total - expected[status][1]) < 1e-6
    return counters


async def test_counters_follow_every_status_change(store: SqlJobStore) -> None:
    await _history_of_every_transition(store)
    counters = await _assert_counters_match_history(store)
    assert counters.jobs_by_status == {"queued": 1, "running": 1, "succeeded": 1, "failed": 2, "cancelled": 2}
    assert counters.items_scored == {"forget": 5, "refusal": 2}  # the replaced save is taken back
    forget = counters.check_durations["forget"]
    assert (forget.count, forget.sum) == (1, 20.0)
    assert counters.check_durations["refusal"].cumulative()[-1] == (7200.0, 0)  # 9000 s: only in +Inf


@contextmanager
def _statements(store: SqlJobStore) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)


async def _finish(store: SqlJobStore, n: int) -> None:
    """`n` finished jobs through the store: one in ten ran a check and succeeded, the others were cancelled."""
    for i in range(n):
        job, _ = await store.create_job(REQUEST)
        if i % 10:
            await store.request_cancel(job.id)
            continue
        await _claim(store)
        await store.save_check(job.id, "w", "forget", _result(2.0 + i), _records("forget", 2), {})
        await store.finish_job(job.id, "w", status="succeeded")


async def _add_cancelled_history(store: SqlJobStore, n: int) -> None:
    """`n` cancelled jobs written in one transaction, counted as the store counts a cancel (fast: the scrape,
    not the history, is under test; the counting itself is by `test_counters_follow_every_status_change`)."""
    now = utcnow()
    common = {"labels": {}, "owner": "", "attempts": 0, "cancel_requested": True, "created_at": now}
    rows = [
        {**common, "id": str(uuid.uuid4()), "status": "cancelled", "request": {}, "progress": {}, "finished_at": now}
        for _ in range(n)
    ]
    deltas = metric_counters.Deltas()
    deltas.add("jobs", "cancelled", "value", n)
    async with store.engine.begin() as conn:
        await conn.execute(insert(JOBS), rows)
        await metric_counters.apply(conn, deltas)


async def test_a_scrape_costs_the_same_after_10_or_500_finished_jobs(sqlite_store: SqlJobStore) -> None:
    metrics = StoreMetrics()
    await _finish(sqlite_store, 10)
    with _statements(sqlite_store) as after_10:
        await metrics.refresh(sqlite_store)
    text_10 = metrics.exposition().decode()
    await _finish(sqlite_store, 40)
    await _add_cancelled_history(sqlite_store, 450)
    with _statements(sqlite_store) as after_500:
        await metrics.refresh(sqlite_store)
    text_500 = metrics.exposition().decode()
    assert len(after_10) == len(after_500) and [s for s in after_500 if "SELECT" in s.upper()] == [
        s for s in after_10 if "SELECT" in s.upper()
    ]
    # One query for the counters, and one indexed aggregate on jobs for each clock-dependent gauge.
    assert sum("metric_counters" in s for s in after_500) == 1
    assert sum("FROM jobs" in s for s in after_500) == 2
    assert "unlearn_audit_oldest_queued_job_age_seconds 0.0" in text_500  # nothing queued
    assert "unlearn_audit_expired_leases 0.0" in text_500
    assert 'unlearn_audit_jobs{status="cancelled"} 9.0' in text_10
    assert 'unlearn_audit_jobs{status="cancelled"} 495.0' in text_500  # 9 + 36 + 450 of 500 jobs
    assert 'unlearn_audit_items_scored_total{check="forget"} 10.0' in text_500  # 5 jobs ran a check, 2 records each
    assert 'unlearn_audit_job_duration_seconds_count{status="succeeded"} 5.0' in text_500
    await _assert_counters_match_history(sqlite_store)


async def test_the_migration_fills_the_counters_from_the_history(sqlite_store: SqlJobStore) -> None:
    await _history_of_every_transition(sqlite_store)
    before = await sqlite_store.read_metrics()

    def to(revision: str) -> Any:
        def run(connection: Any) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            if revision == "head":
                command.upgrade(config, "head")
            else:
                command.downgrade(config, revision)

        return run

    async with sqlite_store.engine.begin() as conn:
        await conn.run_sync(to("-1"))  # the counters table is gone
        await conn.run_sync(to("head"))  # and filled from jobs and check results
    assert await sqlite_store.read_metrics() == before


async def test_queue_gauges_age_the_oldest_queued_job_and_count_expired_leases(store: SqlJobStore) -> None:
    assert await store.read_queue_gauges() == QueueGauges()  # empty store: zeros
    oldest, _ = await store.create_job(REQUEST)
    await store.create_job(REQUEST)
    async with store.engine.begin() as conn:  # submitted an hour ago
        await conn.execute(update(JOBS).where(JOBS.c.id == oldest.id).values(created_at=utcnow() - timedelta(hours=1)))
    gauges = await store.read_queue_gauges()
    assert 3590 < gauges.oldest_queued_age_s < 3700 and gauges.expired_leases == 0
    held = await _claim(store)  # the oldest first
    expired = await _claim(store)
    assert held == oldest.id
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == expired).values(lease_until=utcnow() - timedelta(seconds=5)))
    gauges = await store.read_queue_gauges()
    assert gauges == QueueGauges(oldest_queued_age_s=0.0, expired_leases=1)  # the live lease is not counted
    await store.create_job(REQUEST)
    assert (await store.read_queue_gauges()).oldest_queued_age_s > 0


async def test_a_scrape_exports_the_queue_gauges(store: SqlJobStore) -> None:
    metrics = StoreMetrics()
    job, _ = await store.create_job(REQUEST)
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == job.id).values(created_at=utcnow() - timedelta(minutes=45)))
    await store.create_job(REQUEST)
    running = await _claim(store)
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == running).values(lease_until=utcnow() - timedelta(minutes=1)))
    await metrics.refresh(store)
    text = metrics.exposition().decode()
    (age,) = [float(line.split()[1]) for line in text.splitlines() if line.startswith("unlearn_audit_oldest_queued")]
    assert 0 < age < 60  # the 45-minute-old job was claimed; the one left was just submitted
    assert "unlearn_audit_expired_leases 1.0" in text
