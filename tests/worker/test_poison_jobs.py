"""One bad job never stops the queue: a row that cannot be decoded or started is failed with `invalid_job`
and the next job runs. The corrupt rows are written straight into the store, as an old version, a bug or a
hand-made fix could leave them, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from evaluators.checks import registry
from schemas import EvaluationRequest
from service.store import SqlJobStore
from service.store.convert import CHECK_RESULTS, JOBS, utcnow
from service.worker import run_worker
from tests.worker import helpers

PLUGINS = "forget=tests.worker.slow_check:corpus_scoring,collateral=tests.worker.slow_check:corpus_scoring"
VALID = {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "suite": "sandbox"}


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})


async def _corrupt_row(store: SqlJobStore, job_id: str, request: Any) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(JOBS).values(
                id=job_id,
                status="queued",
                request=request,
                labels={},
                owner="",
                attempts=0,
                cancel_requested=False,
                progress={},
                created_at=utcnow(),
            )
        )


async def _poison(store: SqlJobStore) -> list[str]:
    """Corrupt jobs, each older than any job made after: what the probe's 1e12 deadline left in the
    queue, a request that is not a request, and a finished check that does not decode."""
    await _corrupt_row(store, "poison-deadline", {**VALID, "deadline_s": 1e12})
    await _corrupt_row(store, "poison-shape", {"target": 5, "checks": "all"})
    await _corrupt_row(store, "poison-check", VALID)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(CHECK_RESULTS).values(
                job_id="poison-check", check="forget", result={"verdict": "maybe"}, meta={}, finished_at=utcnow()
            )
        )
    ids = ["poison-deadline", "poison-shape", "poison-check"]
    if store.engine.dialect.name == "sqlite":  # PostgreSQL's json type refuses text that is not JSON
        await _corrupt_row(store, "poison-text", {})
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE jobs SET request = '{not json' WHERE id = 'poison-text'"))
        ids.append("poison-text")
    return ids


async def test_a_claim_fails_corrupt_jobs_and_takes_the_next(store: SqlJobStore) -> None:
    poisoned = await _poison(store)
    good, _ = await store.create_job(EvaluationRequest.model_validate(VALID))
    claimed = await store.claim_next("w1", lease_s=60)
    assert claimed is not None and claimed.id == good.id
    for job_id in poisoned:
        job = await store.get_job(job_id)
        assert job is not None and job.status == "failed" and job.error is not None, job_id
        assert job.error.code == "invalid_job" and "cannot be run" in job.error.message
        finished = [e for e in await store.events_since(job_id) if e.kind == "job_finished"]
        assert len(finished) == 1
    page = await store.list_jobs(limit=10)  # listing never decodes requests: a corrupt one cannot break it
    assert {j.id for j in page.items} == {good.id, *poisoned}
    assert await store.claim_next("w2", lease_s=60) is None


async def test_a_worker_runs_the_next_job_past_corrupt_rows(
    sqlite_store: SqlJobStore, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    await _poison(sqlite_store)
    settings = helpers.settings(tmp_path, tiny_checkpoint, check_plugins=PLUGINS)
    good, _ = await sqlite_store.create_job(helpers.request(tiny_checkpoint, forget_texts=2, collateral_texts=2))
    ran = await run_worker(settings, once=True, store=sqlite_store, models=helpers.checkpoint_pool(settings))
    assert ran == 1
    job = await sqlite_store.get_job(good.id)
    assert job is not None and job.status == "succeeded"
