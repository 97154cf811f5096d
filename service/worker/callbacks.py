"""Result callbacks from the worker: deliver what the store says is owed, off the job's lease.

Design (an outbox): the transaction that ends a job (succeeded, failed or cancelled) also sets
`jobs.callback_due_at` when the request has `callback.url`. Each worker poll claims owed callbacks (the
claim pushes `callback_due_at` forward by a delivery lease) and delivers each in a background task with
`service.callbacks.deliver_job_result` (retries with backoff, every attempt recorded), then clears it. So:
- the job's lease is long gone while a delivery retries, and the worker goes on running jobs;
- a worker that dies mid-delivery leaves the callback owed; any worker delivers it once the lease lapses
  (at least once: receivers dedupe on `evaluation_id`; the delivery id is per delivery);
- after a 2xx, recording the attempt and ending the callback wait for the store (a restart, a failover; up to
  `STORE_PATIENCE_S`) instead of leaving the callback owed, which would deliver it again after its lease;
- a worker that stops gracefully lets an attempt already sent get its answer (recorded, and the callback ended
  when it was a 2xx) and gives back the deliveries waiting to retry.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from service.callbacks import deliver_job_result
from service.callbacks.deliver import store_patiently
from service.settings import Settings
from service.store import SqlJobStore

log = logging.getLogger(__name__)

MAX_CONCURRENT = 4
"""Deliveries one worker runs at once (each may spend minutes in backoff)."""
HTTP_TIMEOUT_S = 30.0
"""deliver()'s own per-attempt client timeout."""
STOP_GRACE_S = 10.0
"""How long a stopping worker waits for attempts already sent; one still unanswered then is cut off and its
callback given back (delivered again later: receivers dedupe on `evaluation_id`)."""


class _Stopping(Exception):
    """Raised in a delivery's backoff when the worker stops: the callback goes back to the queue."""


def delivery_lease_s(settings: Settings) -> float:
    """Longer than one whole delivery can take (every attempt timing out, every backoff slept), so a
    live worker is never overtaken; a dead one's callbacks are due again after this."""
    n = settings.callback_max_attempts
    backoff = settings.callback_backoff_s * (2 ** (n - 1) - 1)
    return n * HTTP_TIMEOUT_S + backoff + 60.0


class CallbackSender:
    """The worker's background deliveries."""

    def __init__(self, store: SqlJobStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def poll(self) -> int:
        """Start deliveries of owed callbacks, up to MAX_CONCURRENT at once; returns how many started."""
        started = 0
        while len(self.tasks) < MAX_CONCURRENT:
            try:
                job_id = await self.store.claim_callback(delivery_lease_s(self.settings))
            except Exception:
                log.exception("claiming a result callback failed; retrying at the next poll")
                return started
            if job_id is None:
                break
            task = asyncio.create_task(self._deliver(job_id), name=f"callback-{job_id}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            started += 1
        return started

    async def _backoff(self, seconds: float) -> None:
        """The wait between attempts, cut short by `stop`."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
        raise _Stopping

    async def _deliver(self, job_id: str) -> None:
        try:
            result = await deliver_job_result(self.store, self.settings, job_id, sleep=self._backoff)
        except _Stopping:
            await self.store.end_callback(job_id, retry_now=True)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self.store.end_callback(job_id, retry_now=True))
            raise
        except Exception:
            # Left owed: the lease lapses and a later poll tries again.
            log.exception("job %s: result callback failed; it stays owed", job_id)
            return
        try:
            await store_patiently(partial(self.store.end_callback, job_id), f"job {job_id}: callback", self._backoff)
        except _Stopping:
            return  # stopping before the store took it: it stays owed, and is delivered again after its lease
        if result is not None:
            log.info(
                "job %s: callback %s after %d attempt(s)",
                job_id,
                "delivered" if result.delivered else f"gave up ({result.error})",
                result.attempts,
            )

    async def drain(self) -> None:
        """Deliver everything owed now, waiting for each delivery to end (for `--once`)."""
        await self.poll()
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
            await self.poll()

    async def stop(self) -> None:
        """Give back the deliveries waiting to retry; let attempts already sent finish, up to STOP_GRACE_S.

        Cancelling those at once lost their outcome: a callback whose 2xx had arrived while the store was
        being told stayed owed, and was delivered again once its lease lapsed (seen in CI)."""
        self._stopping.set()
        running = list(self.tasks)
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=STOP_GRACE_S)
        for task in late:  # an attempt still unanswered: cut off, its callback given back
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
