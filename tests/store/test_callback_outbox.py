"""The result-callback outbox on SQLite and PostgreSQL: owed in the transaction that ends a job, claimed
under a delivery lease by one worker at a time, owed again when that lease lapses, cleared when done."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from schemas import EvaluationRequest, JobError
from service.store import SqlJobStore
from service.store.convert import JOBS, utcnow


def _request(callback: bool = True) -> EvaluationRequest:
    body: dict[str, object] = {"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox"}
    if callback:
        body["callback"] = {"url": "http://127.0.0.1:9/hook"}
    return EvaluationRequest.model_validate(body)


async def _run_to_end(store: SqlJobStore, request: EvaluationRequest, status: str = "succeeded") -> str:
    job, _ = await store.create_job(request)
    claimed = await store.claim_next("w", 30)
    assert claimed is not None and claimed.id == job.id
    error = JobError(code="x", message="y") if status == "failed" else None
    await store.finish_job(job.id, "w", status=status, error=error)  # type: ignore[arg-type]
    return job.id


async def test_owed_only_once_the_job_ends_and_only_with_a_callback(store: SqlJobStore) -> None:
    running, _ = await store.create_job(_request())
    assert await store.claim_next("w", 30) is not None
    assert await store.callback_due(running.id) is None and await store.claim_callback(60) is None
    silent = await _run_to_end(store, _request(callback=False))
    assert await store.callback_due(silent) is None
    before = utcnow()
    failed = await _run_to_end(store, _request(), status="failed")
    due = await store.callback_due(failed)
    assert due is not None and before <= due <= utcnow()
    queued, _ = await store.create_job(_request())
    await store.request_cancel(queued.id)  # ends while queued
    assert await store.callback_due(queued.id) is not None
    assert await store.callback_due(running.id) is None


async def test_claimed_once_until_its_lease_lapses_then_cleared(store: SqlJobStore) -> None:
    ids = {await _run_to_end(store, _request()) for _ in range(3)}
    claims = await asyncio.gather(*(store.claim_callback(60) for _ in range(5)))
    taken = [c for c in claims if c is not None]
    assert sorted(taken) == sorted(ids)  # each owed callback to exactly one claimer
    one = taken[0]
    due = await store.callback_due(one)
    assert due is not None and due > utcnow() + timedelta(seconds=50)
    # The claimer died: its lease lapses, and the callback is owed again.
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == one).values(callback_due_at=utcnow() - timedelta(seconds=1)))
    assert await store.claim_callback(60) == one
    await store.end_callback(one)
    assert await store.callback_due(one) is None
    other = taken[1]
    await store.end_callback(other, retry_now=True)  # given back by a stopping worker
    assert await store.claim_callback(60) == other
    assert await store.claim_callback(60) is None
