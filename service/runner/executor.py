"""Where a job's checks run: the executor seam between the runner and the compute.

The runner prepares a job (pins, Hub datasets, models, the control) and hands each check to an executor;
the executor returns the check's outcome, which the runner stores as it always does. `LocalExecutor` runs
the check in this worker's event loop on the models it opened; `service.runner.ray_executor.RayExecutor`
sends it to a Ray cluster, which rebuilds the same context from a `CheckJob` in a Ray worker process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from evaluators.checks import CheckOutcome
from evaluators.registries.dataset_fetch import FetchedHubDataset
from schemas.requests import EvaluationRequest
from service.runner.control import JobControl


@dataclass(frozen=True)
class CheckJob:
    """One check of one job, with what another process needs to rebuild its context."""

    job_id: str
    name: str
    spec: Any
    request: EvaluationRequest
    """The request as pinned at submit (what the runner's context was built from)."""
    hub_datasets: Mapping[str, FetchedHubDataset] = field(default_factory=dict)
    """The job's Hub datasets, already in the shared cache."""


class CheckExecutor(Protocol):
    """Runs one check; raises what the local run raises (a stop, a deadline, an audit error)."""

    side_by_side: bool
    """Whether a job's checks may run at the same time (each on its own resources)."""

    async def run_check(self, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome: ...


class LocalExecutor:
    """The check runs here, on the models this worker opened for the job, one check after another."""

    side_by_side = False

    async def run_check(self, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome:
        from service.runner.local_check import run_check_here

        return await run_check_here(job.name, job.spec, ctx_base, control)


async def run_each(
    names: list[str], run_one: Callable[[str], Coroutine[Any, Any, None]], *, side_by_side: bool
) -> None:
    """`run_one` for each name in order, or all at once when `side_by_side`: then the first error cancels
    the others and is raised (checks that finished first stay saved)."""
    if not side_by_side or len(names) < 2:
        for name in names:
            await run_one(name)
        return
    tasks = [asyncio.create_task(run_one(name), name=f"check-{name}") for name in names]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
