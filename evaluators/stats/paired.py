"""Paired comparisons of two models on the same items: McNemar's exact test."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from evaluators.stats.result import TestResult

Alternative = Literal["two-sided", "greater", "less"]


def mcnemar_exact(
    first_correct: npt.ArrayLike, second_correct: npt.ArrayLike, alternative: Alternative = "two-sided"
) -> TestResult:
    """McNemar's exact test on paired binary outcomes (e.g. target vs baseline correctness per item).

    Only discordant pairs count: b = first right & second wrong, c = first wrong & second right; under
    the null b ~ Binomial(b + c, 1/2). `greater` tests that the first is right more often than the second.
    `statistic` is b - c; `n` is the number of pairs.
    """
    a = np.asarray(first_correct, dtype=bool)
    b_arr = np.asarray(second_correct, dtype=bool)
    if a.shape != b_arr.shape or a.ndim != 1:
        raise ValueError(f"paired outcomes need two 1-D arrays of one length, got {a.shape} and {b_arr.shape}")
    b = int(np.sum(a & ~b_arr))
    c = int(np.sum(~a & b_arr))
    details = {"first_only": b, "second_only": c, "discordant": b + c}
    if b + c == 0:
        return TestResult(0.0, 1.0, int(a.size), "mcnemar_exact", alternative, details)
    p = float(sps.binomtest(b, b + c, 0.5, alternative=alternative).pvalue)
    return TestResult(float(b - c), min(1.0, p), int(a.size), "mcnemar_exact", alternative, details)
