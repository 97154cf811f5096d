"""The statistics of the refusal-direction report: directions, separation, layer choice, intervals.

Inputs are last-token hidden states stacked as float arrays [prompts, layers, hidden] (layer 0: embeddings).
The direction of a layer is the difference in means, harmful minus benign (Arditi et al. 2024). How far two
sets of prompts separate along a unit direction is read from their projections on it:

- separation: the standardised mean difference (Cohen's d, pooled standard deviation) of the projections,
  harmful minus benign. It does not saturate, so it still ranks models whose classes separate perfectly.
- AUROC: the share of (harmful, benign) pairs in which the harmful prompt projects higher (ties count half).

Intervals resample harmful and benign prompts separately (stratified percentile bootstrap, seeded); the
AUROC's is widened to at least a Wilson interval on the smaller class, since the bootstrap collapses to a
point when the classes separate perfectly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from evaluators.stats import Interval, wilson

Separation = Callable[[np.ndarray, np.ndarray], float]


def split_halves(n: int, seed: int) -> tuple[list[int], list[int]]:
    """(fit, held_out) prompt indices: a seeded permutation cut in two (the fit half has the extra one)."""
    order = np.random.default_rng(seed).permutation(n).tolist()
    cut = (n + 1) // 2
    return sorted(order[:cut]), sorted(order[cut:])


def mean_difference(harmful: np.ndarray, benign: np.ndarray) -> np.ndarray:
    """Per layer, mean(harmful) - mean(benign): [layers, hidden] from [prompts, layers, hidden] arrays."""
    return np.asarray(harmful.mean(axis=0) - benign.mean(axis=0))


def unit(vector: np.ndarray) -> np.ndarray:
    """`vector` / its norm along the last axis (zero vectors stay zero)."""
    norm = np.linalg.norm(vector, axis=-1, keepdims=True)
    return np.asarray(np.divide(vector, norm, out=np.zeros_like(vector), where=norm > 0))


def standardised_difference(harmful: np.ndarray, benign: np.ndarray) -> float:
    """Cohen's d of two samples of projections (pooled SD); NaN when both are constant or too small."""
    n1, n0 = len(harmful), len(benign)
    if n1 < 2 or n0 < 2:
        return math.nan
    pooled = ((n1 - 1) * harmful.var(ddof=1) + (n0 - 1) * benign.var(ddof=1)) / (n1 + n0 - 2)
    if pooled <= 0:
        return math.nan
    return float((harmful.mean() - benign.mean()) / math.sqrt(pooled))


