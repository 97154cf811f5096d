"""Simultaneous bounds for m figures tested at once (elicitations, datasets).

A pass claim over m figures ("every elicitation stays below t") needs bounds that hold together.
Bonferroni spends alpha/m on each figure (valid always, conservative); max-T bootstraps the largest
studentised deviation over the m figures jointly (tighter when the figures are correlated, as
accuracies of one model on the same items under different prompts are).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from evaluators.stats.bootstrap import MAX_NONFINITE_SHARE, as_rows, resample_indices
from evaluators.stats.proportions import wilson
from evaluators.stats.result import Interval, check_confidence


def bonferroni_confidence(confidence: float, m: int) -> float:
    """The per-figure one-sided level that makes m bounds hold together at `confidence`."""
    check_confidence(confidence)
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    return 1 - (1 - confidence) / m


def simultaneous_wilson(counts: Sequence[tuple[int, int]], confidence: float = 0.95) -> list[Interval]:
    """Wilson intervals for m (successes, n) pairs, Bonferroni-adjusted to hold together at `confidence`.

    Each returned interval carries the family level as `confidence` and the per-figure level in `note`.
    """
    per_figure = bonferroni_confidence(confidence, len(counts))
    out = []
    for k, n in counts:
        iv = wilson(k, n, per_figure)
        out.append(
            Interval(
                iv.estimate,
                iv.low,
                iv.high,
                iv.n,
                "wilson_bonferroni",
                confidence,
                note=f"simultaneous over m={len(counts)}: each bound at {per_figure:.6g}",
            )
        )
    return out


def max_t_bootstrap(
    data: Sequence[npt.ArrayLike] | npt.ArrayLike,
    statistic: Callable[[np.ndarray], npt.ArrayLike],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    clusters: npt.ArrayLike | None = None,
    clip: tuple[float, float] | None = None,
) -> list[Interval]:
    """Simultaneous bounds for the m figures `statistic` returns from (rows, k) resampled data.

    For each resample, T_j = (theta*_j - theta_j) / se_j with se_j the bootstrap standard error; the
    `confidence` quantile of max_j T_j (resp. max_j -T_j) sets every lower (resp. upper) bound, so all
    m bounds hold together. A figure with zero spread keeps its estimate as both bounds. `clip`
    (e.g. (0, 1) for proportions) keeps bounds in the figure's range: estimate +- c*se can leave it.
    """
    check_confidence(confidence)
    rows = as_rows(data)
    theta = np.atleast_1d(np.asarray(statistic(rows), dtype=float))
    m = theta.size
    draws, units = resample_indices(rows.shape[1], clusters, resamples, seed)
    boot = np.empty((resamples, m))
    for r, idx in enumerate(draws):
        boot[r] = np.asarray(statistic(rows[:, idx]), dtype=float)
    keep = np.all(np.isfinite(boot), axis=1)
    dropped = int(resamples - keep.sum())
    method = "max_t_bootstrap_cluster" if clusters is not None else "max_t_bootstrap"
    note = f"simultaneous over m={m}"
    if dropped:
        note += f"; {dropped} of {resamples} resamples not estimable, dropped"
    if not np.all(np.isfinite(theta)) or dropped > MAX_NONFINITE_SHARE * resamples:
        return [
            Interval(float(t), math.nan, math.nan, units, method, confidence, resamples, seed, note=note) for t in theta
        ]
    boot = boot[keep]
    se = boot.std(axis=0, ddof=1)
    safe_se = np.where(se > 0, se, 1.0)
    t_stats = np.where(se > 0, (boot - theta) / safe_se, 0.0)
    c_low = float(np.quantile(t_stats.max(axis=1), confidence))
    c_high = float(np.quantile((-t_stats).max(axis=1), confidence))
    lows = theta - c_low * se
    highs = theta + c_high * se
    if clip is not None:
        lows, highs = np.clip(lows, *clip), np.clip(highs, *clip)
    return [
        Interval(float(t), float(lo), float(hi), units, method, confidence, resamples, seed, note=note)
        for t, lo, hi in zip(theta, lows, highs, strict=True)
    ]
