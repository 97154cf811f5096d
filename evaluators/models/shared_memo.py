"""A result memo on disk, shared by the local worker processes that one command starts.

Alone, a worker keeps its baseline's results in memory (`ResultMemo`). Started beside others by one `serve
--workers N` or `worker --workers N`, the workers share a private directory instead, so a baseline scored by
one of them is not scored again by the next one that audits a candidate against it, and two that start
together on one baseline score it once: a worker about to compute an entry holds an exclusive `flock` on
`<key>.lock`; another that wants the entry meanwhile waits (polling, so a cancelled job stops waiting at
once), then reads it. The OS releases a dead worker's lock; a failed computation stores nothing and the
waiter computes it itself. An entry is one pickle, `<key>.pickle`, written to a temporary name and renamed
into place, so a reader sees a whole entry or none. Entries are bounded by count and bytes, the least
recently read or written removed first.

The workers of one command run the same code with the same torch threads on one machine, so an entry one
of them computed is one another could have computed itself. The directory is created private (0700)
and lives as long as the command (`owned_directory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from evaluators.models.memo import ResultMemo

log = logging.getLogger(__name__)

T = TypeVar("T")

_ENTRY = ".pickle"
_MISSING = object()


class SharedResultMemo(ResultMemo):
    """`ResultMemo` whose entries live in `directory`, shared with the other processes that open it."""

    def __init__(
        self, directory: Path, max_entries: int = 512, max_bytes: int = 4 * 2**30, poll_s: float = 0.05
    ) -> None:
        super().__init__(max_entries)
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.poll_s = poll_s

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        entry = self.directory / (key + _ENTRY)
        value = await asyncio.to_thread(_read, entry)
        if value is _MISSING:
            async with self._computing(key):
                value = await asyncio.to_thread(_read, entry)  # another worker may have finished it meanwhile
                if value is _MISSING:
                    self.misses += 1
                    computed = await compute()  # an exception (a cancelled job) stores nothing
                    await asyncio.to_thread(self._write, entry, computed)
                    return computed
        self.hits += 1
        return cast(T, value)

    @contextlib.asynccontextmanager
    async def _computing(self, key: str) -> AsyncIterator[None]:
        """Hold `<key>.lock` exclusively: whoever holds it is computing the entry."""
        path = self.directory / f"{key}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # the directory is gone or full: compute unshared rather than fail the job
            log.warning("result memo: no lock for %s (%s); computing it unshared", key, exc)
            yield
            return
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(self.poll_s)
            try:
                yield
            finally:
                # Unlinked while held: a waiter on this file finds the entry once it gets the lock; a newcomer
                # reads the entry or, when the computation failed, makes a new lock file (at worst two workers
                # compute the same entry, never a wrong one).
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:
            os.close(fd)  # releases the lock

    def _write(self, entry: Path, value: Any) -> None:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.warning("result memo: %s not stored (%s)", entry.name, exc)
            return
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, entry)
        except OSError as exc:  # a full disk loses the entry, not the job
            log.warning("result memo: %s not stored (%s)", entry.name, exc)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return
        self._evict()

    def _evict(self) -> None:
        """Remove the least recently used entries until count and bytes are within bounds."""
        entries = []
        for path in self.directory.glob("*" + _ENTRY):
            with contextlib.suppress(FileNotFoundError):  # another worker evicted it meanwhile
                stat = path.stat()
                entries.append((stat.st_mtime_ns, stat.st_size, path))
        entries.sort()
        count, size = len(entries), sum(e[1] for e in entries)
        for _, bytes_, path in entries:
            if count <= self.max_entries and size <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            count, size = count - 1, size - bytes_

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*" + _ENTRY))


def _read(entry: Path) -> Any:
    """The entry's value (its time touched, for the LRU order), or `_MISSING`."""
    try:
        with entry.open("rb") as src:
            value = pickle.load(src)
    except FileNotFoundError:
        return _MISSING
    except (OSError, EOFError, pickle.UnpicklingError) as exc:  # not with renamed-in entries; compute it again
        log.warning("result memo: %s unreadable (%s); computing it again", entry.name, exc)
        return _MISSING
    with contextlib.suppress(FileNotFoundError):
        os.utime(entry)
    return value


_OWNER = ".owner"


@contextlib.contextmanager
def owned_directory(parent: Path) -> Iterator[Path]:
    """A new private directory under `parent` for one command's shared memo, removed when the command ends.

    The command holds a lock on the directory's `.owner` file while it runs; directories whose lock nobody
    holds (left by a command that was killed) are removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.iterdir():
        _remove_unowned(stale)
    path = Path(tempfile.mkdtemp(prefix="memo-", dir=parent))
    fd = os.open(path / _OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _remove_unowned(path: Path) -> None:
    if not path.is_dir() or not path.name.startswith("memo-"):
        return
    try:
        fd = os.open(path / _OWNER, os.O_RDWR)
    except FileNotFoundError:
        return  # being created right now (mkdtemp comes before the owner file) or not ours
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # a running command's
    finally:
        os.close(fd)
    log.info("result memo: removing %s, left by a command that did not stop cleanly", path)
    shutil.rmtree(path, ignore_errors=True)
