"""run_job end to end on SQLite and PostgreSQL with a real tiny checkpoint: scorecard, resume, cancel,
deadline, errors."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from evaluators.checks import registry
from schemas import Scorecard
from schemas.scorecard import CheckResult
from service.runner import run as runner_run
from service.runner import run_job
from service.settings import Settings
from service.store import SqlJobStore
from service.store.convert import JOBS, utcnow
from tests.worker import helpers

PLUGIN = "tests.worker.slow_check:corpus_scoring"


@pytest.fixture
def no_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check unregistered, as in a build where none has landed yet."""
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})


@pytest.fixture
def plugin_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """forget and collateral run the corpus-scoring plugin; refusal is unregistered."""
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})
    registry.register_check("forget", PLUGIN)
    registry.register_check("collateral", PLUGIN)


async def _claim_and_run(store: SqlJobStore, settings: Settings, worker: str = "w1") -> str:
    claimed = await store.claim_next(worker, 5.0)
    assert claimed is not None
    await run_job(claimed, store, settings, worker, helpers.checkpoint_pool(settings))
    return claimed.id


async def test_not_implemented_checks_give_a_valid_scorecard(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, no_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, refusal=True))
    pool = helpers.checkpoint_pool(settings)
    claimed = await store.claim_next("w1", 5.0)
    assert claimed is not None
    await run_job(claimed, store, settings, "w1", pool)
    assert pool.opened == 1  # target and baseline are the same checkpoint: opened once
    done = await store.get_job(job.id)
    assert done is not None and done.status == "succeeded" and done.error is None
    raw = await store.get_scorecard(job.id)
    card = Scorecard.model_validate(raw)
    for name in ("forget", "refusal", "collateral"):
        result = getattr(card.checks, name)
        assert result.verdict == "skipped" and result.reasons == ["not_implemented"]
    assert card.verdict == "warn" and done.verdict == "warn"  # nothing ran, so nothing may pass
    assert card.reasons == ["no_checks_ran"]  # the card says why, not only the job-finished event
    assert sorted(card.skipped) == [
        "collateral: not_implemented",
        "forget: not_implemented",
        "refusal: not_implemented",
    ]
    prov = card.provenance
    assert prov.target is not None and prov.target.fingerprint_verified
    assert prov.baseline == prov.target
    assert "torch" in prov.library_versions and prov.seed == 7 and prov.device == "cpu"
    assert card.labels == {"suite": "worker-tests"} and card.policy.name == "default"
    kinds = [e.kind for e in await store.events_since(job.id)]
    assert kinds.count("check_started") == 3 and kinds.count("check_finished") == 3
    assert kinds[-1] == "job_finished"


async def test_plugin_check_figures_records_and_resume(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, forget_texts=6, collateral_texts=5))
    # An earlier attempt finished `forget` and then died: save it as that worker, then let the lease lapse.
    first = await store.claim_next("dead", 0.0)
    assert first is not None
    earlier = CheckResult(verdict="fail", reasons=["from_attempt_1"], summary="", duration_s=1.0)
    await store.save_check(job.id, "dead", "forget", earlier, [], {"datasets": []})
    # ... 100 s ago: the job's total duration counts from then, its last attempt's only from the resume.
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == job.id).values(started_at=utcnow() - timedelta(seconds=100)))
    await asyncio.sleep(0.01)
    await _claim_and_run(store, settings, "w2")
    done = await store.get_job(job.id)
    assert done is not None and done.status == "succeeded" and done.attempts == 2
    card = Scorecard.model_validate(await store.get_scorecard(job.id))
    assert card.checks.forget == earlier  # not run again
    collateral = card.checks.collateral
    assert collateral is not None and collateral.headline is not None
    head = collateral.headline
    assert head.n == 5 and head.value is not None and head.ci_low is not None and head.ci_high is not None
    assert head.ci_low < head.value < head.ci_high < 0  # log-likelihoods are negative
    items = await store.list_items(job.id, check="collateral")
    assert [r.index for r in items.items] == list(range(5))
    mean = sum(r.record["per_char"] for r in items.items) / 5
    assert head.value == pytest.approx(mean)
    assert [d.name for d in card.provenance.datasets] == ["retain_corpus"]
    assert card.verdict == "fail"  # the worst check verdict (the resumed forget)
    durations = card.provenance.durations_s
    assert 0 < durations["job"] < 100 <= durations["job_total"] < 100 + durations["job"] + 5
    assert durations["forget"] == 1.0 and 0 < durations["collateral"] <= durations["job"]
    events = await store.events_since(job.id)
    assert [e.data["check"] for e in events if e.kind == "check_started"] == ["collateral"]
    assert [e.data["check"] for e in events if e.kind == "check_resumed"] == ["forget"]
    progress = [e.data for e in events if e.kind == "progress"]
    assert progress and progress[-1] == {"check": "collateral", "done": 5, "total": 5}