def auroc(harmful: np.ndarray, benign: np.ndarray) -> float:
    """P(harmful projection > benign projection) + P(tie) / 2 over all pairs (Mann-Whitney U / n1 n0)."""
    if len(harmful) == 0 or len(benign) == 0:
        return math.nan
    diff = harmful[:, None] - benign[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _stratified_counts(n1: int, n0: int, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """How often each harmful and each benign prompt is drawn in each resample: [resamples, n1], [resamples, n0].

    Every figure of a resample is then a weighted sum over prompts, so all resamples are computed at once."""
    rng = np.random.default_rng(seed)

    def counts(n: int) -> np.ndarray:
        draws = rng.integers(0, n, size=(resamples, n)) + n * np.arange(resamples)[:, None]
        return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n).astype(np.float64)

    harmful = counts(n1)
    benign = counts(n0)
    return harmful, benign


def _weighted_d(c1: np.ndarray, c0: np.ndarray, x1: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Cohen's d per row of draw counts (`standardised_difference` of each resample)."""
    n1, n0 = c1.sum(axis=1), c0.sum(axis=1)
    m1, m0 = c1 @ x1 / n1, c0 @ x0 / n0
    squares = c1 @ (x1 - x1.mean()) ** 2 - n1 * (m1 - x1.mean()) ** 2 + c0 @ (x0 - x0.mean()) ** 2
    squares = squares - n0 * (m0 - x0.mean()) ** 2  # centred first: no cancellation of large projections
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((m1 - m0) / np.sqrt(squares / (n1 + n0 - 2)))


def _weighted_auroc(c1: np.ndarray, c0: np.ndarray, x1: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """AUROC per row of draw counts (`auroc` of each resample)."""
    diff = x1[:, None] - x0[None, :]
    wins = (diff > 0) + 0.5 * (diff == 0)
    return np.asarray(((c1 @ wins) * c0).sum(axis=1) / (c1.sum(axis=1) * c0.sum(axis=1)))


def _percentile(
    estimate: float, values: np.ndarray, n: int, method: str, confidence: float, resamples: int, seed: int
) -> Interval:
    finite = values[np.isfinite(values)]
    if not math.isfinite(estimate) or finite.size < 0.95 * resamples:
        return Interval(estimate, math.nan, math.nan, n, method, confidence, resamples, seed)
    low, high = np.quantile(finite, [1 - confidence, confidence])
    return Interval(estimate, float(low), float(high), n, method, confidence, resamples, seed)


def separation_interval(
    harmful: np.ndarray, benign: np.ndarray, statistic: Separation, *, confidence: float, resamples: int, seed: int
) -> Interval:
    """`statistic` (`standardised_difference` or `auroc`) of harmful vs benign projections, with a stratified
    bootstrap interval; n = prompts."""
    weighted = _weighted_auroc if statistic is auroc else _weighted_d
    c1, c0 = _stratified_counts(len(harmful), len(benign), resamples, seed)
    n = len(harmful) + len(benign)
    iv = _percentile(
        statistic(harmful, benign),
        weighted(c1, c0, harmful, benign),
        n,
        "bootstrap_stratified",
        confidence,
        resamples,
        seed,
    )
    if statistic is not auroc or not iv.estimable:
        return iv
    smaller = min(len(harmful), len(benign))
    floor = wilson(round(iv.estimate * smaller), smaller, confidence)
    return Interval(
        iv.estimate,
        min(iv.low, floor.low),
        max(iv.high, floor.high),
        n,
        "bootstrap_stratified+wilson_smaller_class",
        confidence,
        resamples,
        seed,
    )


def separation_change(
    base: tuple[np.ndarray, np.ndarray],
    target: tuple[np.ndarray, np.ndarray],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    """Target minus baseline separation on the same prompts (resampled together, so paired)."""
    (bh, bb), (th, tb) = base, target
    c1, c0 = _stratified_counts(len(bh), len(bb), resamples, seed)
    values = _weighted_d(c1, c0, th, tb) - _weighted_d(c1, c0, bh, bb)
    estimate = standardised_difference(th, tb) - standardised_difference(bh, bb)
    n = len(bh) + len(bb)
    return _percentile(estimate, values, n, "bootstrap_stratified_paired", confidence, resamples, seed)


def choose_layer(harmful: np.ndarray, benign: np.ndarray, seed: int) -> tuple[int, list[float]]:
    """The layer (>= 1) whose direction separates best out of sample, within the fit prompts only.

    The fit prompts of each class are cut in two halves (seeded); at each layer the direction of one half is
    scored by the separation of the other half's projections on it, both ways round, and the two scores
    averaged. Returns (chosen layer, score per layer; layer 0, the embeddings, scores NaN and is never chosen).
    """
    h_a, h_b = split_halves(len(harmful), seed + 1)
    b_a, b_b = split_halves(len(benign), seed + 2)
    scores = [math.nan]
    for layer in range(1, harmful.shape[1]):
        both = []
        for (hf, bf), (hm, bm) in (((h_a, b_a), (h_b, b_b)), ((h_b, b_b), (h_a, b_a))):
            r = unit(mean_difference(harmful[hf, layer], benign[bf, layer]))
            both.append(standardised_difference(harmful[hm, layer] @ r, benign[bm, layer] @ r))
        scores.append(float(np.mean(both)) if all(math.isfinite(s) for s in both) else math.nan)
    finite = [(s, layer) for layer, s in enumerate(scores) if math.isfinite(s)]
    best = max(finite)[1] if finite else harmful.shape[1] - 1
    return best, scores


def cosine_interval(
    base: tuple[np.ndarray, np.ndarray],
    target: tuple[np.ndarray, np.ndarray],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    """Cosine between baseline's and target's difference-in-means directions ([prompts, hidden] states of
    one layer per class), with a stratified bootstrap over prompts (the same prompts for both models)."""
    (bh, bb), (th, tb) = base, target
    c1, c0 = _stratified_counts(len(bh), len(bb), resamples, seed)
    n1, n0 = c1.sum(axis=1, keepdims=True), c0.sum(axis=1, keepdims=True)
    rb = unit(c1 @ bh / n1 - c0 @ bb / n0)
    rt = unit(c1 @ th / n1 - c0 @ tb / n0)
    values = (rb * rt).sum(axis=1)
    estimate = float(unit(mean_difference(bh, bb)) @ unit(mean_difference(th, tb)))
    return _percentile(estimate, values, len(bh) + len(bb), "bootstrap_stratified", confidence, resamples, seed)
