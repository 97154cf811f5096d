"""Result callbacks from a real worker to a real receiver (127.0.0.1, uvicorn): every ended job's result
arrives once, verified; a worker killed or stopped mid-delivery loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import update

from evaluators.checks import registry
from schemas import EvaluationRequest, Scorecard
from schemas.requests import Callback
from service.signing import SigningKeys, verify_envelope
from service.store import SqlJobStore
from service.store.convert import JOBS, utcnow
from service.worker import run_worker
from tests.reports.scorecards import build_scorecard
from tests.reports.server import serve
from tests.webhooks.receiver import CallbackReceiver
from tests.worker import helpers

SECRET = "worker-callback-secret"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No check registered: each job ends fast with a valid (all-skipped) scorecard."""
    monkeypatch.setattr(registry, "_CHECKS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})


def _with_callback(request: EvaluationRequest, url: str | None) -> EvaluationRequest:
    return request.model_copy(update={"callback": Callback(url=url) if url else None})


async def _until(condition: Callable[[], Awaitable[bool] | bool], what: str, limit_s: float = 60) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while True:
                value = condition()
                if await value if isinstance(value, Awaitable) else value:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _finished_job(store: SqlJobStore, url: str) -> str:
    """A job that ended (succeeded) with a callback owed, as a worker's job end leaves it."""
    request = EvaluationRequest.model_validate(
        {"target": {"kind": "sandbox", "name": "shallow"}, "suite": "sandbox", "callback": {"url": url}}
    )
    job, _ = await store.create_job(request)
    assert await store.claim_next("ran-it", 30.0) is not None
    card = build_scorecard(evaluation_id=job.id)
    await store.finish_job(
        job.id, "ran-it", status="succeeded", scorecard=card.model_dump(mode="json"), verdict=card.verdict
    )
    return job.id


async def test_a_worker_delivers_every_ended_job_once_verified(
    store: SqlJobStore, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    receiver = CallbackReceiver(secret=SECRET, fail_first=2)
    settings = helpers.settings(tmp_path, tiny_checkpoint, callback_secret=SECRET, callback_backoff_s=0.05)
    with serve(receiver) as base:
        url = f"{base}/hooks/audit"
        ran, _ = await store.create_job(_with_callback(helpers.request(tiny_checkpoint), url))
        cancelled, _ = await store.create_job(_with_callback(helpers.request(tiny_checkpoint), url))
        silent, _ = await store.create_job(helpers.request(tiny_checkpoint))
        await store.request_cancel(cancelled.id)  # ends while queued: its result is owed too
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(
                settings,
                worker_id="cb",
                stop_event=stop,
                store=store,
                models=helpers.checkpoint_pool(settings),
            )
        )
        await _until(lambda: len(receiver.verified) == 2, "both callbacks delivered")
        await _until(
            lambda: _ended(store, silent.id), "the job without a callback to end"
        )  # so the worker had its chance to (wrongly) deliver one
        stop.set()
        assert await asyncio.wait_for(worker, 30) == 2
    by_job = {d["evaluation_id"]: d for d in receiver.verified}
    assert set(by_job) == {ran.id, cancelled.id} and not receiver.rejected
    assert by_job[cancelled.id]["status"] == "cancelled" and by_job[cancelled.id]["scorecard_envelope"] is None
    assert by_job[ran.id]["status"] == "succeeded"
    signed = verify_envelope(
        by_job[ran.id]["scorecard_envelope"], await SigningKeys.from_settings(settings).public_keys(store)
    )
    assert signed == Scorecard.model_validate(await store.get_scorecard(ran.id))
    attempts = {j: await store.delivery_attempts(j) for j in (ran.id, cancelled.id, silent.id)}
    assert attempts[silent.id] == []
    assert sum(len(a) for a in attempts.values()) == len(receiver.requests) == 4  # 2 refused, 2 accepted
    for job_id in (ran.id, cancelled.id):
        assert attempts[job_id][-1].ok and len({a.delivery_id for a in attempts[job_id]}) == 1
        assert await store.callback_due(job_id) is None  # nothing owed any more


async def _ended(store: SqlJobStore, job_id: str) -> bool:
    job = await store.get_job(job_id)
    return job is not None and job.status == "succeeded"


def _slow_retrying_worker(
    store: SqlJobStore, tmp_path: Path, worker_id: str
) -> tuple[asyncio.Event, asyncio.Task[int]]:
    """A running worker whose callback retries wait 10 minutes, and the event that stops it."""
    settings = helpers.settings(tmp_path, tmp_path, callback_secret=SECRET, callback_backoff_s=600)
    stop = asyncio.Event()
    return stop, asyncio.create_task(run_worker(settings, worker_id=worker_id, stop_event=stop, store=store))


async def test_a_worker_stopped_mid_delivery_gives_it_back(store: SqlJobStore, tmp_path: Path) -> None:
    receiver = CallbackReceiver(secret=SECRET, fail_first=1)
    with serve(receiver) as base:
        job_id = await _finished_job(store, f"{base}/hook")
        # The first attempt is refused, then the worker sits in a 10-minute backoff: stop it there.
        stop, worker = _slow_retrying_worker(store, tmp_path, "stopping")
        await _until(lambda: len(receiver.requests) == 1, "the first attempt")
        due = await store.callback_due(job_id)
        assert due is not None and due > utcnow() + timedelta(minutes=5)  # held under the delivery lease
        stop.set()
        assert await asyncio.wait_for(worker, 10) == 0
        due = await store.callback_due(job_id)
        assert due is not None and due <= utcnow()  # given back: owed, due now
        fast = helpers.settings(tmp_path, tmp_path, callback_secret=SECRET, callback_backoff_s=0.05)
        assert await run_worker(fast, worker_id="next", once=True, store=store) == 0
    assert [d["evaluation_id"] for d in receiver.verified] == [job_id]
    assert await store.callback_due(job_id) is None


async def test_a_worker_stopped_while_an_attempt_is_in_flight_records_its_answer(
    store: SqlJobStore, tmp_path: Path
) -> None:
    # The receiver holds its 200 for a second: the worker is told to stop while the attempt waits for it.
    receiver = CallbackReceiver(secret=SECRET, fail_first=0, answer_after_s=1.0)
    with serve(receiver) as base:
        job_id = await _finished_job(store, f"{base}/hook")
        stop, worker = _slow_retrying_worker(store, tmp_path, "in-flight")
        await _until(lambda: len(receiver.requests) == 1, "the attempt sent")
        stop.set()
        assert await asyncio.wait_for(worker, 10) == 0
    attempts = await store.delivery_attempts(job_id)
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 200)]  # its answer recorded
    assert await store.callback_due(job_id) is None  # delivered once: nothing owed, nothing sent again
    assert [d["evaluation_id"] for d in receiver.verified] == [job_id]


