"""The scorecard: verdicts, figures with n and intervals, and the provenance to reproduce them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.policy import Policy
from schemas.sources import ModelSource

Verdict = Literal["pass", "warn", "fail"]
CheckVerdict = Literal["pass", "warn", "fail", "skipped", "error"]


class Metric(BaseModel):
    """One figure: always with n and a confidence interval."""

    name: str
    value: float | None = Field(..., description="None when not estimable (the reason is in `note`).")
    ci_low: float | None
    ci_high: float | None
    n: int = Field(..., ge=0, description="Items (or clusters) the figure rests on.")
    direction: Literal["higher_is_better", "lower_is_better"]
    ci_method: str = Field("wilson", description="wilson, bootstrap_paired, bootstrap_cluster, ...")
    confidence: float = Field(0.95, description="Confidence of the interval (one-sided level of each bound).")
    baseline_value: float | None = None
    threshold: float | None = None
    gated: bool = Field(False, description="Whether this figure takes part in the verdict.")
    variant: str | None = Field(None, description="Elicitation, variant family or dataset the figure is for.")
    model: str = Field("target", description="`target`, `baseline`, `reference` or `difference`.")
    note: str | None = None


class CheckResult(BaseModel):
    """The outcome of one check."""

    verdict: CheckVerdict
    reasons: list[str] = Field(default_factory=list, description="Machine-readable reasons, e.g. `no_baseline`.")
    summary: str = Field("", description="One sentence for a person.")
    headline: Metric | None = None
    metrics: list[Metric] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = None


class DatasetProvenance(BaseModel):
    name: str
    sha256: str = Field(..., description="sha256 of the canonical JSON of the items used (after filter and sample).")
    n: int = Field(..., description="Items used.")
    source: str | None = Field(None, description="`builtin:..`, `path:..`, `inline` or `hf:<repo>@<sha>`.")
    hub: dict[str, Any] | None = Field(
        None, description="Hub datasets: repo, config, split, requested revision, commit sha, files with sha256."
    )
    n_available: int | None = Field(None, description="Rows before `where`, `limit` and `sample`.")
    selection: list[str] = Field(
        default_factory=list, description="How the items were chosen: filter, limit, sample (in that order)."
    )


class ModelProvenance(BaseModel):
    kind: str
    fingerprint: str | None = Field(None, description="sha256 of the weight files, or the endpoint's claim.")
    fingerprint_verified: bool = Field(False, description="True only when computed from the weights themselves.")
    description: str = ""
    source: ModelSource | None = Field(
        None, description="For fetched models: the registry, and the immutable revision or version audited."
    )


class Provenance(BaseModel):
    service_version: str
    library_versions: dict[str, str] = Field(default_factory=dict)
    template_versions: dict[str, str] = Field(default_factory=dict)
    target: ModelProvenance | None = None
    baseline: ModelProvenance | None = None
    reference: ModelProvenance | None = None
    datasets: list[DatasetProvenance] = Field(default_factory=list)
    seed: int = 0
    splits: dict[str, Any] = Field(default_factory=dict, description="Folds and selection/report halves.")
    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    judge: dict[str, Any] | None = None
    durations_s: dict[str, float] = Field(default_factory=dict)


class ScorecardChecks(BaseModel):
    forget: CheckResult | None = None
    refusal: CheckResult | None = None
    collateral: CheckResult | None = None


class BenchmarkItem(BaseModel):
    """What one model produced on one item of a benchmark set: the numbers every figure is computed from."""

    dataset: str = Field(..., description="The set, as the section's `datasets` names it (e.g. `forget`, `retain`).")
    index: int = Field(..., ge=0, description="Position of the item in that set as loaded (after limit and sample).")
    model: str = Field("target", description="`target` or `reference`.")
    values: dict[str, float | str | None] = Field(
        default_factory=dict, description="Per-item quantities (average NLLs, probabilities, ROUGE) and the generation."
    )


class BenchmarkResult(BaseModel):
    """A published benchmark's own figures (TOFU), computed as its reference implementation computes them.

    Reported, never gated: nothing here takes part in the verdict.
    """

    benchmark: str = Field(..., description="`tofu` or `muse`.")
    suite: str
    status: Literal["computed", "skipped"] = "computed"
    reasons: list[str] = Field(default_factory=list, description="Why it was skipped, e.g. `unsupported_capability`.")
    summary: str = ""
    reference_implementation: str = Field(..., description="The code the figures follow, at the version read.")
    metrics: list[Metric] = Field(default_factory=list, description="Every figure with n and, where it has one, CI.")
    datasets: dict[str, str] = Field(
        default_factory=dict, description="Set role (forget, retain, ...) -> dataset name in `provenance.datasets`."
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="Prompting, generation and bootstrap settings.")
    differences: list[str] = Field(default_factory=list, description="Where this differs from the reference code.")
    items: list[BenchmarkItem] = Field(default_factory=list)
    duration_s: float | None = None


class Scorecard(BaseModel):
    """GET /v1/evaluations/{id}/scorecard."""

    schema_version: str
    evaluation_id: str
    verdict: Verdict
    checks: ScorecardChecks
    skipped: list[str] = Field(default_factory=list, description="Checks that did not run, with the reason.")
    reasons: list[str] = Field(
        default_factory=list,
        description=(
            "Why the overall verdict is what it is: `check_failed:<check>`, `check_warned:<check>`, "
            "`check_error:<check>`, `required_check_skipped:<check>`, `no_checks_ran`, `warn_is_failure`; "
            "empty for a pass."
        ),
    )
    policy: Policy
    provenance: Provenance
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: str
    benchmarks: list[BenchmarkResult] = Field(
        default_factory=list, description="Published benchmarks' own figures (TOFU suites): reported, not gated."
    )
