"""Seeded percentile bootstrap over paired per-item arrays, item-level or clustered.

Every interval records `resamples` and `seed`; the same inputs and seed give the same bounds.
`data` is a sequence of per-item arrays of one length (rows: e.g. target and baseline correctness);
a resample draws items (or whole clusters: a base prompt with its variants) and keeps rows paired.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from evaluators.stats.result import Interval, check_confidence

Statistic = Callable[[np.ndarray], float]
"""Maps a (rows, k) resampled array to one figure."""

MAX_NONFINITE_SHARE = 0.05
"""Resamples whose figure is not finite (e.g. a zero denominator) are dropped; above this share the
interval is reported as not estimable rather than biased."""


def as_rows(data: Sequence[npt.ArrayLike] | npt.ArrayLike) -> np.ndarray:
    """Stack per-item arrays into a float (rows, n) array, refusing ragged or empty input."""
    arr = np.asarray(data, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"need one or more non-empty per-item arrays of one length, got shape {arr.shape}")
    return arr


def resample_indices(
    n: int, clusters: npt.ArrayLike | None, resamples: int, seed: int
) -> tuple[Iterator[np.ndarray], int]:
    """Index arrays for each resample, and the number of sampling units (items or clusters)."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        return (rng.integers(0, n, n) for _ in range(resamples)), n
    labels = np.asarray(clusters)
    if labels.shape != (n,):
        raise ValueError(f"clusters needs one label per item ({n}), got shape {labels.shape}")
    _, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
    k = len(members)

    def draws() -> Iterator[np.ndarray]:
        for _ in range(resamples):
            yield np.concatenate([members[c] for c in rng.integers(0, k, k)])

    return draws(), k


def bootstrap(
    data: Sequence[npt.ArrayLike] | npt.ArrayLike,
    statistic: Statistic,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    clusters: npt.ArrayLike | None = None,
) -> Interval:
    """Percentile bootstrap interval of `statistic` over paired rows; each bound at one-sided `confidence`.

    With `clusters` (one label per item) whole clusters are resampled and `n` is the number of clusters.
    """
    check_confidence(confidence)
    rows = as_rows(data)
    method = "bootstrap_cluster" if clusters is not None else "bootstrap_paired"
    estimate = float(statistic(rows))
    draws, units = resample_indices(rows.shape[1], clusters, resamples, seed)
    values = np.fromiter((statistic(rows[:, idx]) for idx in draws), dtype=float, count=resamples)
    finite = values[np.isfinite(values)]
    dropped = resamples - finite.size
    note = f"{dropped} of {resamples} resamples not estimable, dropped" if dropped else None
    if not math.isfinite(estimate) or dropped > MAX_NONFINITE_SHARE * resamples:
        why = "the estimate is not finite" if not math.isfinite(estimate) else note
        return Interval(estimate, math.nan, math.nan, units, method, confidence, resamples, seed, note=why)
    low, high = np.quantile(finite, [1 - confidence, confidence])
    return Interval(estimate, float(low), float(high), units, method, confidence, resamples, seed, note=note)


def _mean_difference(rows: np.ndarray) -> float:
    return float(rows[0].mean() - rows[1].mean())


def _mean_ratio(rows: np.ndarray) -> float:
    denom = rows[1].mean()
    return float(rows[0].mean() / denom) if denom != 0 else math.nan


def bootstrap_difference(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    clusters: npt.ArrayLike | None = None,
) -> Interval:
    """mean(x) - mean(y) over paired items (e.g. baseline minus target accuracy = the accuracy drop)."""
    return bootstrap([x, y], _mean_difference, confidence=confidence, resamples=resamples, seed=seed, clusters=clusters)


def bootstrap_ratio(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    clusters: npt.ArrayLike | None = None,
) -> Interval:
    """mean(x) / mean(y) over paired items (e.g. refusals kept / baseline refusals); NaN when mean(y) = 0."""
    return bootstrap([x, y], _mean_ratio, confidence=confidence, resamples=resamples, seed=seed, clusters=clusters)


def _mean(rows: np.ndarray) -> float:
    return float(rows[0].mean())


def bootstrap_cluster_proportion(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """A proportion over items grouped in clusters (a prompt with its variants), resampling clusters."""
    return bootstrap([values], _mean, confidence=confidence, resamples=resamples, seed=seed, clusters=clusters)
