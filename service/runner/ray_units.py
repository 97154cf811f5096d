"""A check's independent units as Ray tasks: the unit runner a check gets in a Ray worker process.

A check that runs as a Ray task (`service.runner.ray_process`) hands its independent units (the forget check's
white-box attacks per role) to `RayUnitRunner`, which submits each as its own task with the check's resource
request for that unit (`service.runner.ray_resources`). Each unit task rebuilds the check's context from the
same `CheckJob` in whichever Ray worker process runs it, on that process's models and memo, and returns the
unit's result; the runner gathers them in the units' order, so the check adds them as it does in one process.

The check's task waits for its units in `ray.get` on its own main thread (`MainThreadGets`): Ray lends a task's
CPU to others only while the task blocks there, so a cluster with one free CPU still runs the units. A cancel
(`ray.cancel` of the check's task) interrupts that wait and cancels the units; a unit past the job's deadline
stops at its next batch, as the check would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.errors import AuditError
from service.runner.executor import CheckJob
from service.runner.ray_executor import MAX_RETRIES, import_ray


@dataclass
class RemoteUnit:
    """What a unit task returns: the unit's result or the audit error that ended it, and where it ran."""

    label: str
    pid: int
    value: Any = None
    error: AuditError | None = None


class MainThreadGets:
    """`ray.get` calls that a check's coroutines (on the process's loop thread) hand to the task's main thread."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[list[Any], concurrent.futures.Future[list[Any]]] | None] = (
            queue.SimpleQueue()
        )

    async def get(self, refs: list[Any]) -> list[Any]:
        """The values of `refs`, fetched on the main thread."""
        reply: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()
        self._requests.put((refs, reply))
        return await asyncio.wrap_future(reply)

    def finish(self) -> None:
        """The check is over: `serve` returns."""
        self._requests.put(None)

    def serve(self) -> None:
        """On the task's main thread: answer `get`s until `finish`. An interrupt (`ray.cancel`) cancels the
        tasks being waited for and is raised."""
        ray = None
        while (request := self._requests.get()) is not None:
            refs, reply = request
            if not reply.set_running_or_notify_cancel():
                continue
            ray = ray or import_ray()
            try:
                reply.set_result(ray.get(refs))
            except Exception as exc:  # a unit's task failed: the check sees the error as it would locally
                reply.set_exception(exc)
            except BaseException:
                for ref in refs:
                    ray.cancel(ref)
                raise


def unit_label(unit: Any) -> str:
    return str(getattr(unit, "label", type(unit).__name__))


class RayUnitRunner:
    """`CheckContext.run_units` in a check's Ray task: each unit a task, gathered in order (see the module)."""

    def __init__(
        self,
        settings_data: dict[str, Any],
        job: CheckJob,
        deadline_at: float | None,
        resources: Callable[[Any], dict[str, float]],
        gets: MainThreadGets,
    ) -> None:
        self._settings_data = settings_data
        self._job = job
        self._deadline_at = deadline_at
        self._resources = resources
        self._gets = gets
        self.ran: list[str] = []
        """Each unit that ran, as `label@pid` (the Ray worker process it ran in), in the units' order."""

    async def __call__(self, check: str, units: Sequence[Any], done: Callable[[int], None]) -> list[Any]:
        from service.runner.ray_process import run_unit_task

        ray = import_ray()
        task = ray.remote(run_unit_task)
        refs = [
            task.options(
                **self._resources(unit),
                max_retries=MAX_RETRIES,
                name=f"unit-{check}-{unit_label(unit)}-{self._job.job_id}",
            ).remote(self._settings_data, self._job, unit, self._deadline_at)
            for unit in units
        ]
        replies: list[RemoteUnit] = await self._gets.get(refs)
        for i, reply in enumerate(replies):
            self.ran.append(f"{reply.label}@{reply.pid}")
            done(i)
        for reply in replies:
            if reply.error is not None:
                raise reply.error
        return [reply.value for reply in replies]
