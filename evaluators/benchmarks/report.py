"""What every benchmark section (TOFU, MUSE) reports a figure with: a percentile bootstrap over items with the
request's seed, and a reported (never gated) scorecard Metric."""

from __future__ import annotations

import numpy as np

from evaluators.stats.bootstrap import bootstrap
from evaluators.stats.result import Interval
from evaluators.verdict import Direction, gated_metric
from schemas.scorecard import Metric

RESAMPLES = 2000


def mean_interval(values: np.ndarray, estimate: float, seed: int, confidence: float) -> Interval:
    """`estimate` (the formula's value) with a percentile-bootstrap interval of the mean of per-item `values`."""
    got = bootstrap(values, lambda rows: float(rows[0].mean()), confidence=confidence, resamples=RESAMPLES, seed=seed)
    return Interval(estimate, got.low, got.high, got.n, got.method, got.confidence, got.resamples, got.seed, got.note)


def reported_metric(
    name: str, interval: Interval, direction: Direction, variant: str, model: str = "target", note: str | None = None
) -> Metric:
    """A benchmark figure on the scorecard: no threshold, not gated."""
    return gated_metric(
        name, interval, direction=direction, threshold=None, gated=False, variant=variant, model=model, note=note
    )


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