async def _wait_for_event(store: SqlJobStore, job_id: str, kind: str) -> None:
    """Poll the events table (written by the runner's own connections) until `kind` shows up."""
    async with asyncio.timeout(60):
        while True:
            if any(e.kind == kind for e in await store.events_since(job_id)):
                return
            await asyncio.sleep(0.05)


async def test_cancel_stops_a_running_job_at_the_next_batch(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, forget_texts=4000, collateral_texts=4))
    runner = asyncio.create_task(_claim_and_run(store, settings))
    await _wait_for_event(store, job.id, "progress")
    await store.request_cancel(job.id)
    await asyncio.wait_for(runner, 30)
    done = await store.get_job(job.id)
    assert done is not None and done.status == "cancelled"
    assert done.error is not None and done.error.code == "cancelled"
    assert done.progress.check == "forget" and 0 < done.progress.done < 4000
    assert await store.get_scorecard(job.id) is None
    assert (await store.list_items(job.id)).items == []


async def test_deadline_fails_the_job(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    request = helpers.request(tiny_checkpoint, forget_texts=4000, collateral_texts=None, deadline_s=1.0)
    job, _ = await store.create_job(request)
    await asyncio.wait_for(_claim_and_run(store, settings), 60)
    done = await store.get_job(job.id)
    assert done is not None and done.status == "failed"
    assert done.error is not None and done.error.code == "deadline_exceeded"
    assert done.started_at is not None and done.finished_at is not None
    assert 1.0 <= (done.finished_at - done.started_at).total_seconds() < 20


async def test_shutdown_releases_the_job_for_another_worker(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, forget_texts=4, collateral_texts=4000))
    shutdown = asyncio.Event()
    claimed = await store.claim_next("w1", 5.0)
    assert claimed is not None
    runner = asyncio.create_task(
        run_job(claimed, store, settings, "w1", helpers.checkpoint_pool(settings), shutdown=shutdown)
    )
    await _wait_for_event(store, job.id, "check_finished")  # forget saved
    shutdown.set()
    await asyncio.wait_for(runner, 30)
    released = await store.get_job(job.id)
    assert released is not None and released.status == "queued"
    again = await store.claim_next("w2", 5.0)  # at once: no waiting for the lease
    assert again is not None and again.id == job.id and list(again.done_checks) == ["forget"]


async def test_unexpected_exception_is_internal_error(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    request = helpers.request(tiny_checkpoint)
    assert request.checks is not None and request.checks.forget is not None
    request.checks.forget.corpus = None  # the plugin raises ValueError without a corpus
    job, _ = await store.create_job(request)
    await _claim_and_run(store, settings)
    done = await store.get_job(job.id)
    assert done is not None and done.status == "failed" and done.error is not None
    assert done.error.code == "internal_error" and done.error.message.startswith("ValueError")


@pytest.mark.parametrize("stop", ["deadline", "cancel"])
async def test_a_hung_backend_call_is_cut(
    store: SqlJobStore,
    tiny_checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stop: str,
) -> None:
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})
    registry.register_check("forget", "tests.worker.slow_check:hung_backend")
    monkeypatch.setattr(runner_run, "STOP_GRACE_S", 0.3)
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    deadline = 1.0 if stop == "deadline" else None
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, collateral_texts=None, deadline_s=deadline))
    runner = asyncio.create_task(_claim_and_run(store, settings))
    if stop == "cancel":
        await _wait_for_event(store, job.id, "check_started")
        await store.request_cancel(job.id)
    await asyncio.wait_for(runner, 30)
    done = await store.get_job(job.id)
    assert done is not None and done.error is not None
    expected = ("failed", "deadline_exceeded") if stop == "deadline" else ("cancelled", "cancelled")
    assert (done.status, done.error.code) == expected


async def test_a_worker_that_lost_its_lease_stops_and_writes_nothing(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path, plugin_checks: None
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, forget_texts=4000, collateral_texts=None))
    runner = asyncio.create_task(_claim_and_run(store, settings, "slow"))
    await _wait_for_event(store, job.id, "progress")
    # The slow worker is taken for dead: its lease lapses and another worker takes the job.
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == job.id).values(lease_until=utcnow() - timedelta(seconds=1)))
    taken = await store.claim_next("fresh", 60.0)
    assert taken is not None and taken.id == job.id
    await asyncio.wait_for(runner, 30)  # stops at the next batch after its heartbeat is refused
    current = await store.get_job(job.id)
    assert current is not None and current.status == "running" and current.attempts == 2
    assert (await store.list_items(job.id)).items == []
    events = await store.events_since(job.id)
    assert not [e for e in events if e.kind in ("check_finished", "job_finished")]


async def test_fewer_forget_items_than_folds_is_a_dataset_error(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    job, _ = await store.create_job(helpers.request(tiny_checkpoint, collateral_texts=None))  # 4 items, 5 folds
    await _claim_and_run(store, settings)
    done = await store.get_job(job.id)
    assert done is not None and done.status == "failed" and done.error is not None
    assert done.error.code == "dataset_error" and "fewer than its 5 folds" in done.error.message
