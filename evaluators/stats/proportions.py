"""Intervals and tests for a proportion: Wilson, Clopper-Pearson, exact binomial test."""

from __future__ import annotations

import math

from scipy import stats as sps

from evaluators.stats.result import Interval, TestResult, check_confidence


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for successes/n; each bound at one-sided level `confidence`.

    n == 0 gives a NaN estimate and the vacuous interval [0, 1].
    """
    _check_counts(successes, n)
    check_confidence(confidence)
    if n == 0:
        return Interval(math.nan, 0.0, 1.0, 0, "wilson", confidence, note="no items")
    z = float(sps.norm.ppf(confidence))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Clamp away float dust at 0 and 1 (the exact bounds there are 0 and 1).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, n, "wilson", confidence)


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval for successes/n; each bound at one-sided level `confidence`."""
    _check_counts(successes, n)
    check_confidence(confidence)
    if n == 0:
        return Interval(math.nan, 0.0, 1.0, 0, "clopper_pearson", confidence, note="no items")
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(sps.beta.ppf(alpha, successes, n - successes + 1))
    high = 1.0 if successes == n else float(sps.beta.ppf(confidence, successes + 1, n - successes))
    return Interval(successes / n, low, high, n, "clopper_pearson", confidence)


def binomial_test_below(successes: int, n: int, chance: float) -> TestResult:
    """Exact one-sided binomial test that the success rate is below `chance` (e.g. 1/4 for 4 choices).

    A small p-value says the model answers *worse* than guessing: a sign that knowledge is still there
    and being steered away from (an unlearned model should sit at chance, not below it).
    """
    _check_counts(successes, n)
    if not 0.0 < chance < 1.0:
        raise ValueError(f"chance must be in (0, 1), got {chance}")
    if n == 0:
        return TestResult(math.nan, 1.0, 0, "binomial_exact", "less", {"successes": 0, "chance": chance})
    res = sps.binomtest(successes, n, chance, alternative="less")
    return TestResult(
        successes / n,
        float(res.pvalue),
        n,
        "binomial_exact",
        "less",
        {"successes": successes, "chance": chance},
    )
