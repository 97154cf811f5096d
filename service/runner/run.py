"""`run_job`: run a claimed job's checks, saving each as it finishes, and store its scorecard."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from evaluators.checks.base import DatasetResolver
from evaluators.models.memo import ResultMemo, memoised
from evaluators.models.protocol import Capability, LanguageModel
from evaluators.suites import effective_checks, requested_check_names
from schemas.errors import AuditError, JobCancelledError
from schemas.jobs import JobError
from schemas.policy import Policy, resolve_policy
from schemas.requests import Checks, EvaluationRequest
from schemas.scorecard import BenchmarkResult, CheckResult, DatasetProvenance, ModelProvenance, Scorecard
from schemas.sources import ModelSource
from service.runner.benchmarks import not_applicable_checks, run_benchmarks
from service.runner.control import JobControl, WorkerShutdownError
from service.runner.executor import CheckExecutor, CheckJob, LocalExecutor, run_each
from service.runner.hub_datasets import JobHubDatasets
from service.runner.models import ModelPool
from service.runner.pinning import pin_request
from service.runner.resources import dataset_resolver
from service.runner.scorecard import CHECK_NAMES, build_scorecard, outcome_meta, overall_reasons
from service.settings import Settings
from service.store.api import ClaimedJob, JobStore
from service.store.claims import LeaseLostError
from service.store.engine import store_unreachable
from service.store.judge_calibrations import stored_calibration_lookup

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0
"""After a cancel or shutdown, how long a check may take to reach its next batch before it is cut."""


async def run_job(
    claimed: ClaimedJob,
    store: JobStore,
    settings: Settings,
    worker_id: str,
    models: ModelPool,
    *,
    shutdown: asyncio.Event | None = None,
    memo: ResultMemo | None = None,
    executor: CheckExecutor | None = None,
) -> None:
    """Run `claimed` to its end: succeeded with a scorecard, failed with `{code, message}`, or cancelled.

    Checks an earlier attempt finished (`claimed.done_checks`) are not run again. A lost lease ends the
    attempt without writing anything more: the job belongs to another worker then. When `shutdown` is
    set, the job stops at its next batch and goes back to the queue (finished checks stay saved). With
    `memo` (the worker's), a fingerprinted baseline's results are reused from earlier jobs on this worker.
    `executor` runs each check (default: here, `LocalExecutor`).
    """
    control = JobControl(
        claimed,
        store,
        worker_id,
        lease_s=settings.lease_s,
        heartbeat_s=settings.heartbeat_s,
        shutdown=shutdown,
    )
    started = time.monotonic()
    hub_datasets = JobHubDatasets(settings, store)
    try:
        async with control:
            await _run_checks(
                claimed, store, settings, worker_id, models, control, started, memo, hub_datasets, executor
            )
    except LeaseLostError:
        log.warning("job %s: lease lost by %s; leaving it to the worker that holds it", claimed.id, worker_id)
    except WorkerShutdownError:
        released = await store.release(claimed.id, worker_id)
        log.info("job %s: worker stopping; released to the queue: %s", claimed.id, released)
    except JobCancelledError as exc:
        await _end(store, claimed.id, worker_id, "cancelled", JobError(code=exc.code, message=exc.message))
    except AuditError as exc:
        log.info("job %s failed: %s: %s", claimed.id, exc.code, exc.message)
        await _end(store, claimed.id, worker_id, "failed", JobError(code=exc.code, message=exc.message))
    except Exception as exc:
        if store_unreachable(exc):
            # The store, not the job, failed: leave it held; once the lease lapses a worker resumes it from
            # the checks already saved. Failing it here could end a healthy job the moment the store is back.
            log.warning("job %s: the store is unreachable (%s); left for its lease to lapse", claimed.id, exc)
            return
        log.exception("job %s: internal error", claimed.id)
        message = f"{type(exc).__name__}: {exc}"[:2000]
        await _end(store, claimed.id, worker_id, "failed", JobError(code="internal_error", message=message))
    finally:
        await models.release()
        hub_datasets.release()


async def _end(store: JobStore, job_id: str, worker_id: str, status: Any, error: JobError) -> None:
    try:
        await store.finish_job(job_id, worker_id, status=status, error=error)
    except LeaseLostError:
        log.warning("job %s: lease lost before it could be marked %s", job_id, status)


async def _run_checks(
    claimed: ClaimedJob,
    store: JobStore,
    settings: Settings,
    worker_id: str,
    models: ModelPool,
    control: JobControl,
    started: float,
    memo: ResultMemo | None,
    hub_datasets: JobHubDatasets,
    executor: CheckExecutor | None,
) -> None:
    executor = executor or LocalExecutor()
    request = pin_request(claimed.request, claimed.resolved)
    policy = resolve_policy(request.policy)
    checks = effective_checks(request)
    requested = requested_check_names(request)
    job = _JobRun(
        claimed,
        store,
        worker_id,
        control,
        request,
        policy,
        results=dict(claimed.done_checks),
        metas={k: dict(v) for k, v in claimed.done_check_meta.items()},
    )
    control.raise_if_stopped()
    await hub_datasets.fetch(request, claimed.resolved_datasets)  # the checks read them from the cache
    control.raise_if_stopped()
    opened = await _open_models(request, models, control)
    if memo is not None:
        await _memoise(opened, memo)
    load_dataset = dataset_resolver(settings, request, hub_datasets.fetched)
    ctx_base = _context_fields(request, opened, policy, load_dataset, control, models, store)
    await job.run_checks(requested, checks, executor, hub_datasets, ctx_base)
    # A TOFU suite's own figures, after the checks (reported, not gated); checks that do not apply say so.
    benchmarks, benchmark_datasets = await job.run_benchmarks(load_dataset, opened)
    skipped_checks = not_applicable_checks(request, requested)
    job.results.update(skipped_checks)
    on_card = [name for name in CHECK_NAMES if name in requested or name in skipped_checks]
    await job.note_reuse(opened)
    scorecard = await job.scorecard(on_card, opened, benchmarks, benchmark_datasets, started)
    await job.succeed(scorecard, on_card)


@dataclass
class _JobRun:
    """One attempt at a claimed job: what its steps share, and the check results as they come in (those an
    earlier attempt saved first)."""

    claimed: ClaimedJob
    store: JobStore
    worker_id: str
    control: JobControl
    request: EvaluationRequest
    policy: Policy
    results: dict[str, CheckResult]
    metas: dict[str, dict[str, Any]]

    async def run_checks(
        self,
        requested: list[str],
        checks: Checks,
        executor: CheckExecutor,
        hub_datasets: JobHubDatasets,
        ctx_base: dict[str, Any],
    ) -> None:
        """Run every requested check not saved yet (side by side where the executor allows), saving each."""
        claimed, store, control = self.claimed, self.store, self.control

        async def run_and_save(name: str) -> None:
            control.raise_if_stopped()
            await store.append_event(claimed.id, "check_started", {"check": name})
            job = CheckJob(claimed.id, name, getattr(checks, name), self.request, dict(hub_datasets.fetched))
            outcome = await executor.run_check(job, ctx_base, control)
            await control.flush_progress()  # a check faster than the heartbeat still leaves its final progress
            self.results[name] = outcome.result
            self.metas[name] = outcome_meta(outcome)
            await store.save_check(claimed.id, self.worker_id, name, outcome.result, outcome.records, self.metas[name])
            await store.append_event(claimed.id, "check_finished", {"check": name, "verdict": outcome.result.verdict})

        for name in requested:
            if name in self.results:
                await store.append_event(claimed.id, "check_resumed", {"check": name})
        await run_each(
            [n for n in requested if n not in self.results], run_and_save, side_by_side=executor.side_by_side
        )

    async def run_benchmarks(
        self, load_dataset: DatasetResolver, opened: dict[str, LanguageModel]
    ) -> tuple[list[BenchmarkResult], list[DatasetProvenance]]:
        benchmarks, benchmark_datasets = await run_benchmarks(
            self.request,
            load_dataset,
            opened,
            confidence=self.policy.confidence,
            hook=self.control.hook,
            seconds_left=self.control.seconds_left,
        )
        for section in benchmarks:
            await self.store.append_event(
                self.claimed.id, "benchmark_finished", {"benchmark": section.benchmark, "status": section.status}
            )
        return benchmarks, benchmark_datasets

    async def note_reuse(self, opened: dict[str, LanguageModel]) -> None:
        """An event per model whose results were reused from the worker's memo, with how many calls."""
        for role in ("target", "baseline"):
            reused_calls = getattr(opened.get(role), "hits_here", 0)
            if reused_calls:
                await self.store.append_event(self.claimed.id, f"{role}_reused", {"calls": reused_calls})

    async def scorecard(
        self,
        on_card: list[str],
        opened: dict[str, LanguageModel],
        benchmarks: list[BenchmarkResult],
        benchmark_datasets: list[DatasetProvenance],
        started: float,
    ) -> Scorecard:
        claimed, request = self.claimed, self.request
        fingerprints = await _fingerprints(opened, claimed.resolved)
        return build_scorecard(
            job_id=claimed.id,
            requested=on_card,
            results=self.results,
            metas=self.metas,
            policy=self.policy,
            labels=request.labels,
            seed=request.seed,
            fingerprints=fingerprints,
            runtime=opened["target"].runtime(),
            job_duration_s=time.monotonic() - started,
            job_total_s=(datetime.now(UTC) - claimed.started_at).total_seconds(),
            benchmarks=benchmarks,
            benchmark_datasets=benchmark_datasets,
        )

    async def succeed(self, scorecard: Scorecard, on_card: list[str]) -> None:
        self.control.raise_if_stopped()
        log.info(
            "job %s succeeded: %s (%s)",
            self.claimed.id,
            scorecard.verdict,
            overall_reasons(on_card, self.results, self.policy),
        )
        await self.store.finish_job(
            self.claimed.id,
            self.worker_id,
            status="succeeded",
            scorecard=scorecard.model_dump(mode="json"),
            verdict=scorecard.verdict,
        )


async def _memoise(opened: dict[str, LanguageModel], memo: ResultMemo) -> None:
    # Target and baseline alike: a model audited as a candidate is often the next jobs' baseline (and a
    # retried candidate is the same call again). Two wrappers over one model share its memo entries.
    for role in ("target", "baseline"):
        if role in opened:
            opened[role] = await memoised(opened[role], memo)


def _context_fields(
    request: EvaluationRequest,
    opened: dict[str, LanguageModel],
    policy: Policy,
    load_dataset: DatasetResolver,
    control: JobControl,
    models: ModelPool,
    store: JobStore,
) -> dict[str, Any]:
    """The CheckContext fields every check of the job shares (the executor adds the per-check ones)."""
    return {
        "target": opened["target"],
        "baseline": opened.get("baseline"),
        "reference": opened.get("reference"),
        "policy": policy,
        "seed": request.seed,
        "load_dataset": load_dataset,
        "sample": request.sample,
        "hook": control.hook,
        "target_is_endpoint": Capability.WHITE_BOX not in opened["target"].capabilities,
        "open_model": models.get,  # a model judge (refusal check) opens through the same pool and allowlist
        "stored_judge_calibration": stored_calibration_lookup(store),
    }


async def _fingerprints(
    opened: dict[str, LanguageModel], resolved: dict[str, ModelSource]
) -> dict[str, ModelProvenance | None]:
    fingerprints = {role: await _fingerprint(m) for role, m in opened.items()}
    for role, provenance in fingerprints.items():  # the registry's name for it, as resolved at submit
        if provenance is not None and provenance.source is None and role in resolved:
            provenance.source = resolved[role]
    return fingerprints


async def _open_models(request: EvaluationRequest, models: ModelPool, control: JobControl) -> dict[str, LanguageModel]:
    opened: dict[str, LanguageModel] = {}
    for role in ("target", "baseline", "reference"):
        target = getattr(request, role)
        if target is not None:
            opened[role] = await models.get(target)
            control.raise_if_stopped()
    return opened


async def _fingerprint(model: LanguageModel) -> ModelProvenance | None:
    try:
        return await model.fingerprint()
    except Exception:
        log.exception("fingerprint of %s failed", getattr(model, "name", "model"))
        return None
