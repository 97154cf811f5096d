"""A running job's controls: the lease heartbeat, cancel and deadline flags, the batch hook, progress.

One heartbeat task per job renews the lease, polls the cancel flag from the database (the API is another
process) and flushes progress as a job event. The hook that backends call between batches only reads
these flags, so torch work stops at the next batch without touching the database itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

from schemas.errors import DeadlineExceededError, JobCancelledError
from service.store.api import ClaimedJob, JobStore
from service.store.claims import LeaseLostError

log = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL_S = 1.0
"""Progress events are written at most this often (a check may report every batch)."""


class WorkerShutdownError(Exception):
    """The worker is stopping (SIGTERM): the job goes back to the queue, not to `failed`."""


class JobControl:
    """Flags and the heartbeat of one claimed job."""

    def __init__(
        self,
        claimed: ClaimedJob,
        store: JobStore,
        worker_id: str,
        *,
        lease_s: float,
        heartbeat_s: float,
        shutdown: asyncio.Event | None = None,
    ) -> None:
        self.job_id = claimed.id
        self.store = store
        self.worker_id = worker_id
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        deadline_s = claimed.request.deadline_s
        # Counted from the first start: a resumed job does not get its time again.
        self.deadline_at = claimed.started_at + timedelta(seconds=deadline_s) if deadline_s is not None else None
        self.cancel_requested = False
        self.lease_lost = False
        self.shutdown = shutdown or asyncio.Event()
        self.stopping = asyncio.Event()
        """Set when the heartbeat sees a cancel or a lost lease (the hook raises at the next batch)."""
        self._progress: dict[str, object] = {}
        self._flushed: dict[str, object] = {}
        self._task: asyncio.Task[None] | None = None

    # --- the hook and its checks --------------------------------------------------------------------
    def seconds_left(self) -> float | None:
        if self.deadline_at is None:
            return None
        return (self.deadline_at - datetime.now(UTC)).total_seconds()

    def raise_if_stopped(self) -> None:
        """Raise what stops this job, if anything: lease lost, shutdown, cancel, deadline."""
        if self.lease_lost:
            raise LeaseLostError(f"job {self.job_id}: lease lost by worker {self.worker_id}")
        if self.shutdown.is_set():
            raise WorkerShutdownError(f"worker {self.worker_id} is stopping")
        if self.cancel_requested:
            raise JobCancelledError("the job was cancelled")
        left = self.seconds_left()
        if left is not None and left <= 0:
            raise DeadlineExceededError(f"the job ran past its deadline of {self._deadline_text()}")

    def _deadline_text(self) -> str:
        return f"{self.deadline_at:%Y-%m-%dT%H:%M:%SZ}" if self.deadline_at else "none"

    def hook(self, done: int) -> None:
        """The BatchHook passed to every backend call."""
        self.raise_if_stopped()

    async def wait_stopping(self) -> None:
        """Return once the job should stop: cancel, lost lease or worker shutdown."""
        waits = [asyncio.ensure_future(self.stopping.wait()), asyncio.ensure_future(self.shutdown.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def progress(self, check: str, done: int, total: int) -> None:
        self._progress = {"check": check, "done": int(done), "total": int(total)}

    # --- the heartbeat task ---------------------------------------------------------------------------
    async def __aenter__(self) -> JobControl:
        self._task = asyncio.create_task(self._run(), name=f"heartbeat-{self.job_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush_progress()

    async def _run(self) -> None:
        tick = min(self.heartbeat_s, PROGRESS_MIN_INTERVAL_S)
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            await asyncio.sleep(tick)
            try:
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.heartbeat_s
                    if not await self.store.heartbeat(self.job_id, self.worker_id, self.lease_s):
                        log.warning("job %s: lease lost; stopping at the next batch", self.job_id)
                        self.lease_lost = True
                        self.stopping.set()
                        return
                if not self.cancel_requested and await self.store.is_cancel_requested(self.job_id):
                    log.info("job %s: cancel requested; stopping at the next batch", self.job_id)
                    self.cancel_requested = True
                    self.stopping.set()
                await self.flush_progress()
            except Exception:
                # A database hiccup must not kill the heartbeat; the lease has slack for a retry.
                log.exception("job %s: heartbeat failed; retrying", self.job_id)

    async def flush_progress(self) -> None:
        progress = dict(self._progress)
        if self.lease_lost or not progress or progress == self._flushed:
            return
        self._flushed = progress
        await self.store.set_progress(self.job_id, self.worker_id, progress)
        await self.store.append_event(self.job_id, "progress", progress)
