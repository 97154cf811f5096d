"""Accuracy per dataset, target against baseline on the same items, with simultaneous bounds on the drops.

The drop is baseline minus target accuracy (positive = capability lost). Each dataset's drop interval is a
paired bootstrap at the Bonferroni level for m datasets, so all m hold together and the largest drop lies
in [max of lows, max of highs]. With few discordant pairs the bootstrap collapses (every resample gives the
same difference), so below MIN_DISCORDANT the interval is the exact bound [-U(c), U(b)], U the
Clopper-Pearson upper bound of the share of items only one model gets right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluators.stats import (
    Interval,
    TestResult,
    bonferroni_confidence,
    bootstrap_difference,
    clopper_pearson,
    mcnemar_exact,
    wilson,
)

MIN_DISCORDANT = 5


@dataclass(frozen=True)
class DatasetAccuracy:
    """Per-item correctness of the target (and baseline) on one dataset."""

    name: str
    adjacent: bool
    target: Sequence[bool]
    baseline: Sequence[bool] | None

    @property
    def n(self) -> int:
        return len(self.target)


def accuracy(correct: Sequence[bool], confidence: float) -> Interval:
    """Accuracy with its Wilson interval."""
    return wilson(int(sum(correct)), len(correct), confidence)


def accuracy_drop(d: DatasetAccuracy, confidence: float, resamples: int, seed: int) -> Interval:
    """Baseline minus target accuracy on the same items, at one-sided `confidence` per bound."""
    assert d.baseline is not None
    base = np.asarray(d.baseline, dtype=float)
    target = np.asarray(d.target, dtype=float)
    b = int(np.sum((base == 1) & (target == 0)))
    c = int(np.sum((base == 0) & (target == 1)))
    estimate = float(base.mean() - target.mean())
    if b + c < MIN_DISCORDANT:
        high = clopper_pearson(b, d.n, confidence).high
        low = -clopper_pearson(c, d.n, confidence).high
        return Interval(
            estimate,
            low,
            high,
            d.n,
            "exact_discordant",
            confidence,
            note=f"{b + c} discordant pairs: exact bound on the one-model-only shares",
        )
    return bootstrap_difference(base, target, confidence=confidence, resamples=resamples, seed=seed)


def mcnemar(d: DatasetAccuracy) -> TestResult:
    """McNemar's exact test that the baseline is right more often than the target on the same items."""
    assert d.baseline is not None
    return mcnemar_exact(list(d.baseline), list(d.target), alternative="greater")


def simultaneous_drops(
    datasets: Sequence[DatasetAccuracy], confidence: float, resamples: int, seed: int
) -> tuple[list[Interval], float]:
    """Each dataset's drop interval at the Bonferroni level for all of them; and that per-figure level."""
    per_figure = bonferroni_confidence(confidence, len(datasets))
    out = []
    for i, d in enumerate(datasets):
        iv = accuracy_drop(d, per_figure, resamples, seed + i)
        note = f"simultaneous over m={len(datasets)} datasets (Bonferroni): each bound at {per_figure:.6g}"
        out.append(
            Interval(
                iv.estimate,
                iv.low,
                iv.high,
                iv.n,
                iv.method,
                confidence,
                iv.resamples,
                iv.seed,
                note="; ".join(s for s in (iv.note, note) if s),
            )
        )
    return out, per_figure


def largest(intervals: Sequence[Interval], names: Sequence[str]) -> tuple[Interval, str]:
    """The largest figure of m simultaneous intervals: [max of lows, max of highs], n the smallest n."""
    finite = [iv for iv in intervals if iv.estimable]
    if len(finite) != len(intervals):
        return Interval(
            math.nan,
            math.nan,
            math.nan,
            min(iv.n for iv in intervals),
            "simultaneous_max",
            intervals[0].confidence,
            note="a dataset's interval is not estimable",
        ), ""
    top = max(range(len(intervals)), key=lambda i: intervals[i].estimate)
    return Interval(
        intervals[top].estimate,
        max(iv.low for iv in intervals),
        max(iv.high for iv in intervals),
        min(iv.n for iv in intervals),
        "simultaneous_max",
        intervals[0].confidence,
        note=f"largest of m={len(intervals)} simultaneous intervals; bounds are the max of each bound",
    ), names[top]


def smallest(intervals: Sequence[Interval], names: Sequence[str]) -> tuple[Interval, str]:
    """The smallest figure of m simultaneous intervals: [min of lows, min of highs]."""
    flipped = [Interval(-iv.estimate, -iv.high, -iv.low, iv.n, iv.method, iv.confidence) for iv in intervals]
    top, name = largest(flipped, names)
    return Interval(
        -top.estimate,
        -top.high,
        -top.low,
        top.n,
        "simultaneous_min",
        top.confidence,
        note=(top.note or "").replace("largest", "smallest").replace("max", "min"),
    ), name
