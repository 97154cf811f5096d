"""A check run inside a Ray worker process: the context rebuilt from a `CheckJob`, on this process's models.

Ray reuses a worker process for many tasks, so each process keeps, per worker settings, what a local
worker keeps across jobs: the backends' opener (its checkpoint cache loads each model's weights once) and
the result memo (the same fingerprint rule: only models whose fingerprint is their weights' sha256 are
memoised). Its coroutines run on one event loop that lives as long as the process, because the backends'
locks belong to the loop that first used them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from evaluators.checks import CheckContext, CheckOutcome, get_check, not_implemented
from evaluators.models.memo import ResultMemo, memoised
from evaluators.models.protocol import Capability, LanguageModel
from schemas.errors import AuditError, DeadlineExceededError, UnsupportedCapabilityError
from schemas.policy import resolve_policy
from service.runner.executor import CheckJob
from service.runner.local_check import unsupported_outcome
from service.runner.models import ModelPool
from service.runner.resources import dataset_resolver, model_opener
from service.settings import Settings


@dataclass
class RemoteOutcome:
    """What a Ray task returns: the check's outcome, or the audit error that ended it (raised again by the
    claiming worker, so the job fails with the same code and message as it would locally)."""

    outcome: CheckOutcome | None = None
    error: AuditError | None = None


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
        future = asyncio.run_coroutine_threadsafe(self._run(job, deadline_at), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    async def _run(self, job: CheckJob, deadline_at: float | None) -> RemoteOutcome:
        check = get_check(job.name)
        if check is None:
            return RemoteOutcome(outcome=not_implemented(job.name))
        pool = ModelPool(self.opener)
        try:
            ctx = await self._context(job, pool, deadline_at)
            try:
                return RemoteOutcome(outcome=await check.run(job.spec, ctx))
            except UnsupportedCapabilityError as exc:
                return RemoteOutcome(outcome=unsupported_outcome(exc))
        except AuditError as exc:
            return RemoteOutcome(error=exc)
        finally:
            await pool.release()

    async def _context(self, job: CheckJob, pool: ModelPool, deadline_at: float | None) -> CheckContext:
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
            hook=_deadline_hook(deadline_at),
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


def _deadline_hook(deadline_at: float | None) -> Any:
    """The batch hook of a remote check: it stops at the job's deadline (a cancel arrives as `ray.cancel`)."""

    def hook(done: int) -> None:
        if deadline_at is not None and time.time() > deadline_at:
            raise DeadlineExceededError("the job ran past its deadline")

    return hook


_PROCESS_MODELS: dict[str, WorkerProcessModels] = {}
"""This Ray worker process's models, by the worker settings that opened them (one entry in practice)."""
_PROCESS_LOCK = threading.Lock()


def run_check_task(settings_data: dict[str, Any], job: CheckJob, deadline_at: float | None) -> RemoteOutcome:
    """The Ray task: run one check of one job in this worker process (see the module's docstring)."""
    settings = Settings(**settings_data)
    key = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    with _PROCESS_LOCK:
        models = _PROCESS_MODELS.get(key)
        if models is None:
            models = _PROCESS_MODELS[key] = WorkerProcessModels(settings)
    return models.run(job, deadline_at)
