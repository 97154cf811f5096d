"""TOFU's model utility: one figure for what the model still knows outside the forget set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import hmean

TOFU_MODEL_UTILITY_COMPONENTS = (
    "retain_Q_A_Prob",
    "retain_Q_A_ROUGE",
    "retain_Truth_Ratio",
    "ra_Q_A_Prob_normalised",
    "ra_Q_A_ROUGE",
    "ra_Truth_Ratio",
    "wf_Q_A_Prob_normalised",
    "wf_Q_A_ROUGE",
    "wf_Truth_Ratio",
)
"""The nine inputs, as named in open-unlearning configs/eval/tofu_metrics/model_utility.yaml: probability,
ROUGE-L recall and truth ratio (`true_better`) on the retain set, real authors (ra) and world facts (wf);
ra/wf probabilities normalised over the answer options."""


def model_utility(values: Mapping[str, float] | Sequence[float]) -> float:
    """Harmonic mean, `scipy.stats.hmean`, of the component metrics (0 if any is 0).

    TOFU paper (Maini et al. 2024); open-unlearning src/evals/metrics/utility.py `hm_aggregate`. A mapping must name
    exactly `TOFU_MODEL_UTILITY_COMPONENTS`; a sequence is taken as given.
    """
    if isinstance(values, Mapping):
        missing = set(TOFU_MODEL_UTILITY_COMPONENTS) - set(values)
        extra = set(values) - set(TOFU_MODEL_UTILITY_COMPONENTS)
        if missing or extra:
            raise ValueError(f"model utility components: missing {sorted(missing)}, unexpected {sorted(extra)}")
        arr = np.array([values[name] for name in TOFU_MODEL_UTILITY_COMPONENTS], dtype=float)
    else:
        arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"need a non-empty 1-D list of metric values, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("the harmonic mean needs finite, non-negative values")
    return float(hmean(arr))
