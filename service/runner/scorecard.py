"""Assembling the scorecard from stored check results: verdict, policy and provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from evaluators.checks.base import CheckOutcome
from evaluators.models.protocol import RuntimeInfo
from evaluators.verdict import overall_verdict
from schemas.policy import Policy
from schemas.scorecard import (
    BenchmarkResult,
    CheckResult,
    DatasetProvenance,
    ModelProvenance,
    Provenance,
    Scorecard,
    ScorecardChecks,
)
from schemas.version import SCHEMA_VERSION
from service import __version__ as SERVICE_VERSION

LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "huggingface_hub",
    "numpy",
    "scipy",
    "pydantic",
)
CHECK_NAMES = ("forget", "refusal", "collateral")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the figures."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def outcome_meta(outcome: CheckOutcome) -> dict[str, Any]:
    """What a check contributes to provenance, stored with it so a resumed job keeps it."""
    judge = outcome.result.details.get("judge")
    return {
        "datasets": [d.model_dump(mode="json") for d in outcome.datasets],
        "template_versions": dict(outcome.template_versions),
        "splits": dict(outcome.splits),
        "judge": judge if isinstance(judge, dict) else None,
    }


def build_scorecard(
    *,
    job_id: str,
    requested: list[str],
    results: Mapping[str, CheckResult],
    metas: Mapping[str, Mapping[str, Any]],
    policy: Policy,
    labels: dict[str, str],
    seed: int,
    fingerprints: Mapping[str, ModelProvenance | None],
    runtime: RuntimeInfo | None,
    job_duration_s: float,
    job_total_s: float | None = None,
    benchmarks: Sequence[BenchmarkResult] = (),
    benchmark_datasets: Sequence[DatasetProvenance] = (),
) -> Scorecard:
    """The scorecard of a finished job. `results` holds every requested check (run now or resumed).

    `durations_s`: each check's own run, `job` (this, the last, attempt) and `job_total` (since the job
    first started, across attempts: includes time lost to dead workers and waits in the queue between).
    `benchmarks` (a TOFU suite's figures) go on the card as they are, their datasets into the provenance.
    """
    by_name: dict[str, CheckResult | None] = {n: results.get(n) for n in requested}
    verdict, skipped, reasons = overall_verdict(by_name, policy)
    datasets: dict[tuple[str, str], DatasetProvenance] = {}
    templates: dict[str, str] = {}
    splits: dict[str, Any] = {}
    judge: dict[str, Any] | None = None
    durations_benchmarks: dict[str, float] = {}
    for name in requested:
        meta = metas.get(name, {})
        for raw in meta.get("datasets", []):
            d = DatasetProvenance.model_validate(raw)
            datasets[(d.name, d.sha256)] = d
        templates.update(meta.get("template_versions", {}))
        if meta.get("splits"):
            splits[name] = meta["splits"]
        judge = meta.get("judge") or judge
    for d in benchmark_datasets:
        datasets[(d.name, d.sha256)] = d
    for section in benchmarks:
        if section.settings.get("template_version"):
            templates[section.benchmark] = str(section.settings["template_version"])
        if section.duration_s is not None:
            durations_benchmarks[f"benchmark:{section.benchmark}"] = section.duration_s
    durations = {n: r.duration_s for n, r in results.items() if r.duration_s is not None}
    durations.update(durations_benchmarks)
    durations["job"] = job_duration_s
    durations["job_total"] = max(job_total_s if job_total_s is not None else 0.0, job_duration_s)
    provenance = Provenance(
        service_version=SERVICE_VERSION,
        library_versions=library_versions(),
        template_versions=templates,
        target=fingerprints.get("target"),
        baseline=fingerprints.get("baseline"),
        reference=fingerprints.get("reference"),
        datasets=list(datasets.values()),
        seed=seed,
        splits=splits,
        device=runtime.device if runtime else None,
        dtype=runtime.dtype if runtime else None,
        batch_size=runtime.batch_size if runtime else None,
        judge=judge,
        durations_s=durations,
    )
    return Scorecard(
        schema_version=SCHEMA_VERSION,
        evaluation_id=job_id,
        verdict=verdict,
        checks=ScorecardChecks(**{n: results.get(n) for n in CHECK_NAMES if n in requested}),
        skipped=skipped,
        reasons=reasons,
        policy=policy,
        provenance=provenance,
        labels=labels,
        created_at=datetime.now(UTC).isoformat(),
        benchmarks=list(benchmarks),
    )


def overall_reasons(requested: list[str], results: Mapping[str, CheckResult], policy: Policy) -> list[str]:
    """The reasons behind the overall verdict (for the job-finished event)."""
    return overall_verdict({n: results.get(n) for n in requested}, policy)[2]
