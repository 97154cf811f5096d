"""Token-level memorisation under teacher forcing: does the model's greedy next-token prediction
reproduce the answer? Inputs are, per item, the argmax token ids and the answer's token ids at the
same positions (open-unlearning's `tokenwise_vocab_logprobs`: every labelled token but the final EOS).
"""

from __future__ import annotations

from collections.abc import Sequence


def exact_memorisation(predicted_ids: Sequence[int], label_ids: Sequence[int]) -> float | None:
    """EM: share of positions whose greedy prediction is the label (Tirumala et al. 2022); None for no tokens,
    which open-unlearning leaves out of the mean. open-unlearning memorization.py `exact_memorization`.
    """
    _same_length(predicted_ids, label_ids)
    if not label_ids:
        return None
    return sum(p == t for p, t in zip(predicted_ids, label_ids, strict=True)) / len(label_ids)


def extraction_strength(predicted_ids: Sequence[int], label_ids: Sequence[int]) -> float:
    """ES = 1 − k/n for the smallest k whose suffix the model predicts exactly (Carlini et al. 2021;
    Wang et al. 2025). open-unlearning memorization.py `extraction_strength`, including its edge cases:
    k only runs to n − 1, so an item with no matching suffix scores 1/n (not 0), and no tokens score 0.
    """
    _same_length(predicted_ids, label_ids)
    n = len(label_ids)
    if n == 0:
        return 0.0
    k = 0
    for k in range(n):  # k after the loop is the answer, as in open-unlearning
        if list(predicted_ids[k:]) == list(label_ids[k:]):
            break
    return 1 - k / n


def _same_length(predicted_ids: Sequence[int], label_ids: Sequence[int]) -> None:
    if len(predicted_ids) != len(label_ids):
        raise ValueError(f"{len(predicted_ids)} predictions for {len(label_ids)} label tokens")
