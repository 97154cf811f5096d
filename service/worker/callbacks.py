"""Result callbacks and registry write-backs from the worker: deliver what the store says is owed, off the
job's lease.

Design (an outbox): the transaction that ends a job (succeeded, failed or cancelled) also sets
`jobs.callback_due_at` when the request has `callback.url`, and `jobs.writeback_due_at` when the job writes
its result back to a registry. Each worker poll claims what is owed (the claim pushes the due time forward
by a delivery lease) and delivers each in a background task (`service.callbacks.deliver_job_result`,
`service.writeback.write_back`: retries with backoff, every attempt recorded), then clears it. So:
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
from service.callbacks.deliver import DeliveryResult, Sleep, store_patiently
from service.settings import Settings
from service.store import SqlJobStore
from service.store.api import Outbox
from service.writeback import write_back

log = logging.getLogger(__name__)

MAX_CONCURRENT = 4
"""Deliveries one worker runs at once (each may spend minutes in backoff)."""
HTTP_TIMEOUT_S = 30.0
"""deliver()'s own per-attempt client timeout."""
ATTEMPT_S: dict[str, float] = {"callback": HTTP_TIMEOUT_S, "writeback": 300.0}
"""The longest one attempt takes: a callback's one POST; a write-back's tags, comment and model-card PR."""
STOP_GRACE_S = 10.0
"""How long a stopping worker waits for attempts already sent; one still unanswered then is cut off and its
callback given back (delivered again later: receivers dedupe on `evaluation_id`)."""


class _Stopping(Exception):
    """Raised in a delivery's backoff when the worker stops: the callback goes back to the queue."""


def delivery_lease_s(settings: Settings, outbox: Outbox = "callback") -> float:
    """Longer than one whole delivery can take (every attempt timing out, every backoff slept), so a
    live worker is never overtaken; a dead one's deliveries are due again after this."""
    n = settings.callback_max_attempts
    backoff = settings.callback_backoff_s * (2 ** (n - 1) - 1)
    return n * ATTEMPT_S[outbox] + backoff + 60.0


async def _deliver(
    outbox: Outbox, store: SqlJobStore, settings: Settings, job_id: str, sleep: Sleep
) -> DeliveryResult | None:
    if outbox == "writeback":
        return await write_back(store, settings, job_id, sleep=sleep)
    return await deliver_job_result(store, settings, job_id, sleep=sleep)


class OutboxSender:
    """The worker's background deliveries of one outbox: result callbacks, or registry write-backs."""

    def __init__(self, store: SqlJobStore, settings: Settings, outbox: Outbox = "callback") -> None:
        self.store = store
        self.settings = settings
        self.outbox: Outbox = outbox
        self.tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def poll(self) -> int:
        """Start owed deliveries, up to MAX_CONCURRENT at once; returns how many started."""
        started = 0
        while len(self.tasks) < MAX_CONCURRENT:
            try:
                job_id = await self.store.claim_due(self.outbox, delivery_lease_s(self.settings, self.outbox))
            except Exception:
                log.exception("claiming an owed %s failed; retrying at the next poll", self.outbox)
                return started
            if job_id is None:
                break
            task = asyncio.create_task(self._deliver(job_id), name=f"{self.outbox}-{job_id}")
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
        outbox = self.outbox
        try:
            result = await _deliver(outbox, self.store, self.settings, job_id, self._backoff)
        except _Stopping:
            await self.store.end_due(outbox, job_id, retry_now=True)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self.store.end_due(outbox, job_id, retry_now=True))
            raise
        except Exception:
            # Left owed: the lease lapses and a later poll tries again.
            log.exception("job %s: %s failed; it stays owed", job_id, outbox)
            return
        try:
            await store_patiently(partial(self.store.end_due, outbox, job_id), f"job {job_id}: {outbox}", self._backoff)
        except _Stopping:
            return  # stopping before the store took it: it stays owed, and is delivered again after its lease
        if result is not None:
            log.info(
                "job %s: %s %s after %d attempt(s)",
                job_id,
                outbox,
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
