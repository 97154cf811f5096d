"""A dry run's answer assembled from what the submit's checks resolved."""

from __future__ import annotations

from evaluators.suites import benchmark_of, effective_checks
from schemas.dry_run import DryRun
from schemas.policy import resolve_policy
from schemas.requests import EvaluationRequest
from schemas.sources import WriteBack
from service.dry_run.checks import planned_checks
from service.dry_run.cost import time_estimate
from service.dry_run.datasets import planned_datasets
from service.dry_run.models import planned_models
from service.routes.validation import Pins
from service.runner.pinning import pin_request
from service.settings import Settings


def plan_dry_run(request: EvaluationRequest, pins: Pins, settings: Settings, write_back: WriteBack | None) -> DryRun:
    """What a submit of `request` would run (`pins`: what its checks resolved); reads local datasets to count
    them, so call it off the event loop."""
    checks_run = effective_checks(request)
    # A TOFU or MUSE suite runs no check: `checks` stays absent (a `checks` object names at least one).
    written_out = checks_run if any((checks_run.forget, checks_run.refusal, checks_run.collateral)) else None
    expanded = request.model_copy(update={"checks": written_out})
    datasets = planned_datasets(request, pins.datasets, settings)
    checks = planned_checks(request)
    return DryRun(
        request=pin_request(expanded, pins.models),
        policy=resolve_policy(request.policy),
        models=planned_models(request, pins.models),
        datasets=datasets,
        checks=checks,
        benchmark=benchmark_of(request),
        write_back=write_back,
        estimate=time_estimate(request, datasets, checks),
    )
