"""The job runner's step after the checks: a TOFU or MUSE suite's own figures, for the scorecard's `benchmarks`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from evaluators.benchmark_suites import MUSE_SUITES, TOFU_SUITES
from evaluators.benchmarks.muse_run import MuseSets, run_muse
from evaluators.benchmarks.tofu_run import TofuSets, run_tofu
from evaluators.checks.base import DatasetResolver
from evaluators.models.protocol import BatchHook, LanguageModel
from evaluators.suites import benchmark_datasets
from schemas.errors import DeadlineExceededError
from schemas.requests import EvaluationRequest
from schemas.scorecard import BenchmarkResult, CheckResult, DatasetProvenance

NOT_APPLICABLE_MUSE = {
    "forget": "not applicable to MUSE: its forget sets are news or book text and free-form QA, not the "
    "multiple-choice set forget efficacy scores against chance; MUSE's VerbMem, KnowMem and PrivLeak are in "
    "`benchmarks`",
    "refusal": "not applicable to MUSE: its texts are news articles and books, not harmful requests a model should "
    "refuse",
    "collateral": "not applicable to MUSE: its retain set is free-form QA, not multiple choice; MUSE's retain KnowMem "
    "is in `benchmarks`",
}

NOT_APPLICABLE = {
    "forget": "not applicable to TOFU: its forget set is question-answer, not the multiple-choice set forget "
    "efficacy scores against chance; TOFU's forget figures are in `benchmarks`",
    "refusal": "not applicable to TOFU: its questions ask about fictitious authors, they are not harmful requests "
    "a model should refuse",
    "collateral": "not applicable to TOFU: its retain sets are question-answer, not multiple choice; TOFU's model "
    "utility is in `benchmarks`",
}


def not_applicable_checks(request: EvaluationRequest, requested: list[str]) -> dict[str, CheckResult]:
    """For a TOFU or MUSE suite, each check the request does not give explicitly: skipped, with the reason."""
    if request.suite in TOFU_SUITES:
        reasons = NOT_APPLICABLE
    elif request.suite in MUSE_SUITES:
        reasons = NOT_APPLICABLE_MUSE
    else:
        return {}
    return {
        name: CheckResult(verdict="skipped", reasons=["not_applicable"], summary=why, duration_s=0.0)
        for name, why in reasons.items()
        if name not in requested
    }


async def run_benchmarks(
    request: EvaluationRequest,
    load_dataset: DatasetResolver,
    opened: Mapping[str, LanguageModel],
    *,
    confidence: float,
    hook: BatchHook | None,
    seconds_left: Callable[[], float | None],
) -> tuple[list[BenchmarkResult], list[DatasetProvenance]]:
    """The suite's benchmark sections and the provenance of the datasets they read (none for other suites)."""
    if request.suite not in TOFU_SUITES and request.suite not in MUSE_SUITES:
        return [], []
    loaded = {role: load_dataset(ref, "prompt") for role, ref in benchmark_datasets(request).items()}
    chat = {
        role: getattr(getattr(request, role), "chat_template", "auto") == "auto"
        for role in ("target", "reference")
        if getattr(request, role) is not None
    }
    target, reference, seed = opened["target"], opened.get("reference"), request.seed
    if request.suite in TOFU_SUITES:
        run = run_tofu(
            request.suite,
            TofuSets(**loaded),
            target,
            reference=reference,
            chat=chat,
            seed=seed,
            confidence=confidence,
            hook=hook,
        )
    else:
        run = run_muse(
            request.suite,
            MuseSets(**loaded),
            target,
            reference=reference,
            chat=chat,
            seed=seed,
            confidence=confidence,
            hook=hook,
        )
    left = seconds_left()
    try:
        section = await asyncio.wait_for(run, timeout=max(left, 0.0) if left is not None else None)
    except TimeoutError:
        raise DeadlineExceededError("the job ran past its deadline") from None
    return [section], [data.provenance() for data in loaded.values()]
