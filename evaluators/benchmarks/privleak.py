"""MUSE's privacy leakage: the audited model's membership-inference AUC relative to the retain model's."""

from __future__ import annotations

PRIVLEAK_EPSILON = 1e-10
"""Added to the denominator exactly as open-unlearning does (privacy.py `privleak`)."""

DEFAULT_RETAIN_AUC = 0.5
"""open-unlearning's `ref_value` when no retain-model logs are given (configs/eval/*_metrics/privleak.yaml)."""


def privleak(target_auc: float, retain_auc: float = DEFAULT_RETAIN_AUC) -> float:
    """PrivLeak = (AUC′_target − AUC′_retain) / (AUC′_retain + 1e-10) · 100, where AUC′ = 1 − `mia_auc`.

    Both AUCs are open-unlearning's (`auc.mia_auc`: forget items vs holdout items, min-k scores with
    k = 0.4); flipping them gives MUSE's orientation. MUSE paper (Shi et al. 2024, arXiv:2407.06460)
    criterion C3; open-unlearning src/evals/metrics/privacy.py `privleak`.
    0: as private as never having trained on the forget set; strongly negative (toward −100): the forget
    set is still recognisably in the model (under-unlearning); positive: over-unlearning, the forget set
    now looks *less* familiar than unseen text.
    """
    for name, value in (("target_auc", target_auc), ("retain_auc", retain_auc)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be an AUC in [0, 1], got {value}")
    score = 1 - target_auc
    ref = 1 - retain_auc
    return (score - ref) / (ref + PRIVLEAK_EPSILON) * 100
