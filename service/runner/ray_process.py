"""A check run inside a Ray worker process: the context rebuilt from a `CheckJob`, on this process's models.

Ray reuses a worker process for many tasks, so each process keeps, per worker settings, what a local
worker keeps across jobs: the backends' opener (its checkpoint cache loads each model's weights once) and
the result memo (the same fingerprint rule: only models whose fingerprint is their weights' sha256 are
memoised). Its coroutines run on one event loop that lives as long as the process, because the backends'
locks belong to the loop that first used them. A check runs here whole (`run_check_task`), or, for a check with
independent units, each unit runs here as a task of its own on a context rebuilt from the same job
(`run_unit_task`; `service.runner.ray_units`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from evaluators.checks import CheckContext, CheckOutcome, get_check, not_implemented
from evaluators.models.memo import ResultMemo, memoised
from evaluators.models.protocol import Capability, LanguageModel
from schemas.errors import AuditError, DeadlineExceededError, JobCancelledError, UnsupportedCapabilityError
from schemas.policy import resolve_policy
from service.runner.executor import CheckJob
from service.runner.local_check import unsupported_outcome
from service.runner.models import ModelPool
from service.runner.ray_units import RemoteUnit, unit_label
from service.runner.resources import dataset_resolver, model_opener
from service.settings import Settings


@dataclass
class RemoteOutcome:
    """What a Ray task returns: the check's outcome, or the audit error that ended it (raised again by the
    claiming worker, so the job fails with the same code and message as it would locally)."""

    outcome: CheckOutcome | None = None
    error: AuditError | None = None
    pid: int = 0
    """The Ray worker process the check ran in."""


class WorkerProcessModels:
    """One Ray worker process's models and memo for one set of worker settings, and the loop they run on."""

    def __init__(self, settings: Settings) -> None:
        from evaluators.checks.registry import load_check_plugins, preload_checks

        if settings.check_plugins:
            load_check_plugins(settings.check_plugins)
        preload_checks()
        self.settings = settings
        self.opener = model_opener(settings)
        self.memo = ResultMemo()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="unlearn-audit-checks", daemon=True).start()

    def run(self, job: CheckJob, deadline_at: float | None) -> RemoteOutcome:
        """Run `job` on this process's loop; an interrupt (`ray.cancel`) cancels the check."""
        stopped = threading.Event()
        return self._wait(asyncio.run_coroutine_threadsafe(self._run(job, deadline_at, stopped), self.loop), stopped)

    def run_unit(self, job: CheckJob, unit: Any, deadline_at: float | None) -> RemoteUnit:
        """Run one unit of `job`'s check on this process's loop; an interrupt cancels it."""
        stopped = threading.Event()
        running = asyncio.run_coroutine_threadsafe(self._run_unit(job, unit, deadline_at, stopped), self.loop)
        return self._wait(running, stopped)

    @staticmethod
    def _wait(future: concurrent.futures.Future[Any], stopped: threading.Event) -> Any:
        """The coroutine's result; an interrupt (`ray.cancel`) cancels it and stops its torch work, which runs in
        threads, at the next batch (`stopped` is what its hook checks)."""
        try:
            return future.result()
        except BaseException:
            stopped.set()
            future.cancel()
            raise

    async def _run(self, job: CheckJob, deadline_at: float | None, stopped: threading.Event) -> RemoteOutcome:
        check = get_check(job.name)
        if check is None:
            return RemoteOutcome(outcome=not_implemented(job.name), pid=os.getpid())
        pool = ModelPool(self.opener)
        try:
            ctx = await self._context(job, pool, deadline_at, stopped)
            try:
                outcome = RemoteOutcome(outcome=await check.run(job.spec, ctx))
            except UnsupportedCapabilityError as exc:
                outcome = RemoteOutcome(outcome=unsupported_outcome(exc))
        except AuditError as exc:
            outcome = RemoteOutcome(error=exc)
        finally:
            await pool.release()
        outcome.pid = os.getpid()
        return outcome

    async def _run_unit(
        self, job: CheckJob, unit: Any, deadline_at: float | None, stopped: threading.Event
    ) -> RemoteUnit:
        done = RemoteUnit(label=unit_label(unit), pid=os.getpid())
        pool = ModelPool(self.opener)
        try:
            ctx = await self._context(job, pool, deadline_at, stopped)
            run_unit = getattr(get_check(job.name), "run_unit", None)
            if run_unit is None:
                raise TypeError(f"the {job.name} check has no units")
            done.value = await run_unit(job.spec, ctx, unit)
        except AuditError as exc:
            done.error = exc
        finally:
            await pool.release()
        return done

    async def _context(
        self, job: CheckJob, pool: ModelPool, deadline_at: float | None, stopped: threading.Event
    ) -> CheckContext:
        """The context the runner builds for a local check, from the same pinned request and datasets."""
        request = job.request
        opened: dict[str, LanguageModel] = {}
        for role in ("target", "baseline", "reference"):
            target = getattr(request, role)
            if target is not None:
                opened[role] = await pool.get(target)
        for role in ("target", "baseline"):  # as the runner memoises them
            if role in opened:
                opened[role] = await memoised(opened[role], self.memo)
        return CheckContext(
            target=opened["target"],
            baseline=opened.get("baseline"),
            reference=opened.get("reference"),
            policy=resolve_policy(request.policy),
            seed=request.seed,
            load_dataset=dataset_resolver(self.settings, request, job.hub_datasets),
            hook=_stop_hook(deadline_at, stopped),
            target_is_endpoint=Capability.WHITE_BOX not in opened["target"].capabilities,
            open_model=pool.get,
            stored_judge_calibration=self._stored_calibration,
            sample=request.sample,
        )

    async def _stored_calibration(self, endpoint: str, model: str) -> dict[str, Any] | None:
        """The store's newest calibration of a model judge, read on the worker settings' database."""
        from service.store.engine import make_engine
        from service.store.judge_calibrations import JudgeCalibrationStore

        engine = make_engine(self.settings.resolved_database_url())
        try:
            return await JudgeCalibrationStore(engine).latest_figures(endpoint, model)
        finally:
            await engine.dispose()


def _stop_hook(deadline_at: float | None, stopped: threading.Event) -> Any:
    """The batch hook of a remote check or unit: it stops at the job's deadline, or once its task is cancelled."""

    def hook(done: int) -> None:
        if stopped.is_set():
            raise JobCancelledError("the task was cancelled")
        if deadline_at is not None and time.time() > deadline_at:
            raise DeadlineExceededError("the job ran past its deadline")

    return hook


_PROCESS_MODELS: dict[str, WorkerProcessModels] = {}
"""This Ray worker process's models, by the worker settings that opened them (one entry in practice)."""
_PROCESS_LOCK = threading.Lock()


def run_check_task(settings_data: dict[str, Any], job: CheckJob, deadline_at: float | None) -> RemoteOutcome:
    """The Ray task: run one check of one job in this worker process (see the module's docstring)."""
    return _process_models(settings_data).run(job, deadline_at)


def _process_models(settings_data: dict[str, Any]) -> WorkerProcessModels:
    settings = Settings(**settings_data)
    key = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    with _PROCESS_LOCK:
        models = _PROCESS_MODELS.get(key)
        if models is None:
            models = _PROCESS_MODELS[key] = WorkerProcessModels(settings)
    return models


def run_unit_task(settings_data: dict[str, Any], job: CheckJob, unit: Any, deadline_at: float | None) -> RemoteUnit:
    """The Ray task of one unit of a check (see `service.runner.ray_units`), in this worker process."""
    return _process_models(settings_data).run_unit(job, unit, deadline_at)
