"""Local workers started together share one result memo on disk: an entry is computed once by whichever
worker asks first (the other waits for it, or reads it later), a failed or unpicklable computation stores
nothing, entries stay bounded, and the directory lives exactly as long as its command."""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from evaluators.models.memo import MemoisedModel, memoised
from evaluators.models.shared_memo import SharedResultMemo, owned_directory
from schemas import EvaluationRequest
from service.runner import run_job
from service.store import SqlJobStore
from tests.worker import helpers


class Computations:
    """A computation that takes a while and counts how often it really ran."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.runs = 0
        self.seconds = seconds

    async def __call__(self) -> dict[str, Any]:
        self.runs += 1
        await asyncio.sleep(self.seconds)
        return {"correct": [True, False], "records": [{"index": 0}]}


async def test_two_workers_asking_together_compute_once(tmp_path: Path) -> None:
    first, second = SharedResultMemo(tmp_path), SharedResultMemo(tmp_path)
    compute = Computations()
    a, b = await asyncio.gather(first.get_or_compute("k", compute), second.get_or_compute("k", compute))
    assert compute.runs == 1 and a == b == {"correct": [True, False], "records": [{"index": 0}]}
    assert (first.misses + second.misses, first.hits + second.hits) == (1, 1)
    a["records"].append({"index": 9})  # a caller changing its value changes nothing for the next one
    assert await SharedResultMemo(tmp_path).get_or_compute("k", compute) == b and compute.runs == 1
    assert _names(tmp_path) == ["k.pickle"]  # no lock file left behind


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _append(path: str, line: str) -> None:
    with open(path, "a") as out:
        out.write(line + "\n")


def _ask(directory: str, key: str, log: str) -> None:
    async def compute() -> list[int]:
        _append(log, str(os.getpid()))
        await asyncio.sleep(0.5)
        return [os.getpid()]

    value = asyncio.run(SharedResultMemo(Path(directory)).get_or_compute(key, compute))
    _append(log + ".values", str(value[0]))


def test_processes_share_the_directory(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    log = str(tmp_path / "computed")
    procs = [ctx.Process(target=_ask, args=(str(tmp_path), "k", log)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    computed = Path(log).read_text().split()
    values = Path(log + ".values").read_text().split()
    assert len(computed) == 1 and values == computed * 3  # one process computed; all three got its value


async def test_a_failed_computation_stores_nothing_and_the_waiter_computes(tmp_path: Path) -> None:
    first, second = SharedResultMemo(tmp_path), SharedResultMemo(tmp_path)
    computing = asyncio.Event()

    async def fails() -> int:
        computing.set()
        await asyncio.sleep(0.2)
        raise RuntimeError("cancelled job")

    async def works() -> int:
        return 7

    failing = asyncio.create_task(first.get_or_compute("k", fails))
    await computing.wait()  # the first worker holds the entry's lock
    assert await second.get_or_compute("k", works) == 7  # waited, found nothing stored, computed it
    with pytest.raises(RuntimeError):
        await failing
    assert second.misses == 1 and await first.get_or_compute("k", fails) == 7


async def test_a_waiting_job_stops_waiting_when_cancelled(tmp_path: Path) -> None:
    holder = SharedResultMemo(tmp_path)
    release, started = asyncio.Event(), asyncio.Event()

    async def slow() -> int:
        started.set()
        await release.wait()
        return 1

    computing = asyncio.create_task(holder.get_or_compute("k", slow))
    await started.wait()  # the holder has the lock
    waiting = asyncio.create_task(SharedResultMemo(tmp_path).get_or_compute("k", slow))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # it waits for the holder's entry
    began = time.monotonic()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert time.monotonic() - began < 1.0
    release.set()
    assert await computing == 1


async def test_entries_are_bounded_by_count_and_bytes(tmp_path: Path) -> None:
    def value(n: int) -> Callable[[], Awaitable[bytes]]:
        async def compute() -> bytes:
            return bytes(n)

        return compute

    memo = SharedResultMemo(tmp_path, max_entries=2)
    for n in (1, 2, 3):
        await memo.get_or_compute(f"k{n}", value(n))
        await asyncio.sleep(0.01)  # distinct modification times
    assert len(memo) == 2 and not (tmp_path / "k1.pickle").exists()
    (tmp_path / "big").mkdir()
    big = SharedResultMemo(tmp_path / "big", max_bytes=3000)
    for n in (1000, 1001, 1002):
        await big.get_or_compute(f"b{n}", value(n))
        await asyncio.sleep(0.01)
    assert sorted(p.name for p in (tmp_path / "big").glob("*.pickle")) == ["b1001.pickle", "b1002.pickle"]


async def test_an_unpicklable_value_is_returned_but_not_stored(tmp_path: Path) -> None:
    memo = SharedResultMemo(tmp_path)

    async def compute() -> Any:
        return lambda: 1

    assert (await memo.get_or_compute("k", compute))() == 1
    assert len(memo) == 0 and memo.misses == 1


async def test_a_memo_whose_directory_is_gone_still_computes(tmp_path: Path) -> None:
    memo = SharedResultMemo(tmp_path / "removed")  # never created: no lock, no entry can be written
    compute = Computations(seconds=0.0)
    assert await memo.get_or_compute("k", compute) == await memo.get_or_compute("k", compute)
    assert compute.runs == 2 and memo.misses == 2


def test_the_directory_lives_as_long_as_its_command(tmp_path: Path) -> None:
    parent = tmp_path / "memo"
    parent.mkdir()
    (parent / "memo-left").mkdir()  # a killed command's: its owner file is locked by nobody
    (parent / "memo-left" / ".owner").touch()
    (parent / "memo-left" / "k.pickle").write_bytes(b"x")
    running = parent / "memo-running"  # a running command's: its owner file is locked
    running.mkdir()
    fd = os.open(running / ".owner", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    (parent / "not-a-memo").mkdir()
    try:
        with owned_directory(parent) as path:
            assert path.parent == parent and path.name.startswith("memo-") and oct(path.stat().st_mode)[-3:] == "700"
            assert sorted(p.name for p in parent.iterdir()) == sorted(["memo-running", "not-a-memo", path.name])
        assert not path.exists()
    finally:
        os.close(fd)


async def test_a_job_on_another_worker_reuses_the_baseline_with_identical_results(
    store: SqlJobStore,
    tiny_checkpoint: Path,
    other_checkpoint: Path,
    tmp_path: Path,
) -> None:
    """Two workers, each with its own `SharedResultMemo` on one directory (nothing shared in memory): the
    second worker's job reuses every baseline call of the first's, and its records are the same."""
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    raw = helpers.request(tiny_checkpoint, refusal=True).model_dump(mode="json")
    raw["target"] = {"kind": "checkpoint", "path": str(other_checkpoint)}
    raw["checks"]["forget"]["folds"] = 2
    shared = tmp_path / "memo"
    shared.mkdir()
    ids = []
    for worker in ("w1", "w2"):
        job, _ = await store.create_job(EvaluationRequest.model_validate({**raw, "labels": {"worker": worker}}))
        claimed = await store.claim_next(worker, 5.0)
        assert claimed is not None and claimed.id == job.id
        memo = SharedResultMemo(shared)
        await run_job(claimed, store, settings, worker, helpers.checkpoint_pool(settings), memo=memo)
        ids.append(job.id)
    reused = [sum(e.data["calls"] for e in await store.events_since(i) if e.kind == "baseline_reused") for i in ids]
    assert reused[1] > reused[0]
    for check in ("refusal", "collateral"):
        pages = [await store.list_items(i, check=check, model="baseline", limit=1000) for i in ids]
        assert pages[0].items and [r.record for r in pages[0].items] == [r.record for r in pages[1].items]


async def test_memoised_models_share_entries_through_the_directory(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from evaluators.models.checkpoint_loader import CheckpointCache
    from evaluators.models.protocol import LoglikelihoodRequest

    requests = [LoglikelihoodRequest(f"Question {i}:\nAnswer:", f" {c}") for i in range(3) for c in "AB"]
    one = await memoised(await CheckpointCache(0).open(tiny_checkpoint), SharedResultMemo(tmp_path))
    two = await memoised(await CheckpointCache(0).open(tiny_checkpoint), SharedResultMemo(tmp_path))
    first = await one.loglikelihood(requests)
    assert isinstance(two, MemoisedModel)
    assert await two.loglikelihood(requests) == first and two.hits_here == 1
