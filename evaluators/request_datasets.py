"""Every dataset a request's checks will load, with the request field that names it and the item kind.

A `suite` fills in its datasets (`effective_checks`), so they are walked too, and so are the datasets of its
benchmark figures (`benchmarks.tofu.forget`, ...). Used at submit (to load and
validate them, and to pin Hub datasets) and by the job runner (to fetch Hub datasets before the checks).
"""

from __future__ import annotations

from collections.abc import Iterator

from evaluators.checks.base import DatasetKind
from evaluators.suites import benchmark_datasets, benchmark_of, effective_checks
from schemas.datasets import DatasetRef
from schemas.requests import EvaluationRequest


def request_datasets(request: EvaluationRequest) -> Iterator[tuple[str, DatasetRef, DatasetKind]]:
    """(field, ref, kind) for each dataset of the request's effective checks, in a stable order."""
    checks = effective_checks(request)
    if checks.forget is not None:
        forget = checks.forget
        yield "checks.forget.dataset", forget.dataset, "multiple_choice"
        if forget.corpus is not None:
            yield "checks.forget.corpus", forget.corpus, "text"
        if forget.holdout_corpus is not None:
            yield "checks.forget.holdout_corpus", forget.holdout_corpus, "text"
    if checks.refusal is not None:
        yield "checks.refusal.harmful", checks.refusal.harmful, "prompt"
        if checks.refusal.benign is not None:
            yield "checks.refusal.benign", checks.refusal.benign, "prompt"
    if checks.collateral is not None:
        collateral = checks.collateral
        for i, ref in enumerate(collateral.datasets):
            yield f"checks.collateral.datasets.{i}", ref, "multiple_choice"
        if collateral.corpus is not None:
            yield "checks.collateral.corpus", collateral.corpus, "text"
        if collateral.prompts is not None:
            yield "checks.collateral.prompts", collateral.prompts, "prompt"
    benchmark = benchmark_of(request)
    for role, benchmark_ref in benchmark_datasets(request).items():
        yield f"benchmarks.{benchmark}.{role}", benchmark_ref, "prompt"
