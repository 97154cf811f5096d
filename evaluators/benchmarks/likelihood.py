"""Length-normalised answer likelihoods, the quantity every TOFU probability metric starts from.

A model backend supplies, per answer, the log-probabilities of the answer's tokens given the question
(teacher-forced, the answer's EOS included, as open-unlearning's `evaluate_probability` scores every
labelled token). Items with several answers (TOFU's perturbed answers) are (n_items, n_answers) arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def average_nll(token_logprobs: Sequence[float] | npt.ArrayLike) -> float:
    """Mean negative log-likelihood per answer token: −(1/|a|)·Σ log P(a_t | q, a_<t).

    Follows open-unlearning src/evals/metrics/utils.py (`evaluate_probability`, its `avg_loss`).
    """
    lp = np.asarray(token_logprobs, dtype=float)
    if lp.ndim != 1 or lp.size == 0:
        raise ValueError(f"need a non-empty 1-D array of token log-probabilities, got shape {lp.shape}")
    return float(-lp.sum() / lp.size)


def normalised_probability(avg_nll: npt.ArrayLike) -> np.ndarray:
    """P(a|q)^(1/|a|) = exp(−average NLL), elementwise (TOFU paper; open-unlearning `evaluate_probability`)."""
    return np.exp(-np.asarray(avg_nll, dtype=float))


def per_item(values: npt.ArrayLike, name: str = "values") -> np.ndarray:
    """Average over every axis but the first (open-unlearning utils.py `aggregate_to_1D`); refuses empty input."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0 or arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name}: need at least one item, got shape {arr.shape}")
    return arr.mean(axis=tuple(range(1, arr.ndim))) if arr.ndim > 1 else arr
