"""A check's independent units as Ray tasks, sent and gathered by the claiming worker.

A check with units (the forget check: see `evaluators.checks.forget.units`) runs its orchestration in the
claiming worker, on the models it opened for the job, with `RayUnitRunner` as its `run_units`: every unit is a
Ray task of its own with the check's resource request for that unit (`service.runner.ray_resources`), which
rebuilds the check's context from the same `CheckJob` in whichever Ray worker process runs it, on that process's
models and memo (`service.runner.ray_process.run_unit_task`). The runner gathers the results in the units' order,
so the check adds them as it does in one process.

The orchestration holds no Ray resources while its units run: a check task that waited for them would keep its
GPU (Ray lends a waiting task's CPU, never its GPU) and, on a one-GPU cluster or with every GPU held by waiting
checks, its units could never start. A cancel, a shutdown or the deadline cancels the orchestration, which
cancels the units' tasks (forced after `CANCEL_GRACE_S`); a unit past the job's deadline also stops at its next
batch by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.errors import AuditError
from service.runner.executor import CheckJob

log = logging.getLogger(__name__)


@dataclass
class RemoteUnit:
    """What a unit task returns: the unit's result or the audit error that ended it, and where it ran."""

    label: str
    pid: int
    value: Any = None
    error: AuditError | None = None


def unit_label(unit: Any) -> str:
    return str(getattr(unit, "label", type(unit).__name__))


class RayUnitRunner:
    """`CheckContext.run_units` of a check orchestrated by the claiming worker (see the module)."""

    def __init__(
        self,
        ray: Any,
        settings_data: dict[str, Any],
        job: CheckJob,
        deadline_at: float | None,
        resources: Callable[[Any], dict[str, float]],
    ) -> None:
        from service.runner.ray_process import run_unit_task

        self._ray = ray
        self._task = ray.remote(run_unit_task)
        self._settings_data = settings_data
        self._job = job
        self._deadline_at = deadline_at
        self._resources = resources
        self.ran: list[str] = []
        """Each unit that ran, as `label@pid` (the Ray worker process it ran in), in the units' order."""

    async def __call__(self, check: str, units: Sequence[Any], done: Callable[[int], None]) -> list[Any]:
        from service.runner.ray_executor import MAX_RETRIES

        refs = [
            self._task.options(
                **self._resources(unit),
                max_retries=MAX_RETRIES,
                name=f"unit-{check}-{unit_label(unit)}-{self._job.job_id}",
            ).remote(self._settings_data, self._job, unit, self._deadline_at)
            for unit in units
        ]
        futures = [asyncio.wrap_future(ref.future()) for ref in refs]
        replies: list[RemoteUnit] = []
        try:
            for i, future in enumerate(futures):
                replies.append(await future)
                done(i)
        except BaseException:  # cancelled, or a unit's task failed: the others stop too
            await asyncio.shield(self._cancel(refs, futures))
            raise
        self.ran += [f"{reply.label}@{reply.pid}" for reply in replies]
        for reply in replies:
            if reply.error is not None:
                raise reply.error
        return [reply.value for reply in replies]

    async def _cancel(self, refs: list[Any], futures: list[asyncio.Future[Any]]) -> None:
        """Interrupt the units' tasks, then kill the processes of those not stopped within the grace."""
        from service.runner.ray_executor import CANCEL_GRACE_S

        for ref in refs:
            self._ray.cancel(ref)
        _, pending = await asyncio.wait(futures, timeout=CANCEL_GRACE_S)
        for ref, future in zip(refs, futures, strict=True):
            if future in pending:
                self._ray.cancel(ref, force=True)
                future.cancel()
        await asyncio.gather(*futures, return_exceptions=True)
        log.info("job %s: %d unit tasks cancelled (%d forced)", self._job.job_id, len(refs), len(pending))
