"""The dry run's time estimate: the planned checks' units counted and priced by evaluators/cost_model.py."""

from __future__ import annotations

from evaluators.cost_model import BENCH, MEASURED_NEW_TOKENS, TINY, Work, estimate
from evaluators.suites import benchmark_of, effective_checks
from schemas.dry_run import PlannedCheck, PlannedDataset, TimeEstimate
from schemas.requests import EvaluationRequest
from schemas.targets import SandboxTarget


class _Counts:
    """Item counts by dataset field; an uncounted one is assumed at its bound (`limit`, `sample.n`) or left out."""

    def __init__(self, request: EvaluationRequest, datasets: list[PlannedDataset]) -> None:
        self.by_field = {d.field: d for d in datasets}
        bounds = [b for b in (request.limit, request.sample.n if request.sample else None) if b is not None]
        self.bound = min(bounds) if bounds else None
        self.assumptions: list[str] = []
        self.unpriced: list[str] = []

    def of(self, field: str, what: str) -> int | None:
        planned = self.by_field.get(field)
        if planned is None:
            return None
        if planned.n_items is not None:
            return planned.n_items
        if self.bound is not None:
            self.assumptions.append(f"{field} ({planned.name}) counted at run time; assumed at most {self.bound} items")
            return self.bound
        self.unpriced.append(f"{what}: {field} ({planned.name}) is counted at run time (give `sample` to bound it)")
        return None


def time_estimate(
    request: EvaluationRequest, datasets: list[PlannedDataset], checks: list[PlannedCheck]
) -> TimeEstimate:
    """The estimate of the planned checks, on the reference nearest the target (sandbox or not)."""
    counts = _Counts(request, datasets)
    spec = effective_checks(request)
    planned = {c.name: c for c in checks}
    work: list[Work] = []
    if (forget := planned.get("forget")) is not None and spec.forget is not None:
        n = counts.of("checks.forget.dataset", "forget")
        if n is not None:
            work += [Work("forget", f"forget/{part}", n) for part in forget.runs]
        for corpus in ("corpus", "holdout_corpus"):
            if getattr(spec.forget, corpus) is not None:
                counts.unpriced.append(f"forget: checks.forget.{corpus} (memorisation, membership): not measured")
    if (refusal := planned.get("refusal")) is not None and spec.refusal is not None:
        scale = spec.refusal.samples * spec.refusal.max_new_tokens / MEASURED_NEW_TOKENS
        harmful = counts.of("checks.refusal.harmful", "refusal")
        families = [r for r in refusal.runs if r not in ("plain", "benign", "model_judge", "refusal_direction")]
        if harmful is not None:
            work += [Work("refusal", f"refusal/{part}", harmful, scale) for part in ("plain", *families)]
        own = counts.by_field["checks.refusal.harmful"].n_user_variants
        if own:
            work.append(Work("refusal", "refusal/plain", own, scale))
            counts.assumptions.append(f"the harmful prompts' own {own} rephrasings priced as plain prompts")
        if "benign" in refusal.runs and (benign := counts.of("checks.refusal.benign", "refusal")) is not None:
            work.append(Work("refusal", "refusal/xstest_plain", benign, scale))
        for extra in ("model_judge", "refusal_direction"):
            if extra in refusal.runs:
                counts.unpriced.append(f"refusal: {extra}: not measured")
    if planned.get("collateral") is not None and spec.collateral is not None:
        items = [
            counts.of(f"checks.collateral.datasets.{i}", "collateral") for i in range(len(spec.collateral.datasets))
        ]
        work.append(Work("collateral", "collateral/mmlu_standard", sum(n for n in items if n is not None)))
        for extra, present in (
            ("corpus_perplexity", spec.collateral.corpus),
            ("degenerate_generation", spec.collateral.prompts),
        ):
            if present is not None:
                counts.unpriced.append(f"collateral: {extra}: not measured")
    if (benchmark := benchmark_of(request)) is not None:
        counts.unpriced.append(f"{benchmark}: the benchmark's own figures: not measured")
    reference = TINY if isinstance(request.target, SandboxTarget) else BENCH
    return estimate(
        work,
        reference,
        baseline=request.baseline is not None,
        assumptions=counts.assumptions,
        unpriced=counts.unpriced,
    )
