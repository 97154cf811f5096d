"""TOFU's truth ratio: how much likelier the model finds a wrong (perturbed) answer than a paraphrase
of the right one, per item, and its three aggregations.

Inputs are average NLLs (see `likelihood.average_nll`): the paraphrased correct answer (n_items,) and
the perturbed answers (n_items, n_perturbed). An item's wrong-answer NLLs are averaged *before*
exponentiating, so its wrong probability is the geometric mean of the length-normalised probabilities.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from evaluators.benchmarks.likelihood import per_item

TRUTH_RATIO_EPSILON = 1e-10
"""Added to denominators exactly as open-unlearning does (memorization.py `truth_ratio`)."""

TruthRatioAggregator = Literal["closer_to_1_better", "true_better", "prob_mean"]


def truth_ratios(
    correct_avg_nll: npt.ArrayLike,
    wrong_avg_nll: npt.ArrayLike,
    *,
    definition: Literal["false_over_true", "true_share"] = "false_over_true",
) -> np.ndarray:
    """Per-item truth ratios; (n_items,).

    `false_over_true` (TOFU paper, R_truth): p_wrong / (p_correct + 1e-10).
    `true_share` (OpenUnlearning paper, used with `prob_mean`): p_correct / (p_correct + p_wrong + 1e-10).
    p = exp(−mean average NLL over the item's answers). Follows open-unlearning memorization.py `truth_ratio`.
    """
    correct = np.exp(-per_item(correct_avg_nll, "correct_avg_nll"))
    wrong = np.exp(-per_item(wrong_avg_nll, "wrong_avg_nll"))
    if correct.shape != wrong.shape:
        raise ValueError(f"correct has {correct.size} items, wrong {wrong.size}")
    if definition == "false_over_true":
        return wrong / (correct + TRUTH_RATIO_EPSILON)
    if definition == "true_share":
        return correct / (correct + wrong + TRUTH_RATIO_EPSILON)
    raise ValueError(f"unknown truth ratio definition {definition!r}")


def closer_to_1_better(ratios: npt.ArrayLike) -> float:
    """Forget set: mean of min(R, 1/(R + 1e-10)); 1 when right and wrong answers are equally likely."""
    r = _non_empty(ratios)
    return float(np.mean(np.minimum(r, 1 / (r + TRUTH_RATIO_EPSILON))))


def true_better(ratios: npt.ArrayLike) -> float:
    """Retain, real-author and world-fact sets (model utility): mean of max(0, 1 − R)."""
    r = _non_empty(ratios)
    return float(np.mean(np.maximum(0, 1 - r)))


def prob_mean(ratios: npt.ArrayLike) -> float:
    """Mean of `true_share` ratios (OpenUnlearning paper's extent-of-knowledge variant)."""
    return float(np.mean(_non_empty(ratios)))


def truth_ratio(
    correct_avg_nll: npt.ArrayLike, wrong_avg_nll: npt.ArrayLike, aggregator: TruthRatioAggregator
) -> float:
    """TOFU "Truth Ratio" as open-unlearning reports it (memorization.py `truth_ratio`, configs
    eval/tofu_metrics/*_Truth_Ratio.yaml): forget uses `closer_to_1_better`, utility sets `true_better`.
    """
    if aggregator == "prob_mean":
        return prob_mean(truth_ratios(correct_avg_nll, wrong_avg_nll, definition="true_share"))
    ratios = truth_ratios(correct_avg_nll, wrong_avg_nll)
    if aggregator == "closer_to_1_better":
        return closer_to_1_better(ratios)
    if aggregator == "true_better":
        return true_better(ratios)
    raise ValueError(f"invalid truth ratio aggregator {aggregator!r}")


def _non_empty(ratios: npt.ArrayLike) -> np.ndarray:
    r = np.asarray(ratios, dtype=float)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"need a non-empty 1-D array of truth ratios, got shape {r.shape}")
    return r
