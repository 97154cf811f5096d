"""Per-item membership-inference scores, signed like a loss: the higher the score, the less likely the
text was in the model's training data (open-unlearning src/evals/metrics/mia/__init__.py).

Token log-probabilities are those of open-unlearning's `tokenwise_logprobs`: every labelled token but
the last (the EOS prediction is left out). For MUSE's privleak the whole text is labelled.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

VARIANCE_FLOOR = 1e-6
"""min-k++ clamps the vocabulary variance here before the square root (mia/min_k_plus_plus.py)."""


def loss_score(avg_nll: float) -> float:
    """LOSS attack (Yeom et al. 2018): the item's average NLL. open-unlearning mia/loss.py."""
    return float(avg_nll)


def zlib_score(avg_nll: float, text: str) -> float:
    """zlib attack (Carlini et al. 2021): average NLL / len(zlib.compress(UTF-8 text)). open-unlearning mia/zlib.py."""
    return float(avg_nll) / len(zlib.compress(text.encode("utf-8")))


def min_k(token_logprobs: Sequence[float] | npt.ArrayLike, k: float) -> float:
    """Min-K% Prob (Shi et al. 2024): −mean of the max(1, ⌊k·n⌋) lowest token log-probs; 0 for no tokens.

    open-unlearning mia/min_k.py (k = 0.4 in configs/eval/*_metrics/mia_min_k.yaml).
    """
    lp = _tokens(token_logprobs, "token_logprobs")
    if lp.size == 0:
        return 0.0
    return float(-np.mean(np.sort(lp)[: _num_k(lp.size, k)]))


def vocab_moments(vocab_logprobs: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Per position, mean μ = Σ_v p_v·log p_v and variance σ² = Σ_v p_v·(log p_v)² − μ² of the log-probability
    under the model's own next-token distribution; input (n_tokens, vocab) log-softmax rows.

    Min-K%++ (Zhang et al. 2024); open-unlearning mia/min_k_plus_plus.py.
    """
    lp = np.asarray(vocab_logprobs, dtype=float)
    if lp.ndim != 2:
        raise ValueError(f"need (n_tokens, vocab) log-probabilities, got shape {lp.shape}")
    p = np.exp(lp)
    mu = (p * lp).sum(-1)
    return mu, (p * np.square(lp)).sum(-1) - np.square(mu)


def min_k_plus_plus(
    token_logprobs: Sequence[float] | npt.ArrayLike,
    mu: Sequence[float] | npt.ArrayLike,
    variance: Sequence[float] | npt.ArrayLike,
    k: float,
) -> float:
    """Min-K%++: z_t = (log p(x_t) − μ_t) / √max(σ²_t, 1e-6); −mean of the max(1, ⌊k·n⌋) lowest z_t; 0 for no tokens.

    Zhang et al. 2024 (arXiv:2404.02936); open-unlearning mia/min_k_plus_plus.py. μ and σ² from `vocab_moments`.
    """
    lp = _tokens(token_logprobs, "token_logprobs")
    m = _tokens(mu, "mu")
    var = _tokens(variance, "variance")
    if not lp.shape == m.shape == var.shape:
        raise ValueError(f"token_logprobs, mu and variance differ in length: {lp.size}, {m.size}, {var.size}")
    if lp.size == 0:
        return 0.0
    z = (lp - m) / np.sqrt(np.maximum(var, VARIANCE_FLOOR))
    return float(-np.mean(np.sort(z)[: _num_k(z.size, k)]))


def _num_k(n: int, k: float) -> int:
    if not 0 < k <= 1:
        raise ValueError(f"k is a fraction of the tokens in (0, 1], got {k}")
    return max(1, int(n * k))


def _tokens(values: Sequence[float] | npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name}: need a 1-D array, got shape {arr.shape}")
    return arr
