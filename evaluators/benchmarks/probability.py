"""TOFU's answer-probability metrics: plain (retain and forget sets) and normalised over options.

Inputs are average NLLs (see `likelihood.average_nll`): (n_items,) or (n_items, n_answers).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from evaluators.benchmarks.likelihood import normalised_probability, per_item

OPTIONS_EPSILON = 1e-10
"""Added to the denominator exactly as open-unlearning does (memorization.py `probability_w_options`)."""


def item_probabilities(avg_nll: npt.ArrayLike) -> np.ndarray:
    """Per item, the mean over its answers of exp(−average NLL); (n_items,).

    Follows open-unlearning src/evals/metrics/memorization.py (`probability`): probabilities, not NLLs,
    are averaged over an item's answers.
    """
    return per_item(normalised_probability(avg_nll), "avg_nll")


def qa_probability(avg_nll: npt.ArrayLike) -> float:
    """TOFU "Prob." on the forget or retain set: mean over items of `item_probabilities`.

    TOFU paper (Maini et al. 2024, arXiv:2401.06121); open-unlearning memorization.py `probability`.
    """
    return float(item_probabilities(avg_nll).mean())


def option_normalised_probabilities(correct_avg_nll: npt.ArrayLike, wrong_avg_nll: npt.ArrayLike) -> np.ndarray:
    """Per item, p_correct / (p_correct + Σ p_wrong + 1e-10) with p = exp(−average NLL); (n_items,).

    TOFU paper (real authors, world facts); open-unlearning memorization.py `probability_w_options`.
    `wrong_avg_nll` is (n_items,) or (n_items, n_options): the wrong options' probabilities are summed.
    """
    correct = normalised_probability(correct_avg_nll)
    wrong = normalised_probability(wrong_avg_nll)
    if correct.ndim != 1 or correct.size == 0:
        raise ValueError(f"correct_avg_nll: need one value per item, got shape {correct.shape}")
    if wrong.shape[:1] != correct.shape:
        raise ValueError(f"wrong_avg_nll has {wrong.shape[:1]} items, correct_avg_nll {correct.shape}")
    wrong_total = wrong.sum(axis=tuple(range(1, wrong.ndim))) if wrong.ndim > 1 else wrong
    return correct / (correct + wrong_total + OPTIONS_EPSILON)


def normalised_qa_probability(correct_avg_nll: npt.ArrayLike, wrong_avg_nll: npt.ArrayLike) -> float:
    """TOFU "Prob." on real authors and world facts: mean of `option_normalised_probabilities`."""
    return float(option_normalised_probabilities(correct_avg_nll, wrong_avg_nll).mean())
