"""Result callbacks from the worker: deliver what the store says is owed, off the job's lease.

Design (an outbox): the transaction that ends a job (succeeded, failed or cancelled) also sets
`jobs.callback_due_at` when the request has `callback.url`. Each worker poll claims owed callbacks (the
claim pushes `callback_due_at` forward by a delivery lease) and delivers each in a background task with
`service.callbacks.deliver_job_result` (retries with backoff, every attempt recorded), then clears it. So:
- the job's lease is long gone while a delivery retries, and the worker goes on running jobs;
- a worker that dies mid-delivery leaves the callback owed; any worker delivers it once the lease lapses
  (at least once: receivers dedupe on `evaluation_id`; the delivery id is per delivery);
- a worker that stops gracefully gives its deliveries back at once.
"""

from __future__ import annotations

import asyncio
import logging

from service.callbacks import deliver_job_result
from service.settings import Settings
from service.store import SqlJobStore

log = logging.getLogger(__name__)

MAX_CONCURRENT = 4
"""Deliveries one worker runs at once (each may spend minutes in backoff)."""
HTTP_TIMEOUT_S = 30.0
"""deliver()'s own per-attempt client timeout."""


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

    async def _deliver(self, job_id: str) -> None:
        try:
            result = await deliver_job_result(self.store, self.settings, job_id)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.end_callback(job_id, retry_now=True))
            raise
        except Exception:
            # Left owed: the lease lapses and a later poll tries again.
            log.exception("job %s: result callback failed; it stays owed", job_id)
            return
        await self.store.end_callback(job_id)
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
        """Cancel running deliveries; each gives its callback back to the queue."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
