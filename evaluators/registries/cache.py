"""The shared cache of fetched models: one directory per pinned snapshot, a byte budget, LRU eviction.

    root/snapshots/<key>/files/...   the checkpoint as fetched (a download in progress resumes here)
    root/snapshots/<key>/COMPLETE    written last: {key, bytes, source}; its mtime is the last use
    root/snapshots/<key>/.inuse      held with a shared lock by every job using the snapshot
    root/locks/<key>.lock            the download lock when no database lock is given (one machine)

A snapshot is fetched once however many workers ask: the download runs under a per-key lock (a PostgreSQL
advisory lock across machines, or a file lock here), and whoever gets the lock second finds it complete.
Eviction takes the least recently used complete snapshots whose `.inuse` lock it can take exclusively, so a
snapshot a running job holds is never removed; a model larger than the whole budget is refused at once. The
operating system drops the locks of a process that dies, so nothing stays pinned or locked after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import CacheFullError, ModelTooLargeError

DownloadLock = Callable[[str], AbstractAsyncContextManager[None]]
"""A lock per snapshot key, held while it downloads (see `ModelCache.file_lock` and the store's advisory lock)."""
Download = Callable[[Path], Awaitable[None]]
"""Fetches a snapshot's files into the given directory (resuming what an interrupted attempt left there)."""

COMPLETE = "COMPLETE"
IN_USE = ".inuse"
ROOM_WAIT_S = 300.0
"""How long a fetch waits for snapshots in use to be released before it gives up with `cache_full`."""


@dataclass
class Snapshot:
    """A complete snapshot pinned for one job: its files stay until `release()`."""

    key: str
    path: Path
    bytes: int
    _pin: int | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._pin is not None:
            os.close(self._pin)  # closing the descriptor drops its shared lock
            self._pin = None


class ModelCache:
    """Fetched models under `root`, at most `budget_bytes` in all."""

    def __init__(
        self, root: Path, budget_bytes: int, lock: DownloadLock | None = None, *, room_wait_s: float = ROOM_WAIT_S
    ) -> None:
        self.root = root
        self.budget_bytes = budget_bytes
        self.room_wait_s = room_wait_s
        self._lock = lock or self.file_lock
        (root / "snapshots").mkdir(parents=True, exist_ok=True)
        (root / "locks").mkdir(parents=True, exist_ok=True)

    # --- fetching ------------------------------------------------------------------------------------------
    async def fetch(self, key: str, size_bytes: int, download: Download, *, source: dict[str, Any]) -> Snapshot:
        """The snapshot `key` pinned for the caller, downloaded first when it is not complete here.

        `size_bytes`: what the download will occupy (from the registry's listing), so room is made before it
        starts. ModelTooLargeError when it exceeds the whole budget; CacheFullError when snapshots in use hold
        the room it needs for longer than ROOM_WAIT_S."""
        if size_bytes > self.budget_bytes:
            raise ModelTooLargeError(
                f"the model's files take {size_bytes:,} bytes, more than the whole model cache "
                f"(UNLEARN_AUDIT_CACHE_MAX_BYTES={self.budget_bytes:,})"
            )
        directory = self.root / "snapshots" / key
        async with self._lock(key):
            pin = await asyncio.to_thread(self._pin, directory)
            try:
                if not (directory / COMPLETE).exists():
                    resumed = await asyncio.to_thread(_tree_bytes, directory / "files")  # already on disk
                    await self._make_room(max(0, size_bytes - resumed), keep=key)
                    await download(directory / "files")
                    on_disk = await asyncio.to_thread(_tree_bytes, directory / "files")
                    _write_atomic(directory / COMPLETE, {"key": key, "bytes": on_disk, "source": source})
                marker = directory / COMPLETE
                os.utime(marker)  # the last use, for LRU
                stored = json.loads(marker.read_text())
            except BaseException:
                os.close(pin)
                raise
        return Snapshot(key=key, path=directory / "files", bytes=int(stored["bytes"]), _pin=pin)

    def _pin(self, directory: Path) -> int:
        """A shared lock on the snapshot's `.inuse`, taken on the directory that is really there (an eviction
        may have moved it away between open and lock: then take it again on the new one)."""
        while True:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / IN_USE
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    # --- room and eviction -----------------------------------------------------------------------------------
    def used_bytes(self) -> int:
        """Bytes the cache holds now: complete snapshots as recorded, downloads in progress as found."""
        total = 0
        for directory in (self.root / "snapshots").iterdir():
            marker = directory / COMPLETE
            total += int(json.loads(marker.read_text())["bytes"]) if marker.exists() else _tree_bytes(directory)
        return total

    async def _make_room(self, size_bytes: int, *, keep: str) -> None:
        deadline = time.monotonic() + self.room_wait_s
        while True:
            held = await asyncio.to_thread(self._evict_until, self.budget_bytes - size_bytes, keep)
            if held is None:
                return
            if time.monotonic() >= deadline:
                raise CacheFullError(
                    f"the model cache cannot make room for {size_bytes:,} bytes: snapshots in use by running "
                    f"jobs hold {held:,} of its {self.budget_bytes:,} bytes; retry when they end"
                )
            await asyncio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))

    def _evict_until(self, target_bytes: int, keep: str) -> int | None:
        """Evict least recently used snapshots not in use until the cache holds at most `target_bytes`;
        None when it does, else the bytes the snapshots in use (and `keep`) still hold."""
        used = self.used_bytes()
        if used <= target_bytes:
            return None
        for directory in self._complete_oldest_first():
            if directory.name == keep:
                continue
            freed = self._evict(directory)
            used -= freed
            if used <= target_bytes:
                return None
        return used

    def _complete_oldest_first(self) -> list[Path]:
        complete = [d for d in (self.root / "snapshots").iterdir() if (d / COMPLETE).exists()]
        return sorted(complete, key=lambda d: (d / COMPLETE).stat().st_mtime)

    def _evict(self, directory: Path) -> int:
        """Remove one snapshot unless a job holds it; the bytes freed (0 when it is in use)."""
        fd = os.open(directory / IN_USE, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            freed = int(json.loads((directory / COMPLETE).read_text())["bytes"])
            # Moved away under the exclusive lock, then removed: a pinning fetch sees the move and retries.
            trash = self.root / f"evicted-{uuid.uuid4().hex}"
            directory.rename(trash)
        finally:
            os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
        return freed

    # --- the default download lock (one machine) ----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def file_lock(self, key: str) -> AsyncIterator[None]:
        """An exclusive lock on `locks/<key>.lock` for the download of `key` (processes of one machine)."""
        fd = os.open(self.root / "locks" / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def snapshot_complete(root: Path, key: str) -> bool:
    """Whether the cache under `root` holds the complete snapshot `key` (no lock taken: a hint, not a pin)."""
    return (root / "snapshots" / key / COMPLETE).exists()


def _tree_bytes(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)