@pytest.mark.slow
async def test_a_worker_killed_mid_delivery_loses_nothing(
    sqlite_store: SqlJobStore, sqlite_url: str, tmp_path: Path
) -> None:
    receiver = CallbackReceiver(secret=SECRET, fail_first=1)
    env = {
        **os.environ,
        "UNLEARN_AUDIT_DATABASE_URL": sqlite_url,
        "UNLEARN_AUDIT_DATA_DIR": str(tmp_path),
        "UNLEARN_AUDIT_CALLBACK_SECRET": SECRET,
        "UNLEARN_AUDIT_CALLBACK_BACKOFF_S": "600",
        "UNLEARN_AUDIT_POLL_S": "0.1",
    }
    with serve(receiver) as base, (tmp_path / "worker.log").open("wb") as out:
        job_id = await _finished_job(sqlite_store, f"{base}/hook")
        worker = _start_worker(env, out)
        try:
            await _until(lambda: len(receiver.requests) == 1, "the doomed worker's first attempt")
            await _until(lambda: _has_attempts(sqlite_store, job_id), "its attempt recorded")
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert worker.returncode == -signal.SIGKILL
        due = await sqlite_store.callback_due(job_id)
        assert due is not None  # still owed: the kill lost nothing
        # Its delivery lease lapses (minutes; skip the wait), then any worker delivers it.
        async with sqlite_store.engine.begin() as conn:
            await conn.execute(
                update(JOBS).where(JOBS.c.id == job_id).values(callback_due_at=utcnow() - timedelta(seconds=1))
            )
        fast = helpers.settings(tmp_path, tmp_path, callback_secret=SECRET, callback_backoff_s=0.05)
        assert await run_worker(fast, worker_id="survivor", once=True, store=sqlite_store) == 0
    assert [d["evaluation_id"] for d in receiver.verified] == [job_id]
    attempts = await sqlite_store.delivery_attempts(job_id)
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500), (True, 200)]
    assert attempts[0].delivery_id != attempts[1].delivery_id  # the dead worker's delivery, then a new one
    assert await sqlite_store.callback_due(job_id) is None


def _start_worker(env: dict[str, str], out: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.worker", "--worker-id", "doomed"],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


async def _has_attempts(store: SqlJobStore, job_id: str) -> bool:
    return bool(await store.delivery_attempts(job_id))
