"""Where a job's checks run: the executor seam between the runner and the compute.

The runner prepares a job (pins, Hub datasets, models, the control) and hands each check to an executor;
the executor returns the check's outcome, which the runner stores as it always does. `LocalExecutor` runs
the check in this worker's event loop on the models it opened; `service.runner.ray_executor.RayExecutor`
sends it to a Ray cluster, which rebuilds the same context from a `CheckJob` in a Ray worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    async def run_check(self, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome: ...


class LocalExecutor:
    """The check runs here, on the models this worker opened for the job."""

    async def run_check(self, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome:
        from service.runner.local_check import run_check_here

        return await run_check_here(job.name, job.spec, ctx_base, control)
