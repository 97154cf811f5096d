"""Nothing accepted is lost: SIGKILL a real worker process mid-job, start another, the job finishes.

The job runs two plugin checks that score a corpus with a real tiny checkpoint (tests/worker/slow_check.py):
`forget` on a few texts, then `collateral` on enough texts to take several seconds. The first worker is
killed after `forget` is saved and `collateral` has reported progress; the second worker (short lease)
takes the job up when the lease expires and finishes it without running `forget` again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select

from schemas import Scorecard
from schemas.scorecard import CheckResult
from service.store import SqlJobStore
from service.store.convert import CHECK_RESULTS
from tests.worker import helpers

REPO = Path(__file__).resolve().parents[2]
PLUGINS = "forget=tests.worker.slow_check:corpus_scoring,collateral=tests.worker.slow_check:corpus_scoring"
LONG_CHECK_TEXTS = 2000  # about 3 ms each on this machine's CPU: several seconds of scoring


def _start_worker(worker_id: str, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.worker", "--worker-id", worker_id],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


async def _wait(condition: Any, what: str, worker: subprocess.Popen[bytes], log_path: Path, limit_s: float) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while True:
                if await condition():
                    return
                if worker.poll() is not None:
                    raise AssertionError(f"worker exited ({worker.returncode}) before {what}:\n{_tail(log_path)}")
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}:\n{_tail(log_path)}") from None


@pytest.mark.slow
async def test_sigkill_mid_job_then_restart_finishes_without_rerunning_saved_checks(
    sqlite_store: SqlJobStore, sqlite_url: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    request = helpers.request(tiny_checkpoint, forget_texts=6, collateral_texts=LONG_CHECK_TEXTS)
    job, _ = await sqlite_store.create_job(request)
    env = {
        **os.environ,
        "UNLEARN_AUDIT_DATABASE_URL": sqlite_url,
        "UNLEARN_AUDIT_DATA_DIR": str(tmp_path),
        "UNLEARN_AUDIT_MODEL_ROOTS": str(tiny_checkpoint.parent),
        "UNLEARN_AUDIT_CHECK_PLUGINS": PLUGINS,
        "UNLEARN_AUDIT_LEASE_S": "2",
        "UNLEARN_AUDIT_HEARTBEAT_S": "0.3",
        "UNLEARN_AUDIT_POLL_S": "0.2",
    }

    async def collateral_under_way() -> bool:
        events = await sqlite_store.events_since(job.id)
        return any(e.kind == "progress" and e.data.get("check") == "collateral" for e in events)

    log1 = tmp_path / "worker1.log"
    with log1.open("wb") as out:
        first = _start_worker("w1", env, out)
        try:
            await _wait(collateral_under_way, "collateral progress", first, log1, limit_s=180)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
    assert first.returncode == -signal.SIGKILL
    killed = await sqlite_store.get_job(job.id)
    assert killed is not None and killed.status == "running" and killed.attempts == 1
    async with sqlite_store.engine.connect() as conn:
        saved = (await conn.execute(select(CHECK_RESULTS.c.check, CHECK_RESULTS.c.result))).all()
    assert [row.check for row in saved] == ["forget"]  # killed mid-collateral
    forget_before = CheckResult.model_validate(saved[0].result)

    async def finished() -> bool:
        current = await sqlite_store.get_job(job.id)
        return current is not None and current.status in ("succeeded", "failed", "cancelled")

    log2 = tmp_path / "worker2.log"
    with log2.open("wb") as out:
        second = _start_worker("w2", env, out)
        try:
            await _wait(finished, "the job to finish", second, log2, limit_s=240)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)
    assert second.returncode == 0, log2.read_text()[-4000:]

    done = await sqlite_store.get_job(job.id)
    assert done is not None and done.status == "succeeded", done
    assert done.attempts == 2
    card = Scorecard.model_validate(await sqlite_store.get_scorecard(job.id))
    assert card.checks.forget == forget_before  # the saved check, not a re-run
    assert card.checks.collateral is not None and card.checks.collateral.headline is not None
    assert card.checks.collateral.headline.n == LONG_CHECK_TEXTS
    events = await sqlite_store.events_since(job.id)
    started = [e.data["check"] for e in events if e.kind == "check_started"]
    assert started == ["forget", "collateral", "collateral"]  # forget once; collateral by each worker
    assert [e.data["check"] for e in events if e.kind == "check_resumed"] == ["forget"]
    claims = [e.data["worker_id"] for e in events if e.kind == "job_claimed"]
    assert claims == ["w1", "w2"]
    assert len((await sqlite_store.list_items(job.id, check="forget", limit=100)).items) == 6
    collateral_items = 0
    cursor = None
    while True:
        page = await sqlite_store.list_items(job.id, check="collateral", limit=500, cursor=cursor)
        collateral_items += len(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert collateral_items == LONG_CHECK_TEXTS
