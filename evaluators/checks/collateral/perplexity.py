"""Perplexity ratio on the retain corpus: target over baseline, per character, with a bootstrap interval.

Per-character perplexity exp(-sum log p / characters) does not depend on the tokenizer, so the ratio is
comparable even when target and baseline tokenize differently; the characters cancel in the ratio,
leaving exp((sum log p_baseline - sum log p_target) / characters). Texts are scored whole (empty context:
the backend conditions on its BOS token, as lm-eval's loglikelihood_rolling does for the first window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evaluators.models.protocol import BatchHook, LanguageModel, LoglikelihoodRequest
from evaluators.stats import Interval, bootstrap


async def text_logliks(model: LanguageModel, texts: Sequence[str], hook: BatchHook | None) -> list[float]:
    """Sum of log-probabilities of each whole text."""
    results = await model.loglikelihood([LoglikelihoodRequest("", t) for t in texts], hook)
    return [ll for ll, _ in results]


def _ratio(rows: np.ndarray) -> float:
    chars = rows[2].sum()
    return float(math.exp((rows[1].sum() - rows[0].sum()) / chars)) if chars > 0 else math.nan


def perplexity_ratio(
    target_ll: Sequence[float],
    baseline_ll: Sequence[float],
    texts: Sequence[str],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    """Target per-character perplexity over the baseline's (> 1: the target models the corpus worse)."""
    rows = np.asarray([list(target_ll), list(baseline_ll), [len(t) for t in texts]], dtype=float)
    return bootstrap(rows, _ratio, confidence=confidence, resamples=resamples, seed=seed)


def per_char_perplexity(ll: Sequence[float], texts: Sequence[str]) -> float:
    """exp(-sum log p / characters) of one model on the corpus."""
    return math.exp(-sum(ll) / sum(len(t) for t in texts))
