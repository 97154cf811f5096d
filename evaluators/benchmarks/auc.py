"""The membership-inference AUC over forget and holdout items, in open-unlearning's orientation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata


def mia_auc(forget_scores: npt.ArrayLike, holdout_scores: npt.ArrayLike) -> float:
    """ROC AUC with holdout as the positive class: P(holdout score > forget score) + ½·P(tie).

    Equal to `sklearn.metrics.roc_auc_score([0]*n_forget + [1]*n_holdout, scores)` as open-unlearning
    src/evals/metrics/mia/utils.py `mia_auc` calls it. Scores are loss-like (`membership`), so 1 means
    the forget set looks far more familiar than unseen holdout text, 0.5 means no difference.
    MUSE (metrics/privleak.py) orients the AUC the other way: its AUC is 1 − this one.
    """
    forget = _scores(forget_scores, "forget_scores")
    holdout = _scores(holdout_scores, "holdout_scores")
    # Mann-Whitney U of the holdout sample from mid-ranks (ties share their rank): U / (n_f·n_h) = AUC.
    ranks = rankdata(np.concatenate([forget, holdout]))
    u = ranks[forget.size :].sum() - holdout.size * (holdout.size + 1) / 2
    return float(u / (forget.size * holdout.size))


def _scores(values: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: an AUC needs a non-empty 1-D array of scores, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: scores must be finite")
    return arr
