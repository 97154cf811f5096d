"""Claims, leases and resume on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import update

from schemas import EvaluationRequest, ItemRecord, JobError
from schemas.scorecard import CheckResult
from service.store import LeaseLostError, SqlJobStore
from service.store.convert import JOBS, utcnow


def make_request(deadline_s: float | None = None) -> EvaluationRequest:
    return EvaluationRequest.model_validate(
        {"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox", "deadline_s": deadline_s}
    )


async def _expire_lease(store: SqlJobStore, job_id: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))


async def test_claims_oldest_first_and_sets_lease(store: SqlJobStore) -> None:
    first, _ = await store.create_job(make_request(deadline_s=60))
    second, _ = await store.create_job(make_request())
    claimed = await store.claim_next("w1", 30)
    assert claimed is not None and claimed.id == first.id and claimed.attempts == 1
    assert claimed.done_checks == {}
    job = await store.get_job(first.id)
    assert job is not None and job.status == "running" and job.started_at == claimed.started_at
    nxt = await store.claim_next("w2", 30)
    assert nxt is not None and nxt.id == second.id
    assert await store.claim_next("w3", 30) is None


async def test_concurrent_claimers_never_share_a_job(store: SqlJobStore) -> None:
    ids = {(await store.create_job(make_request()))[0].id for _ in range(8)}
    claims = await asyncio.gather(*(store.claim_next(f"w{i}", 30) for i in range(12)))
    taken = [c.id for c in claims if c is not None]
    assert sorted(taken) == sorted(ids)  # each job exactly once, the extra claimers get None


async def test_lease_expiry_lets_another_worker_resume(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request(deadline_s=100))
    first = await store.claim_next("w1", 30)
    assert first is not None
    records = [ItemRecord(check="forget", dataset="d", index=0, variant="standard", model="target", record={})]
    forget = CheckResult(summary="", verdict="pass", reasons=[], duration_s=2.0)
    await store.save_check(job.id, "w1", "forget", forget, records, {"datasets": [{"name": "d"}]})
    assert await store.heartbeat(job.id, "w1", 30)
    assert await store.claim_next("w2", 30) is None  # lease still valid

    await _expire_lease(store, job.id)
    second = await store.claim_next("w2", 30)
    assert second is not None and second.id == job.id and second.attempts == 2
    assert second.started_at == first.started_at  # the deadline counts from the first start
    assert second.done_checks == {"forget": forget}
    # The store adds how many per-item records the check saved (the items-scored metric).
    assert second.done_check_meta == {"forget": {"datasets": [{"name": "d"}], "records": 1}}
    # The first worker lost the job: its heartbeat and writes are refused.
    assert not await store.heartbeat(job.id, "w1", 30)
    with pytest.raises(LeaseLostError):
        await store.save_check(job.id, "w1", "refusal", forget, [], {})
    with pytest.raises(LeaseLostError):
        await store.finish_job(job.id, "w1", status="succeeded")
    await store.finish_job(job.id, "w2", status="failed", error=JobError(code="internal_error", message="x"))
    done = await store.get_job(job.id)
    assert done is not None and done.status == "failed" and done.error == JobError(code="internal_error", message="x")
    assert not await store.heartbeat(job.id, "w2", 30)


async def test_save_check_twice_replaces_records(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request())
    await store.claim_next("w", 30)
    rec = ItemRecord(check="forget", dataset="d", index=0, variant="standard", model="target", record={"a": 1})
    await store.save_check(job.id, "w", "forget", CheckResult(summary="", verdict="warn"), [rec, rec], {})
    await store.save_check(job.id, "w", "forget", CheckResult(summary="", verdict="pass"), [rec], {})
    assert len((await store.list_items(job.id)).items) == 1


async def test_release_requeues_for_resume(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request())
    await store.claim_next("w1", 30)
    assert await store.release(job.id, "w1")
    again = await store.claim_next("w2", 30)
    assert again is not None and again.id == job.id and again.attempts == 2


async def test_cancel_of_orphaned_running_job_ends_it_at_claim(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request())
    await store.claim_next("w1", 30)
    await store.request_cancel(job.id)
    await _expire_lease(store, job.id)
    assert await store.claim_next("w2", 30) is None
    ended = await store.get_job(job.id)
    assert ended is not None and ended.status == "cancelled"


def _claim_in_process(url: str, worker: str, out: multiprocessing.Queue) -> None:
    async def claim_all() -> list[str]:
        store = SqlJobStore(url)
        taken = []
        while (claimed := await store.claim_next(worker, 60)) is not None:
            taken.append(claimed.id)
        await store.close()
        return taken

    out.put(asyncio.run(claim_all()))


@pytest.mark.slow
async def test_claimers_in_separate_processes_share_out_jobs(store: SqlJobStore) -> None:
    ids = {(await store.create_job(make_request()))[0].id for _ in range(20)}
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(store.url, f"p{i}", out)) for i in range(3)]
    for p in procs:
        p.start()
    results = [await asyncio.to_thread(out.get, True, 120) for _ in procs]
    for p in procs:
        p.join(30)
    taken = [job_id for chunk in results for job_id in chunk]
    assert sorted(taken) == sorted(ids)
