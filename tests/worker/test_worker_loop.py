"""The worker loop in-process: empty queue, several jobs, plugins from settings, stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evaluators.checks import registry
from schemas import Scorecard
from service.store import SqlJobStore
from service.worker import run_worker
from tests.worker import helpers

PLUGINS = "forget=tests.worker.slow_check:corpus_scoring,collateral=tests.worker.slow_check:corpus_scoring"


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})


async def test_once_on_empty_queue_returns_zero(
    sqlite_store: SqlJobStore, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    assert await run_worker(settings, once=True, store=sqlite_store, models=helpers.checkpoint_pool(settings)) == 0


async def test_worker_runs_queued_jobs_with_plugins_until_stopped(
    sqlite_store: SqlJobStore, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint, check_plugins=PLUGINS)
    ids = [
        (await sqlite_store.create_job(helpers.request(tiny_checkpoint, forget_texts=3, collateral_texts=3)))[0].id
        for _ in range(2)
    ]
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            settings,
            worker_id="loop",
            stop_event=stop,
            store=sqlite_store,
            models=helpers.checkpoint_pool(settings),
        )
    )
    async with asyncio.timeout(60):
        while True:
            jobs = [await sqlite_store.get_job(i) for i in ids]
            if all(j is not None and j.status == "succeeded" for j in jobs):
                break
            await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(worker, 10) == 2
    for job_id in ids:
        card = Scorecard.model_validate(await sqlite_store.get_scorecard(job_id))
        assert card.checks.forget is not None and card.checks.forget.headline is not None
        assert card.checks.forget.headline.n == 3


async def test_bad_plugin_stops_the_worker_at_start(tmp_path: Path, tiny_checkpoint: Path) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint, check_plugins="forget=tests.worker.nope:missing")
    with pytest.raises(ModuleNotFoundError):
        await run_worker(settings, once=True)
    with pytest.raises(ValueError, match=r"expected name=package\.module:attribute"):
        await run_worker(helpers.settings(tmp_path, tiny_checkpoint, check_plugins="forget"), once=True)
