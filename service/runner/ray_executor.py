"""The Ray executor: each check of a job runs as a Ray task, sized from the job's models.

The claiming worker keeps everything it does with the local executor (the claim, the lease and its
heartbeats, resuming from stored checks, storing each outcome, the scorecard); only the checks' compute
moves to the cluster (`service.runner.ray_process`). A check with independent units (the forget check) is
orchestrated here and each of its units is a task of its own (`service.runner.ray_units`). A task whose Ray
worker process or node dies is retried by Ray (`MAX_RETRIES`); a cancelled job, a shutdown or a passed
deadline cancels the tasks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from evaluators.checks import CheckOutcome, get_check
from schemas.errors import DeadlineExceededError
from service.runner.control import JobControl
from service.runner.executor import CheckJob, LocalExecutor
from service.runner.ray_resources import check_resources
from service.settings import Settings

log = logging.getLogger(__name__)

MAX_RETRIES = 3
"""Times Ray reruns a check whose worker process or node died (not one that raised)."""

CANCEL_GRACE_S = 10.0
"""After `ray.cancel`, how long the task may take to stop before its process is killed."""


def import_ray() -> Any:
    """The `ray` module, or a clear error when the optional extra is missing."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("the Ray executor needs ray: pip install 'unlearn-audit[ray]'") from exc
    return ray


class RayExecutor:
    """Runs checks on the Ray cluster at `settings.ray_address` (else RAY_ADDRESS, else a local Ray); a job's
    checks run side by side, each as its own task."""

    side_by_side = True

    def __init__(self, settings: Settings, *, init_options: dict[str, Any] | None = None) -> None:
        self._settings_data = settings.model_dump()
        self._address = settings.ray_address
        self._init_options = init_options or {}
        self._task: Any = None
        self._connecting = threading.Lock()  # a job's checks start side by side: one of them connects

    def _connect(self) -> Any:
        with self._connecting:
            return self._connect_once()

    def _connect_once(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            address = self._address or os.environ.get("RAY_ADDRESS") or None
            options: dict[str, Any] = {} if address and address.startswith("ray://") else {"log_to_driver": False}
            if address is None:  # a Ray started here, for one machine
                options["include_dashboard"] = False
            ray.init(address=address, **options, **self._init_options)
        if self._task is None:
            from service.runner.ray_process import run_check_task

            self._task = ray.remote(run_check_task)
        return ray

    async def run_check(self, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome:
        """Run `job` as a Ray task and return its outcome; stops and errors as the local executor's."""
        check = get_check(job.name)
        if check is None:
            return await LocalExecutor().run_check(job, ctx_base, control)
        ray = await asyncio.to_thread(self._connect)
        if hasattr(check, "run_unit"):
            return await self._run_units(ray, job, ctx_base, control)
        options = self._resources(ray, job, ctx_base, trains=job.name == "forget")
        left = control.seconds_left()
        deadline_at = time.time() + left if left is not None else None
        began = time.monotonic()
        ref = self._task.options(**options, max_retries=MAX_RETRIES, name=f"check-{job.name}-{job.job_id}").remote(
            self._settings_data, job, deadline_at
        )
        log.info("job %s: check %s sent to Ray (%s)", job.job_id, job.name, options)
        result = asyncio.wrap_future(ref.future())
        stopper = asyncio.create_task(control.wait_stopping(), name=f"stop-{job.name}")
        try:
            timeout = max(left, 0.0) if left is not None else None
            done, _ = await asyncio.wait({result, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if result not in done:
                await _cancel(ray, ref, result)
                control.raise_if_stopped()
                raise DeadlineExceededError("the job ran past its deadline")
            remote = result.result()
        except asyncio.CancelledError:  # another check of the job failed, or the worker is stopping
            ray.cancel(ref)
            raise
        finally:
            if not stopper.done():
                stopper.cancel()
                await asyncio.gather(stopper, return_exceptions=True)
        if remote.error is not None:
            raise remote.error
        outcome: CheckOutcome = remote.outcome
        outcome.result.duration_s = round(time.monotonic() - began, 3)
        return outcome

    async def _run_units(self, ray: Any, job: CheckJob, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome:
        """Orchestrate the check here, on the models this worker opened, with each unit a Ray task (see
        `service.runner.ray_units`); stops and the deadline as the local executor's."""
        from service.runner.local_check import run_check_here
        from service.runner.ray_units import RayUnitRunner

        left = control.seconds_left()
        deadline_at = time.time() + left if left is not None else None

        def resources(unit: Any) -> dict[str, float]:
            return self._resources(ray, job, ctx_base, trains=bool(getattr(unit, "trains", True)))

        runner = RayUnitRunner(ray, self._settings_data, job, deadline_at, resources)
        try:
            return await run_check_here(job.name, job.spec, {**ctx_base, "run_units": runner}, control)
        finally:
            if runner.ran:
                log.info("job %s: check %s ran its units as Ray tasks: %s", job.job_id, job.name, ", ".join(runner.ran))

    @staticmethod
    def _resources(ray: Any, job: CheckJob, ctx_base: dict[str, Any], *, trains: bool) -> dict[str, float]:
        """A task's options by the job's models (`service.runner.ray_resources`); `trains`: it fine-tunes or
        quantizes copies (the forget check's relearning and quantization attacks)."""
        relearning = getattr(job.spec, "relearning", None)
        return check_resources(
            (ctx_base.get(r) for r in ("target", "baseline", "reference")),
            float(ray.cluster_resources().get("GPU", 0)),
            trains=trains,
            lora_above_params=getattr(relearning, "lora_above_params", None),
        )


async def _cancel(ray: Any, ref: Any, result: asyncio.Future[Any]) -> None:
    """Cancel a running task: interrupt it, then kill its process if it has not stopped in CANCEL_GRACE_S."""
    ray.cancel(ref)
    done, _ = await asyncio.wait({result}, timeout=CANCEL_GRACE_S)
    if not done:
        ray.cancel(ref, force=True)
    result.cancel()
    await asyncio.gather(result, return_exceptions=True)
