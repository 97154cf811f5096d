"""The fetched-model cache on a real file system: one download per snapshot however many ask (threads of one
process, other processes, PostgreSQL-locked caches), a budget kept with LRU eviction that never takes a
snapshot in use, and downloads that resume after an interruption."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from pathlib import Path

import pytest

from evaluators.registries.cache import Download, ModelCache, Snapshot, snapshot_complete
from schemas.errors import CacheFullError, ModelTooLargeError
from service.store import SqlJobStore

KB = 1024


def _write(destination: Path, size: int, fill: bytes = b"\1") -> None:
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "model.safetensors").write_bytes(fill * size)


def _writer(size: int, calls: list[str], name: str = "w", delay: float = 0.0) -> Download:
    async def download(destination: Path) -> None:
        calls.append(name)
        await asyncio.sleep(delay)
        await asyncio.to_thread(_write, destination, size)

    return download


async def _fetch(cache: ModelCache, key: str, size: int, calls: list[str], delay: float = 0.0) -> Snapshot:
    return await cache.fetch(key, size, _writer(size, calls, key, delay), source={"key": key})


async def test_a_snapshot_downloads_once_for_concurrent_askers(tmp_path: Path) -> None:
    caches = [ModelCache(tmp_path, 100 * KB) for _ in range(3)]  # three workers, one cache directory
    calls: list[str] = []
    snapshots = await asyncio.gather(*(_fetch(c, "m", 10 * KB, calls, delay=0.2) for c in caches))
    assert calls == ["m"]
    assert {s.path for s in snapshots} == {tmp_path / "snapshots" / "m" / "files"}
    assert all((s.path / "model.safetensors").stat().st_size == 10 * KB for s in snapshots)
    for s in snapshots:
        s.release()


def _note_download(marker: Path) -> None:
    with marker.open("a") as out:  # one line per download, whichever process makes it
        out.write(f"{os.getpid()}\n")


def _fetch_in_process(root: str, marker: str) -> None:
    async def run() -> None:
        async def download(destination: Path) -> None:
            await asyncio.to_thread(_note_download, Path(marker))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(_write, destination, KB, b"\2")

        snapshot = await ModelCache(Path(root), 100 * KB).fetch("shared", KB, download, source={})
        snapshot.release()

    asyncio.run(run())


def test_processes_share_one_download(tmp_path: Path) -> None:
    marker = tmp_path / "downloads.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_fetch_in_process, args=(str(tmp_path / "cache"), str(marker))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(marker.read_text().splitlines()) == 1
    assert snapshot_complete(tmp_path / "cache", "shared")


@pytest.mark.postgres
async def test_a_database_lock_serialises_downloads_across_machines(tmp_path: Path, pg_store: SqlJobStore) -> None:
    # Two caches on one shared volume, locked through PostgreSQL as workers on two machines are.
    other = SqlJobStore(pg_store.url)
    try:
        caches = [ModelCache(tmp_path, 100 * KB, lock=s.advisory_lock) for s in (pg_store, other)]
        calls: list[str] = []
        snapshots = await asyncio.gather(*(_fetch(c, "m", KB, calls, delay=0.3) for c in caches))
        assert calls == ["m"]
        for s in snapshots:
            s.release()
    finally:
        await other.close()


async def test_the_budget_evicts_least_recently_used_snapshots_not_in_use(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path, 30 * KB, room_wait_s=0.0)
    calls: list[str] = []
    for key in ("a", "b", "c"):
        (await _fetch(cache, key, 10 * KB, calls)).release()
        await asyncio.sleep(0.02)  # distinct last-use times
    used_a = await _fetch(cache, "a", 10 * KB, calls)  # a is used again (and stays pinned): b is now the oldest
    (await _fetch(cache, "d", 10 * KB, calls)).release()
    assert calls == ["a", "b", "c", "d"]  # a was not downloaded again
    assert not snapshot_complete(tmp_path, "b") and all(snapshot_complete(tmp_path, k) for k in "acd")
    assert cache.used_bytes() <= cache.budget_bytes
    (await _fetch(cache, "e", 10 * KB, calls)).release()  # c goes; a is pinned, so it stays
    assert snapshot_complete(tmp_path, "a") and not snapshot_complete(tmp_path, "c")
    used_a.release()
    assert cache.used_bytes() <= cache.budget_bytes


async def test_too_large_and_full_are_clear_errors(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path, 20 * KB, room_wait_s=0.2)
    calls: list[str] = []
    with pytest.raises(ModelTooLargeError, match="more than the whole model cache"):
        await _fetch(cache, "huge", 21 * KB, calls)
    pinned = [await _fetch(cache, k, 10 * KB, calls) for k in ("x", "y")]
    with pytest.raises(CacheFullError, match="in use"):
        await _fetch(cache, "z", 10 * KB, calls)
    assert "huge" not in calls and "z" not in calls
    for s in pinned:
        s.release()
    (await _fetch(cache, "z", 10 * KB, calls)).release()  # released: room is made
    assert cache.used_bytes() <= 20 * KB


async def test_an_interrupted_download_resumes(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path, 100 * KB)
    seen: list[int] = []

    def append_half(destination: Path) -> int:
        destination.mkdir(parents=True, exist_ok=True)
        part = destination / "model.safetensors"
        seen.append(part.stat().st_size if part.exists() else 0)
        with part.open("ab") as out:
            out.write(b"\3" * (5 * KB))
        return part.stat().st_size

    async def flaky(destination: Path) -> None:
        if await asyncio.to_thread(append_half, destination) < 10 * KB:
            raise ConnectionError("the connection dropped half-way")

    with pytest.raises(ConnectionError):
        await cache.fetch("r", 10 * KB, flaky, source={})
    assert not snapshot_complete(tmp_path, "r")
    snapshot = await cache.fetch("r", 10 * KB, flaky, source={})
    assert seen == [0, 5 * KB]  # the second attempt found the first half on disk
    assert (snapshot.path / "model.safetensors").stat().st_size == 10 * KB and snapshot.bytes == 10 * KB
    snapshot.release()
