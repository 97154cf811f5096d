"""TOFU's forget quality: can the unlearned model's truth ratios on the forget set be told apart from
those of a model never trained on it (the retain model)?"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import ks_2samp


def forget_quality(target_truth_ratios: npt.ArrayLike, retain_truth_ratios: npt.ArrayLike) -> float:
    """p-value of the two-sided two-sample KS test, `scipy.stats.ks_2samp(target, retain)` with its defaults.

    Inputs are per-item `truth_ratios` (false_over_true) on the forget set, from the audited model and
    from the retain model. TOFU paper (Maini et al. 2024); open-unlearning src/evals/metrics/privacy.py `ks_test`.
    High (near 1): indistinguishable from never having seen the data; low: the forget set is still special.
    """
    target = _sample(target_truth_ratios, "target_truth_ratios")
    retain = _sample(retain_truth_ratios, "retain_truth_ratios")
    return float(ks_2samp(target, retain).pvalue)


def _sample(values: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: need a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: truth ratios must be finite")
    return arr
